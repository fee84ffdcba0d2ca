"""The care domain's lists compiled (compiled/care.py, issue #21) answer exactly what the resolvers answer:
``neighborLeads``, ``careServices`` and ``careServicesConnection``, and the lead of ``overdueVisits``' rows.

As in test_compiled_notices.py: every world user sends each query compiled, then through strawberry's
resolvers; both bodies must be the same bytes and the compiled path must have been taken; pages are
walked by their cursors to the end; a bad argument is the resolvers' error whichever path is tried; a
compiled request is one statement after the request's start-up. The world has service lists of the
street, both communities and a compound, one retired; two leads, one of them ended."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id, encode_sorted_cursor
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

LEAD = """__typename id title appointedAt endedAt householdIds householdCount user { username displayName }
  person { id name phone } area { __typename id name }"""
LEADS = """query($first: Int, $after: String, $includeEnded: Boolean! = false, $areaId: ID) {
  neighborLeads(includeEnded: $includeEnded, first: $first, after: $after, areaId: $areaId) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @L } } nodes { id } } }""".replace("@L", LEAD)
SERVICE = "__typename id tagCode name frequency provider note retiredAt area { __typename id name }"
SERVICES = """query($tagCode: String, $areaId: ID) { careServices(tagCode: $tagCode, areaId: $areaId) { @S } }
""".replace("@S", SERVICE)
SERVICE_PAGES = """query($tagCode: String, $areaId: ID, $first: Int, $after: String) {
  careServicesConnection(tagCode: $tagCode, areaId: $areaId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @S } } nodes { id } } }""".replace("@S", SERVICE)
OVERDUE_LEAD = """query($d: Date!) { overdueVisits(asOf: $d) { householdId lead { @L } } }""".replace("@L", LEAD)
# as bench/mix_ops.py sends them
MIX = ("""query Leads { neighborLeads(includeEnded: false, first: 20) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id title householdCount appointedAt user { displayName } area { name } } } }""",
       "query Services { careServices { id tagCode name frequency provider area { name } } }",
       """query ServicesPage { careServicesConnection(first: 20) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id tagCode name frequency provider retiredAt area { name } } } }""")

# what tests/compiled/test_compiled.py counts as compared
EQUIVALENCE_DOCUMENTS = (LEADS, SERVICES, SERVICE_PAGES, OVERDUE_LEAD, *MIX)

ADD_SVC = """mutation($i: CreateCareServiceInput!) { createCareService(input: $i) {
  service { id } errors { code } } }"""
RETIRE = """mutation($i: RetireCareServiceInput!) { retireCareService(input: $i) { errors { code } } }"""
APPOINT = """mutation($i: AppointLeadInput!) { appointNeighborLead(input: $i) { lead { id } errors { code } } }"""
END_LEAD = "mutation($id: ID!) { endNeighborLead(id: $id) { errors { code } } }"
SETTINGS = """mutation($i: UpdateCareSettingsInput!) { updateCareSettings(input: $i) { errors { code } } }"""

# (who creates, area, care group, name, note): the street's, both communities', a compound's
SERVICES_OF_THE_WORLD = (
    ("admin", "S", "living_alone", "街道助餐", None), ("secretary", "C1", "living_alone", "上门探视", "每周"),
    ("secretary", "C1", "disabled", "康复指导", None), ("admin", "C2", "veteran", "节日慰问", "含\"引号\"与\\"),
    ("admin", "P1", "disabled", "小区助浴", None), ("secretary", "C1", "disabled", "已停止的服务", None),
    ("admin", "S", "veteran", "优抚政策宣讲", None),
)


@pytest.fixture(scope="module")
async def care_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    ids = {}
    for who, where, tag, name, note in SERVICES_OF_THE_WORLD:
        r = await api.gql(tw, who, ADD_SVC, {"i": {"tagCode": tag, "areaId": area(tw, where), "name": name,
                                                   "frequency": "每月一次", "provider": "社区", "note": note}})
        assert r["data"]["createCareService"]["errors"] == [], (who, where, r)
        ids[name] = r["data"]["createCareService"]["service"]["id"]
    r = await api.gql(tw, "secretary", RETIRE, {"i": {"id": ids["已停止的服务"]}})
    assert r["data"]["retireCareService"]["errors"] == []
    r = await api.gql(tw, "admin", SETTINGS, {"i": {"leadMinHouseholds": 1}})
    assert r["data"]["updateCareSettings"]["errors"] == []
    for person, where, title, households in (("h1b", "P1", "NEIGHBOR", ("H1", "H2")),
                                             ("h4a", "P3", "BUILDING", ("H4",))):
        r = await api.gql(tw, "admin", APPOINT, {"i": {
            "personId": encode_global_id("Person", tw.persons[person]), "title": title, "areaId": area(tw, where),
            "householdIds": [encode_global_id("Household", tw.households[k]) for k in households]}})
        assert r["data"]["appointNeighborLead"]["errors"] == [], (person, r)
        ids[person] = r["data"]["appointNeighborLead"]["lead"]["id"]
    r = await api.gql(tw, "admin", END_LEAD, {"id": ids["h4a"]})
    assert r["data"]["endNeighborLead"]["errors"] == []
    return tw, ids


# One test per user, the page walks of every user in one test of their own (CI time, issue #21): pytest-xdist's
# worksteal can share a file's users between the workers; as one test the users' loop held one worker
# for one to three minutes at the end of a run under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_care_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, care_tenant: Any, user: str) -> None:
    tw, _ = care_tenant
    areas = [area(tw, k) for k in ("S", "C1", "C2", "P1", "B1", "G1", "P3")]
    lead_pages: list[dict[str, Any]] = [{}, {"first": 1}, {"first": 0}, {"includeEnded": True, "first": 50}]
    lead_pages += [{"areaId": a, "includeEnded": True} for a in areas]
    service_args: list[dict[str, Any]] = [{}, {"tagCode": "disabled"}, {"tagCode": "no_such_group"}]
    service_args += [{"areaId": a} for a in areas] + [{"areaId": area(tw, "B1"), "tagCode": "living_alone"}]
    for variables in lead_pages:
        compiled, resolved, taken = await both(api, tw, user, LEADS, variables)
        assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
    for variables in service_args:
        for document in (SERVICES, SERVICE_PAGES):
            compiled, resolved, taken = await both(api, tw, user, document, variables)
            assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
    for document in (*MIX, OVERDUE_LEAD):
        variables = {"d": "2027-01-01"} if document is OVERDUE_LEAD else {}
        compiled, resolved, taken = await both(api, tw, user, document, variables)
        assert taken and compiled == resolved, (user, document[:30], around(compiled, resolved))


async def test_care_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, care_tenant: Any) -> None:
    tw, _ = care_tenant
    walked = 0
    for user in USERS:
        walked += await walk_pages(api, tw, user, LEADS, "neighborLeads", {"first": 1, "includeEnded": True})
        walked += await walk_pages(api, tw, user, SERVICE_PAGES, "careServicesConnection", {"first": 2})
        walked += await walk_pages(api, tw, user, SERVICE_PAGES, "careServicesConnection",
                                   {"first": 1, "tagCode": "disabled"})
    # a walk is at least one page: several users' lists ran to several pages
    assert walked > 3 * len(USERS) + 5, walked


async def test_the_compared_care_lists_have_content(api: Api, care_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers."""
    tw, ids = care_tenant

    async def names(user: str, document: str, field: str, variables: dict[str, Any]) -> list[str]:
        body = orjson.loads((await both(api, tw, user, document, variables))[0])
        data = body["data"][field]
        return [n["name"] for n in (data if isinstance(data, list) else [e["node"] for e in data["edges"]])]

    everything = ["康复指导", "小区助浴", "街道助餐", "上门探视", "节日慰问", "优抚政策宣讲"]  # by group, then age
    assert await names("admin", SERVICES, "careServices", {}) == everything
    assert await names("admin", SERVICE_PAGES, "careServicesConnection", {"first": 50}) == everything
    assert await names("grid3", SERVICES, "careServices", {}) == ["街道助餐", "节日慰问", "优抚政策宣讲"]
    assert await names("resident", SERVICES, "careServices", {}) == []
    body = orjson.loads((await both(api, tw, "admin", LEADS, {"includeEnded": True, "first": 50}))[0])
    leads = [(n["node"]["id"], n["node"]["householdCount"], n["node"]["endedAt"] is None)
             for n in body["data"]["neighborLeads"]["edges"]]
    assert leads == [(ids["h1b"], 2, True), (ids["h4a"], 0, False)], leads  # ending gave H4 back
    body = orjson.loads((await both(api, tw, "admin", OVERDUE_LEAD, {"d": "2027-01-01"}))[0])
    assert {r["lead"]["id"] for r in body["data"]["overdueVisits"] if r["lead"]} == {ids["h1b"]}


async def test_a_bad_care_list_argument_is_the_resolvers_error_either_way(api: Api, care_tenant: Any) -> None:
    tw, _ = care_tenant
    other_list = encode_sorted_cursor("careServices", [1, "x"])  # a sorted cursor of the wrong kinds
    for user in ("admin", "grid1", "nobody"):
        for document, variables in (
                (LEADS, {"areaId": encode_global_id("Building", tw.tenant_id)}),
                (LEADS, {"areaId": encode_global_id("Case", tw.tenant_id)}), (LEADS, {"first": 101}),
                (LEADS, {"after": "not-a-cursor"}),
                (SERVICES, {"areaId": encode_global_id("Community", tw.tenant_id)}),
                (SERVICE_PAGES, {"first": -1}), (SERVICE_PAGES, {"after": "not-a-cursor"}),
                (SERVICE_PAGES, {"after": other_list})):
            compiled, resolved, _ = await both(api, tw, user, document, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_compiled_care_list_is_one_statement_whatever_its_length(api: Api, care_tenant: Any) -> None:
    tw, _ = care_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", MIX[2])
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "admin", doc, v))[1] for doc, v in (
        (MIX[0], {}), (MIX[1], {}), (MIX[2], {}), (SERVICE_PAGES, {"first": 1, "areaId": area(tw, "C1")}),
        (LEADS.replace("person { id name phone }", ""), {"first": 50, "includeEnded": True}))]
    assert counts == [baseline + 1] * 5, (counts, baseline)
    assert resolved > baseline + 1, resolved
