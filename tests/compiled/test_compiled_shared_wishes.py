"""The compiled ``sharedWishes`` (compiled/cobuilding.py, issue #21), a partner system's read: for every
partner client of the scene, in both tenants, the same bytes as the resolvers, every page by cursor, in one
statement; staff get the resolvers' FORBIDDEN; a bad page argument is the resolvers' error, on a fresh
plan and on a reused one.

What must stay out, per tenant: unit 市三医院 has an agreement in force on C1 (wish·read, wish·claim), one
expired on C2; unit 蓝天救援队 one in force on C2 and C1 sharing wish·read; 西湖 (C2) and 东风 (C1) hold open
wishes, a wish claimed by someone else, a fulfilled one, and one 市三医院 claimed (it alone sees it, as its
own: claimedByUs) — and the other tenant's wishes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from models import Agreement, WishState
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support.cobuilding import add_wish, community, gid, make_agreement, make_unit
from tests.support.compiled import around, both, partner_both
from tests.support.harness import DbEnv, World
from tests.support.partners import VALID_FROM, VALID_UNTIL, PartnerApi, partner_client
from tests.support.world import TenantWorld

SHARED_WISHES = """
query W($first: Int, $after: String) { sharedWishes(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { __typename id title description state postedAt claimedByUs version
                        community { __typename id name } } }
  nodes { id } } }
"""
# As bench/mix_ops.py sends it, beside another partner root and with an alias.
BENCH = """query SharedWishes { sharedWishes(first: 20) { nodes { id title state claimedByUs community { name } } }
  a: myAgreements { id } }"""
CLAIM = """mutation($id: ID!) { claimSharedWish(input: {id: $id}) { wish { id } errors { code field message } } }"""

EQUIVALENCE_DOCUMENTS = (SHARED_WISHES, BENCH)


async def _tenant(p: PartnerApi, db: DbEnv, tw: TenantWorld, seq: int) -> dict[str, str]:
    """The scene of one tenant: its partner clients' tokens by unit."""
    hospital = await make_unit(p.api, tw, "市三医院", seq)
    rescue = await make_unit(p.api, tw, "蓝天救援队", seq + 1)
    await make_agreement(p.api, tw, hospital, [community(tw, "C1")], valid_from=VALID_FROM, valid_until=VALID_UNTIL,
                         grants=["wish.read", "wish.claim"])
    expired = await make_agreement(p.api, tw, hospital, [community(tw, "C2")], valid_from=VALID_FROM,
                                   valid_until=VALID_UNTIL, grants=["wish.read"])
    async with db.sessionmaker() as s:  # set straight in the table: the mutations refuse an ended validity
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Agreement).where(Agreement.id == decode_global_id(expired)[1]).values(
                valid_from=VALID_FROM - timedelta(days=60), valid_until=VALID_FROM - timedelta(days=1)))
    await make_agreement(p.api, tw, rescue, [community(tw, "C2"), community(tw, "C1")], grants=["wish.read"],
                         valid_from=VALID_FROM, valid_until=None)
    for person, household, building, title, state in (
            ("h1a", "H1", "B1", "想要一台收音机", WishState.OPEN),
            ("h3a", "H3", "B3", '轮椅"维修"\\配件', WishState.OPEN),
            ("h2a", "H2", "B2", "已被他人认领", WishState.CLAIMED), ("h1b", "H1", "B1", "已实现", WishState.FULFILLED),
            ("h4a", "H4", "B4", "西湖的心愿", WishState.OPEN), ("h1a", "H1", "B2", "由医院认领", WishState.OPEN),
            ("h2a", "H2", "B2", "又一个", WishState.OPEN)):
        await add_wish(db, tw, person, household, building, title, state=state)
    tokens = {}
    for key, unit in (("hospital", hospital), ("rescue", rescue)):
        _, client_id, secret = await partner_client(p, tw, unit)
        tokens[key] = await p.access(client_id, secret)
    # 市三医院 claims one: it sees it still (claimedByUs), 蓝天救援队 no longer (claimed by another)
    r = (await p.gql(tokens["hospital"], "query { sharedWishes(first: 50) { nodes { id title } } }")).json()
    claimed = next(n["id"] for n in r["data"]["sharedWishes"]["nodes"] if n["title"] == "由医院认领")
    out = (await p.gql(tokens["hospital"], CLAIM, {"id": claimed})).json()
    assert out["data"]["claimSharedWish"]["errors"] == [], out
    return tokens


@pytest.fixture
async def scene(papi: PartnerApi, db: DbEnv, fresh: World) -> tuple[tuple[TenantWorld, dict[str, str]], ...]:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    return (fresh.a, await _tenant(papi, db, fresh.a, 51)), (fresh.b, await _tenant(papi, db, fresh.b, 61))


async def test_every_partner_client_reads_its_shared_wishes_compiled(papi: PartnerApi, scene: Any) -> None:
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pages = 0
    for tw, tokens in scene:
        for key, token in tokens.items():
            for variables in ({}, {"first": 0}, {"first": 100}):
                compiled, resolved, taken = await partner_both(papi, token, SHARED_WISHES, variables)
                assert taken and compiled == resolved, (tw.slug, key, variables, around(compiled, resolved))
            compiled, resolved, taken = await partner_both(papi, token, BENCH, {})
            assert taken and compiled == resolved, (tw.slug, key, around(compiled, resolved))
            variables = {"first": 1}
            for _ in range(20):  # every page by its cursor
                compiled, resolved, taken = await partner_both(papi, token, SHARED_WISHES, variables)
                assert taken and compiled == resolved, (tw.slug, key, variables, around(compiled, resolved))
                pages += 1
                info = orjson.loads(compiled)["data"]["sharedWishes"]["pageInfo"]
                if not info["hasNextPage"]:
                    break
                variables = {"first": 1, "after": info["endCursor"]}
            answer = (await partner_both(papi, token, SHARED_WISHES, {"first": 100}))[0]
            body = orjson.loads(answer)["data"]["sharedWishes"]
            seen[tw.slug, key] = [e["node"] for e in body["edges"]]
    assert pages >= 12, pages
    for tw, _ in scene:
        hospital = {n["title"]: n for n in seen[tw.slug, "hospital"]}
        # C1's open wishes and its own claim; not C2's (expired there), nor another's claim, nor a fulfilled one
        assert set(hospital) == {"想要一台收音机", '轮椅"维修"\\配件', "由医院认领", "又一个"}, hospital
        assert hospital["由医院认领"]["claimedByUs"] is True and hospital["由医院认领"]["state"] == "CLAIMED"
        assert hospital["又一个"]["claimedByUs"] is False
        assert hospital["想要一台收音机"]["community"]["name"] == "东风社区"
        rescue = {n["title"] for n in seen[tw.slug, "rescue"]}
        assert rescue == {"想要一台收音机", '轮椅"维修"\\配件', "西湖的心愿", "又一个"}, rescue
    a, b = (tw for tw, _ in scene)
    assert {n["id"] for n in seen[a.slug, "rescue"]}.isdisjoint(n["id"] for n in seen[b.slug, "rescue"])


async def test_shared_wishes_are_one_statement_and_refuse_what_the_resolvers_refuse(papi: PartnerApi, scene: Any
                                                                                    ) -> None:
    (tw, tokens), _ = scene
    token = tokens["hospital"]
    papi.state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy, client cached)
        await papi.gql(token, "query { __typename }")
        with count_statements() as stmts:
            await papi.gql(token, "query { __typename }")
    finally:
        papi.state.compiled_reads = True
    baseline = len(stmts)
    counts = []
    for first in (1, 50):
        with count_statements() as stmts:
            r = await papi.gql(token, SHARED_WISHES, {"first": first})
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        counts.append(len(stmts))
    papi.state.compiled_reads = False
    try:
        with count_statements() as stmts:
            await papi.gql(token, SHARED_WISHES, {"first": 50})
    finally:
        papi.state.compiled_reads = True
    assert counts == [baseline + 1, baseline + 1] and len(stmts) > baseline + 1, (counts, baseline, len(stmts))
    # a page size out of range, a bad cursor: the resolvers' errors, after a plan of the same shape was cached
    for token in tokens.values():
        compiled, resolved, taken = await partner_both(papi, token, SHARED_WISHES, {"first": 2})
        assert taken and compiled == resolved
        for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"},
                          {"first": 2, "after": gid("Wish", tw.tenant_id)}):
            compiled, resolved, _ = await partner_both(papi, token, SHARED_WISHES, variables)
            assert compiled == resolved and b'"errors"' in compiled, (variables, compiled)
    # staff: the resolvers' FORBIDDEN (a shared view is for partner systems), never compiled
    for user in ("admin", "secretary", "resident"):
        compiled, resolved, taken = await both(papi.api, tw, user, SHARED_WISHES, {})
        assert not taken and compiled == resolved and b"FORBIDDEN" in compiled, (user, compiled)
