"""The case rates counted by the database (issue #21) equal the rule counted case by case in Python
(tests/support/rates_oracle.py, the code before issue #21) over a varied set of cases: every state, responses
before, at and after the 受理 stage's due time or the definitions' limit (cases without a stage), steps out of
time order, returns, reopenings and 重办, closures inside and outside the period and again after a 回访,
回访 before and after a closure, residents' and staff verdicts, street-level cases, every kind of handling
unit (one named like another unit's id) — in every grouping, for readers of different scope, in an area,
for three periods and under each unit of the response limit; and another tenant's cases never count."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from models import (
    Area,
    Case,
    CaseEvent,
    CasePriority,
    CaseStage,
    CaseStageKind,
    CaseState,
    HandlerKind,
    PartnerKind,
    PartnerUnit,
    uuid7,
)
from resolvers.cases.rates import RateGroupBy, RatesResult, case_rates
from resolvers.context import RequestContext
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World
from tests.support.rates_oracle import oracle_case_rates
from tests.support.world import TenantWorld

CST = timezone(timedelta(hours=8))
NOW = datetime.now(UTC)
TODAY = NOW.astimezone(CST).date()
PERIODS = [(TODAY - timedelta(days=20), TODAY), (TODAY - timedelta(days=12), TODAY - timedelta(days=6)),
           (TODAY.replace(day=1), TODAY)]
AREAS = ("S", "C1", "P1", "B1", "B2", "B3", "C2", "Z1", "P3", "B4", "G1")
ROLES = ("resident", "neighbor_lead", "grid_leader", "street_admin")
STATES = list(CaseState)
ACTIONS = ("report", "accept", "reject", "dispatch", "return", "resolve", "reopen", "rework", "feedback",
           "close", "auto_close", "callback", "transfer")
STEP_STATES = (None, "reported", "accepted", "dispatched", "resolved", "closed", "reopened", "rejected")
RESULTS = (None, "satisfied", "basically_satisfied", "unsatisfied", "not_solved", "unreachable")


def _maybe(rng: random.Random, p: float, value: Any) -> Any:
    return value if rng.random() < p else None


def _cases(rng: random.Random, tw: TenantWorld, paths: dict[str, str], partner: uuid.UUID, n: int,
           lo: datetime) -> Iterator[tuple[Case, list[CaseEvent], list[CaseStage]]]:
    """``n`` cases of random facts, reported over the last 25 days (some exactly at a period's first instant),
    with their timeline steps and stages."""
    handlers: list[tuple[HandlerKind | None, str, uuid.UUID | None, str | None]] = [
        (None, "", None, None),
        (HandlerKind.PROPERTY_FIRM, "firm", tw.firms["F1"], "安居物业"),
        (HandlerKind.PROPERTY_FIRM, "firm", tw.firms["F1"], "安居物业（旧名）"),
        (HandlerKind.PROPERTY_FIRM, "firm", tw.firms["F1"], None),
        (HandlerKind.COMMUNITY, "area", tw.areas["C2"], "西湖社区"),
        (HandlerKind.GRID, "area", tw.areas["G1"], "一网格"),
        (HandlerKind.PARTNER_UNIT, "partner", partner, "共建医院"),
        (HandlerKind.PARTNER_UNIT, "", None, "老字号维修部"),  # before migration 0045: a name only
        (HandlerKind.PARTNER_UNIT, "", None, None),
        (HandlerKind.PARTNER_UNIT, "", None, ""),
        (HandlerKind.PROPERTY_FIRM, "", None, str(tw.firms["F1"])),  # named like the firm's id: one group
    ]
    for i in range(n):
        at = NOW - timedelta(minutes=rng.randrange(0, 25 * 24 * 60), microseconds=rng.randrange(1_000_000))
        if i % 17 == 0:
            at = lo - timedelta(microseconds=i % 2)  # at a period's first instant, or just before it
        area = rng.choice(AREAS)
        kind, column, unit, name = rng.choice(handlers)
        case = Case(id=uuid7(), number=f"O-{i}", area_id=tw.areas[area], area_path=paths[area],
                    category_code=rng.choice(("garbage", "drainage", "no_such_category")),
                    priority=rng.choice(list(CasePriority)), title=f"o{i}", description="", state=rng.choice(STATES),
                    reporter_user_id=tw.users["admin"], reporter_role=rng.choice(ROLES), on_wall=False,
                    supervised=False, reopen_count=rng.choice((0, 0, 0, 1, 2)), version=1, updated_at=at,
                    created_at=at, satisfied=rng.choice((None, None, True, False)))
        later = [at + timedelta(minutes=rng.randrange(-30, 5 * 24 * 60)) for _ in range(8)]
        case.accepted_at = _maybe(rng, 0.7, later[0])
        case.dispatched_at = _maybe(rng, 0.6, later[1])
        case.resolved_at = _maybe(rng, 0.5, later[2])
        case.due_at = _maybe(rng, 0.6, rng.choice((later[3], case.resolved_at or later[3])))
        case.closed_at = _maybe(rng, 0.4, later[4])
        case.callback_result = rng.choice(RESULTS)
        case.callback_at = _maybe(rng, 0.7, rng.choice((later[5], case.closed_at or later[5])))
        if kind is not None:
            case.handler_kind, case.handler_name = kind, name
            if column:
                setattr(case, f"handler_{column}_id", unit)
        events = []
        times = sorted(later) if rng.random() < 0.7 else later  # some timelines out of time order
        for seq in range(1, rng.randrange(0, 8) + 1):
            when = rng.choice((times[seq % 8], times[(seq - 1) % 8], lo, lo - timedelta(microseconds=1)))
            events.append(CaseEvent(case_id=case.id, seq=seq, action=rng.choice(ACTIONS),
                                    from_state=rng.choice(STEP_STATES), to_state=rng.choice(STEP_STATES),
                                    actor_user_id=tw.users["admin"], actor_role="street_admin", attachments=[],
                                    detail={}, created_at=when))
        stages = []
        for seq in range(1, rng.choice((0, 1, 1, 1, 2)) + 1):
            responded = next((e.created_at for e in events if e.action in ("accept", "reject")), None)
            due = rng.choice((None, at + timedelta(minutes=rng.randrange(1, 600)), responded,
                              NOW + timedelta(hours=1)))
            stages.append(CaseStage(case_id=case.id, seq=seq, stage=rng.choice((CaseStageKind.ACCEPT,
                                                                                CaseStageKind.ACCEPT,
                                                                                CaseStageKind.DISPATCH)),
                                    started_at=at, due_at=due, extensions=0, created_at=at))
        yield case, events, stages


def _exact(tw: TenantWorld, paths: dict[str, str]) -> Iterator[tuple[Case, list[CaseEvent], list[CaseStage]]]:
    """Cases without a 受理 stage whose response falls exactly on, or just after, the definitions' limit
    (1 working hour from a Wednesday 10:00, a working day, in each period's range)."""
    wednesday = TODAY - timedelta(days=7 + (TODAY.weekday() - 2) % 7)
    start = datetime(wednesday.year, wednesday.month, wednesday.day, 10, tzinfo=CST)
    for i, late in enumerate((timedelta(0), timedelta(microseconds=1), timedelta(hours=3), -timedelta(minutes=1))):
        case = Case(id=uuid7(), number=f"X-{i}", area_id=tw.areas["B1"], area_path=paths["B1"],
                    category_code="garbage", priority=CasePriority.NORMAL, title=f"x{i}", description="",
                    state=CaseState.ACCEPTED, reporter_user_id=tw.users["admin"], reporter_role="resident",
                    on_wall=False, supervised=False, reopen_count=0, version=1, updated_at=start, created_at=start)
        answered = start + timedelta(hours=1) + late
        case.accepted_at = answered
        yield case, [CaseEvent(case_id=case.id, seq=1, action="accept", from_state="reported", to_state="accepted",
                               actor_user_id=tw.users["admin"], actor_role="street_admin", attachments=[],
                               detail={}, created_at=answered)], []


async def _construct(db: DbEnv, tw: TenantWorld, seed: int, n: int) -> None:
    rng = random.Random(seed)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = {}
            for key in AREAS:
                area = await s.get(Area, (tw.tenant_id, tw.areas[key]))
                assert area is not None
                paths[key] = area.path
            partner = PartnerUnit(id=uuid7(), name="共建医院", kind=PartnerKind.HOSPITAL, created_by=tw.users["admin"],
                                  updated_at=NOW, created_at=NOW)
            s.add(partner)
            lo = datetime.combine(PERIODS[1][0], datetime.min.time(), tzinfo=CST)
            for case, events, stages in [*_cases(rng, tw, paths, partner.id, n, lo), *_exact(tw, paths)]:
                s.add(case)
                await s.flush()
                s.add_all([*events, *stages])


@asynccontextmanager
async def _context(api: Api, tw: TenantWorld, user: str) -> Any:
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    async with state.sessionmaker() as session:
        ctx: RequestContext = await state.open_context(session, tw.users[user], tw.slug, "test", None)
        try:
            yield ctx
        finally:
            await session.rollback()


def _figures(result: RatesResult) -> list[tuple[Any, ...]]:
    return [(r.key, r.label, r.cases, {k: (x.numerator, x.denominator) for k, x in r.ratios.items()}, r.score)
            for r in result.rows]


async def _compare(api: Api, tw: TenantWorld, user: str, area: str | None = None) -> int:
    """Every grouping and period: the database's counts equal the oracle's. Returns the groups compared."""
    compared = 0
    for start, end in PERIODS:
        for group_by in RateGroupBy:
            area_id = tw.areas[area] if area else None
            async with _context(api, tw, user) as ctx:
                got = _figures(await case_rates(ctx, start=start, end=end, group_by=group_by, area_id=area_id))
                want = _figures(await oracle_case_rates(ctx, start=start, end=end, group_by=group_by,
                                                        area_id=area_id))
            assert got == want, (user, area, start, end, group_by)
            compared += len(got)
    return compared


async def _define(api: Api, tw: TenantWorld, amount: float, unit: str) -> None:
    doc = """mutation($i: SetCaseRateDefinitionsInput!) { setCaseRateDefinitions(input: $i) { errors { code } } }"""
    body = await api.gql(tw, "admin", doc, {"i": {"responseLimit": amount, "responseLimitUnit": unit,
                                                   "weights": [{"rate": "response", "weight": 30},
                                                               {"rate": "rework", "weight": 20},
                                                               {"rate": "callback", "weight": 10}]}})
    assert body["data"]["setCaseRateDefinitions"]["errors"] == [], body


async def test_the_databases_counts_equal_the_case_by_case_rule(api: Api, db: DbEnv, fresh: World) -> None:
    tw, other = fresh.a, fresh.b
    await _construct(db, tw, seed=21, n=400)
    await _construct(db, other, seed=22, n=60)  # another tenant's cases: never counted
    async with _context(api, tw, "admin") as ctx:
        [total] = (await case_rates(ctx, start=PERIODS[0][0], end=PERIODS[0][1], group_by=RateGroupBy.TOTAL)).rows
    # the set is varied enough that every rate has cases on both sides of its rule
    assert all(0 < r.numerator < r.denominator for r in total.ratios.values()), total.ratios
    assert await _compare(api, tw, "admin") > 30
    for user in ("resident", "grid1", "secretary2"):  # narrower statistics grants
        assert await _compare(api, tw, user) > 0
    assert await _compare(api, tw, "admin", area="C1") > 0
    for amount, unit in ((3, "CALENDAR_HOURS"), (2, "WORKING_DAYS"), (1.5, "WORKING_HOURS")):
        await _define(api, tw, amount, unit)
        assert await _compare(api, tw, "admin") > 30


async def test_a_period_without_cases(api: Api, fresh: World) -> None:
    async with _context(api, fresh.a, "admin") as ctx:
        for group_by in RateGroupBy:
            got = await case_rates(ctx, start=date(2001, 1, 1), end=date(2001, 1, 31), group_by=group_by)
            want = await oracle_case_rates(ctx, start=date(2001, 1, 1), end=date(2001, 1, 31), group_by=group_by)
            assert _figures(got) == _figures(want)
            assert len(got.rows) == (1 if group_by is RateGroupBy.TOTAL else 0)
