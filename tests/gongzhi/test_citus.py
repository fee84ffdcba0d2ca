"""`gongzhi citus distribute` (issue #27) where CI can run it: without Citus. It refuses in one line on
plain PostgreSQL and on SQLite, changing nothing; the foreign keys it drops and re-adds are all of
them and re-create as they were; the tables it makes reference tables are the models' platform tables.
The real run on a cluster is scripts/citus-cluster.sh (docs/scaling.md §2)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import Counter

import pytest
from sqlalchemy import text

from gongzhi.cli import main
from gongzhi.ops.citus import (
    DELEGATED_FUNCTIONS,
    CitusError,
    distribute,
    foreign_keys,
    platform_tables,
    tenant_tables,
)
from models.base import Base
from tests.support.harness import DbEnv


def test_platform_tables_become_reference_tables_and_the_rest_is_distributed() -> None:
    platform, tenant = platform_tables(), tenant_tables()
    assert set(platform) == {"tenants", "users", "platform_audit", "platform_calendars", "platform_calendar_days"}
    assert set(platform) | set(tenant) == set(Base.metadata.tables) and not set(platform) & set(tenant)
    # Parents first: a tenant table comes after every tenant table it points at.
    for t in Base.metadata.sorted_tables:
        for fk in t.foreign_key_constraints:
            if t.name in tenant and fk.referred_table.name in tenant and fk.referred_table is not t:
                assert tenant.index(fk.referred_table.name) < tenant.index(t.name), (t.name, fk.name)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


async def test_distribute_refuses_in_one_line_without_citus(db: DbEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGZHI_DEMO", "1")
    monkeypatch.setenv("GONGZHI_DATABASE_URL", db.app_url)
    monkeypatch.setenv("GONGZHI_MIGRATION_DATABASE_URL", db.owner_url)
    async with db.owner_engine.connect() as conn:
        before = await foreign_keys(conn) if db.is_pg else []
        citus = db.is_pg and await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    if citus:
        pytest.skip("this database has the citus extension (scripts/citus-cluster.sh test)")
    code, out, err = await asyncio.to_thread(_cli, ["citus", "distribute"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    expected = ("错误：CITUS_MISSING：此数据库没有 citus 扩展" if db.is_pg
                else "错误：NOT_POSTGRESQL：Citus 只用于 PostgreSQL")
    assert err.startswith(expected), err
    with pytest.raises(CitusError):
        await distribute(db.owner_engine)
    if db.is_pg:  # nothing was dropped on the way to the refusal
        async with db.owner_engine.connect() as conn:
            assert await foreign_keys(conn) == before
            assert not await conn.scalar(text(
                "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
                " WHERE d.datname = current_database() AND array_to_string(s.setconfig, ',') LIKE '%citus.%'"))


async def test_the_foreign_keys_it_drops_are_all_of_them_and_re_create_as_they_were(db: DbEnv) -> None:
    """What distribute does between dropping and re-adding, on plain PostgreSQL, rolled back."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalog")
    # Every foreign key of the models (names longer than PostgreSQL's 63 characters are shortened there).
    modelled = Counter((t.name, fk.referred_table.name) for t in Base.metadata.tables.values()
                       for fk in t.foreign_key_constraints)
    async with db.owner_engine.connect() as conn:
        trans = await conn.begin()
        try:
            before = await foreign_keys(conn)
            assert Counter((fk.table, fk.referred) for fk in before) == modelled
            assert len(before) > 100 and all(fk.definition.startswith("FOREIGN KEY (") for fk in before)
            for fk in before:
                await conn.execute(text(fk.drop_sql()))
            assert await foreign_keys(conn) == []
            for fk in before:
                await conn.execute(text(fk.add_sql()))
            assert await foreign_keys(conn) == before
        finally:
            await trans.rollback()


async def test_every_security_definer_function_is_delegated_to_the_tenants_worker(db: DbEnv) -> None:
    """On Citus a SECURITY DEFINER function's statements run as its owner on connections of their own,
    refused once the transaction wrote the same shards as the app role ("cannot perform query on
    placements that were modified in this transaction by a different user": 0043's erasure of
    timeline notes did). So each one is in DELEGATED_FUNCTIONS, and on a distributed database
    ``distribute`` made it a distributed function: by its tenant argument, colocated with the tenant
    tables, calls forced to the tenant's worker."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalog")
    async with db.owner_engine.connect() as conn:
        definers = set((await conn.scalars(text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND p.prosecdef"))).all())
        delegated = {str(await conn.scalar(text("SELECT to_regprocedure(:f)::text"), {"f": f}))
                     for f in DELEGATED_FUNCTIONS}
        assert definers == delegated and definers
        if not await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")):
            return
        for signature, (argument, table) in DELEGATED_FUNCTIONS.items():
            row = (await conn.execute(text(
                "SELECT d.distribution_argument_index, d.force_delegation,"
                " d.colocationid = (SELECT colocationid FROM pg_dist_partition"
                "                   WHERE logicalrelid = CAST(:t AS regclass)),"
                " (SELECT a[d.distribution_argument_index + 1] FROM (SELECT p.proargnames AS a"
                "   FROM pg_proc p WHERE p.oid = d.objid) x)"
                " FROM pg_dist_object d WHERE d.classid = 'pg_proc'::regclass AND d.objid = to_regprocedure(:f)"),
                {"f": signature, "t": table})).one()
            assert row == (0, True, True, argument), (signature, row)


async def test_the_rate_facts_triggers_are_on_every_shard_and_their_functions_on_every_worker(db: DbEnv) -> None:
    """0056's row triggers keep each case's rate facts from its steps and stages, updating the co-located ``cases``
    shard from the worker (``citus.enable_unsafe_triggers``, set by ``distribute``). On Citus each shard of
    ``case_events`` and ``case_stages`` needs them (Citus names them with the shard id) and each worker their
    functions: a shard without them would leave its cases' facts stale without an error. Asked on every shard, for
    a database distributed at head and for one migrated to 0056 after the distribution (GONGZHI_TEST_CITUS_AT); the
    facts themselves: tests/cases/test_case_rate_facts.py, on the cluster too."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalog")
    async with db.owner_engine.connect() as conn:
        if not await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")):
            pytest.skip("plain PostgreSQL: no shards (the triggers: tests/cases/test_case_rate_facts.py)")
        ask = ("SELECT string_agg(regexp_replace(tgname, '_[0-9]+$', '') || ':' || tgenabled::text, ','"
               " ORDER BY tgname) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND NOT tgisinternal"
               " AND tgname ~ 'rate_facts'")
        for table, wanted in (("case_events", "case_events_rate_facts:O"),
                              ("case_stages", "case_stages_rate_facts:O,case_stages_rate_facts_updated:O")):
            shards = (await conn.execute(text("SELECT shardid, success, result FROM run_command_on_shards(:t, :q)"),
                                         {"t": table, "q": ask})).all()
            placed = await conn.scalar(text(
                "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = CAST(:t AS regclass)"), {"t": table})
            assert len(shards) == placed and placed, (table, shards)
            assert {(ok, result) for _id, ok, result in shards} == {(True, wanted)}, (table, shards)
        workers = (await conn.execute(text(
            "SELECT success, result FROM run_command_on_workers($$SELECT string_agg(proname, ',' ORDER BY proname)"
            " FROM pg_proc WHERE proname IN ('gongzhi_case_rate_steps', 'gongzhi_case_rate_stage')$$)"))).all()
        assert workers and set(workers) == {(True, "gongzhi_case_rate_stage,gongzhi_case_rate_steps")}, workers
        # and as the coordinator has them: 0057 and 0060 replace both (CREATE OR REPLACE FUNCTION, which Citus
        # propagates for a distributed function); a worker keeping 0056's would still fire and leave no error
        body = ("SELECT string_agg(proname || ':' || md5(prosrc), ',' ORDER BY proname) FROM pg_proc"
                " WHERE proname IN ('gongzhi_case_rate_steps', 'gongzhi_case_rate_stage')")
        here = await conn.scalar(text(body))
        there = (await conn.execute(text("SELECT success, result FROM run_command_on_workers(:q)"), {"q": body})).all()
        assert set(there) == {(True, here)}, (here, there)


async def test_the_stage_numbering_check_is_on_every_shard_and_validated(db: DbEnv) -> None:
    """0060's ``ck_case_stages_seq_from_one`` (added NOT VALID, then validated): the stage trigger takes a stage
    numbered 1 as the case's first on the strength of it, so every shard of ``case_stages`` needs it, validated —
    Citus names it with the shard id on a database migrated through 0060 after the distribution."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalog")
    async with db.owner_engine.connect() as conn:
        if not await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")):
            pytest.skip("plain PostgreSQL: no shards (the check: tests/cases/test_case_stage_due.py)")
        shards = (await conn.execute(text(
            "SELECT success, result FROM run_command_on_shards('case_stages', $$SELECT string_agg("
            "regexp_replace(conname, '_[0-9]+$', '') || ':' || convalidated::text || ':' || pg_get_constraintdef(oid),"
            " ',') FROM pg_constraint WHERE conrelid = '%s'::regclass AND conname ~ '^ck_case_stages_seq_from_one'$$)"
        ))).all()
        placed = await conn.scalar(text(
            "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'case_stages'::regclass"))
    assert len(shards) == placed and placed, shards
    assert set(shards) == {(True, "ck_case_stages_seq_from_one:true:CHECK ((seq >= 1))")}, shards
