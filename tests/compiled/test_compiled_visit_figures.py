"""The visit figures compiled into one statement (compiled/care.py, resolvers.care.cadence_sql and
coverage_sql, issue #21) equal the rule computed in Python (resolvers.care.cadence: several statements,
each household's last visit turned into a local day in Python, grouped in Python) — the Python form is
the oracle, and the general path still answers with it.

Every world user, and a lead, asks ``overdueVisits`` and ``visitCoverage`` (every grouping) and their
connections page by page, on days before, between and long after the visits, in areas and per lead,
with the tenant's default cadence (no settings row) and with its own; both paths must give the same
bytes and the compiled one must have been taken. The world is varied on purpose: visits a moment before
and at local midnight (UTC the day before), key and ordinary households, a household never visited, a
building in two grids and one in none, a building outside any community, households with and without a
lead. Errors (a reversed or too long period, a bad cursor, page size or ID, an unknown area) are the
resolvers' whichever path is tried first."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import Area, AreaKind, GridBuilding, Household, Person, PersonCareTag, PersonStatus, path_segment, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.round_trips import plan_as_app, statements_sent
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
CST = timezone(timedelta(hours=8))
TODAY = datetime.now(UTC).astimezone(CST).date()

CADENCE = """householdId keyHousehold intervalDays lastVisitOn dueOn overdue daysOverdue
  household { id unit room addressMasked persons { name phone } } building { __typename id name }
  grids { __typename id name } community { id name }"""
OVERDUE = """query($d: Date!, $a: ID, $l: ID) { overdueVisits(asOf: $d, areaId: $a, leadId: $l) { @C } }
""".replace("@C", CADENCE)
OVERDUE_PAGES = """query($d: Date!, $a: ID, $l: ID, $first: Int, $after: String) {
  overdueVisitsConnection(asOf: $d, areaId: $a, leadId: $l, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @C } } nodes { householdId daysOverdue } } }
""".replace("@C", CADENCE)
GROUP = "__typename groupId groupName households visited rate keyHouseholds keyVisited keyRate overdue"
COVERAGE = """query($f: Date!, $t: Date!, $g: CoverageGrouping!, $a: ID) {
  visitCoverage(from: $f, to: $t, groupBy: $g, areaId: $a) { @G } }""".replace("@G", GROUP)
COVERAGE_PAGES = """query($f: Date!, $t: Date!, $g: CoverageGrouping!, $a: ID, $first: Int, $after: String) {
  visitCoverageConnection(from: $f, to: $t, groupBy: $g, areaId: $a, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @G } } nodes { groupId } } }""".replace("@G", GROUP)
# as bench/mix_ops.py sends them
MIX = ("""query Overdue($asOf: Date!) { overdueVisits(asOf: $asOf) { householdId keyHousehold intervalDays
        lastVisitOn dueOn overdue daysOverdue household { unit room } building { name } } }""",
       """query CoveragePage($from: Date!, $to: Date!) { visitCoverageConnection(from: $from, to: $to,
        groupBy: GRID, first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { groupId groupName
        households visited rate keyHouseholds keyVisited keyRate overdue } } }""")
# what tests/compiled/test_compiled.py counts as compared (every field compiled/care.py answers)
EQUIVALENCE_DOCUMENTS = (OVERDUE, OVERDUE_PAGES, COVERAGE, COVERAGE_PAGES, *MIX)

VISIT = """mutation($i: RecordVisitInput!) { recordVisit(input: $i) { errors { code field } } }"""
APPOINT = """mutation($i: AppointLeadInput!) { appointNeighborLead(input: $i) { lead { id } errors { code } } }"""
SETTINGS = """mutation($i: UpdateCareSettingsInput!) { updateCareSettings(input: $i) { errors { code } } }"""


def _local(days_ago: int, at: time) -> str:
    return datetime.combine(TODAY - timedelta(days=days_ago), at, tzinfo=CST).isoformat()


# (household, days ago, local time): a moment before and at local midnight, twice in a day, years of spread.
VISITS = (("H1", 40, time(23, 59, 59, 999999)), ("H1", 20, time(0, 0)), ("H2", 200, time(9, 30)),
          ("H2", 3, time(0, 0, 0, 1)), ("H4", 8, time(23, 30)), ("H4", 8, time(7, 0)),
          ("B1-x1", 95, time(12, 0)), ("B1-x2", 91, time(0, 0)), ("B5-y1", 6, time(18, 0)),
          ("S-z1", 120, time(8, 0)))


async def _more_households(db: DbEnv, tw: TenantWorld) -> None:
    """Two more households in B1 (one a key household), a building B5 in no grid with one, a building
    straight under the street (no community) with one; B4 in a second grid (G1)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            parents = {k: await s.get(Area, (tw.tenant_id, tw.areas[k])) for k in ("P2", "S")}
            for key, parent, name in (("B5", "P2", "5栋"), ("B9", "S", "街道直管楼")):
                p = parents[parent]
                assert p is not None
                aid = uuid7()
                s.add(Area(id=aid, parent_id=p.id, kind=AreaKind.BUILDING, name=name,
                           path=p.path + path_segment(aid), depth=p.depth + 1, floors=3, unit_count=1))
                tw.areas[key] = aid
            await s.flush()
            s.add(GridBuilding(grid_id=tw.areas["G1"], building_id=tw.areas["B4"]))
            for key, building, room, tag in (("B1-x1", "B1", "501", "disabled"), ("B1-x2", "B1", "502", None),
                                             ("B5-y1", "B5", "101", None), ("S-z1", "B9", "1", "veteran")):
                h = Household(id=uuid7(), building_id=tw.areas[building], unit="1", room=room,
                              floor_area=Decimal("50.00"))
                s.add(h)
                await s.flush()
                tw.households[key] = h.id
                p = Person(id=uuid7(), household_id=h.id, name=f"住户{room}", relation_to_head="户主",
                           party_member=False, in_service_party_member=False, status=PersonStatus.ACTIVE)
                s.add(p)
                await s.flush()
                if tag is not None:
                    s.add(PersonCareTag(person_id=p.id, code=tag))


async def _visited(api: Api, db: DbEnv, tw: TenantWorld) -> tuple[TenantWorld, str]:
    await _more_households(db, tw)
    for key, days, at in VISITS:
        r = await api.gql(tw, "admin", VISIT, {"i": {"householdId": encode_global_id("Household", tw.households[key]),
                                                     "kind": "ROUTINE", "visitedAt": _local(days, at),
                                                     "findings": "情况良好"}})
        assert r["data"]["recordVisit"]["errors"] == [], (key, r)
    return tw, ""


@pytest.fixture(scope="module")
async def visit_world(api: Api, db: DbEnv) -> tuple[TenantWorld, str]:
    """The module's world, for the tests that only read it."""
    return await _visited(api, db, await module_tenant(db))


@pytest.fixture(scope="module")
async def cadence_world(api: Api, db: DbEnv) -> tuple[TenantWorld, str]:
    """The same world in a tenant of its own with its own cadence, and a lead (the world's `resident`)
    keeping three households: the lead's global ID. Built once per test process, for the comparisons
    split per user (CI time, issue #21: one test of every user was 45–259 s that one worker ran alone)."""
    tw, _ = await _visited(api, db, await module_tenant(db))
    r = await api.gql(tw, "admin", SETTINGS, {"i": {"leadMinHouseholds": 1, "keyVisitDays": 10,
                                                    "routineVisitDays": 30}})
    assert r["data"]["updateCareSettings"]["errors"] == []
    r = await api.gql(tw, "admin", APPOINT, {"i": {
        "personId": encode_global_id("Person", tw.persons["h1b"]), "title": "NEIGHBOR", "areaId": area(tw, "P1"),
        "householdIds": [encode_global_id("Household", tw.households[k]) for k in ("H1", "H2", "B1-x2")]}})
    assert r["data"]["appointNeighborLead"]["errors"] == [], r
    return tw, r["data"]["appointNeighborLead"]["lead"]["id"]


def _days(*offsets: int) -> list[str]:
    return [(TODAY + timedelta(days=d)).isoformat() for d in offsets]


async def _compare_all(api: Api, tw: TenantWorld, users: tuple[str, ...], lead: str | None) -> int:
    """Both paths over the figures for ``users``; the number of connection pages walked."""
    areas = [None, *(area(tw, k) for k in ("C1", "G2", "B1"))]
    pages = 0
    for user in users:
        for d in _days(-300, -40, 0, 30, 400):
            for a in areas:
                compiled, resolved, taken = await both(api, tw, user, OVERDUE, {"d": d, "a": a})
                assert taken and compiled == resolved, (user, d, a, around(compiled, resolved))
            if lead is not None:
                compiled, resolved, taken = await both(api, tw, user, OVERDUE, {"d": d, "l": lead})
                assert taken and compiled == resolved, (user, d, "lead", around(compiled, resolved))
        for f, t in ((-400 + 35, 0), (-40, -40), (-8, 0), (0, 366)):
            for g in ("TOTAL", "LEAD", "GRID", "COMMUNITY"):
                for a in (None, area(tw, "C1")):
                    variables = {"f": _days(f)[0], "t": _days(t)[0], "g": g, "a": a}
                    compiled, resolved, taken = await both(api, tw, user, COVERAGE, variables)
                    assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
        for g in ("TOTAL", "LEAD", "GRID", "COMMUNITY"):
            pages += await walk_pages(api, tw, user, COVERAGE_PAGES, "visitCoverageConnection",
                                      {"f": _days(-100)[0], "t": _days(0)[0], "g": g, "first": 1})
        for d in _days(0, 400):
            pages += await walk_pages(api, tw, user, OVERDUE_PAGES, "overdueVisitsConnection",
                                      {"d": d, "first": 2})
        for document, variables in ((MIX[0], {"asOf": _days(366)[0]}),
                                    (MIX[1], {"from": _days(-100)[0], "to": _days(0)[0]})):
            compiled, resolved, taken = await both(api, tw, user, document, variables)
            assert taken and compiled == resolved, (user, document[:20], around(compiled, resolved))
    return pages


@pytest.mark.parametrize("user", USERS)
async def test_visit_figures_compile_to_the_python_rule_for_every_user(api: Api, visit_world: Any, user: str) -> None:
    """The tenant's default cadence: no settings row (the module's world, which no test changes)."""
    tw, _ = visit_world
    pages = await _compare_all(api, tw, (user,), None)
    assert pages > 2, pages


@pytest.mark.parametrize("user", ("admin", "secretary", "grid1", "grid2", "resident", "nobody"))
async def test_visit_figures_with_the_tenants_cadence_and_a_lead_compile_to_the_python_rule(
        api: Api, cadence_world: Any, user: str) -> None:
    """The tenant's own cadence, and a lead (the world's `resident`) keeping three households."""
    tw, lead = cadence_world
    await _compare_all(api, tw, (user,), lead)


async def test_the_compared_figures_have_content(api: Api, visit_world: Any) -> None:
    """Guards the comparison from comparing empty answers: the figures the admin sees, by hand."""
    tw, _ = visit_world
    body = orjson.loads((await both(api, tw, "admin", OVERDUE, {"d": _days(0)[0]}))[0])
    names = {encode_global_id("Household", v): k for k, v in tw.households.items()}
    rows = [(names[r["householdId"]], r["daysOverdue"], r["lastVisitOn"]) for r in body["data"]["overdueVisits"]]
    # H3 never visited; B1-x1 (key, 7 days) 95 days ago; S-z1 (key) 120; H1 (key) last 20 days ago; B1-x2
    # (routine, 90) visited at local midnight 91 days ago; H4 (key) 8 days ago (ties by household: H4 is older); H2
    # 3 days ago: not due
    assert rows == [("H3", None, None), ("S-z1", 113, _days(-120)[0]), ("B1-x1", 88, _days(-95)[0]),
                    ("H1", 13, _days(-20)[0]), ("H4", 1, _days(-8)[0]), ("B1-x2", 1, _days(-91)[0])], rows
    body = orjson.loads((await both(api, tw, "admin", COVERAGE, {"f": _days(-40)[0], "t": _days(-40)[0],
                                                                 "g": "GRID"}))[0])
    groups = {g["groupName"]: (g["households"], g["visited"], g["rate"]) for g in body["data"]["visitCoverage"]}
    # 23:59:59.999999 local on day -40 counts on that day; B4 (H4) is in G3 and G1; B5 and B9 in no grid
    assert groups == {"一网格": (4, 1, 0.25), "二网格": (2, 0, 0.0), "三网格": (1, 0, 0.0), None: (2, 0, 0.0)}, groups


async def test_a_bad_figure_argument_is_the_resolvers_answer_either_way(api: Api, visit_world: Any) -> None:
    tw, _ = visit_world
    bad_overdue: list[dict[str, Any]] = [
        {"d": _days(0)[0], "a": encode_global_id("Building", tw.tenant_id)},  # no such area: NOT_FOUND
        {"d": _days(0)[0], "a": encode_global_id("Case", tw.tenant_id)}, {"d": _days(0)[0], "l": "not-an-id"},
        {"d": _days(0)[0], "l": encode_global_id("Case", tw.tenant_id)}]
    for variables in bad_overdue:
        compiled, resolved, _ = await both(api, tw, "admin", OVERDUE, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled, resolved)
    # A day at the calendar's end is left to the resolvers (whose date arithmetic overflows there: an
    # INTERNAL error with the request's id, so no byte comparison).
    _, _, taken = await both(api, tw, "admin", OVERDUE, {"d": "9999-12-31"})
    assert not taken
    for variables in ({"d": _days(0)[0], "first": 101}, {"d": _days(0)[0], "first": -1},
                      {"d": _days(0)[0], "after": "not-a-cursor"}):
        compiled, resolved, _ = await both(api, tw, "admin", OVERDUE_PAGES, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled)
    for f, t in ((0, -1), (-400, 0)):  # reversed, longer than a year
        for document in (COVERAGE, COVERAGE_PAGES):
            compiled, resolved, _ = await both(api, tw, "admin", document,
                                               {"f": _days(f)[0], "t": _days(t)[0], "g": "TOTAL"})
            assert compiled == resolved and b'"errors"' in compiled, (f, t, compiled)
    compiled, resolved, _ = await both(api, tw, "admin", COVERAGE_PAGES, {"f": _days(-9)[0], "t": _days(0)[0],
                                                                          "g": "LEAD", "after": "eA"})
    assert compiled == resolved and b'"errors"' in compiled, compiled


async def test_compiled_visit_figures_are_one_statement(api: Api, visit_world: Any) -> None:
    tw, _ = visit_world
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", MIX[0], {"asOf": _days(0)[0]})
    finally:
        state.compiled_reads = True
    # without persons' phones: their full reads are audited, a statement of their own
    light = """query($d: Date!, $first: Int) { overdueVisitsConnection(asOf: $d, first: $first) {
      totalCount edges { cursor node { householdId household { room } grids { name } } } } }"""
    counts = [(await api.counted(tw, "admin", doc, v))[1] for doc, v in (
        (MIX[0], {"asOf": _days(0)[0]}), (light, {"d": _days(0)[0], "first": 1}),
        (COVERAGE, {"f": _days(-9)[0], "t": _days(0)[0], "g": "GRID"}),
        (COVERAGE_PAGES, {"f": _days(-9)[0], "t": _days(0)[0], "g": "LEAD", "a": area(tw, "C1")}))]
    assert counts == [baseline + 1] * 4, (counts, baseline)
    assert resolved > baseline + 1, resolved


async def _overdue_plan(api: Api, db: DbEnv, visit_world: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The admin's portal overdueVisits read (its six households asserted), planned as the app role under row-level
    security with the request's own parameters."""
    tw, _ = visit_world
    sent = statements_sent(monkeypatch)
    body = orjson.loads((await both(api, tw, "admin", MIX[0], {"asOf": _days(0)[0]}))[0])
    assert len(body["data"]["overdueVisits"]) == 6
    sql, args = next((s, a) for s, a in sent if "overdueVisits" in s)
    return await plan_as_app(db, tw.tenant_id, sql, args)


async def test_each_households_last_visit_is_read_once(api: Api, db: DbEnv, visit_world: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: the compiled overdueVisits read each household's visits once. PostgreSQL pulled the households'
    subquery up into the statement, so its last-visit subquery ran once per use of the columns made from it — the
    filter, the order, the rank and the answer: ten scans of visits in the plan (2.1–2.3 ms of PostgreSQL per
    portal request, bench/RESULTS.md h-aud). The plan as the app role under row-level security, with the
    request's own parameters."""

    plan = await _overdue_plan(api, db, visit_world, monkeypatch)
    scans = [line for line in plan if " on visits" in line]
    assert len(scans) == 1, "\n".join(plan)


async def test_the_care_settings_are_read_once_per_interval(api: Api, db: DbEnv, visit_world: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: the tenant's two visit intervals (care_settings) are read once each, in the households' subquery,
    not once per use of the interval made from them outside it — the interval, the due day, the days overdue, the
    filter, the order and the answer: eleven scans of care_settings in the base's plan (an InitPlan each, started
    and ended with every request). The plan as the app role under row-level security, the request's parameters."""
    plan = await _overdue_plan(api, db, visit_world, monkeypatch)
    scans = [line for line in plan if " on care_settings" in line]
    assert len(scans) == 2, "\n".join(plan)


async def _plan(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, variables: dict[str, Any],
                monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The compiled read of ``document`` (taken, its answer the resolvers'), planned as the app role."""
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, user, document, variables)
    assert taken and compiled == resolved, around(compiled, resolved)
    field = document.split("{", 2)[1].split("(")[0].strip()
    sql, args = next((s, a) for s, a in sent if f'"{field}"' in s)
    return await plan_as_app(db, tw.tenant_id, sql, args)


async def test_a_coverage_reads_only_its_groupings_names_and_each_households_visits_once(
        api: Api, db: DbEnv, visit_world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: a grid's coverage names its groups by the grids alone — the base's CASE over every grouping kept the
    lead's name (neighbor_leads, users, the lead list's predicate) in the plan, set up and shut down on every request
    though never run — and reads each household's visits once: visited in the period is the last visit before its
    end at the period's start or later (the base read the visits again for it)."""
    tw, _ = visit_world
    variables = {"from": _days(-100)[0], "to": _days(0)[0]}
    plan = await _plan(api, db, tw, "admin", MIX[1], variables, monkeypatch)
    assert not [line for line in plan if " on neighbor_leads" in line or " on users" in line], "\n".join(plan)
    assert len([line for line in plan if " on visits" in line]) == 1, "\n".join(plan)
    monkeypatch.undo()
    lead = MIX[1].replace("GRID", "LEAD")  # the lead's name is there, the areas' not
    plan = await _plan(api, db, tw, "admin", lead, variables, monkeypatch)
    assert [line for line in plan if " on neighbor_leads" in line], "\n".join(plan)
    assert not [line for line in plan if " on areas gn" in line], "\n".join(plan)


async def test_the_figures_read_no_building_unless_asked(api: Api, db: DbEnv, visit_world: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: the households' buildings are read for the community alone (and for a selected building); the base
    joined each household's building in every figure."""
    tw, _ = visit_world
    light = "query($d: Date!) { overdueVisits(asOf: $d) { householdId keyHousehold daysOverdue } }"
    plan = await _plan(api, db, tw, "admin", light, {"d": _days(0)[0]}, monkeypatch)
    assert not [line for line in plan if " on areas" in line], "\n".join(plan)


async def test_a_first_page_counts_its_list_from_its_own_rows(api: Api, db: DbEnv, visit_world: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: a first page of a figure's connection takes totalCount from its rows' window count — an empty first
    page is an empty list — so its plan holds the list once; the base kept a second copy for the count of an empty
    page (never run on a first page, set up on every request). The count after a cursor: the equivalence tests."""
    tw, _ = visit_world
    for document, variables in (
            ("query($d: Date!) { overdueVisitsConnection(asOf: $d, first: 2) { totalCount nodes { householdId } } }",
             {"d": _days(0)[0]}),
            ("query($d: Date!) { overdueVisitsConnection(asOf: $d, first: 2) { totalCount } }", {"d": _days(-900)[0]}),
            (MIX[1], {"from": _days(-100)[0], "to": _days(0)[0]})):
        plan = await _plan(api, db, tw, "admin", document, variables, monkeypatch)
        assert len([line for line in plan if " on visits" in line]) == 1, "\n".join(plan)
        monkeypatch.undo()
