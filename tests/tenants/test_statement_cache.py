"""A long statement stays prepared on the app's connections (issue #21).

asyncpg keeps a statement prepared — parsed and planned once per connection, then PostgreSQL's
generic plan — only up to ``max_cacheable_statement_size`` of text, 15 KiB by default. A compiled read
is one statement for the whole selection: the portal's open-case page was 22 KiB, so PostgreSQL
parsed and planned it on every request (10–40 ms of planning against ~1.5 ms of execution).
Through pgbouncer in transaction mode no statement is kept (``statement_cache_size=0``): not here.
"""

from __future__ import annotations

import pytest

from tenants.session import MAX_CACHEABLE_STATEMENT
from tests.support.harness import DbEnv

ASYNCPG_DEFAULT = 15 * 1024


async def test_a_statement_past_asyncpgs_default_limit_is_prepared_once(db: DbEnv) -> None:
    if not db.is_pg or db.through_pgbouncer:
        pytest.skip("asyncpg's statement cache: PostgreSQL without pgbouncer")
    # as long as the open-case page (22 KiB), the filler a literal so that the text is all statement
    sql = "SELECT length($1::text || '" + "x" * (22 * 1024) + "')"
    assert ASYNCPG_DEFAULT < len(sql) < MAX_CACHEABLE_STATEMENT
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        for _ in range(3):
            assert await driver.fetchval(sql, "a") == 22 * 1024 + 1
        rows = await driver.fetch("SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                                  "WHERE statement = $1", sql)
    assert [r[0] for r in rows] == [3], "prepared once, executed three times"
