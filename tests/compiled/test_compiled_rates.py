"""The compiled case rates (compiled/rates.py, issue #21) answer exactly what the resolvers answer:
``caseRates`` by every grouping, ``handlingUnitRanking`` and ``caseRateDefinitions``, for every world user,
period and area — the same bytes, the compiled path taken for whoever may read them, in one statement.

The cases are tests/cases/test_case_rates.py's constructed November (its hand count holds the figures), in
both tenants of the module's world. Tenant a keeps the default definitions (1 working hour: case k2, without
a 受理 stage due time, is judged on the working calendar); tenant b weighs 响应率 3 and 重办率 21 with a
limit of 1 calendar hour, which puts composite scores on rounding edges: 73.125 and 53.125 (ties of the
double: half to even gives 73.12 and 53.12, PostgreSQL's round(numeric) 73.13 and 53.13) and
75.62499999999999 (75.62 by Python's round; 75.63 once float8 → numeric keeps 15 digits)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.cases.test_case_rates import _construct
from tests.support import citus
from tests.support.compiled import around, both, compiled_statements, module_world
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import statements_sent
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

RATE = "{ __typename numerator denominator rate }"
ROW = (f"__typename key label cases responseRate {RATE} resolutionRate {RATE} satisfactionRate {RATE} "
       f"onTimeRate {RATE} returnRate {RATE} reworkRate {RATE} callbackRate {RATE} score")
DEFINITIONS = "__typename responseLimit responseLimitUnit customised weights { __typename rate weight }"
RATES = f"""query Rates($p: RatePeriodInput!, $g: CaseRateGroupBy!, $a: ID) {{
  caseRates(period: $p, groupBy: $g, areaId: $a) {{ __typename periodStart periodEnd groupBy
    definitions {{ {DEFINITIONS} }} rows {{ {ROW} }} }} }}"""
RANKING = f"""query Ranking($p: RatePeriodInput!, $a: ID) {{
  handlingUnitRanking(period: $p, areaId: $a) {{ groupBy periodEnd rows {{ {ROW} }} }} }}"""
# Aliases, fragments, a field asked twice, the default grouping, and the bench's selection.
SOME = """query Some($p: RatePeriodInput!) {
  t: caseRates(period: $p) { ...R d: definitions { w: weights { weight } } }
  c: caseRates(period: $p, groupBy: CATEGORY) { rows { k: key label score s: score cases } }
  r: handlingUnitRanking(period: {kind: QUARTER, year: 2026, number: 4}) { ...R }
  caseRateDefinitions { customised responseLimitUnit } }
fragment R on CaseRates { periodStart rows { key ... on CaseRateRow { responseRate { rate } score } } }"""
DEFS = f"query Defs {{ caseRateDefinitions {{ {DEFINITIONS} }} }}"

EQUIVALENCE_DOCUMENTS = (RATES, RANKING, SOME, DEFS)

NOVEMBER = {"kind": "MONTH", "year": 2026, "number": 11}
PERIODS: tuple[dict[str, Any], ...] = (
    NOVEMBER, {"kind": "QUARTER", "year": 2026, "number": 4},
    {"kind": "RANGE", "from": "2026-10-01", "to": "2026-10-31"},  # k7 alone
    {"kind": "RANGE", "from": "2026-01-01", "to": "2026-01-31"},  # nothing
)
GROUPS = ("TOTAL", "COMMUNITY", "HANDLING_UNIT", "CATEGORY")
AREAS = ("C2", "P1", "G1")
# tenant b's definitions (see the module's docstring)
EDGE_DEFINITIONS = {"responseLimit": 1, "responseLimitUnit": "CALENDAR_HOURS",
                    "weights": [{"rate": "response", "weight": 3}, {"rate": "rework", "weight": 21}]}
SET = """mutation($i: SetCaseRateDefinitionsInput!) { setCaseRateDefinitions(input: $i) { errors { code } } }"""


@pytest.fixture(scope="module")
async def rates_world(db: DbEnv, api: Api) -> World:
    """The module's world: the constructed November in both tenants, tenant b with its own definitions."""
    world = await module_world(db)
    for tw in (world.a, world.b):
        await _construct(db, tw)
    body = await api.gql(world.b, "admin", SET, {"i": EDGE_DEFINITIONS})
    assert body["data"]["setCaseRateDefinitions"]["errors"] == [], body
    return world


def _variables(tw: TenantWorld, period: dict[str, Any], where: str | None, group: str | None = None
               ) -> dict[str, Any]:
    return {"p": period, "a": None if where is None else area(tw, where), **({"g": group} if group else {})}


async def test_case_rates_compile_to_the_resolvers_answer_for_every_user(api: Api, rates_world: World) -> None:
    """Tenant a: every user, each grouping in November, inside three areas, and the other periods; tenant b
    (its own definitions): each grouping for a few users."""
    readers: set[str] = set()
    a, b = rates_world.a, rates_world.b
    for tw, users in ((a, USERS), (b, ("admin", "secretary2", "resident", "nobody"))):
        for user in users:
            asks = [(RATES, _variables(tw, NOVEMBER, None, group)) for group in GROUPS]
            if tw is a:
                asks += [(RATES, _variables(tw, NOVEMBER, where, group))
                         for where, group in zip(AREAS, GROUPS[1:], strict=True)]
                asks += [(RATES, _variables(tw, period, None, group))
                         for period, group in zip(PERIODS[1:], GROUPS[:3], strict=True)]
            asks += [(RANKING, _variables(tw, NOVEMBER, "C1")), (SOME, {"p": NOVEMBER}), (DEFS, {})]
            for document, variables in asks:
                compiled, resolved, taken = await both(api, tw, user, document, variables)
                assert compiled == resolved, (tw.slug, user, variables, around(compiled, resolved))
                if "errors" not in orjson.loads(resolved):
                    readers.add(user)
                    assert taken, (user, variables)
    assert readers == set(ROLE_USERS) - {"expired"}, readers


async def test_the_compiled_rates_are_real(api: Api, rates_world: World) -> None:
    """Guards the comparison above from comparing answers both paths got wrong alike: the hand count of
    tests/cases/test_case_rates.py, compiled (k2 judged on the working calendar), and a ranking."""
    tw = rates_world.a
    compiled, resolved, taken = await both(api, tw, "admin", RATES, _variables(tw, NOVEMBER, None, "TOTAL"))
    assert taken and compiled == resolved
    [row] = orjson.loads(compiled)["data"]["caseRates"]["rows"]
    assert (row["cases"], row["responseRate"]["numerator"], row["responseRate"]["denominator"], row["score"]) == (
        9, 6, 9, 62.5), row
    compiled, resolved, taken = await both(api, tw, "admin", RANKING, _variables(tw, NOVEMBER, None))
    ranking = orjson.loads(compiled)["data"]["handlingUnitRanking"]
    assert taken and compiled == resolved and ranking["groupBy"] == "HANDLING_UNIT", ranking
    assert [(r["label"], r["score"]) for r in ranking["rows"]] == [("安居物业", 75.33), ("西湖社区", 47.5)], ranking
    compiled, _, _ = await both(api, tw, "admin", RATES, _variables(tw, PERIODS[3], None, "TOTAL"))
    empty = orjson.loads(compiled)["data"]["caseRates"]["rows"]
    assert [(r["key"], r["label"], r["cases"], r["score"]) for r in empty] == [("total", "合计", 0, None)], empty
    # The label is written per request, in its language: the plan made above serves English as well.
    compiled, resolved, taken = await both(api.english(), tw, "admin", RATES, _variables(tw, PERIODS[3], None, "TOTAL"))
    assert taken and compiled == resolved and b'"label":"total"' in compiled, compiled


def _half_up(x: float) -> float:
    """PostgreSQL's round(x::numeric, 2): the double as 15 significant digits, then half up."""
    return float(Decimal(format(x, ".15g")).quantize(Decimal("0.01"), ROUND_HALF_UP))


async def test_scores_are_rounded_as_python_rounds_them(api: Api, rates_world: World) -> None:
    """Tenant b's scores on the edges where round-half-even on the double and PostgreSQL's half-up part."""
    tw = rates_world.b
    weights = {"responseRate": 3.0, "reworkRate": 21.0}
    seen: dict[str, float] = {}
    for group in ("CATEGORY", "HANDLING_UNIT", "COMMUNITY"):
        compiled, resolved, taken = await both(api, tw, "admin", RATES, _variables(tw, NOVEMBER, None, group))
        assert taken and compiled == resolved, (group, around(compiled, resolved))
        for row in orjson.loads(compiled)["data"]["caseRates"]["rows"]:
            # the composite as resolvers.cases.rates.score adds it up (回退率, 重办率 as 1 − rate)
            total = weight = 0.0
            for k, w in weights.items():
                rate = row[k]["rate"]
                total += w * ((1 - rate) if k == "reworkRate" else rate)
                weight += w
            raw = 100 * total / weight
            assert row["score"] == round(raw, 2), (group, row, raw)
            seen[f"{group}:{row['key']}"] = raw
    edges = {k: v for k, v in seen.items() if round(v, 2) != _half_up(v)}
    assert sorted(edges.values()) == [53.125, 53.125, 73.125, 73.125, 75.62499999999999], seen
    compiled, _, _ = await both(api, tw, "admin", RATES, _variables(tw, NOVEMBER, None, "HANDLING_UNIT"))
    assert b'"label":"\xe5\xae\x89\xe5\xb1\x85\xe7\x89\xa9\xe4\xb8\x9a"' in compiled  # 安居物业
    assert b'"score":75.62}' in compiled, compiled


async def test_compiled_rates_are_one_statement(api: Api, rates_world: World) -> None:
    tw = rates_world.a
    args = _variables(tw, NOVEMBER, "C1", "HANDLING_UNIT")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, resolved = await api.counted(tw, "secretary", RATES, args)  # the calendar kept from here on
    finally:
        state.compiled_reads = True
    with compiled_statements() as made:
        _, first = await api.counted(tw, "secretary", RATES, args)
        _, other = await api.counted(tw, "secretary", RATES, _variables(tw, PERIODS[1], "G1", "HANDLING_UNIT"))
        _, ranking = await api.counted(tw, "admin", RANKING, _variables(tw, NOVEMBER, None))
        _, defs = await api.counted(tw, "grid1", DEFS)
    assert all(m is not None for m in made) and len(made) == 4, made
    assert first == other == ranking == defs == 2, (first, other, ranking, defs)  # start-up, the compiled read
    assert resolved > 2, resolved  # the resolvers need more (the area, the definitions, the counts)


async def test_without_the_kept_calendar_the_resolvers_answer(api: Api, rates_world: World) -> None:
    """Case k2 is judged on the working calendar: when the process does not keep it, the compiled read hands
    the request to the resolvers (which load it), with the same answer; then the compiled read answers."""
    from resolvers.cases import stages

    tw = rates_world.a
    args = _variables(tw, NOVEMBER, None, "TOTAL")
    await api.gql(tw, "admin", RATES, args)  # the plan made; the calendar kept (by the resolvers if need be)
    _, warm = await api.counted(tw, "admin", RATES, args)
    stages._kept.clear()
    _, taken_over = await api.counted(tw, "admin", RATES, args)
    _, compiled = await api.counted(tw, "admin", RATES, args)
    assert warm == compiled == 2 and taken_over > 2, (warm, taken_over, compiled)
    stages._kept.clear()
    first, resolved, _ = await both(api, tw, "admin", RATES, args)
    assert first == resolved, around(first, resolved)


async def test_bad_rate_arguments_are_the_resolvers_errors_either_way(api: Api, rates_world: World) -> None:
    """A bad period, a bad or non-area ID, an unknown area (NOT_FOUND): the resolvers' typed errors, the same
    bytes whichever path was tried first — also on a plan cached for valid arguments of the same shape
    (compiled.plans.Plan.unused)."""
    tw = rates_world.a
    unknown = encode_global_id("Community", tw.tenant_id)
    bad_periods = ({"kind": "MONTH", "year": 2026, "number": 13}, {"kind": "QUARTER", "year": 2026, "number": 5},
                   {"kind": "MONTH", "year": 1999, "number": 1}, {"kind": "MONTH", "year": 2026},
                   {"kind": "RANGE", "from": "2026-11-30", "to": "2026-11-01"},
                   {"kind": "RANGE", "from": "2025-01-01", "to": "2026-11-01"}, {"kind": "RANGE", "from": "2026-11-01"})
    for user in ("admin", "grid1", "resident", "nobody"):
        for document, group in ((RATES, "COMMUNITY"), (RANKING, None)):
            valid = _variables(tw, NOVEMBER, "C1", group)
            compiled, resolved, taken = await both(api, tw, user, document, valid)
            assert compiled == resolved and taken == (user != "nobody"), (user, around(compiled, resolved))
            for variables in ({**valid, "a": "not-an-id"}, {**valid, "a": encode_global_id("Case", tw.tenant_id)},
                              {**valid, "a": unknown}, *({**valid, "p": p} for p in bad_periods)):
                compiled, resolved, _ = await both(api, tw, user, document, variables)
                assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_the_period_is_one_scan_of_its_cases_on_the_generic_plan(api: Api, db: DbEnv, rates_world: World,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: the statement settles on its generic plan, which estimates one case for any period (a
    parameter's range). It once joined the period's cases to their timeline's facts (a LEFT join was then a Nested
    Loop rescanning every fact per case: quadratic), and looked up each case's 受理 stage and steps (two index probes
    per case: 50 ms of PostgreSQL at 3,600 cases). Since migration 0056 the facts are on the case's row: the plan is
    one scan of ``cases`` — no join, no window, no stage read; the steps are read only in the subplans of a case
    closed more than once. Explained as PostgreSQL runs it after five requests: the generic plan
    (``force_generic_plan``), as the app role under row-level security."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    if citus.ENABLED:  # the answers are compared with the resolvers' above, on Citus too
        pytest.skip("PostgreSQL's own plan; a Citus coordinator plans the statement as tasks for the tenant's worker")
    from tenants.rls import set_tenant_sql

    tw = rates_world.a
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, "admin", RATES, _variables(tw, NOVEMBER, None, "COMMUNITY"))
    assert taken and compiled == resolved, around(compiled, resolved)
    sql, params = next((q, a) for q, a in sent if "rate_accept_due" in q)
    values = ", ".join("'" + str(p).replace("'", "''") + "'" for p in params)  # datetimes and dates
    async with db.engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            await driver.execute(set_tenant_sql(tw.tenant_id))
            await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await driver.execute(f"PREPARE rates_generic AS {sql}")
            try:
                plan = [r[0] for r in await driver.fetch(f"EXPLAIN (COSTS OFF) EXECUTE rates_generic({values})")]
            finally:  # a session's, not the transaction's: the pooled connection must not keep it
                await driver.execute("DEALLOCATE rates_generic")
    shown = "\n".join(plan)
    # the counting CTE's own plan (the groups' names and the definitions are read beside it)
    start = next(i for i, line in enumerate(plan) if "CTE rate" in line and "_found" in line)
    depth = len(plan[start]) - len(plan[start].lstrip())
    end = next((i for i in range(start + 1, len(plan)) if len(plan[i]) - len(plan[i].lstrip()) <= depth), len(plan))
    found = plan[start:end]
    counted = "\n".join(found)
    assert len(re.findall(r" on cases\b", counted)) == 1, shown
    assert "case_stages" not in counted and "Join" not in counted and "Nested Loop" not in counted, shown
    assert "WindowAgg" not in counted, shown
    # the steps: only below the subplans of a case closed more than once, each an index probe of its own steps
    for at, line in enumerate(found):
        if " on case_events" in line:
            assert any("SubPlan" in above for above in found[:at]), shown
            assert "Index" in line, shown


@pytest.mark.parametrize("user", ["grid2", "secretary"])
async def test_an_areas_rates_check_the_area_once(api: Api, db: DbEnv, rates_world: World,
                                                  monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """The area the rates are asked inside is read under the actor's area·read check once (compiled.sql.once), for
    the guard (NOT_FOUND) and the period's filter alike; as two subqueries PostgreSQL ran it twice (for a grid leader
    the walk of its grids' compounds)."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    from tests.support.round_trips import plan_as_app

    tw = rates_world.a
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, user, RATES, _variables(tw, NOVEMBER, "P1", "TOTAL"))
    assert taken and compiled == resolved and b'"errors"' not in compiled, around(compiled, resolved)
    sql, params = next((q, tuple(a)) for q, a in sent if "rate_accept_due" in q)
    plan = await plan_as_app(db, tw.tenant_id, sql, params)
    # on Citus in the worker's plan, below the router task (tests.support.citus.relation)
    checks = [line for line in plan if re.search(rf" on {citus.relation('areas')} rate_area(_\d+)?( |$)", line)]
    assert len(checks) == 1, "\n".join(plan)
