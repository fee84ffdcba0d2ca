"""Case rates (考核指标, issue #22) against a hand count: a constructed month of cases, each rate's
numerator and denominator counted by hand below, per total, community, handling unit and category; the
ranking of handling units; 响应率 by each case's 受理 stage due time (the definitions' limit only where a
case has none); 满意率 of residents' verdicts, their own or relayed at 回访, staff self-ratings left out;
回访率 of the cases closed in the period; the tenant's own definitions."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from openpyxl import load_workbook

from models import Area, Case, CaseEvent, CasePriority, CaseStage, CaseStageKind, CaseState, HandlerKind, uuid7
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.world import TenantWorld, build_tenant

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 4, 10, 0, tzinfo=CST)  # a Wednesday, a working day; 1 working hour on is 11:00
DUE = datetime(2026, 11, 6, 10, 0, tzinfo=CST)

ROW = """key label cases score
  responseRate { numerator denominator rate } resolutionRate { numerator denominator }
  satisfactionRate { numerator denominator rate } onTimeRate { numerator denominator }
  returnRate { numerator denominator } reworkRate { numerator denominator } callbackRate { numerator denominator }"""
RATES = f"""query($p: RatePeriodInput!, $g: CaseRateGroupBy!) {{
  caseRates(period: $p, groupBy: $g) {{ periodStart periodEnd definitions {{ responseLimit responseLimitUnit
    customised weights {{ rate weight }} }} rows {{ {ROW} }} }} }}"""
RANKING = "query($p: RatePeriodInput!) { handlingUnitRanking(period: $p) { rows { key label score cases } } }"
NOVEMBER = {"kind": "MONTH", "year": 2026, "number": 11}


@dataclass
class Spec:
    """One case of the constructed month."""

    area: str
    category: str
    reporter_role: str
    state: CaseState
    response: tuple[str, int] | None = None  # (accept|reject, minutes after the report)
    accept_due: int | None = 60  # its 受理 stage due so many minutes after the report; None: no stage row
    handler: str | None = None  # F1 or C2
    resolved_days: int | None = None  # resolved so many days after the report (due: 2 days after)
    satisfied: bool | None = None  # the reporter's own verdict
    reopened: bool = False
    returned: bool = False
    closed_days: int | None = None  # closed so many days (and an hour) after the report; default: resolved_days
    callback: str | None = None  # the 回访 result relayed a day after the closure
    at: datetime = T0


SPECS = {
    "k1": Spec("B1", "garbage", "resident", CaseState.CLOSED, ("accept", 30), handler="F1", resolved_days=1,
               satisfied=True, callback="satisfied"),
    # no 受理 stage row: judged by the definitions' 1 working hour, so its acceptance after 2 hours is late
    "k2": Spec("B1", "garbage", "resident", CaseState.RESOLVED, ("accept", 120), None, "F1", 6, False,
               reopened=True),
    # a grid leader's own verdict on their own report: a self-rating, never counted
    "k3": Spec("B4", "drainage", "grid_leader", CaseState.CLOSED, ("accept", 10), handler="C2", resolved_days=1,
               satisfied=True, returned=True),
    # rejected after 20 minutes, but its 受理 stage was due after 15 (the definitions' hour does not apply)
    "k4": Spec("B4", "drainage", "resident", CaseState.REJECTED, ("reject", 20), 15),
    "k5": Spec("B1", "garbage", "resident", CaseState.REPORTED),
    "k6": Spec("B1", "garbage", "resident", CaseState.WITHDRAWN),  # withdrawn: not counted at all
    "k7": Spec("B1", "garbage", "resident", CaseState.CLOSED, ("accept", 5), None, "F1", 1, True,
               at=T0 - timedelta(days=30)),  # October: outside the period
    "k8": Spec("B4", "drainage", "resident", CaseState.IN_PROGRESS, ("accept", 40), handler="F1"),
    # a 12345 work order entered by a grid leader: no own verdict; the resident's 基本满意 relayed at 回访 counts
    "k9": Spec("B1", "garbage", "grid_leader", CaseState.CLOSED, ("accept", 50), handler="F1", resolved_days=1,
               callback="basically_satisfied"),
    # closed on the resident's own "satisfied", then 回访 heard "not solved": reopened; the relayed verdict is
    # the later one (not satisfied), and the case counts as closed in the period and called back
    "k10": Spec("B4", "drainage", "resident", CaseState.REOPENED, ("accept", 20), handler="C2", resolved_days=1,
                satisfied=True, reopened=True, callback="not_solved"),
    # reported on 28 November, closed on 3 December: not closed in the period; its 回访 found nobody
    # (unreachable: no verdict)
    "k11": Spec("B1", "garbage", "resident", CaseState.CLOSED, ("accept", 10), handler="F1", resolved_days=1,
                closed_days=5, callback="unreachable", at=T0 + timedelta(days=24)),
}


async def _construct(db: DbEnv, tw: TenantWorld) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = {k: (await s.get(Area, (tw.tenant_id, tw.areas[k]))) for k in ("B1", "B4")}
            for n, (name, sp) in enumerate(SPECS.items()):
                area = paths[sp.area]
                assert area is not None
                case = Case(id=uuid7(), number=f"R-{n}", area_id=area.id, area_path=area.path,
                            category_code=sp.category, priority=CasePriority.NORMAL, title=name, description="",
                            state=sp.state, reporter_user_id=tw.users["admin"], reporter_role=sp.reporter_role,
                            on_wall=False, supervised=False, reopen_count=int(sp.reopened), version=1,
                            updated_at=sp.at, created_at=sp.at, satisfied=sp.satisfied)
                events = [("report", None, "reported", sp.at)]
                accepted = None
                if sp.response is not None:
                    action, minutes = sp.response
                    accepted = sp.at + timedelta(minutes=minutes)
                    events.append((action, "reported", "accepted" if action == "accept" else "rejected", accepted))
                    if action == "accept":
                        case.accepted_at = accepted
                if sp.handler is not None:
                    case.dispatched_at = sp.at + timedelta(hours=3)
                    case.due_at = sp.at + timedelta(days=2)
                    if sp.handler == "F1":
                        case.handler_kind, case.handler_firm_id, case.handler_name = (
                            HandlerKind.PROPERTY_FIRM, tw.firms["F1"], "安居物业")
                    else:
                        case.handler_kind, case.handler_area_id, case.handler_name = (
                            HandlerKind.COMMUNITY, tw.areas["C2"], "西湖社区")
                    if sp.returned:
                        events.append(("return", "dispatched", "accepted", sp.at + timedelta(hours=4)))
                    events.append(("dispatch", "accepted", "dispatched", sp.at + timedelta(hours=5)))
                if sp.resolved_days is not None:
                    case.resolved_at = sp.at + timedelta(days=sp.resolved_days)
                    if sp.reopened and sp.callback is None:
                        events.append(("feedback", "resolved", "reopened", sp.at + timedelta(days=1)))
                    if sp.state is CaseState.CLOSED or sp.callback is not None:
                        closed = sp.at + timedelta(days=sp.closed_days or sp.resolved_days, hours=1)
                        case.closed_at = closed
                        events.append(("feedback" if sp.satisfied else "auto_close", "resolved", "closed", closed))
                        if sp.callback is not None:
                            case.callback_result, case.callback_at = sp.callback, closed + timedelta(days=1)
                            reopen = sp.callback == "not_solved"
                            events.append(("callback", "closed", "reopened" if reopen else "closed",
                                           case.callback_at))
                            if reopen:  # as recordCaseCallback leaves it
                                case.resolved_at = case.closed_at = None
                s.add(case)
                await s.flush()
                for seq, (action, frm, to, at) in enumerate(events, start=1):
                    s.add(CaseEvent(case_id=case.id, seq=seq, action=action, from_state=frm, to_state=to,
                                    actor_user_id=tw.users["admin"], actor_role="street_admin", attachments=[],
                                    detail={"result": sp.callback, "relayed": True} if action == "callback" else {},
                                    created_at=at))
                if sp.accept_due is not None:  # the 受理 stage report_case opens, completed by the response
                    s.add(CaseStage(case_id=case.id, seq=1, stage=CaseStageKind.ACCEPT, started_at=sp.at,
                                    due_at=sp.at + timedelta(minutes=sp.accept_due), completed_at=accepted,
                                    outcome=None if sp.response is None else sp.response[0], extensions=0,
                                    created_at=sp.at))


def _row(r: dict[str, Any]) -> tuple[Any, ...]:
    """cases, then (numerator, denominator) of 响应 解决 满意 按时 回退 重办 回访, then the score."""
    return (r["cases"], *((r[k]["numerator"], r[k]["denominator"]) for k in (
        "responseRate", "resolutionRate", "satisfactionRate", "onTimeRate", "returnRate", "reworkRate",
        "callbackRate")), r["score"])


async def _rates(api: Api, tw: TenantWorld, group: str, user: str = "admin",
                 period: dict[str, Any] = NOVEMBER) -> dict[str, Any]:
    body = await api.gql(tw, user, RATES, {"p": period, "g": group})
    assert "errors" not in body, body
    rates: dict[str, Any] = body["data"]["caseRates"]
    return rates


@pytest.fixture(scope="module")
async def month(db: DbEnv) -> TenantWorld:
    """One tenant with the constructed month, shared by the tests that only read it (or open an
    evaluation period, which leaves the rates as they are)."""
    tw = await build_tenant(db.sessionmaker, new_slug("rates"))
    await _construct(db, tw)
    return tw


@pytest.fixture
async def own_month(db: DbEnv) -> TenantWorld:
    """The constructed month in a tenant of its own, for a test that changes the definitions."""
    tw = await build_tenant(db.sessionmaker, new_slug("rdef"))
    await _construct(db, tw)
    return tw


async def test_every_rate_equals_the_hand_count(api: Api, month: TenantWorld) -> None:
    tw = month
    total = await _rates(api, tw, "TOTAL")
    assert (total["periodStart"], total["periodEnd"]) == ("2026-11-01", "2026-11-30")
    assert total["definitions"]["customised"] is False
    assert total["definitions"]["responseLimit"] == 1 and total["definitions"]["responseLimitUnit"] == "WORKING_HOURS"
    # k1 k2 k3 k4 k5 k8 k9 k10 k11 (k6 withdrawn, k7 in October).
    # 响应 (by the 受理 stage's due time): k1 k3 k8 k9 k10 k11 by it; k4 after it (20 > 15 minutes); k2 (no
    # stage) after the definitions' working hour; k5 none yet and past due — 6 of 9.
    # 解决: of the accepted k1 k2 k3 k8 k9 k10 k11, k1 k2 k3 k9 k11 resolved or closed now — 5 of 7.
    # 满意: k1 yes (own; 回访 satisfied too), k2 no (own), k9 yes (基本满意 relayed), k10 no (not solved,
    # relayed after its own yes); k3's is the grid leader's self-rating, k11's 回访 unreachable — 2 of 4.
    # 按时: k1 k3 k9 k11 of the resolved k1 k2 k3 k9 k11 (k10 reopened) — 4 of 5.
    # 回退: k3 of the dispatched k1 k2 k3 k8 k9 k10 k11 — 1 of 7.
    # 重办: k2 k10 of the once-resolved k1 k2 k3 k9 k10 k11 — 2 of 6.
    # 回访: k1 k9 k10 of those closed in November k1 k3 k9 k10 (k10 since reopened; k11 closed in
    # December) — 3 of 4.
    # Score: (30 × 6/9 + 35 × 5/7 + 35 × 2/4) / 100 = 62.5.
    [row] = total["rows"]
    assert row["key"] == "total"
    assert _row(row) == (9, (6, 9), (5, 7), (2, 4), (4, 5), (1, 7), (2, 6), (3, 4), 62.5)
    assert row["satisfactionRate"]["rate"] == 0.5

    by_community = {r["label"]: _row(r) for r in (await _rates(api, tw, "COMMUNITY"))["rows"]}
    assert by_community == {
        # k1 k2 k5 k9 k11: (30 × 3/5 + 35 × 4/4 + 35 × 2/3) / 100 = 76.33
        "东风社区": (5, (3, 5), (4, 4), (2, 3), (3, 4), (0, 4), (1, 4), (2, 2), 76.33),
        # k3 k4 k8 k10: (30 × 3/4 + 35 × 1/3 + 35 × 0/1) / 100 = 34.17
        "西湖社区": (4, (3, 4), (1, 3), (0, 1), (1, 1), (1, 3), (1, 2), (1, 2), 34.17),
    }
    by_category = {r["key"]: _row(r) for r in (await _rates(api, tw, "CATEGORY"))["rows"]}
    assert by_category == {"garbage": by_community["东风社区"], "drainage": by_community["西湖社区"]}

    by_unit = {r["label"]: _row(r) for r in (await _rates(api, tw, "HANDLING_UNIT"))["rows"]}
    assert by_unit == {
        # k1 k2 k8 k9 k11: (30 × 4/5 + 35 × 4/5 + 35 × 2/3) / 100 = 75.33
        "安居物业": (5, (4, 5), (4, 5), (2, 3), (3, 4), (0, 5), (1, 4), (2, 2), 75.33),
        # k3 k10: (30 × 2/2 + 35 × 1/2 + 35 × 0/1) / 100 = 47.5
        "西湖社区": (2, (2, 2), (1, 2), (0, 1), (1, 1), (1, 2), (1, 2), (1, 2), 47.5),
    }
    ranking = (await api.gql(tw, "admin", RANKING, {"p": NOVEMBER}))["data"]["handlingUnitRanking"]["rows"]
    assert [(r["label"], r["score"]) for r in ranking] == [("安居物业", 75.33), ("西湖社区", 47.5)]


async def test_quarter_and_range_periods(api: Api, month: TenantWorld) -> None:
    q4 = await _rates(api, month, "TOTAL", period={"kind": "QUARTER", "year": 2026, "number": 4})
    assert (q4["periodStart"], q4["periodEnd"], q4["rows"][0]["cases"]) == ("2026-10-01", "2026-12-31", 10)
    oct_ = await _rates(api, month, "TOTAL", period={"kind": "RANGE", "from": "2026-10-01", "to": "2026-10-31"})
    assert _row(oct_["rows"][0])[:2] == (1, (1, 1))
    bad = await api.gql(month, "admin", RATES, {"p": {"kind": "MONTH", "year": 2026, "number": 13}, "g": "TOTAL"},
                        allow_errors=True)
    assert bad["data"] is None and bad["errors"][0]["extensions"] == {"code": "INVALID", "field": "period"}


async def test_the_tenants_own_definitions(api: Api, own_month: TenantWorld) -> None:
    tw = own_month
    doc = """mutation($i: SetCaseRateDefinitionsInput!) { setCaseRateDefinitions(input: $i) {
      definitions { responseLimit responseLimitUnit customised weights { rate weight } } errors { code field } } }"""
    mine = {"responseLimit": 3, "responseLimitUnit": "CALENDAR_HOURS",
            "weights": [{"rate": "response", "weight": 50}, {"rate": "return", "weight": 50}]}
    denied = (await api.gql(tw, "grid1", doc, {"i": mine}))["data"]["setCaseRateDefinitions"]
    assert denied["errors"][0]["code"] == "FORBIDDEN"
    bad = (await api.gql(tw, "admin", doc, {"i": {**mine, "weights": [{"rate": "speed", "weight": 1}]}}))
    assert bad["data"]["setCaseRateDefinitions"]["errors"] == [{"code": "INVALID", "field": "weights"}]
    done = (await api.gql(tw, "admin", doc, {"i": mine}))["data"]["setCaseRateDefinitions"]
    assert done["errors"] == [] and done["definitions"]["customised"] is True
    # 3 calendar hours: k2 (no 受理 stage, so judged by the definitions) is now in time after 2 hours; the
    # others keep their stage's due time (k4 still late): 7 of 9. The composite is
    # (50 × 7/9 + 50 × (1 − 1/7)) / 100 = 81.75 — 回退率 enters as 1 − rate.
    [row] = (await _rates(api, tw, "TOTAL"))["rows"]
    assert (row["responseRate"]["numerator"], row["responseRate"]["denominator"], row["score"]) == (7, 9, 81.75)


async def test_a_resident_sees_only_their_compounds_figures(api: Api, month: TenantWorld) -> None:
    # the resident's statistics grant is their own compound (P1): the constructed cases of B1 only
    [row] = (await _rates(api, month, "TOTAL", user="resident"))["rows"]
    assert row["cases"] == 5  # k1 k2 k5 k9 k11


async def test_the_ledger_export_carries_the_same_figures(api: Api, month: TenantWorld) -> None:
    r = await api.client.get("/ledgers/export.xlsx", params={"from": "2026-11-01", "to": "2026-11-30"},
                             headers={"authorization": f"Bearer {api.token(month, 'admin')}"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    rows = [list(x) for x in wb["考核指标"].iter_rows(values_only=True)]
    assert rows[0][:4] == ["分组", "名称", "事件数", "响应率"]
    got = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert got[("合计", "合计")] == [9, "6/9 (66.67%)", "5/7 (71.43%)", "2/4 (50.00%)", "4/5 (80.00%)",
                                     "1/7 (14.29%)", "2/6 (33.33%)", "3/4 (75.00%)", 62.5]
    assert got[("社区", "西湖社区")][3] == "0/1 (0.00%)" and got[("社区", "西湖社区")][-1] == 34.17  # k10 relayed
    units = [row[1] for row in rows[1:] if row[0] == "承办单位"]
    assert units == ["安居物业", "西湖社区"]  # ranked, as handlingUnitRanking
    assert got[("类别", "垃圾清运")][0] == 5 and got[("类别", "管道堵塞/污水外溢")][0] == 4
    # a month without cases: every rate 0 / 0 and the score, shown as —
    r = await api.client.get("/ledgers/export.xlsx", params={"from": "2026-01-01", "to": "2026-01-31"},
                             headers={"authorization": f"Bearer {api.token(month, 'admin')}"})
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    empty = {(row[0], row[1]): list(row[2:]) for row in wb["考核指标"].iter_rows(min_row=2, values_only=True)}
    assert empty[("合计", "合计")][:9] == [0, *["—"] * 8]


async def test_the_monthly_evaluation_period_shows_the_months_rates(api: Api, month: TenantWorld) -> None:
    opened = await api.gql(month, "admin", """mutation { openEvaluationPeriod(month: "2026-11-01") {
      period { id } errors { code } } }""")
    period = opened["data"]["openEvaluationPeriod"]["period"]["id"]
    body = await api.gql(month, "admin", f"""query($id: ID!) {{ node(id: $id) {{ ... on EvaluationPeriod {{
      caseRates(groupBy: HANDLING_UNIT) {{ periodStart periodEnd rows {{ {ROW} }} }} }} }} }}""", {"id": period})
    rates = body["data"]["node"]["caseRates"]
    assert (rates["periodStart"], rates["periodEnd"]) == ("2026-11-01", "2026-11-30")
    assert [(r["label"], _row(r)) for r in rates["rows"]] == [
        ("安居物业", (5, (4, 5), (4, 5), (2, 3), (3, 4), (0, 5), (1, 4), (2, 2), 75.33)),
        ("西湖社区", (2, (2, 2), (1, 2), (0, 1), (1, 1), (1, 2), (1, 2), (1, 2), 47.5)),
    ]


async def test_a_case_still_inside_its_response_limit_is_not_yet_judged(api: Api, fresh: World) -> None:
    from tests.support.cases import report

    tw = fresh.a
    await report(api, tw, "resident", "B1")  # reported just now: its hour (in working time) has not run out
    today = datetime.now(CST).date().isoformat()
    [row] = (await _rates(api, tw, "TOTAL", period={"kind": "RANGE", "from": today, "to": today}))["rows"]
    assert row["cases"] == 1
    assert (row["responseRate"]["numerator"], row["responseRate"]["denominator"], row["responseRate"]["rate"]) == (
        0, 0, None)
