"""The compiled review figures (compiled/statistics.py, issue #21) answer exactly what the resolvers answer:
``caseStatistics(areaId:, from:, to:)`` for every world user, area and period, and ``sharedStatistics`` for
every partner client of both tenants (test_compiled_cobuilding.py's scene and a unit sharing statistics
of two communities) — the same bytes, the compiled path taken for whoever may read them, in one statement.

The cases are tests/cases/test_case_stats.py's (April 2026: states, categories, due times, own and
relayed verdicts, reopenings, the local month's edges), and June's, whose handling times put the mean and
the median on a rounding edge: 2.675 h, 0.125 h and (1.0 + 1.01) / 2 = 1.005 h round to 2.67, 0.12 and
1.0 by Python's round on the double (the resolvers' rule), to 2.68, 0.13 and 1.01 by PostgreSQL's
round(numeric). The errors (a period reversed or too long, an unknown area, a bad or non-area id, no grant)
are the resolvers' own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select, text

from models import Area, AreaKind, Case, CasePriority, CaseState, path_segment, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.cases.test_case_stats import insert_cases
from tests.compiled.test_compiled_cobuilding import _tenant
from tests.support import citus
from tests.support.cobuilding import add_activity, community, make_agreement, make_unit
from tests.support.compiled import around, both, compiled_statements, partner_both
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv, World
from tests.support.partners import VALID_FROM, VALID_UNTIL, PartnerApi, partner_client
from tests.support.round_trips import plan_as_app, statements_sent
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none
AREAS = ("S", "C1", "C2", "P1", "G1", "B1")

ALL = """query All($a: ID!, $f: Date!, $t: Date!) { caseStatistics(areaId: $a, from: $f, to: $t) {
  __typename total byState { __typename key count state } byCategory { key count state } resolved resolvedOnTime
  onTimeRate meanHandlingHours medianHandlingHours withFeedback satisfied satisfactionRate reopened openOverdue } }"""
SOME = """query Some($a: ID!, $f: Date!, $t: Date!) {
  x: caseStatistics(areaId: $a, from: $f, to: $t) { ...F byCategory { c: count } }
  y: caseStatistics(areaId: $a, from: "2026-01-01", to: "2026-12-31") { total meanHandlingHours } }
fragment F on CaseStatistics { median: medianHandlingHours byState { state count } total }"""

SHARED = """query Shared($c: ID!, $f: Date!, $t: Date!) { sharedStatistics(communityId: $c, from: $f, to: $t) {
  __typename community { __typename id name }
  cases { __typename total byState { key count caseState activityState } byCategory { key count caseState }
          resolved onTimeRate meanHandlingHours satisfactionRate }
  activities { __typename total byState { key count caseState activityState } places signedUp } } }"""
SHARED_SOME = """query SharedSome($c: ID!) {
  a: sharedStatistics(communityId: $c, from: "2026-06-01", to: "2026-06-05") { cases { m: meanHandlingHours } }
  b: sharedStatistics(communityId: $c, from: "2026-04-01", to: "2026-06-30") { ...S activities { total } }
  __typename }
fragment S on SharedStatistics { community { name } cases { total byState { count activityState } } }"""

# What tests/compiled/test_compiled.py checks covers every field the compiler knows.
EQUIVALENCE_DOCUMENTS = (ALL, SOME, SHARED, SHARED_SOME)

# (area, created, handling seconds): June 2026, on the rounding edges (see the module's docstring).
JUNE = (
    ("B1", datetime(2026, 6, 2, 2, tzinfo=UTC), 9630),  # 2.675 h
    ("B2", datetime(2026, 6, 10, 3, tzinfo=UTC), 450),  # 0.125 h: a tie, half to even
    ("B1", datetime(2026, 6, 20, 1, tzinfo=UTC), 3600),  # with the next: mean and median 1.005 h
    ("P1", datetime(2026, 6, 20, 5, tzinfo=UTC), 3636),
)
# (from, to, mean and median as the resolvers round them) in C1.
EDGES = (("2026-06-01", "2026-06-05", 2.67), ("2026-06-10", "2026-06-10", 0.12), ("2026-06-20", "2026-06-20", 1.0))
PERIODS = (("2026-04-01", "2026-04-30"), ("2026-06-01", "2026-06-30"), ("2026-01-01", "2026-12-31"),
           ("2026-03-31", "2026-03-31"))


@pytest.fixture
async def stats_tenant(fresh: World, db: DbEnv) -> TenantWorld:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    await add_cases(db, fresh.a)
    return fresh.a


async def add_cases(db: DbEnv, tw: TenantWorld) -> None:
    """test_case_stats.py's cases and June's on the rounding edges."""
    await insert_cases(db, tw)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = dict((await s.execute(select(Area.id, Area.path))).all())
            for i, (where, created, seconds) in enumerate(JUNE):
                resolved = created + timedelta(seconds=seconds)
                s.add(Case(id=uuid7(), number=f"EDGE-{i:03d}", area_id=tw.areas[where],
                           area_path=paths[tw.areas[where]], category_code="garbage", priority=CasePriority.NORMAL,
                           title=f"舍入 {i}", description="", state=CaseState.RESOLVED,
                           reporter_user_id=tw.users["grid1"], on_wall=False, reporter_role="resident",
                           supervised=False, reopen_count=0, version=1, created_at=created, updated_at=created,
                           due_at=created + timedelta(hours=1), resolved_at=resolved, satisfied=i % 2 == 0))


async def test_case_statistics_compile_to_the_resolvers_answer_for_every_user(api: Api, stats_tenant: Any) -> None:
    tw = stats_tenant
    readers: set[str] = set()
    taken_by: set[str] = set()
    for user in USERS:
        for where in AREAS:
            for start, end in PERIODS:
                compiled, resolved, taken = await both(api, tw, user, ALL, {"a": area(tw, where), "f": start, "t": end})
                assert compiled == resolved, (user, where, start, around(compiled, resolved))
                if "errors" not in orjson.loads(resolved):
                    readers.add(user)
                    assert taken, (user, where, start)
                if taken:
                    taken_by.add(user)
            compiled, resolved, taken = await both(api, tw, user, SOME, {"a": area(tw, where), "f": "2026-04-01",
                                                                         "t": "2026-04-30"})
            assert compiled == resolved and taken == (user in readers), (user, where, around(compiled, resolved))
    assert {"admin", "secretary"} <= readers and "nobody" not in readers, readers
    assert taken_by == readers, (taken_by, readers)


async def test_the_figures_are_real_and_rounded_as_the_resolvers_round(api: Api, stats_tenant: Any) -> None:
    """Guards the comparison above from comparing answers both paths got wrong alike: April's hand count
    (tests/cases/test_case_stats.py) and June's rounding edges, compiled."""
    tw = stats_tenant
    c1 = area(tw, "C1")
    body = orjson.loads((await both(api, tw, "admin", ALL, {"a": c1, "f": "2026-04-01", "t": "2026-04-30"}))[0])
    april = body["data"]["caseStatistics"]
    assert (april["total"], april["meanHandlingHours"], april["medianHandlingHours"]) == (9, 26.0, 22.0), april
    assert (april["onTimeRate"], april["satisfactionRate"], april["openOverdue"]) == (0.75, 0.25, 2), april
    assert [r["key"] for r in april["byState"]][:2] == ["closed", "dispatched"], april
    assert april["byState"][0]["state"] == "CLOSED" and april["byCategory"][0]["state"] is None, april
    for start, end, rounded in EDGES:
        compiled, resolved, taken = await both(api, tw, "admin", ALL, {"a": c1, "f": start, "t": end})
        assert taken and compiled == resolved, (start, around(compiled, resolved))
        figures = orjson.loads(compiled)["data"]["caseStatistics"]
        assert figures["meanHandlingHours"] == figures["medianHandlingHours"] == rounded, (start, figures)
        assert b'"meanHandlingHours":' + repr(rounded).encode() + b"," in compiled, compiled
    body = orjson.loads((await both(api, tw, "admin", ALL, {"a": c1, "f": "2026-07-01", "t": "2026-07-31"}))[0])
    empty = body["data"]["caseStatistics"]
    assert empty["total"] == 0 and empty["byState"] == [] and empty["meanHandlingHours"] is None, empty


async def test_declined_statistics_are_the_resolvers_errors(api: Api, stats_tenant: Any) -> None:
    tw = stats_tenant
    c1 = area(tw, "C1")
    unknown = encode_global_id("Community", uuid7())
    cases = (
        ("admin", {"a": c1, "f": "2026-05-01", "t": "2026-04-01"}, "INVALID"),  # reversed
        ("admin", {"a": c1, "f": "2025-01-01", "t": "2026-04-01"}, "INVALID"),  # over a year
        ("admin", {"a": unknown, "f": "2026-04-01", "t": "2026-04-30"}, "NOT_FOUND"),
        ("nobody", {"a": unknown, "f": "2026-04-01", "t": "2026-04-30"}, "NOT_FOUND"),
        ("nobody", {"a": c1, "f": "2026-04-01", "t": "2026-04-30"}, "FORBIDDEN"),
        ("admin", {"a": "not-an-id", "f": "2026-04-01", "t": "2026-04-30"}, None),
        ("admin", {"a": encode_global_id("Case", tw.areas["C1"]), "f": "2026-04-01", "t": "2026-04-30"}, None),
    )
    for user, variables, code in cases:
        compiled, resolved, taken = await both(api, tw, user, ALL, variables)
        # an unknown area is found out by the compiled statement (its guard: NULL), and then answered by strawberry
        assert compiled == resolved and taken == (code == "NOT_FOUND" and user == "admin"), \
            (user, variables, around(compiled, resolved))
        errors = orjson.loads(compiled).get("errors")
        assert errors, (user, variables, compiled)
        if code is not None:
            assert errors[0]["extensions"]["code"] == code, (user, variables, errors)
    # A plan made for a good period is not reused for a bad one (the shape check refuses it).
    _, _, taken = await both(api, tw, "admin", ALL, {"a": c1, "f": "2026-04-01", "t": "2026-04-30"})
    compiled, resolved, again = await both(api, tw, "admin", ALL, {"a": c1, "f": "2026-04-30", "t": "2026-04-01"})
    assert taken and not again and compiled == resolved, around(compiled, resolved)


async def test_compiled_statistics_are_one_statement(api: Api, stats_tenant: Any) -> None:
    tw = stats_tenant
    args = {"a": area(tw, "C1"), "f": "2026-04-01", "t": "2026-04-30"}
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, resolved = await api.counted(tw, "secretary", ALL, args)
    finally:
        state.compiled_reads = True
    with compiled_statements() as made:
        _, first = await api.counted(tw, "secretary", ALL, args)
        _, other = await api.counted(tw, "secretary", ALL, {"a": area(tw, "C2"), "f": "2026-06-01", "t": "2026-06-30"})
    assert all(m is not None for m in made) and len(made) == 2
    assert first == other == 2, (first, other)  # the request's start-up and the compiled read
    assert resolved > 2, resolved  # the resolvers need more (the area's path, the aggregate)


async def test_the_figures_read_the_scopes_cases_by_index(api: Api, db: DbEnv, stats_tenant: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21 (op 3): the figures of a scoped reader read the scope's cases of the period by the (tenant, area,
    report time) index of migration 0052, once per branch, their bitmaps ORed — the areas under the scope path
    (found by starts_with: leakproof, so row-level security lets it reach the areas' index) and its grids'
    buildings, each as ``area_id = ANY(ARRAY(…))`` — not the scope path's prefix on the (tenant, path, report time)
    index (its whole history read, the period tested per entry: fifth session), nor every case of the tenant's
    period by report time (``ix_cases_tenant_created``), each then tested. The
    plan as the app role under row-level security, with the request's own parameters, among 8,000 cases of
    300 buildings of another community over the year (≈ 660 in the month); the answer still the resolvers'."""
    if citus.ENABLED:
        pytest.skip(citus.PLAN_ON_COORDINATOR)
    tw = stats_tenant
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            c2 = (await s.execute(select(Area).where(Area.id == tw.areas["C2"]))).scalar_one()
            homes = [uuid7() for _ in range(300)]
            await s.execute(insert(Area), [dict(
                tenant_id=tw.tenant_id, id=h, parent_id=c2.id, kind=AreaKind.BUILDING, name=f"楼 {n}",
                path=c2.path + path_segment(h), depth=c2.depth + 1) for n, h in enumerate(homes)])
            created = datetime(2026, 1, 1, 2, tzinfo=UTC)
            await s.execute(insert(Case), [dict(
                tenant_id=tw.tenant_id, id=uuid7(), number=f"MASS-{i:04d}", area_id=homes[i % 300],
                area_path=c2.path + path_segment(homes[i % 300]), category_code="garbage",
                priority=CasePriority.NORMAL, title="别处", description="", state=CaseState.REPORTED,
                reporter_user_id=tw.users["grid1"], on_wall=False, reporter_role="resident", supervised=False,
                reopen_count=0, version=1, created_at=created + timedelta(minutes=65 * i),
                updated_at=created) for i in range(8000)])
    async with db.owner_engine.begin() as owner:  # the app role may not ANALYZE
        await owner.execute(text("ANALYZE cases"))
    sent = statements_sent(monkeypatch)
    args = {"a": area(tw, "C1"), "f": "2026-04-01", "t": "2026-04-30"}
    compiled, resolved, taken = await both(api, tw, "secretary", ALL, args)
    assert taken and compiled == resolved, around(compiled, resolved)
    assert orjson.loads(compiled)["data"]["caseStatistics"]["total"] > 0
    sql, params = next((q, a) for q, a in sent if "caseStatistics" in q)
    plan = await plan_as_app(db, tw.tenant_id, sql, params)
    shown = "\n".join(plan)
    assert "BitmapOr" in shown, shown
    assert shown.count("Bitmap Index Scan on ix_cases_tenant_area_created") == 2, shown
    assert "ix_cases_tenant_area_path_created" not in shown, shown
    assert "ix_cases_tenant_created" not in shown, shown


# ---------------------------------------------------------------- a partner's sharedStatistics


@pytest.fixture
async def partners(papi: PartnerApi, db: DbEnv, fresh: World) -> list[tuple[str, TenantWorld, str]]:
    """test_compiled_cobuilding.py's scene in both tenants (agreements in force, expired, not yet, draft; a
    unit without statistics·read), a third unit sharing statistics of C1 and C2, the cases of this module
    in tenant a and activities in June: (who, tenant, access token) of every partner client."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    out = []
    for t in (await _tenant(papi, db, fresh.a, 31), await _tenant(papi, db, fresh.b, 41)):
        station = await make_unit(papi.api, t.tw, "社区卫生站", 51 if t.tw is fresh.a else 61)
        await make_agreement(papi.api, t.tw, station, [community(t.tw, "C1"), community(t.tw, "C2")],
                             grants=["statistics.read"], valid_from=VALID_FROM, valid_until=VALID_UNTIL)
        _, client_id, secret = await partner_client(papi, t.tw, station)
        clients = {**t.clients, "station": (client_id, secret)}
        for key, (cid, sec) in clients.items():
            out.append((key, t.tw, await papi.access(cid, sec)))
    await add_cases(db, fresh.a)
    for area_key, title, places in (("P1", "义诊", 30), ("B1", "楼道清扫", 0), ("P3", "西湖清扫", 12)):
        await add_activity(db, fresh.a, area_key, title, starts=datetime(2026, 6, 3, 2, tzinfo=UTC), capacity=places)
    return out


async def test_shared_statistics_compile_to_the_resolvers_answer_for_every_partner(
        papi: PartnerApi, partners: Any, fresh: World) -> None:
    taken_by: set[tuple[str, str]] = set()
    readers: set[tuple[str, str]] = set()
    for key, tw, token in partners:
        for where in ("C1", "C2"):
            for start, end in (PERIODS[1], PERIODS[2], EDGES[0][:2], ("2026-05-01", "2026-04-01")):
                variables = {"c": community(tw, where), "f": start, "t": end}
                compiled, resolved, taken = await partner_both(papi, token, SHARED, variables, status=None)
                assert compiled == resolved, (key, tw.slug, where, start, around(compiled, resolved))
                if "errors" not in orjson.loads(resolved):
                    readers.add((key, tw.slug))
                    assert taken, (key, where, start)
                if taken:
                    taken_by.add((key, tw.slug))
            compiled, resolved, taken = await partner_both(papi, token, SHARED_SOME, {"c": community(tw, where)},
                                                           status=None)
            assert compiled == resolved, (key, where, around(compiled, resolved))
        for variables in ({"c": area(tw, "P1"), "f": "2026-06-01", "t": "2026-06-30"},  # a compound, no community
                          {"c": "not-an-id", "f": "2026-06-01", "t": "2026-06-30"}):
            compiled, resolved, taken = await partner_both(papi, token, SHARED, variables, status=None)
            assert compiled == resolved and "errors" in orjson.loads(compiled), (key, variables)
    slugs = {fresh.a.slug, fresh.b.slug}
    assert readers == {(k, s) for k in ("hospital", "station") for s in slugs}, readers
    assert readers <= taken_by and not any(k == "rescue" for k, _ in taken_by), taken_by
    # The figures are real: the station's June in tenant a's C1, on a rounding edge, with activities.
    token = next(t for k, tw, t in partners if k == "station" and tw is fresh.a)
    compiled, resolved, taken = await partner_both(papi, token, SHARED, {"c": community(fresh.a, "C1"),
                                                                         "f": EDGES[0][0], "t": EDGES[0][1]},
                                                   status=None)
    figures = orjson.loads(compiled)["data"]["sharedStatistics"]
    assert taken and figures["cases"]["total"] == 1 and figures["cases"]["meanHandlingHours"] == 2.67, figures
    assert figures["activities"]["total"] == 2 and figures["activities"]["places"] == 30, figures
    assert figures["activities"]["byState"][0]["activityState"] is not None, figures


async def test_a_compiled_shared_statistics_is_one_statement(papi: PartnerApi, partners: Any, fresh: World) -> None:
    token = next(t for k, tw, t in partners if k == "station" and tw is fresh.a)
    variables = {"c": community(fresh.a, "C1"), "f": "2026-04-01", "t": "2026-06-30"}
    await partner_both(papi, token, SHARED, variables, status=None)  # the partner's plan, made
    with compiled_statements() as made, count_statements() as stmts:
        r = await papi.gql(token, SHARED, variables)
    assert r.status_code == 200 and "errors" not in r.json() and made and made[0] is not None, r.text
    assert len(stmts) == 3, stmts  # start-up, the partner actor (one driver statement, #21), the compiled read
