"""Migration 0059: the audit tables are analyzed by autovacuum after a fixed count of new rows, not 10 % of the table
(the plan hazard of personalDataReport's full reads on stale statistics, bench/RESULTS.md h-reads tenth)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.harness import DbEnv


async def test_the_audit_tables_are_analyzed_after_a_fixed_count_of_new_rows(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("storage parameters: PostgreSQL only (SQLite has no autovacuum)")
    async with db.owner_engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('audit_log', 'audit_pii_reads') "
            "AND relkind = 'r' AND relnamespace = 'public'::regnamespace"))).all()
    options = {name: set(opts or ()) for name, opts in rows}
    assert options["audit_log"] >= {"autovacuum_analyze_scale_factor=0", "autovacuum_analyze_threshold=10000"}, options
    assert options["audit_pii_reads"] >= {"autovacuum_analyze_scale_factor=0",
                                          "autovacuum_analyze_threshold=100000"}, options
