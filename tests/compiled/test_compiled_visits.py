"""The compiled visits list (compiled/visits.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The visits are to the world's four households
(by the street admin, a party secretary, two grid leaders) and to the five households a neighbourhood
lead keeps, the world's H2 among them (by the lead, the world's resident): the households visited,
their rooms, their persons and those persons' personal data are read through the compiled Household
and Person fields, masked or in full by each user's rights, exactly as the resolvers show them."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.care.test_care import APPOINT, TZ8, VISIT, add_households, hh, visit_input
from tests.support.compiled import agree, around, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

VISIT_SELECTION = """
  __typename id kind visitedAt findings needs householdId visitorActingRole
  household { __typename id unit room addressMasked building { name }
              persons { id name idCardNo phone birthDate careTags piiMasked } }
  building { __typename id name kind }
  visitor { username displayName }
"""

VISITS = """
query Visits($first: Int, $after: String, $householdId: ID, $areaId: ID, $from: Date, $to: Date) {
  visits(first: $first, after: $after, householdId: $householdId, areaId: $areaId, from: $from, to: $to) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @VISIT } }
    nodes { id kind }
  }
}
""".replace("@VISIT", VISIT_SELECTION)

# The lead's list as bench/mix_ops.py sends it, and fragments and aliases.
PORTAL = """
query Visits { visits(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id kind visitedAt findings
               needs household { unit room } visitor { displayName } } } }
"""
VISITS_FRAGMENTS = """
query { a: visits(first: 1) { nodes { ...F } }
        b: visits(from: "2026-10-10") { edges { node { ... on Node { id } ...F } } }
        c: visits { totalCount } d: visits(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Visit { id k: kind ...G }
fragment G on Visit { household { room persons { name phone } } building { name } }
"""

VISIT_DOCUMENTS = (VISITS, PORTAL, VISITS_FRAGMENTS)

# (visitor, household, local day and time, kind, needs)
VISITS_OF_THE_WORLD = (
    ("admin", "H1", "2026-10-02T10:00:00", "ROUTINE", None),
    ("grid1", "H1", "2026-10-20T09:30:00", "CARE", "送药"),
    ("secretary", "H2", "2026-10-05T15:00:00", "ROUTINE", None),
    ("grid2", "H3", "2026-11-01T00:30:00", "CARE", None),
    ("admin", "H4", "2026-11-02T23:30:00", "FOLLOW_UP", "联系老兵服务站"),
    ("admin", "H2", "2026-11-03T08:00:00", "ROUTINE", None),
    ("resident", "B2-202", "2026-11-04T10:00:00", "ROUTINE", "楼道扶手"),
    ("resident", "B2-203", "2026-10-31T16:00:00", "CARE", None),
    ("grid2", "B2-204", "2026-11-05T11:00:00", "ROUTINE", None),
)


async def _visits(api: Api, db: DbEnv, tw: TenantWorld) -> TenantWorld:
    extra = await add_households(db, tw, "B2", ["202", "203", "204", "205"])
    r = await api.gql(tw, "admin", APPOINT, {"i": {
        "personId": encode_global_id("Person", tw.persons["h1b"]), "title": "BUILDING", "areaId": area(tw, "B2"),
        "householdIds": [encode_global_id("Household", h) for h in (*extra, tw.households["H2"])]}})
    assert r["data"]["appointNeighborLead"]["errors"] == [], r
    for who, key, at, kind, needs in VISITS_OF_THE_WORLD:
        r = await api.gql(tw, who, VISIT, visit_input(tw, key, at + TZ8, kind, **({"needs": needs} if needs else {})))
        assert r["data"]["recordVisit"]["errors"] == [], (who, key, r)
    return tw


@pytest.fixture(scope="module")
async def visit_tenant(api: Api, db: DbEnv) -> TenantWorld:
    """The module's world, for the tests that only read it."""
    return await _visits(api, db, await module_tenant(db))


# One test per user (CI time, issue #21: the users' loop was one test of 45–122 s that one worker ran
# alone at the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_visit_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, visit_tenant: TenantWorld,
                                                                          user: str) -> None:
    tw = visit_tenant
    areas = [area(tw, k) for k in ("S", "C1", "P1", "G1", "G2", "B1", "C2")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 50, "householdId": hh(tw, "H1")},
                                   {"householdId": hh(tw, "B2-202")}, {"from": "2026-11-01"}, {"to": "2026-10-31"},
                                   {"from": "2026-10-05", "to": "2026-11-02"},
                                   {"from": "2026-11-03", "to": "2026-11-01"},
                                   {"householdId": hh(tw, "H2"), "from": "2026-11-01"},
                                   {"householdId": encode_global_id("Household", uuid.uuid4())}]
    pages += [{"areaId": a} for a in areas] + [{"areaId": areas[3], "to": "2026-10-31"}]
    for variables in pages:
        await agree(api, tw, user, VISITS, variables)
    for document in (PORTAL, VISITS_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_visit_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, visit_tenant: TenantWorld
                                                                               ) -> None:
    tw = visit_tenant
    seen_pages = 0
    for user in USERS:
        for extra in ({}, {"from": "2026-10-15"}):  # page by page from the cursors, to the end
            variables = {"first": 2, **extra}
            seen_pages += await walk_pages(api, tw, user, VISITS, "visits", variables, 20)
    assert seen_pages > 3 * len(USERS), seen_pages  # several users' lists ran to several pages


async def test_a_visit_list_has_real_content(api: Api, visit_tenant: TenantWorld) -> None:
    """Guards the comparison above from comparing empty answers: what the lists hold, masked or not."""
    tw = visit_tenant

    async def nodes(user: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, VISITS, {"first": 50, **variables}))[0])
        conn = body["data"]["visits"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"] for e in conn["edges"]]

    names = {hh(tw, k): k for k in tw.households}
    everything = [(who, key) for who, key, *_ in reversed(VISITS_OF_THE_WORLD)]
    admin = await nodes("admin", {})
    assert [(n["visitor"]["username"], names[n["householdId"]]) for n in admin] == [
        (tw.username(who), key) for who, key in everything]  # newest first
    h1 = next(n for n in admin if n["needs"] == "送药")
    assert h1["kind"] == "CARE" and h1["visitorActingRole"] == "GRID_LEADER" and h1["building"]["name"] == "1栋"
    assert h1["household"]["room"] == "101" and not h1["household"]["addressMasked"]
    assert {p["name"] for p in h1["household"]["persons"]} == {"张建国", "张小梅"}
    assert all(p["idCardNo"] and not p["piiMasked"] for p in h1["household"]["persons"])
    # the lead: the visits of the households kept, their rooms masked
    lead = await nodes("resident", {})
    assert {names[n["householdId"]] for n in lead} == {"H2", "B2-202", "B2-203", "B2-204"} and len(lead) == 5
    assert {(n["household"]["room"], n["household"]["addressMasked"]) for n in lead} == {("***", True)}
    assert {names[n["householdId"]] for n in await nodes("grid2", {})} == {"H2", "H3", "B2-202", "B2-203", "B2-204"}
    # the lead reads the visited persons without their personal data (no read_pii for H2)
    persons = [p for n in await nodes("resident", {"householdId": hh(tw, "H2")}) for p in n["household"]["persons"]]
    assert persons and all(p["piiMasked"] and p["birthDate"] is None and p["careTags"] is None for p in persons)
    assert {p["phone"] for p in persons} == {tw.phones["h2a"][:3] + "****" + tw.phones["h2a"][-4:]}
    assert await nodes("nobody", {}) == [] and await nodes("resident4", {}) == []
    # local days (UTC+8): 2026-11-01T00:30 is the first of November, 2026-10-31T16:00 the 31st of October
    assert {names[n["householdId"]] for n in await nodes("admin", {"from": "2026-11-01", "to": "2026-11-02"})} == {
        "H3", "H4"}
    assert {names[n["householdId"]] for n in await nodes("admin", {"areaId": area(tw, "G1")})} == {"H1"}
    assert len(await nodes("admin", {"areaId": area(tw, "B2")})) == 5


async def test_a_bad_visit_argument_is_the_resolvers_error_either_way(api: Api, visit_tenant: TenantWorld
                                                                       ) -> None:
    """An unknown area (NOT_FOUND), IDs of the wrong type, a page size out of range, a bad cursor: the
    resolvers' typed errors, the same bytes whichever path was tried first.

    Plans cached first (issue #21): each user sends the same arguments with valid values before the
    bad ones, so the bad ones meet a cached plan of their shape — for "nobody" one whose SQL dropped the
    argument (``x AND false``): a reused plan must refuse what compiling anew refuses
    (compiled.plans.Plan.unused; 2026-12-05 it answered an empty page where the resolvers say INVALID_ID)."""
    tw = visit_tenant
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"householdId": encode_global_id("Person", tw.tenant_id)},
                                 {"householdId": "not-an-id"},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"}]
    for user in ("admin", "resident", "nobody"):
        for variables in ({"areaId": area(tw, "C1")},
                          {"householdId": encode_global_id("Household", tw.households["H1"])},
                          {"first": 2}):
            compiled, resolved, taken = await both(api, tw, user, VISITS, variables)
            assert compiled == resolved and taken, (user, variables, around(compiled, resolved))
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, VISITS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_visit_list_with_a_field_not_compiled_takes_the_general_path(api: Api, visit_tenant: TenantWorld
                                                                            ) -> None:
    tw = visit_tenant
    query = "query { visits { nodes { kind visitorRole case { id } } } }"
    compiled, resolved, taken = await both(api, tw, "admin", query, {})
    assert not taken and compiled == resolved and b"GRID_LEADER" not in compiled and b"grid_leader" in compiled


async def test_a_compiled_visit_list_is_one_statement_whatever_the_page_size(api: Api, visit_tenant: TenantWorld
                                                                              ) -> None:
    """Counted as the lead (no full read of personal data, so no audit rows: those are statements of
    their own on either path, test_compiled.py's audit tests) and as a grid leader on the portal's list."""
    tw = visit_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "resident", "query { __typename }")
        _, resolved = await api.counted(tw, "resident", VISITS, {"first": 50})
        _, grid_baseline = await api.counted(tw, "grid1", "query { __typename }")
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "resident", VISITS, {"first": first})
    _, counts[0] = await api.counted(tw, "resident", VISITS, {"first": 2, "areaId": area(tw, "B2"),
                                                              "householdId": hh(tw, "H2"), "from": "2026-10-01"})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
    _, portal = await api.counted(tw, "grid1", PORTAL)
    assert portal == grid_baseline + 1, (portal, grid_baseline)
