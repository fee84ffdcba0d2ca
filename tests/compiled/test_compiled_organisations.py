"""The compiled organisation lists (compiled/organisations.py, issue #21) answer exactly what the
resolvers answer: service contracts, party organisations, owner committees, self-governing zones and
groups, central party-member households.

As in test_compiled_notices.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; every page
from the cursors; the resolvers' errors either way; one statement after the request's start-up. The
organisations sit on areas of both communities, from the street down to a building; one contract has
ended, one is open-ended, one starts in the future."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from models import (
    CentralHousehold,
    OwnerCommittee,
    PartyOrg,
    PartyOrgKind,
    PropertyFirm,
    SelfGoverningKind,
    SelfGoverningUnit,
    ServiceContract,
    uuid7,
)
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import agree, around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
PAGE = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

CONTRACTS = f"""
query Contracts($first: Int, $after: String, $on: Date, $firmId: ID, $compoundId: ID) {{
  serviceContracts(first: $first, after: $after, on: $on, firmId: $firmId, compoundId: $compoundId) {{
    {PAGE} edges {{ cursor node {{ __typename id validFrom validUntil firm {{ __typename id name creditCode }}
      compound {{ __typename id name kind }} }} }} }} }}
"""
PARTY_ORGS = f"""
query PartyOrgs($first: Int, $after: String, $areaId: ID) {{
  partyOrgs(first: $first, after: $after, areaId: $areaId) {{
    {PAGE} edges {{ cursor }}
    nodes {{ __typename id name kind parentId area {{ __typename id name ... on Compound {{ code }} }} }} }} }}
"""
COMMITTEES = f"""
query Committees($first: Int, $after: String, $compoundId: ID) {{
  ownerCommittees(first: $first, after: $after, compoundId: $compoundId) {{
    {PAGE} edges {{ cursor node {{ id name chairName termStart termEnd compound {{ name }} }} }} }} }}
"""
UNITS = f"""
query Units($first: Int, $after: String, $areaId: ID, $kind: SelfGoverningKind) {{
  selfGoverningUnits(first: $first, after: $after, areaId: $areaId, kind: $kind) {{
    {PAGE} nodes {{ id name kind parentId area {{ id name kind }} }} edges {{ cursor node {{ id }} }} }} }}
"""
CENTRAL = f"""
query Central($first: Int, $after: String, $areaId: ID, $unitId: ID) {{
  centralHouseholds(first: $first, after: $after, areaId: $areaId, unitId: $unitId) {{
    {PAGE} nodes {{ __typename id unitId householdId personId appointedOn }} edges {{ cursor node {{ id }} }} }} }}
"""
# The portal's documents as bench/mix_ops.py sends them, and fragments and aliases over all five.
PORTAL = """
query { serviceContracts(on: "2026-06-01", first: 20) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id validFrom validUntil firm { name } compound { name } } }
        partyOrgs(first: 20) { totalCount nodes { id name kind parentId area { name } } }
        ownerCommittees(first: 20) { totalCount nodes { id name chairName termStart termEnd compound { name } } }
        selfGoverningUnits(first: 20) { totalCount nodes { id name kind parentId area { name } } }
        centralHouseholds(first: 20) { totalCount nodes { id unitId householdId personId appointedOn } } }
"""
FRAGMENTS = """
query { a: partyOrgs(first: 1) { edges { node { ... on Node { id } ...O } } }
        b: selfGoverningUnits(kind: GROUP) { nodes { ...U } } c: ownerCommittees { totalCount }
        d: centralHouseholds(first: 2) { __typename pageInfo { hasNextPage } }
        e: serviceContracts { nodes { firm { ... on PropertyFirm { n: name } } } } }
fragment O on PartyOrg { n: name ...P }
fragment P on PartyOrg { kind area { name } }
fragment U on SelfGoverningUnit { id name parentId }
"""

EQUIVALENCE_DOCUMENTS = (CONTRACTS, PARTY_ORGS, COMMITTEES, UNITS, CENTRAL, PORTAL, FRAGMENTS)
LISTS = (("serviceContracts", CONTRACTS), ("partyOrgs", PARTY_ORGS), ("ownerCommittees", COMMITTEES),
         ("selfGoverningUnits", UNITS), ("centralHouseholds", CENTRAL))


def _area(tw: TenantWorld, key: str) -> str:
    kinds = {"S": "Street", "C": "Community", "P": "Compound", "B": "Building", "G": "Grid", "Z": "Zone"}
    return encode_global_id(kinds[key[0]], tw.areas[key])


@pytest.fixture(scope="module")
async def org_tenant(db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            f2 = PropertyFirm(id=uuid7(), name="湖畔物业", credit_code="91341100MA2N0XXX0K")
            s.add(f2)
            await s.flush()
            s.add_all([ServiceContract(firm_id=f2.id, compound_id=tw.areas["P3"], valid_from=date(2022, 1, 1)),
                       ServiceContract(firm_id=f2.id, compound_id=tw.areas["P2"], valid_from=date(2024, 1, 1),
                                       valid_until=date(2026, 12, 31)),
                       ServiceContract(firm_id=f2.id, compound_id=tw.areas["P1"], valid_from=date(2030, 1, 1))])
            top = PartyOrg(id=uuid7(), name="街道党工委", kind=PartyOrgKind.COMMITTEE, area_id=tw.areas["S"])
            c1 = PartyOrg(id=uuid7(), name="东风社区党委", kind=PartyOrgKind.COMMITTEE, area_id=tw.areas["C1"],
                          parent_id=top.id)
            s.add_all([top, c1])
            await s.flush()
            for name, kind, key, parent in (("幸福小区党支部", PartyOrgKind.BRANCH, "P1", c1.id),
                                            ("一网格党支部", PartyOrgKind.BRANCH, "G1", c1.id),
                                            ("1栋党小组", PartyOrgKind.GROUP, "B1", None),
                                            ("西湖社区党委", PartyOrgKind.COMMITTEE, "C2", top.id),
                                            ("湖畔小区党支部", PartyOrgKind.BRANCH, "P3", None)):
                s.add(PartyOrg(name=name, kind=kind, area_id=tw.areas[key], parent_id=parent))
            for key, name, start in (("P1", "幸福小区第一届业委会", 2020), ("P1", "幸福小区第二届业委会", 2025),
                                     ("P2", "老街小区业委会", 2024), ("P3", "湖畔小区业委会", 2023)):
                s.add(OwnerCommittee(compound_id=tw.areas[key], name=name, chair_name=f"{name[:2]}主任",
                                     term_start=date(start, 1, 1), term_end=date(start + 5, 1, 1) if start < 2025
                                     else date(start + 5, 6, 30)))
            zones = {}
            for key in ("P1", "P2", "P3", "C2"):
                zones[key] = SelfGoverningUnit(id=uuid7(), area_id=tw.areas[key], kind=SelfGoverningKind.ZONE,
                                               name=f"{key}第一自治片区")
                s.add(zones[key])
            await s.flush()
            groups = {}
            for key, zone, area in (("g1", "P1", "P1"), ("g2", "P1", "P1"), ("g3", "P2", "P2"), ("g4", "P3", "P3"),
                                    ("g5", None, "B1")):
                groups[key] = SelfGoverningUnit(id=uuid7(), area_id=tw.areas[area], kind=SelfGoverningKind.GROUP,
                                                name=f"{key}小组", parent_id=zones[zone].id if zone else None)
                s.add(groups[key])
            await s.flush()
            for group, hh, person, on in (("g1", "H1", "h1a", date(2026, 3, 1)), ("g2", "H2", "h2a", None),
                                          ("g3", "H3", "h3a", date(2025, 1, 9)), ("g4", "H4", "h4a", None),
                                          ("g5", "H1", "h1b", date(2024, 5, 5))):
                s.add(CentralHousehold(unit_id=groups[group].id, household_id=tw.households[hh],
                                       person_id=tw.persons[person], appointed_on=on))
    return tw


def _pages(tw: TenantWorld) -> dict[str, list[dict[str, Any]]]:
    areas = [_area(tw, k) for k in ("S", "C1", "C2", "P1", "P3", "B1", "G1")]
    compounds = [_area(tw, k) for k in ("P1", "P2", "P3")]
    return {
        "serviceContracts": [{}, {"first": 1}, {"first": 0}, {"on": "2021-06-01"}, {"on": "2026-06-01"},
                             {"on": "2031-01-01"}, {"firmId": encode_global_id("PropertyFirm", tw.firms["F1"])}]
                            + [{"compoundId": c} for c in compounds],
        "partyOrgs": [{}, {"first": 2}] + [{"areaId": a} for a in areas],
        "ownerCommittees": [{}, {"first": 1}] + [{"compoundId": c} for c in compounds],
        "selfGoverningUnits": [{}, {"kind": "ZONE"}, {"kind": "GROUP", "first": 2}]
                              + [{"areaId": a} for a in areas] + [{"areaId": areas[3], "kind": "GROUP"}],
        "centralHouseholds": [{}, {"first": 1}] + [{"areaId": a} for a in areas],
    }


# One test per user (CI time, issue #21: the users' loop was one test of 45–127 s that one worker ran
# alone at the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_organisation_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, org_tenant: Any,
                                                                                 user: str) -> None:
    tw = org_tenant
    pages = _pages(tw)
    for field, document in LISTS:
        for variables in pages[field]:
            compiled, resolved, taken = await both(api, tw, user, document, variables)
            assert taken, (user, field, variables)
            assert compiled == resolved, (user, field, variables, around(compiled, resolved))
    for document in (PORTAL, FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_organisation_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, org_tenant: Any
                                                                                      ) -> None:
    tw = org_tenant
    walked = 0
    for user in USERS:
        for field, document in LISTS:
            walked += await walk_pages(api, tw, user, document, field, {"first": 2}, 20)
    assert walked > len(USERS) * len(LISTS), walked  # several lists ran to several pages


async def test_the_organisation_lists_have_real_content(api: Api, org_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers."""
    tw = org_tenant

    async def data(user: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = orjson.loads((await both(api, tw, user, document, {"first": 50, **variables}))[0])
        return next(iter(body["data"].values()))  # type: ignore[no-any-return]

    contracts = await data("admin", CONTRACTS, {"on": "2026-06-01"})
    assert contracts["totalCount"] == 3  # P1 (安居), P3 (湖畔), P2 until 2026-12-31; not the ended nor the future
    assert {(e["node"]["firm"]["name"], e["node"]["compound"]["name"]) for e in contracts["edges"]} == {
        ("安居物业", "幸福小区"), ("湖畔物业", "湖畔小区"), ("湖畔物业", "老街小区")}
    assert {e["node"]["validUntil"] for e in contracts["edges"]} == {None, "2026-12-31"}
    orgs = await data("admin", PARTY_ORGS, {})
    assert orgs["totalCount"] == 7 and sum(1 for n in orgs["nodes"] if n["parentId"]) == 4
    assert {n["kind"] for n in orgs["nodes"]} == {"COMMITTEE", "BRANCH", "GROUP"}
    assert (await data("secretary", PARTY_ORGS, {}))["totalCount"] < 7  # C1's secretary reads C1's areas
    assert (await data("admin", PARTY_ORGS, {"areaId": _area(tw, "C1")}))["totalCount"] == 4
    committees = await data("admin", COMMITTEES, {"compoundId": _area(tw, "P1")})
    assert [e["node"]["termStart"] for e in committees["edges"]] == ["2020-01-01", "2025-01-01"]
    units = await data("admin", UNITS, {"kind": "GROUP"})
    assert units["totalCount"] == 5 and sum(1 for n in units["nodes"] if n["parentId"]) == 4
    central = await data("admin", CENTRAL, {"areaId": _area(tw, "P1")})
    assert central["totalCount"] == 3 and {n["appointedOn"] for n in central["nodes"]} == {"2026-03-01", None,
                                                                                           "2024-05-05"}
    assert (await data("nobody", CENTRAL, {}))["totalCount"] == 0


async def test_a_bad_organisation_argument_is_the_resolvers_error_either_way(api: Api, org_tenant: Any) -> None:
    """An unknown area (NOT_FOUND), an ID of the wrong type, a page size out of range, a bad cursor, an
    area the actor may not read (NOT_FOUND from the zones' and groups' lookup): the resolvers' errors."""
    tw = org_tenant
    unknown = encode_global_id("Building", tw.tenant_id)
    bad: list[tuple[str, dict[str, Any]]] = [
        (PARTY_ORGS, {"areaId": unknown}), (UNITS, {"areaId": unknown}), (CENTRAL, {"areaId": unknown}),
        (PARTY_ORGS, {"areaId": encode_global_id("Case", tw.tenant_id)}),
        (CONTRACTS, {"firmId": _area(tw, "P1")}), (CONTRACTS, {"compoundId": _area(tw, "B1")}),
        (COMMITTEES, {"compoundId": "nonsense"}), (CENTRAL, {"unitId": _area(tw, "P1")}),
        (UNITS, {"first": 101}), (CENTRAL, {"first": -1}), (COMMITTEES, {"after": "not-a-cursor"}),
        (UNITS, {"areaId": _area(tw, "C2")}), (CENTRAL, {"areaId": _area(tw, "P3")}),
    ]
    for user in ("admin", "secretary", "resident", "nobody"):
        for document, variables in bad:
            compiled, resolved, _ = await both(api, tw, user, document, variables)
            assert compiled == resolved, (user, variables, around(compiled, resolved))
    # the secretary of C1 may not read C2: NOT_FOUND for the zones' lookup, an empty list for party orgs
    compiled, _, _ = await both(api, tw, "secretary", UNITS, {"areaId": _area(tw, "C2")})
    assert b'"NOT_FOUND"' in compiled
    compiled, _, taken = await both(api, tw, "secretary", PARTY_ORGS, {"areaId": _area(tw, "C2")})
    assert taken and orjson.loads(compiled)["data"]["partyOrgs"]["totalCount"] == 0


async def test_a_compiled_organisation_list_is_one_statement(api: Api, org_tenant: Any) -> None:
    tw = org_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "secretary", "query { __typename }")  # the policy into the cache
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "secretary", "query { __typename }")
        _, resolved = await api.counted(tw, "secretary", PORTAL)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "secretary", PORTAL)
    assert compiled == baseline + 1, (compiled, baseline)
    assert resolved > baseline + 5, resolved
    for field, document in LISTS:
        _, n = await api.counted(tw, "secretary", document, {"first": 50})
        assert n == baseline + 1, (field, n)
