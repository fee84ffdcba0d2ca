"""The compiled in-service party members list (compiled/inservice.py, issue #21) answers exactly what
the resolvers answer: every world user, each filter, every page, the resolvers' errors either way, one
statement after the request's start-up. Members are registered in both communities, with and without
a partner unit; their persons are read as the person loader reads them (masked, full reads audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from models import Area, InServiceMember, PartnerKind, PartnerUnit, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import agree, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

MEMBERS = """
query InService($first: Int, $after: String, $communityId: ID, $partnerUnitId: ID) {
  inserviceMembers(first: $first, after: $after, communityId: $communityId, partnerUnitId: $partnerUnitId) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id workUnitName registeredOn community { __typename id name }
      person { id name phone idCardNo piiMasked }
      partnerUnit { __typename id name kind creditCode contactName address } } } } }
"""
PORTAL = """
query InService { inserviceMembers(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id workUnitName registeredOn person { name } partnerUnit { name } } } }
"""
FRAGMENTS = """
query { a: inserviceMembers(first: 1) { nodes { ...M } } b: inserviceMembers { totalCount }
        c: inserviceMembers(first: 2) { edges { node { ... on Node { id } } } } }
fragment M on InServiceMember { w: workUnitName partnerUnit { ... on PartnerUnit { name kind } } }
"""
EQUIVALENCE_DOCUMENTS = (MEMBERS, PORTAL, FRAGMENTS)


@pytest.fixture(scope="module")
async def inservice_tenant(db: DbEnv) -> tuple[TenantWorld, dict[str, Any]]:
    tw = await module_tenant(db)
    units = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for key, name, kind, code in (("U1", "第一中学", PartnerKind.SCHOOL, "12341100MB0000000X"),
                                          ("U2", "人民医院", PartnerKind.HOSPITAL, None)):
                units[key] = PartnerUnit(id=uuid7(), name=name, kind=kind, credit_code=code, contact_name="王老师",
                                         address=f"{name}路1号", created_by=tw.users["admin"],
                                         updated_at=datetime.now(UTC))
                s.add(units[key])
            await s.flush()
            for person, community, unit, on in (("h1a", "C1", "U1", date(2025, 3, 1)), ("h1b", "C1", None, None),
                                                ("h2a", "C1", "U2", date(2026, 1, 5)), ("h3a", "C1", "U1", None),
                                                ("h4a", "C2", "U2", date(2024, 9, 9))):
                c = tw.areas[community]
                path = (await s.get_one(Area, (tw.tenant_id, c))).path
                s.add(InServiceMember(id=uuid7(), person_id=tw.persons[person], community_id=c, community_path=path,
                                      partner_unit_id=None if unit is None else units[unit].id,
                                      work_unit_name=units[unit].name if unit else "个体",
                                      registered_by=tw.users["admin"], registered_on=on or date(2026, 2, 2)))
    return tw, {k: encode_global_id("PartnerUnit", u.id) for k, u in units.items()}


async def test_inservice_members_compile_to_the_resolvers_answer_for_every_user(api: Api, inservice_tenant: Any
                                                                               ) -> None:
    tw, units = inservice_tenant
    pages: list[dict[str, Any]] = [
        {}, {"first": 2}, {"first": 0}, {"communityId": encode_global_id("Community", tw.areas["C1"])},
        {"communityId": encode_global_id("Community", tw.areas["C2"])}, {"partnerUnitId": units["U1"]},
        {"partnerUnitId": units["U2"], "communityId": encode_global_id("Community", tw.areas["C1"])}]
    walked = 0
    for user in USERS:
        for variables in pages:
            await agree(api, tw, user, MEMBERS, variables)
        for document in (PORTAL, FRAGMENTS):
            await agree(api, tw, user, document, {})
        walked += await walk_pages(api, tw, user, MEMBERS, "inserviceMembers", {"first": 2}, 10)
    assert walked > len(USERS), walked


async def test_inservice_members_have_real_content(api: Api, inservice_tenant: Any) -> None:
    tw, _ = inservice_tenant
    body = orjson.loads((await both(api, tw, "admin", MEMBERS, {"first": 50}))[0])["data"]["inserviceMembers"]
    assert body["totalCount"] == 5
    nodes = [e["node"] for e in body["edges"]]
    assert sum(1 for n in nodes if n["partnerUnit"] is None) == 1
    assert {n["partnerUnit"]["kind"] for n in nodes if n["partnerUnit"]} == {"SCHOOL", "HOSPITAL"}
    assert all(n["person"] and n["community"]["name"] for n in nodes)
    secretary = orjson.loads((await both(api, tw, "secretary", MEMBERS, {"first": 50}))[0])
    assert secretary["data"]["inserviceMembers"]["totalCount"] == 4  # C1's


async def test_a_bad_inservice_argument_is_the_resolvers_error_either_way(api: Api, inservice_tenant: Any) -> None:
    tw, _ = inservice_tenant
    for variables in ({"first": 101}, {"after": "nope"}, {"communityId": encode_global_id("Compound", tw.areas["P1"])},
                      {"partnerUnitId": "x"}):
        compiled, resolved, _ = await both(api, tw, "admin", MEMBERS, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled[:200])


async def test_a_compiled_inservice_list_is_one_statement(api: Api, inservice_tenant: Any) -> None:
    tw, _ = inservice_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "secretary", PORTAL)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "secretary", "query { __typename }")
        _, resolved = await api.counted(tw, "secretary", PORTAL)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "secretary", PORTAL)
    assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)
