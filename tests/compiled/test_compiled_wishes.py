"""The compiled ``wishes`` list (issue #21, compiled/wishes.py) answers exactly what the resolvers
answer (resolvers.care.list_wishes): for every world user, every page, cursor and filter, the same
bytes — the rows (staff scope, own household, a party member's community and claims), the
beneficiary's identity hidden or shown, claimedByMe / postedByMe for the actor.

The world: two party members (resident, a branch in Z1 so community C2; chair, no branch so the
community they live in, C1), wishes in B1, B3 and B4 in every state — open, claimed, fulfilled,
confirmed, cancelled."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import update

from models import PartyOrg, PartyOrgKind, Person, uuid7
from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.cases import area_gid
from tests.support.compiled import PG_ONLY, agree, both, compiled_statements, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import USERS
from tests.support.world import TenantWorld

WISH_SELECTION = """
  __typename id title description state identityHidden beneficiaryName postedAt claimedAt fulfilledAt fulfilNote
  confirmedAt version claimedByMe postedByMe
  beneficiary { __typename id name gender piiMasked phone idCardNo }
  building { __typename id name kind ... on Building { floors } }
  claimant { username displayName }
"""

WISHES = """
query W($first: Int, $after: String, $states: [WishState!], $areaId: ID, $claimedByMe: Boolean) {
  wishes(first: $first, after: $after, states: $states, areaId: $areaId, claimedByMe: $claimedByMe) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @WISH } }
    nodes { id title }
  }
}
""".replace("@WISH", WISH_SELECTION)

WISHES_FRAGMENTS = """
query { a: wishes(first: 1) { nodes { ...F } } b: wishes { edges { node { ... on Node { id } ...F } } }
        c: wishes { totalCount } d: wishes(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Wish { id t: title state ...G }
fragment G on Wish { building { name } claimedByMe }
"""

# The portal's selection, as bench/mix_ops.py "wishes" sends it.
PORTAL = """query Wishes { wishes(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id title state
  postedAt beneficiaryName claimedByMe version building { name } } } }"""

# The documents sent both ways here (tests/compiled/test_compiled.py checks every compiled field is among them).
EQUIVALENCE_DOCUMENTS = (WISHES, WISHES_FRAGMENTS, PORTAL)

POST = "mutation($i: PostWishInput!) { postWish(input: $i) { wish { id } errors { code field } } }"
STEP = "mutation($i: WishTransitionInput!) { %s(input: $i) { wish { state } errors { code message } } }"


async def set_party_member(db: DbEnv, tw: TenantWorld, person: str, org_area: str | None) -> None:
    """A party member; with ``org_area`` of a branch there (their community is that area's), else of
    none (the community they live in: DESIGN.md §8)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            org_id = None
            if org_area is not None:
                org = PartyOrg(id=uuid7(), name=f"{org_area} 党支部", kind=PartyOrgKind.BRANCH,
                               area_id=tw.areas[org_area])
                s.add(org)
                await s.flush()
                org_id = org.id
            await s.execute(update(Person).where(Person.id == tw.persons[person])
                            .values(party_member=True, party_org_id=org_id))


async def post(api: Api, tw: TenantWorld, who: str, person: str, title: str) -> str:
    r = await api.gql(tw, who, POST, {"i": {"personId": encode_global_id("Person", tw.persons[person]),
                                            "title": title, "description": f"{title}说明"}})
    assert r["data"]["postWish"]["errors"] == [], r
    return str(r["data"]["postWish"]["wish"]["id"])


async def step(api: Api, tw: TenantWorld, who: str, action: str, wish: str, **kw: Any) -> None:
    r = await api.gql(tw, who, STEP % action, {"i": {"id": wish, **kw}})
    assert r["data"][action]["errors"] == [], (who, action, r)


async def wishes_world(api: Api, db: DbEnv, tw: TenantWorld) -> dict[str, str]:
    await set_party_member(db, tw, "h1b", "Z1")  # resident: serves in C2
    await set_party_member(db, tw, "h2a", None)  # chair: serves in C1, where they live
    out = {
        "radio": await post(api, tw, "resident4", "h4a", "收音机"),  # C2: claimed, fulfilled, confirmed
        "bath": await post(api, tw, "admin", "h4a", "助浴服务"),  # C2: open
        "escort": await post(api, tw, "grid1", "h1a", "陪同就医"),  # C1: claimed by the chair
        "wheelchair": await post(api, tw, "grid2", "h3a", "轮椅维修"),  # C1: open
        "shopping": await post(api, tw, "grid2", "h3a", "代买菜"),  # C1: cancelled
        "light": await post(api, tw, "resident", "h1b", "修灯"),  # C1: the resident's own, fulfilled by the chair
    }
    await step(api, tw, "resident", "claimWish", out["radio"])
    await step(api, tw, "resident", "fulfilWish", out["radio"], note="已送到")
    await step(api, tw, "resident4", "confirmWish", out["radio"])
    await step(api, tw, "chair", "claimWish", out["escort"])
    await step(api, tw, "grid2", "cancelWish", out["shopping"])
    await step(api, tw, "chair", "claimWish", out["light"])
    await step(api, tw, "chair", "fulfilWish", out["light"], note="换了灯泡")
    return out


@pytest.fixture(scope="module")
async def wish_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    """The module's world, for the tests that only read it."""
    tw = await module_tenant(db)
    return tw, await wishes_world(api, db, tw)


@pytest.fixture
async def own_wish_tenant(api: Api, fresh: World, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    """The same world in a tenant of its own, for a test that changes it."""
    if not db.is_pg:
        pytest.skip(PG_ONLY)
    return fresh.a, await wishes_world(api, db, fresh.a)



async def test_wish_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, wish_tenant: Any) -> None:
    tw, _ = wish_tenant
    variable_sets: list[dict[str, Any]] = [
        {}, {"first": 0}, {"first": 100}, {"states": ["OPEN"]}, {"states": ["CLAIMED", "FULFILLED", "CONFIRMED"]},
        {"claimedByMe": True}, {"claimedByMe": False}, {"areaId": area_gid(tw, "C1")}, {"areaId": area_gid(tw, "P3")},
        {"areaId": area_gid(tw, "B1"), "states": ["CLAIMED"]},
    ]
    pages = 0
    for user in USERS:
        for variables in variable_sets:
            await agree(api, tw, user, WISHES, variables)
        for doc in (WISHES_FRAGMENTS, PORTAL):
            await agree(api, tw, user, doc, {})
        variables = {"first": 2}
        pages += await walk_pages(api, tw, user, WISHES, "wishes", variables, 10)
    assert pages > len(USERS) + 3, pages  # some users' lists ran to several pages


async def test_arguments_the_resolvers_refuse_get_their_errors(api: Api, wish_tenant: Any) -> None:
    tw, _ = wish_tenant
    bad: list[dict[str, Any]] = [
        {"areaId": encode_global_id("Community", tw.tenant_id)}, {"areaId": encode_global_id("Wish", tw.tenant_id)},
        {"first": 101}, {"first": -1}, {"after": "nonsense"},
    ]
    for user in ("admin", "resident", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, WISHES, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled[:300])


async def test_a_wish_page_has_real_content(api: Api, wish_tenant: Any) -> None:
    """Guards the comparisons above from comparing two empty answers: who sees which wish, and whom for."""
    tw, _ = wish_tenant

    async def seen(user: str, variables: dict[str, Any] | None = None) -> list[tuple[str, str | None, bool]]:
        body = orjson.loads((await both(api, tw, user, WISHES, variables or {}))[0])
        return [(n["title"], n["beneficiaryName"], n["claimedByMe"])
                for n in (e["node"] for e in body["data"]["wishes"]["edges"])]

    assert [t for t, _, _ in await seen("admin")] == ["修灯", "代买菜", "轮椅维修", "陪同就医", "助浴服务", "收音机"]
    # resident: their household's two (H1, named), C2's open one (anonymous), the one they claimed (named)
    assert await seen("resident") == [("修灯", "张小梅", False), ("陪同就医", "张建国", False),
                                      ("助浴服务", None, False), ("收音机", "赵卫东", True)]
    # chair: C1's open wish (anonymous), the two they claimed (named)
    assert await seen("chair") == [("修灯", "张小梅", True), ("轮椅维修", None, False), ("陪同就医", "张建国", True)]
    assert await seen("chair", {"claimedByMe": True}) == [("修灯", "张小梅", True), ("陪同就医", "张建国", True)]
    assert await seen("nobody") == []
    body = orjson.loads((await both(api, tw, "resident4", WISHES, {}))[0])["data"]["wishes"]
    radio = next(e["node"] for e in body["edges"] if e["node"]["title"] == "收音机")
    assert radio["state"] == "CONFIRMED" and radio["fulfilNote"] == "已送到" and radio["postedByMe"]
    assert radio["claimant"]["username"] == tw.username("resident") and radio["building"]["name"] == "4栋"


async def test_a_new_party_member_sees_their_community_on_the_plan_made_before(
        api: Api, own_wish_tenant: Any, db: DbEnv) -> None:
    """The party community is read in the statement, not fixed in the cached plan: a resident who
    becomes a party member sees their community's open wishes on the next request (same plan key)."""
    tw, _ = own_wish_tenant
    before, _, taken = await both(api, tw, "secretary2", PORTAL, {})
    assert taken
    await set_party_member(db, tw, "h1a", None)  # secretary2 lives in H1 (C1)
    after, resolved, taken = await both(api, tw, "secretary2", PORTAL, {})
    assert taken and after == resolved and after != before, (before, after)


async def test_full_reads_of_a_beneficiary_are_audited_on_either_path(api: Api, wish_tenant: Any, db: DbEnv) -> None:
    """The resident reads their household's persons in full (phone, ID number): the compiled read
    records the same audit entry the resolvers do."""
    tw, _ = wish_tenant

    async def pii_audits() -> list[tuple[str, ...]]:
        async with db.owner_engine.connect() as c, c.begin():
            await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            rows = await c.execute(sa.text("SELECT object_ids FROM audit_log WHERE tenant_id = :t AND "
                                           "action = 'person.read_pii' ORDER BY created_at, id"), {"t": tw.tenant_id})
            return [tuple(r[0]) for r in rows]

    before = await pii_audits()
    compiled, resolved, taken = await both(api, tw, "resident", WISHES, {})
    assert taken and compiled == resolved
    phones = [n["beneficiary"]["phone"] for n in (e["node"] for e in orjson.loads(compiled)["data"]["wishes"]["edges"])
              if n["beneficiary"] is not None]
    assert tw.phones["h1b"] in phones and tw.phones["h1a"] in phones, phones
    household = tuple(sorted(str(tw.persons[k]) for k in ("h1a", "h1b")))
    assert (await pii_audits())[len(before):] == [household, household]  # one per request, either path


# Without the full reads of personal data, which add the audit's statements (on both paths).
COUNTED = WISHES.replace("beneficiary { __typename id name gender piiMasked phone idCardNo }",
                         "beneficiary { id name }")


async def test_a_compiled_wish_list_is_one_statement_whatever_the_page_size(api: Api, wish_tenant: Any) -> None:
    tw, _ = wish_tenant
    assert COUNTED != WISHES
    counts = {}
    for first in (1, 50):
        with compiled_statements() as made:
            _, counts[first] = await api.counted(tw, "resident", COUNTED, {"first": first})
        assert len(made) == 1 and made[0] is not None, made
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "resident", "query { __typename }")
    finally:
        state.compiled_reads = True
    assert counts[1] == counts[50] == baseline + 1, (counts, baseline)


async def test_the_portal_list_reads_the_same_rows_on_either_database(api: Api, fresh: World, db: DbEnv) -> None:
    """On SQLite the compiler declines (None) and the resolvers answer; on PostgreSQL it compiles."""
    tw = fresh.a
    await set_party_member(db, tw, "h1b", "Z1")
    await post(api, tw, "resident4", "h4a", "收音机")
    await post(api, tw, "grid2", "h3a", "轮椅维修")
    seen = {}
    for user in ("admin", "resident", "resident4", "grid2", "nobody"):
        with compiled_statements() as made:
            body = await api.gql(tw, user, PORTAL)
        assert [m is not None for m in made] == [db.is_pg], (user, made)
        seen[user] = [(n["title"], n["beneficiaryName"]) for n in body["data"]["wishes"]["nodes"]]
    assert seen == {"admin": [("轮椅维修", "王德明"), ("收音机", "赵卫东")], "resident": [("收音机", None)],
                    "resident4": [("收音机", "赵卫东")], "grid2": [("轮椅维修", "王德明")], "nobody": []}
