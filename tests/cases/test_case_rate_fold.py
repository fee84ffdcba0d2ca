"""The rate facts folded in step by step (migration 0057; issue #21): the trigger on ``case_events`` folds a case's
latest step into its row's facts, and the steps on the driver fold theirs into their own UPDATE of the case
(resolvers/cases/rate_fold.py) — both equal to the facts read from the case's rows (the rates' rule, as
tests/cases/test_case_rate_facts.py reads it), after every kind of step a fact depends on, whichever folded it;
and a fast step (the report, accept, the reporter's feedback) writes the case's row once: the trigger finds
its facts folded in and writes nothing."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from models import CaseEvent
from resolvers.cases import rate_fold
from tenants import commit
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.cases.test_case_rate_facts import kept
from tests.support.case_steps import MONDAY_10, ClockApi, reported, resolved
from tests.support.cases import area_gid, case_uuid
from tests.support.fast_steps import REPORT, case_id, clocked_tenant, doc, fast_taken, made, payload, post
from tests.support.harness import Api, DbEnv, World
from tests.support.paths import ROOT
from tests.support.world import TenantWorld

# Every kind of step a fact depends on, in an order that moves each fact (action, from, to, minutes after t0):
# responses (the first counts), a 回访 before any closure (not counted), a return, a rework, a closure, a 回访 at
# its very time (counted), a reopening, a second closure; then a closure from closed (none), one from no state
# (one), a 回访 earlier in time than the first closure (not counted) and a later one (counted).
WALKS = (
    (("accept", "reported", "accepted", 1), ("reject", "accepted", "rejected", 2), ("callback", "rejected", None, 3),
     ("return", "in_progress", "accepted", 4), ("rework", "resolved", "dispatched", 5),
     ("close", "resolved", "closed", 6), ("callback", "closed", "closed", 6), ("reopen", "closed", "reopened", 7),
     ("close", "resolved", "closed", 8), ("callback", "closed", None, 9)),
    (("close", "closed", "closed", 5), ("close", None, "closed", 6), ("callback", "closed", None, 4),
     ("accept", "reported", "accepted", 3), ("callback", "closed", None, 9), ("reopen", "closed", "reopened", 10)),
)

_COUNTER = (
    "CREATE TABLE test_case_row_writes (case_id uuid, op text)",
    "CREATE FUNCTION test_case_row_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $fn$ BEGIN"
    " INSERT INTO test_case_row_writes VALUES (NEW.id, TG_OP); RETURN NULL; END $fn$",
    "CREATE TRIGGER test_case_row_writes AFTER INSERT OR UPDATE ON cases FOR EACH ROW"
    " EXECUTE FUNCTION test_case_row_write()",
)


# On a Citus coordinator the trigger (propagated to every shard of ``cases``) fires on the workers: the counter is a
# plain table on each worker, written there beside the shards and read through run_command_on_workers.
_ON_WORKERS = "SELECT success, result FROM run_command_on_workers(:q)"


@pytest.fixture
async def writes(db: DbEnv) -> AsyncIterator[Any]:
    """Every write of a row of ``cases`` (its id and INSERT or UPDATE), the triggers' included, counted by a trigger
    of the test's own (PostgreSQL)."""
    if not db.is_pg:
        pytest.skip("rate_seq and the fold are PostgreSQL's (SQLite keeps 0056's recompute)")
    async with db.owner_engine.begin() as conn:
        citus = bool(await conn.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")))
        if citus:
            done = (await conn.execute(sa.text(_ON_WORKERS), {"q": _COUNTER[0]})).all()
            assert done and all(ok for ok, _ in done), done
        for statement in _COUNTER:
            await conn.execute(sa.text(statement))

    async def of(case: uuid.UUID) -> list[str]:
        async with db.owner_engine.connect() as conn:
            if citus:
                ask = (f"SELECT string_agg(op, ',') FROM test_case_row_writes WHERE case_id = '{case}'",
                       "DELETE FROM test_case_row_writes")
                rows = [(await conn.execute(sa.text(_ON_WORKERS), {"q": q})).all() for q in ask]
                assert all(ok for done in rows for ok, _ in done), rows
                got = [op for _, result in rows[0] if result for op in result.split(",")]
            else:
                got = list((await conn.execute(sa.text("SELECT op FROM test_case_row_writes WHERE case_id = :c"),
                                               {"c": case})).scalars().all())
                await conn.execute(sa.text("DELETE FROM test_case_row_writes"))
            await conn.commit()
        return got

    try:
        yield of
    finally:
        async with db.owner_engine.begin() as conn:
            await conn.execute(sa.text("DROP TRIGGER test_case_row_writes ON cases"))
            await conn.execute(sa.text("DROP FUNCTION test_case_row_write()"))
            await conn.execute(sa.text("DROP TABLE test_case_row_writes"))
            if citus:
                await conn.execute(sa.text(_ON_WORKERS), {"q": "DROP TABLE test_case_row_writes"})


async def rate_seq(db: DbEnv, tw: TenantWorld, case: uuid.UUID) -> tuple[int | None, int]:
    """The case's ``rate_seq`` and its version."""
    async with db.owner_engine.connect() as conn:
        await conn.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        row = (await conn.execute(sa.text("SELECT rate_seq, version FROM cases WHERE tenant_id = :t AND id = :c"),
                                  {"t": tw.tenant_id, "c": case})).one()
        await conn.rollback()
    return row[0], row[1]


@pytest.mark.parametrize("how", ["trigger", "inline"])
async def test_the_fold_equals_the_facts_of_the_rows(how: str, capi: ClockApi, fresh: World, db: DbEnv,
                                                     writes: Any) -> None:
    """Each step of ``WALKS`` as the case's latest: folded by the trigger (``trigger``: the step inserted alone, as
    the general path's ORM and the jobs write it), or by the case's own UPDATE with ``rate_fold`` in the step's
    transaction (``inline``: as steps_fast writes it; the trigger then writes nothing) — the facts equal the rows'
    after every step."""
    a = fresh.a
    t0 = MONDAY_10 + timedelta(hours=1)
    for walk in WALKS:
        case = case_uuid((await reported(capi.api, a))["id"])
        await writes(case)
        seq = 1
        for action, from_state, to_state, minutes in walk:
            seq += 1
            at: datetime = t0 + timedelta(minutes=minutes)
            async with db.sessionmaker() as s:
                bind_tenant(s, a.tenant_id)
                async with s.begin():
                    sets = rate_fold.folded(action, from_state, to_state, ":at")
                    if how == "inline" and sets:  # (a closure from closed changes none: no UPDATE)
                        sets["rate_seq"] = ":seq"
                        await s.execute(sa.text(f"UPDATE cases SET {', '.join(f'{k} = {v}' for k, v in sets.items())}"
                                                " WHERE tenant_id = :t AND id = :c"),
                                        {"at": at, "seq": seq, "t": a.tenant_id, "c": case})
                    s.add(CaseEvent(case_id=case, seq=seq, action=action, from_state=from_state, to_state=to_state,
                                    actor_user_id=a.users["admin"], actor_role="street_admin", attachments=[],
                                    detail={}, created_at=at))
            facts = await kept(db, a, case)  # stored == read from the rows
            written = await writes(case)
            if how == "inline":  # the step's own UPDATE only: the trigger found the step folded in
                assert written == (["UPDATE"] if sets else []), (action, written)
            else:
                assert len(written) <= 1, (action, written)
            assert (await rate_seq(db, a, case))[0] == seq or not written
        assert facts["rate_responded_at"] == t0 + timedelta(minutes=3 if walk is WALKS[1] else 1)
        assert facts["rate_called_back"]
        assert facts["rate_closes"] == (2 if walk is WALKS[0] else 1)


async def test_the_migration_sets_rate_seq_of_existing_cases(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    """0057's upgrade on cases it finds: each case's ``rate_seq`` the highest ``seq`` of its steps (the facts on its
    row are all of them), every tenant's under its own tenant setting — on Citus one statement per tenant, each
    routed to the worker holding the tenant's ``cases`` and ``case_events`` shards."""
    if not db.is_pg:
        pytest.skip("rate_seq is PostgreSQL's (SQLite keeps 0056's recompute)")
    a, b = fresh.a, fresh.b
    worlds = [a, a, b]
    ids = [case_uuid(c["id"]) for c in (await reported(capi.api, a), await resolved(capi.api, a),
                                         await resolved(capi.api, b))]
    path = ROOT / "migrations" / "versions" / "0057_case_rate_facts_folded.py"
    spec = importlib.util.spec_from_file_location("migration_0057", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    highest = "SELECT max(seq) FROM case_events WHERE tenant_id = :t AND case_id = :c"
    async with db.owner_engine.begin() as conn:
        want = []
        for tw, case in zip(worlds, ids, strict=True):
            await conn.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            want.append((await conn.execute(sa.text(highest), {"t": tw.tenant_id, "c": case})).scalar_one())
            await conn.execute(sa.text("UPDATE cases SET rate_seq = NULL WHERE tenant_id = :t AND id = :c"),
                               {"t": tw.tenant_id, "c": case})
        await conn.run_sync(migration.fill)
    assert want[0] == 1 and want[1] > 1 and want[2] > 1, want
    assert [(await rate_seq(db, tw, case))[0] for tw, case in zip(worlds, ids, strict=True)] == want


@pytest.fixture(scope="module")
async def tenant(db: DbEnv, api: Api) -> AsyncIterator[TenantWorld]:
    async with clocked_tenant(db, api, "rf") as tw:
        yield tw


async def test_a_fast_step_writes_the_case_once(api: Api, db: DbEnv, tenant: TenantWorld, writes: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The report, accept and the reporter's feedback on the driver: the case's row written once by each (its INSERT,
    its UPDATE), with the facts the rows give and ``rate_seq`` the step's (the trigger found it folded in); each
    write's parameters all made by ``bind_write`` (an int4 parameter would send the write the ordinary way)."""
    tw = tenant
    refused: list[str] = []
    bound: list[str] = []
    real = commit.bind_write

    def spy(statement: str, *rest: Any, **kw: Any) -> bytes:
        try:
            bound.append(statement)
            return real(statement, *rest, **kw)
        except commit.NotText as e:
            refused.append(str(e))
            raise

    monkeypatch.setattr(commit, "bind_write", spy)
    with fast_taken():
        body = await post(api, tw, "resident", REPORT, {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                        "title": "垃圾未清运", "idempotencyKey": uuid.uuid4().hex},
                          fast=True)
    reported_case = case_id(payload(body)["case"]["id"])
    assert await writes(reported_case) == ["INSERT"]
    assert (await kept(db, tw, reported_case))["rate_accept_due"] is not None
    # each step thrice: a write's Bind is made by bind_write once its text is prepared on the connection
    for name, user, data in (("acceptCase", "grid1", {}), ("acceptCase", "grid1", {}), ("acceptCase", "grid1", {}),
                             *(("giveCaseFeedback", "resident", {"satisfied": True, "idempotencyKey": uuid.uuid4().hex})
                               for _ in range(3))):
        gid = await made(api, tw, name)
        case = case_id(gid)
        await writes(case)
        with fast_taken() as taken:
            got = payload(await post(api, tw, user, doc(name), {"id": gid, **data}, fast=True))
        assert got["errors"] == [] and taken == [True], (name, got)
        assert await writes(case) == ["UPDATE"], name
        facts = await kept(db, tw, case)
        assert facts["rate_responded_at"] is not None
        if name == "giveCaseFeedback":
            assert facts["rate_closes"] == 1 and facts["rate_closed_at"] is not None
        seq, version = await rate_seq(db, tw, case)
        assert seq == version  # the step's own: its timeline entry's seq is the version it set
    # (through pgbouncer no statement is kept prepared: every write goes the ordinary way, bind_write unasked)
    assert (bool(bound) is not db.through_pgbouncer) and refused == [], (len(bound), refused)
