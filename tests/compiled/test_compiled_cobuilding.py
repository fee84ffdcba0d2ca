"""The compiled co-building reads (compiled/cobuilding.py, issue #21) answer exactly what the resolvers
answer: the staff's ``agreements`` for every world user, and a partner system's ``myAgreements``,
``myAgreementsConnection`` and ``sharedActivities`` for every partner client of the world, in both
tenants — same bytes, every page by cursor, the compiled path taken.

Partner reads are security-critical, so the scene holds what must stay out: per tenant, unit 市三医院 has an
agreement in force on C1, one that expired (its validity ended before the request's day), one not yet in
force (it starts after it), a draft on C2; unit 蓝天救援队 has one in force on C2 and C1 sharing wish·read and
activity·read; the other tenant's units, agreements and ids. An agreement suspended between two requests of the same
client is out of the next compiled answer (a partner's plan is keyed by its agreements in force)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from models import ActivityState, Agreement
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support.cobuilding import SET_STATUS, USERS, add_activity, community, gid, make_agreement, make_unit, run
from tests.support.compiled import around, both, partner_both, walk_pages
from tests.support.harness import DbEnv, World
from tests.support.partners import NOON, VALID_FROM, VALID_UNTIL, PartnerApi, partner_client
from tests.support.world import TenantWorld

AGREEMENTS = """
query A($first: Int, $after: String, $u: ID, $c: ID, $statuses: [AgreementStatus!], $on: Date) {
  agreements(partnerUnitId: $u, communityId: $c, statuses: $statuses, activeOn: $on, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id title communityParty status inForce validFrom validUntil note version
      grants sharedData areas { code name }
      partnerUnit { __typename id name kind creditCode contactName address }
      communities { __typename id name ... on Community { code } } } }
    nodes { id }
  }
}
"""

MY_AGREEMENTS = """
query { myAgreements { __typename id title grants sharedData validFrom validUntil areas { code name }
                       communities { __typename id name } } }
"""

MY_PAGE = """
query M($first: Int, $after: String) { myAgreementsConnection(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id title sharedData validFrom validUntil communities { id name } areas { code name } } } } }
"""

SHARED_ACTIVITIES = """
query S($first: Int, $after: String) { sharedActivities(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { __typename id title description place startsAt endsAt capacity signedUp state
                        organiserName community { id name } } } } }
"""

# As bench/mix_ops.py sends them, with aliases and the same field twice.
PARTNER_MIX = """
query { myAgreements { id title grants validFrom validUntil communities { id name } }
        a: sharedActivities(first: 20) {
          nodes { id title place startsAt endsAt capacity signedUp organiserName state } }
        b: myAgreementsConnection(first: 1) { totalCount nodes { id } } __typename }
"""

EQUIVALENCE_DOCUMENTS = (AGREEMENTS, MY_AGREEMENTS, MY_PAGE, SHARED_ACTIVITIES, PARTNER_MIX)


@dataclass
class Tenant:
    tw: TenantWorld
    units: dict[str, str]
    agreements: dict[str, str]
    clients: dict[str, tuple[str, str]]  # unit key -> (client id, secret)


async def _validity(db: DbEnv, tw: TenantWorld, agreement: str, start: date, end: date) -> None:
    """Set straight in the table: the mutations refuse activating an agreement whose validity has ended."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Agreement).where(Agreement.id == decode_global_id(agreement)[1])
                            .values(valid_from=start, valid_until=end))


async def _tenant(p: PartnerApi, db: DbEnv, tw: TenantWorld, seq: int) -> Tenant:
    hospital = await make_unit(p.api, tw, "市三医院", seq)
    rescue = await make_unit(p.api, tw, "蓝天救援队", seq + 1)
    ags = {
        "in_force": await make_agreement(p.api, tw, hospital, [community(tw, "C1")], valid_from=VALID_FROM,
                                         valid_until=VALID_UNTIL, title="医院共建协议"),
        "expired": await make_agreement(p.api, tw, hospital, [community(tw, "C2")], valid_from=VALID_FROM,
                                        valid_until=VALID_UNTIL, title="已过期协议"),
        "not_yet": await make_agreement(p.api, tw, hospital, [community(tw, "C2")],
                                        valid_from=VALID_UNTIL + timedelta(days=10),
                                        valid_until=VALID_UNTIL + timedelta(days=100), title="未生效协议"),
        "draft": await make_agreement(p.api, tw, hospital, [community(tw, "C2")], activate=False,
                                      valid_from=VALID_FROM, valid_until=VALID_UNTIL, title="草稿协议"),
        "rescue": await make_agreement(p.api, tw, rescue, [community(tw, "C2"), community(tw, "C1")],
                                       grants=["wish.read", "activity.read"], valid_from=VALID_FROM, valid_until=None,
                                       title="救援队协议"),
    }
    await _validity(db, tw, ags["expired"], VALID_FROM - timedelta(days=60), VALID_FROM - timedelta(days=1))
    start = NOON + timedelta(days=2)
    published = ActivityState.PUBLISHED
    for area, title, state in (("P1", "义诊", published), ("G2", "健康讲座", published),
                               ("C1", "取消的", ActivityState.CANCELLED), ("B1", "楼道清扫", published),
                               ("P3", "西湖清扫", published), ("S", "街道运动会", published)):
        await add_activity(db, tw, area, title, starts=start, state=state)
    clients = {}
    for key, unit in (("hospital", hospital), ("rescue", rescue)):
        _, client_id, secret = await partner_client(p, tw, unit)
        clients[key] = (client_id, secret)
    return Tenant(tw, {"hospital": hospital, "rescue": rescue}, ags, clients)


@pytest.fixture
async def scene(papi: PartnerApi, db: DbEnv, fresh: World) -> tuple[Tenant, Tenant]:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    return await _tenant(papi, db, fresh.a, 31), await _tenant(papi, db, fresh.b, 41)


async def _walk(p: PartnerApi, token: str, query: str, field: str) -> int:
    pages, variables = 0, {"first": 1}
    for _ in range(20):
        compiled, resolved, taken = await partner_both(p, token, query, variables)
        assert taken and compiled == resolved, (field, variables, around(compiled, resolved))
        pages += 1
        info = orjson.loads(compiled)["data"][field]["pageInfo"]
        if not info["hasNextPage"]:
            break
        variables = {**variables, "after": info["endCursor"]}
    return pages


async def test_every_partner_client_of_both_tenants_reads_the_same_compiled(papi: PartnerApi, scene: Any) -> None:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    pages = 0
    for t in scene:
        for key, (client_id, secret) in t.clients.items():
            token = await papi.access(client_id, secret)
            for document in (MY_AGREEMENTS, PARTNER_MIX):
                compiled, resolved, taken = await partner_both(papi, token, document, {})
                assert taken and compiled == resolved, (t.tw.slug, key, around(compiled, resolved))
            for variables in ({}, {"first": 0}, {"first": 100}):
                for document in (MY_PAGE, SHARED_ACTIVITIES):
                    compiled, resolved, taken = await partner_both(papi, token, document, variables)
                    assert taken and compiled == resolved, (t.tw.slug, key, variables, around(compiled, resolved))
            pages += await _walk(papi, token, MY_PAGE, "myAgreementsConnection")
            pages += await _walk(papi, token, SHARED_ACTIVITIES, "sharedActivities")
            seen[(t.tw.slug, key)] = orjson.loads((await partner_both(papi, token, PARTNER_MIX, {}))[0])["data"]
    assert pages > 8, pages
    a, b = scene
    for t, other in ((a, b), (b, a)):
        hospital = seen[(t.tw.slug, "hospital")]
        # only the agreement in force: not the expired, the not-yet, the draft, nor the other unit's
        assert [x["id"] for x in hospital["myAgreements"]] == [t.agreements["in_force"]]
        assert hospital["myAgreements"][0]["communities"] == [{"id": community(t.tw, "C1"), "name": "东风社区"}]
        assert {x["title"] for x in hospital["a"]["nodes"]} == {"义诊", "健康讲座", "楼道清扫"}  # C1's, not cancelled
        rescue = seen[(t.tw.slug, "rescue")]
        assert [x["id"] for x in rescue["myAgreements"]] == [t.agreements["rescue"]]
        assert {x["title"] for x in rescue["a"]["nodes"]} == {"义诊", "健康讲座", "楼道清扫", "西湖清扫"}
        ids = {x["id"] for x in hospital["myAgreements"]} | {x["id"] for x in rescue["myAgreements"]}
        assert ids.isdisjoint(other.agreements.values())


async def test_an_agreement_suspended_between_two_requests_is_out_of_the_next(papi: PartnerApi, scene: Any) -> None:
    a, _ = scene
    token = await papi.access(*a.clients["hospital"])
    for document in (MY_AGREEMENTS, SHARED_ACTIVITIES):
        compiled, resolved, taken = await partner_both(papi, token, document, {})
        assert taken and compiled == resolved
    before = orjson.loads((await partner_both(papi, token, PARTNER_MIX, {}))[0])["data"]
    assert before["myAgreements"] and before["a"]["nodes"]
    s = await run(papi.api, a.tw, "admin", SET_STATUS, {"id": a.agreements["in_force"], "s": "SUSPENDED", "v": None})
    assert s["errors"] == [], s
    for document in (MY_AGREEMENTS, MY_PAGE):
        compiled, resolved, taken = await partner_both(papi, token, document, {})
        assert taken and compiled == resolved, around(compiled, resolved)
        assert b'"myAgreements":[]' in compiled or b'"totalCount":0' in compiled, compiled
    # nothing shares activity·read now: refused before anything runs, whichever path
    assert (await papi.gql(token, SHARED_ACTIVITIES)).status_code == 403


async def test_staff_agreements_compile_to_the_resolvers_answer_for_every_user(papi: PartnerApi, scene: Any) -> None:
    a, b = scene
    tw = a.tw
    variables: list[dict[str, Any]] = [
        {}, {"first": 2}, {"first": 0}, {"u": a.units["hospital"]}, {"c": community(tw, "C2")},
        {"statuses": ["ACTIVE"]}, {"statuses": ["DRAFT", "SUSPENDED"]}, {"on": "2026-06-15"}, {"on": "2026-07-15"},
        {"u": b.units["hospital"]}, {"c": community(b.tw, "C1")},  # the other tenant's ids: nothing
    ]
    pages = 0
    for user in (*USERS, "nobody"):
        for v in variables:
            compiled, resolved, taken = await both(papi.api, tw, user, AGREEMENTS, v)
            assert taken, (user, v)
            assert compiled == resolved, (user, v, around(compiled, resolved))
        pages += await walk_pages(papi.api, tw, user, AGREEMENTS, "agreements", {"first": 2})
    assert pages > len(USERS), pages
    body = orjson.loads((await both(papi.api, tw, "admin", AGREEMENTS, {"first": 50}))[0])["data"]["agreements"]
    assert body["totalCount"] == 5
    force = {e["node"]["title"]: e["node"]["inForce"] for e in body["edges"]}
    assert force == {"医院共建协议": True, "已过期协议": False, "未生效协议": False, "草稿协议": False,
                     "救援队协议": True}
    rescue = next(e["node"] for e in body["edges"] if e["node"]["title"] == "救援队协议")
    assert [c["name"] for c in rescue["communities"]] == ["东风社区", "西湖社区"]  # by name
    assert rescue["sharedData"] == ["WISH_READ", "ACTIVITY_READ"]
    assert rescue["areas"][0] == {"code": "organization", "name": "组织联建"}


async def test_a_bad_agreements_argument_is_the_resolvers_error_either_way(papi: PartnerApi, scene: Any) -> None:
    a, _ = scene
    tw = a.tw
    bad: list[dict[str, Any]] = [{"first": 101}, {"first": -1}, {"after": "not-a-cursor"},
                                 {"u": community(tw, "C1")}, {"c": a.units["hospital"]}, {"u": "nonsense"}]
    for user in ("admin", "secretary", "nobody"):
        for v in bad:
            compiled, resolved, _ = await both(papi.api, tw, user, AGREEMENTS, v)
            assert compiled == resolved and b'"errors"' in compiled, (user, v, compiled)
    # a shared view asked by staff: the resolvers' FORBIDDEN either way
    for document in (MY_AGREEMENTS, SHARED_ACTIVITIES):
        compiled, resolved, taken = await both(papi.api, tw, "admin", document, {})
        assert not taken and compiled == resolved and b"FORBIDDEN" in compiled, compiled
    # a partner's page size out of range and bad cursor: the resolvers' errors
    token = await papi.access(*a.clients["hospital"])
    for document in (MY_PAGE, SHARED_ACTIVITIES):
        for v in ({"first": 101}, {"after": "not-a-cursor"}):
            compiled, resolved, _ = await partner_both(papi, token, document, v)
            assert compiled == resolved and b'"errors"' in compiled, (v, compiled)


async def test_a_partner_document_with_another_root_field_is_not_compiled(papi: PartnerApi, scene: Any) -> None:
    """Only PARTNER_ROOTS compile for a partner: a document that also asks ``me`` (which a partner may ask,
    but not compiled for one) runs through the resolvers whole (the same answer, no compiled statement).
    (sharedWishes was the example until it compiled for partners too, h-gen.)"""
    a, _ = scene
    token = await papi.access(*a.clients["hospital"])
    doc = "query { myAgreements { id } me { username } }"
    compiled, resolved, taken = await partner_both(papi, token, doc, {})
    assert not taken and compiled == resolved, compiled
    assert gid("Agreement", decode_global_id(a.agreements["in_force"])[1]).encode() in compiled
