"""Migration 0059: the audit tables are analyzed by autovacuum after a fixed count of new rows, not 10 % of the table
(the plan hazard of personalDataReport's full reads on stale statistics, bench/RESULTS.md h-reads tenth). On a Citus
coordinator autovacuum analyzes the shards on the workers, so the settings are asked of every shard there too."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.harness import DbEnv

WANTED = {"audit_log": {"autovacuum_analyze_scale_factor=0", "autovacuum_analyze_threshold=10000"},
          "audit_pii_reads": {"autovacuum_analyze_scale_factor=0", "autovacuum_analyze_threshold=100000"}}


async def test_the_audit_tables_are_analyzed_after_a_fixed_count_of_new_rows(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("storage parameters: PostgreSQL only (SQLite has no autovacuum)")
    async with db.owner_engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('audit_log', 'audit_pii_reads') "
            "AND relkind = 'r' AND relnamespace = 'public'::regnamespace"))).all()
        citus = await conn.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
        shards = {table: (await conn.execute(sa.text(
            "SELECT success, result FROM run_command_on_shards(:t, $$SELECT array_to_string(reloptions, ',')"
            " FROM pg_class WHERE oid = '%s'::regclass$$)"), {"t": table})).all() for table in WANTED} if citus else {}
    options = {name: set(opts or ()) for name, opts in rows}
    for table, wanted in WANTED.items():
        assert options[table] >= wanted, options
    # Citus: on every shard (a database migrated through 0059 after the distribution, or distributed after it)
    for table, answers in shards.items():
        assert answers and all(ok and set((got or "").split(",")) >= WANTED[table] for ok, got in answers), answers
