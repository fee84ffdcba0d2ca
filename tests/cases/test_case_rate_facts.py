"""The rate facts on a case's row (migration 0056; issue #21, caseRates): after every step a case can take —
report, accept, reject, dispatch, start, return (退单), resolve, rework (重办), reopen, close, the reporter's
feedback, 回访, 督办 — and after rows written behind the API's back (steps out of order, a 受理 stage's due time
moved), the facts the triggers keep equal the facts read from the case's own steps and stages, by the rule the
rates count by (tests/support/rates_oracle.py); and the migration's fill sets them on cases that had none."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models import Case, CaseEvent, CaseStage, CaseStageKind, CaseState, uuid7
from models.cases import aware
from resolvers.cases.rates import CALLBACK_ACTIONS, RESPONSE_ACTIONS, RETURN_ACTIONS, REWORK_ACTIONS
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.case_steps import MONDAY_10, ClockApi, dispatched, reported, resolved, step
from tests.support.cases import case_uuid, firm_gid
from tests.support.harness import DbEnv, World
from tests.support.paths import ROOT
from tests.support.world import TenantWorld

FACTS = ("rate_accept_due", "rate_responded_at", "rate_returned", "rate_reworked", "rate_closes", "rate_closed_at",
         "rate_called_back")
_CLOSED = CaseState.CLOSED.value


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's text
        value = datetime.fromisoformat(value)
    return aware(value)


async def stored(db: DbEnv, tw: TenantWorld, case_id: uuid.UUID) -> dict[str, Any]:
    """The facts on the case's row, as the tables' owner reads them."""
    async with db.owner_engine.connect() as conn:
        if db.is_pg:
            await conn.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        row = (await conn.execute(sa.text(f"SELECT {', '.join(FACTS)} FROM cases WHERE tenant_id = :t AND id = :c"),
                                  {"t": tw.tenant_id if db.is_pg else tw.tenant_id.hex,
                                   "c": case_id if db.is_pg else case_id.hex})).one()
        await conn.rollback()
    got = dict(zip(FACTS, row, strict=True))
    for k in ("rate_accept_due", "rate_responded_at", "rate_closed_at"):
        got[k] = _time(got[k])
    for k in ("rate_returned", "rate_reworked", "rate_called_back"):
        got[k] = bool(got[k])
    return got


async def wanted(db: DbEnv, tw: TenantWorld, case_id: uuid.UUID) -> dict[str, Any]:
    """The facts read from the case's steps and stages, as the rates' rule (rates_oracle) reads them."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            events = (await s.execute(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                      .order_by(CaseEvent.seq))).scalars().all()
            stage = (await s.execute(sa.select(CaseStage.due_at).where(
                CaseStage.case_id == case_id, CaseStage.stage == CaseStageKind.ACCEPT).order_by(CaseStage.seq)
                .limit(1))).first()
    closures = [e for e in events if e.to_state == _CLOSED and e.from_state != _CLOSED]
    first = closures[0] if closures else None
    return {
        "rate_accept_due": _time(stage[0]) if stage else None,
        "rate_responded_at": next((_time(e.created_at) for e in events if e.action in RESPONSE_ACTIONS), None),
        "rate_returned": any(e.action in RETURN_ACTIONS for e in events),
        "rate_reworked": any(e.action in REWORK_ACTIONS or e.to_state == CaseState.REOPENED.value for e in events),
        "rate_closes": len(closures),
        "rate_closed_at": _time(first.created_at) if first else None,
        "rate_called_back": first is not None and any(
            e.action in CALLBACK_ACTIONS and e.seq >= first.seq and aware(e.created_at) >= aware(first.created_at)
            for e in events),
    }


async def kept(db: DbEnv, tw: TenantWorld, case: dict[str, Any] | uuid.UUID) -> dict[str, Any]:
    """The stored facts, checked equal to the wanted ones."""
    case_id = case if isinstance(case, uuid.UUID) else case_uuid(case["id"])
    got, want = await stored(db, tw, case_id), await wanted(db, tw, case_id)
    assert got == want, (got, want)
    return got


class Walk:
    """Steps of one case at a clock moved a minute per step (each step's time its own)."""

    def __init__(self, c: ClockApi, db: DbEnv, tw: TenantWorld) -> None:
        self.c, self.db, self.tw, self.now = c, db, tw, MONDAY_10

    async def __call__(self, user: str, name: str, case: dict[str, Any], **fields: Any) -> dict[str, Any]:
        self.now += timedelta(minutes=1)
        self.c.at(self.now)
        after = await step(self.c.api, self.tw, user, name, id=case["id"], **fields)
        self.facts = await kept(self.db, self.tw, after)
        return after


async def test_the_facts_follow_every_step(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    walk = Walk(c, db, a)
    case = await reported(c.api, a)
    facts = await kept(db, a, case)
    assert facts["rate_accept_due"] is not None and facts["rate_responded_at"] is None  # the 受理 stage's limit
    case = await walk("grid1", "acceptCase", case)
    assert walk.facts["rate_responded_at"] == walk.now
    responded = walk.now
    case = await walk("grid1", "dispatchCase", case, handlerKind="PROPERTY_FIRM", firmId=firm_gid(a))
    case = await walk("secretary", "superviseCase", case)  # 督办: no fact of the rates
    case = await walk("firm", "startCase", case)
    case = await walk("firm", "returnCase", case, reason="属市政管网，不归物业")
    assert walk.facts["rate_returned"] and not walk.facts["rate_reworked"]
    case = await walk("grid1", "dispatchCase", case, handlerKind="PROPERTY_FIRM", firmId=firm_gid(a))
    case = await walk("firm", "startCase", case)
    case = await walk("firm", "resolveCase", case, resolution="已疏通")
    case = await walk("grid1", "reworkCase", case, reason="复查仍在外溢")
    assert walk.facts["rate_reworked"] and walk.facts["rate_closes"] == 0
    case = await walk("firm", "startCase", case)
    case = await walk("firm", "resolveCase", case, resolution="再次疏通")
    case = await walk("grid1", "closeCase", case)
    assert (walk.facts["rate_closes"], walk.facts["rate_closed_at"]) == (1, walk.now)
    assert not walk.facts["rate_called_back"]
    closed = walk.now
    case = await walk("grid1", "recordCaseCallback", case, result="NOT_SOLVED", note="污水又冒出来了")
    assert walk.facts["rate_called_back"] and case["state"] == "REOPENED"
    case = await walk("grid1", "dispatchCase", case, handlerKind="PROPERTY_FIRM", firmId=firm_gid(a))
    case = await walk("firm", "startCase", case)
    case = await walk("firm", "resolveCase", case, resolution="第三次疏通")
    case = await walk("resident", "giveCaseFeedback", case, satisfied=True)
    assert case["state"] == "CLOSED"
    # closed twice: the first closure's time stays, the count says the rates must read the steps
    assert (walk.facts["rate_closes"], walk.facts["rate_closed_at"]) == (2, closed)
    assert walk.facts["rate_responded_at"] == responded  # the first response, not a later one


async def test_the_facts_of_a_refusal_a_reopening_and_a_feedback(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    walk = Walk(c, db, a)
    refused = await reported(c.api, a)
    refused = await walk("grid1", "rejectCase", refused, reason="不属于受理范围")
    assert walk.facts["rate_responded_at"] == walk.now  # 不予受理 is a response
    case = await resolved(c.api, a)
    await kept(db, a, case)
    case = await walk("grid1", "reopenCase", case, reason="未修好")
    assert walk.facts["rate_reworked"] and walk.facts["rate_closes"] == 0
    assert case["state"] == "REOPENED"
    other = await dispatched(c.api, a)
    other = await walk("firm", "startCase", other)
    other = await walk("firm", "resolveCase", other, resolution="已疏通")
    other = await walk("resident", "giveCaseFeedback", other, satisfied=False, comment="没修好")
    assert walk.facts["rate_reworked"] and walk.facts["rate_closes"] == 0
    assert other["state"] == "REOPENED"


async def test_rows_written_behind_the_apis_back(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    """Steps inserted out of their order, a 回访 before the closure in time, a second 受理 stage and a moved due
    time: the triggers recompute from every row of the case, whatever wrote it."""
    c, a = capi, fresh.a
    case = await reported(c.api, a)
    case_id = case_uuid(case["id"])
    t0 = MONDAY_10 + timedelta(hours=1)

    def event(seq: int, action: str, from_state: str | None, to_state: str | None, at: datetime) -> CaseEvent:
        return CaseEvent(case_id=case_id, seq=seq, action=action, from_state=from_state, to_state=to_state,
                         actor_user_id=a.users["admin"], actor_role="street_admin", attachments=[], detail={},
                         created_at=at)

    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            for e in (event(9, "close", "resolved", "closed", t0 + timedelta(hours=3)),
                      event(5, "callback", "closed", "closed", t0 + timedelta(hours=2)),
                      event(4, "close", "resolved", "closed", t0 + timedelta(hours=1)),
                      event(3, "reject", "reported", "rejected", t0 + timedelta(minutes=30)),
                      event(2, "accept", "reported", "accepted", t0)):
                s.add(e)
                await s.flush()  # one statement each: the later seq first
    facts = await kept(db, a, case_id)
    assert facts["rate_responded_at"] == t0 and facts["rate_closes"] == 2
    assert facts["rate_closed_at"] == t0 + timedelta(hours=1) and facts["rate_called_back"]
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            s.add(event(10, "callback", "closed", "closed", t0 - timedelta(hours=1)))  # before the closure in time
            first = (await s.execute(sa.select(CaseStage).where(CaseStage.case_id == case_id)
                                     .order_by(CaseStage.seq).limit(1))).scalar_one()
            assert first.stage == CaseStageKind.ACCEPT
            first.due_at = t0 + timedelta(days=2)  # an extension of the 受理 stage
            s.add(CaseStage(id=uuid7(), case_id=case_id, seq=20, stage=CaseStageKind.ACCEPT, started_at=t0,
                            due_at=t0 + timedelta(days=9), extensions=0, created_at=t0))  # not the first
    facts = await kept(db, a, case_id)
    assert facts["rate_accept_due"] == t0 + timedelta(days=2)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            first = (await s.execute(sa.select(CaseStage).where(CaseStage.case_id == case_id)
                                     .order_by(CaseStage.seq).limit(1))).scalar_one()
            first.stage = CaseStageKind.DISPATCH  # no longer a 受理 stage: the next one's due time counts
    facts = await kept(db, a, case_id)
    assert facts["rate_accept_due"] == t0 + timedelta(days=9)


def _migration() -> Any:
    path = ROOT / "migrations" / "versions" / "0056_case_rate_facts.py"
    spec = importlib.util.spec_from_file_location("migration_0056", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_migration_fills_the_facts_of_existing_cases(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    """The upgrade's ``FILL`` on cases whose facts were never set (as before 0056): every case's facts as its
    rows give them, another tenant's cases too."""
    c, a, b = capi, fresh.a, fresh.b
    walk = Walk(c, db, a)
    cases = [await reported(c.api, a), await resolved(c.api, a), await resolved(c.api, b)]
    cases[1] = await walk("grid1", "closeCase", cases[1])
    cases[1] = await walk("grid1", "recordCaseCallback", cases[1], result="SATISFIED")
    worlds = [a, a, b]
    want = [await kept(db, tw, case) for tw, case in zip(worlds, cases, strict=True)]
    assert want[1]["rate_called_back"] and want[0]["rate_accept_due"] is not None
    ids = [case_uuid(case["id"]) for case in cases]
    migration = _migration()
    async with db.owner_engine.begin() as conn:
        for tw, case_id in zip(worlds, ids, strict=True):
            if db.is_pg:
                await conn.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            await conn.execute(sa.text(
                "UPDATE cases SET rate_accept_due = NULL, rate_responded_at = NULL, rate_returned = false, "
                "rate_reworked = false, rate_closes = 0, rate_closed_at = NULL, rate_called_back = false "
                "WHERE id = :c"), {"c": case_id if db.is_pg else case_id.hex})
            wiped = (await conn.execute(sa.text(f"SELECT {', '.join(FACTS)} FROM cases WHERE id = :c"),
                                        {"c": case_id if db.is_pg else case_id.hex})).one()
            assert tuple(wiped) in ((None, None, False, False, 0, None, False), (None, None, 0, 0, 0, None, 0))
        await conn.run_sync(migration.fill)  # every tenant, each under its own tenant setting
    for tw, case_id, facts in zip(worlds, ids, want, strict=True):
        assert await kept(db, tw, case_id) == facts


def test_every_case_column_the_rates_read_of_the_timeline_is_a_fact() -> None:
    """The facts are not mapped on Case (the steps' guards compare every mapped column with what was kept)."""
    mapped = {attr.key for attr in sa.inspect(Case).column_attrs}
    assert not mapped & set(FACTS)
    assert {*_migration().STEP_FACTS, "rate_accept_due"} == set(FACTS)
