"""The compiled points lists (compiled/volunteering.py, issue #21) — ``redemptions``, ``pointsLedger`` and
``rewardItems`` — answer exactly what the resolvers answer (resolvers.volunteering): for every world user,
every page by cursor, every filter, the compiled response and the resolvers' are the same bytes.

The world: catalogues in C1 (one item retired after it was asked for) and C2; points awarded to h1b (the
resident, in C1), h4a (resident4, in C2) and h2a; redemptions requested, approved, rejected with a note
and pending in both communities — so the roles' reads differ (points·read reach, person·read masking,
the item's community readable or not). Tenant b's ids give the same (empty) answer either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.compiled import agree, around, both, module_world, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import APPROVE, AWARD, CREATE_ITEM, REJECT, REQUEST, USERS, area, person, run
from tests.support.world import TenantWorld

RETIRE = "mutation($in: RetireRewardItemInput!) { retireRewardItem(input: $in) { errors { code } } }"

PERSON = "person { __typename id name gender relationToHead piiMasked idCardNo phone birthDate careTags }"

REDEMPTIONS = """
query R($first: Int, $after: String, $states: [RedemptionState!], $from: DateTime, $before: DateTime) {
  redemptions(states: $states, first: $first, after: $after, requestedFrom: $from, requestedBefore: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id points state note requestedAt decidedAt @PERSON
                          item { __typename id name points stock retiredAt community { __typename id name } } } }
    nodes { id state }
  }
}
""".replace("@PERSON", PERSON)

LEDGER = """
query L($p: ID, $first: Int, $after: String, $from: DateTime, $before: DateTime) {
  pointsLedger(personId: $p, first: $first, after: $after, bookedFrom: $from, bookedBefore: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id delta kind reason balanceAfter at @PERSON } }
  }
}
""".replace("@PERSON", PERSON)

ITEMS = """
query I($c: ID, $first: Int, $after: String) {
  rewardItems(communityId: $c, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id name points stock retiredAt
                          community { __typename id name ... on Community { code } } } }
  }
}
"""

# As bench/mix_ops.py sends them, and fragments, aliases and the same list asked twice.
MIX = """
query { redemptions(first: 20) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id points state requestedAt person { name } item { name } } }
        pointsLedger(first: 20) { totalCount nodes { id delta kind reason balanceAfter at } }
        rewardItems(first: 20) { nodes { id name points stock community { name } } } }
"""
FRAGMENTS = """
query { a: redemptions(first: 1) { nodes { ...R } } b: redemptions(states: [APPROVED, REJECTED]) { edges { node {
          ... on Node { id } ...R } } }
        c: pointsLedger { totalCount } d: rewardItems(first: 1) { __typename pageInfo { hasNextPage } } }
fragment R on Redemption { id s: state item { ...I } }
fragment I on RewardItem { name community { name } }
"""

DOCUMENTS = ((REDEMPTIONS, "redemptions"), (LEDGER, "pointsLedger"), (ITEMS, "rewardItems"))
EQUIVALENCE_DOCUMENTS = (REDEMPTIONS, LEDGER, ITEMS, MIX, FRAGMENTS)  # tests/compiled/test_compiled.py reads these


async def _item(api: Api, tw: TenantWorld, community: str, name: str, points: int, stock: int) -> str:
    p = await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, community, "Community"), "n": name, "p": points,
                                                  "s": stock})
    assert p["errors"] == [], p
    return str(p["item"]["id"])


@pytest.fixture(scope="module")
async def points_world(api: Api, db: DbEnv) -> World:
    """The module's tenants (the second one's rows must not show), for the tests that only read them."""
    w = await module_world(db)
    tw = w.a
    for who, key, n in (("admin", "h1b", 200), ("grid1", "h1b", 15), ("admin", "h4a", 100), ("admin", "h2a", 30),
                        ("secretary", "h1a", 12)):
        p = await run(api, tw, who, AWARD, {"p": person(tw, key), "n": n, "r": f"{who} 奖励 {key}"})
        assert p["errors"] == [], p
    rice = await _item(api, tw, "C1", "大米", 20, 10)
    oil = await _item(api, tw, "C1", "食用油", 30, 5)
    towel = await _item(api, tw, "C1", "毛巾", 5, 20)
    soap = await _item(api, tw, "C2", "肥皂", 10, 3)
    await _item(api, tw, "C2", "雨伞", 40, 2)
    asked = {}
    for who, item, n in (("resident", rice, 3), ("resident", oil, 1), ("resident", towel, 2), ("resident4", soap, 2)):
        for i in range(n):
            r = await run(api, tw, who, REQUEST, {"i": item})
            assert r["errors"] == [], r
            asked[(who, item, i)] = r["redemption"]["id"]
    assert (await run(api, tw, "admin", APPROVE, {"r": asked[("resident", rice, 0)]}))["errors"] == []
    assert (await run(api, tw, "grid1", APPROVE, {"r": asked[("resident", towel, 1)]}))["errors"] == []
    assert (await run(api, tw, "grid1", REJECT, {"r": asked[("resident", rice, 1)], "n": "信息不符"}))["errors"] == []
    assert (await run(api, tw, "admin", APPROVE, {"r": asked[("resident4", soap, 0)]}))["errors"] == []
    # retired after a redemption was asked for: still the redemption's item, no longer in the catalogue
    assert (await api.gql(tw, "admin", RETIRE, {"in": {"id": oil}}))["data"]["retireRewardItem"]["errors"] == []
    return w


@pytest.fixture
def points_tenant(points_world: World) -> TenantWorld:
    return points_world.a


def _variables(tw: TenantWorld, other: TenantWorld) -> dict[str, list[dict[str, Any]]]:
    now = datetime.now(UTC)
    return {
        "redemptions": [{}, {"first": 2}, {"first": 0}, {"states": ["REQUESTED"]},
                        {"states": ["APPROVED", "REJECTED"]}, {"from": (now - timedelta(hours=1)).isoformat()},
                        {"before": (now - timedelta(days=1)).isoformat()},
                        {"from": (now - timedelta(days=1)).isoformat(),
                         "before": (now + timedelta(days=1)).isoformat()}],
        "pointsLedger": [{}, {"first": 3}, {"p": person(tw, "h1b")}, {"p": person(tw, "h4a"), "first": 1},
                         {"p": encode_global_id("Person", other.persons["h1b"])},  # tenant b's person: nobody's
                         {"from": (now - timedelta(hours=1)).isoformat()}],
        "rewardItems": [{}, {"first": 2}, {"c": area(tw, "C1", "Community")}, {"c": area(tw, "C2", "Community")},
                        {"c": encode_global_id("Community", other.areas["C1"])}],  # tenant b's community
    }


# One test per user, the page walks of every user in one test of their own (CI time, issue #21): pytest-xdist's
# worksteal can share a file's users between the workers; as one test the users' loop held one worker
# for one to three minutes at the end of a run under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_points_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, points_tenant: TenantWorld,
                                                                            points_world: World, user: str) -> None:
    tw = points_tenant
    for document, field in DOCUMENTS:
        for variables in _variables(tw, points_world.b)[field]:
            compiled, resolved, taken = await both(api, tw, user, document, variables)
            assert taken, (user, field, variables)
            assert compiled == resolved, (user, field, variables, around(compiled, resolved))
    for document in (MIX, FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_points_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api,
                                                                                 points_tenant: TenantWorld) -> None:
    tw = points_tenant
    pages = 0
    for user in USERS:
        for document, field in DOCUMENTS:
            pages += await walk_pages(api, tw, user, document, field, {"first": 2})
    assert pages > 3 * len(USERS), pages  # several users' lists ran to several pages


async def test_the_points_lists_have_real_content(api: Api, points_tenant: TenantWorld) -> None:
    """Guards the comparison above from comparing empty answers: what some users' lists hold."""
    tw = points_tenant

    async def body(user: str, document: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
        compiled, resolved, taken = await both(api, tw, user, document, {"first": 50, **variables})
        assert taken and compiled == resolved
        return orjson.loads(compiled)["data"][field]  # type: ignore[no-any-return]

    admin = await body("admin", REDEMPTIONS, "redemptions", {})
    assert admin["totalCount"] == 8
    states = sorted(e["node"]["state"] for e in admin["edges"])
    assert states == ["APPROVED"] * 3 + ["REJECTED"] + ["REQUESTED"] * 4
    assert {e["node"]["item"]["name"] for e in admin["edges"]} == {"大米", "食用油", "毛巾", "肥皂"}
    assert any(e["node"]["item"]["retiredAt"] for e in admin["edges"])  # the retired item is still named
    assert any(e["node"]["note"] == "信息不符" for e in admin["edges"])
    assert {e["node"]["person"]["name"] for e in admin["edges"]} == {"张小梅", "赵卫东"}
    resident = await body("resident", REDEMPTIONS, "redemptions", {})
    assert resident["totalCount"] == 6  # her own
    assert (await body("secretary2", REDEMPTIONS, "redemptions", {}))["totalCount"] == 2  # C2's
    assert (await body("nobody", REDEMPTIONS, "redemptions", {}))["totalCount"] == 0
    ledger = await body("admin", LEDGER, "pointsLedger", {"p": person(tw, "h1b")})
    assert ledger["totalCount"] == 4 and sorted(e["node"]["kind"] for e in ledger["edges"]) == [
        "MANUAL", "MANUAL", "REDEMPTION", "REDEMPTION"]
    items = await body("resident", ITEMS, "rewardItems", {})
    assert [e["node"]["name"] for e in items["edges"]] == ["大米", "毛巾"]  # C1's offered ones, by id
    assert (await body("resident4", ITEMS, "rewardItems", {}))["totalCount"] == 2


async def test_a_bad_points_argument_is_the_resolvers_error_either_way(api: Api, points_tenant: TenantWorld
                                                                       ) -> None:
    """A page size out of range, a bad cursor, a period without a zone or reversed, an ID of the wrong
    type: the resolvers' typed errors, the same bytes whichever path was tried first."""
    tw = points_tenant
    now = datetime.now(UTC)
    common: list[dict[str, Any]] = [{"first": 101}, {"first": -1}, {"after": "not-a-cursor"},
                                    {"from": now.isoformat(), "before": (now - timedelta(days=1)).isoformat()},
                                    {"from": "2026-01-01T00:00:00"}]
    bad = {"redemptions": common, "pointsLedger": [*common, {"p": area(tw, "C1", "Community")}, {"p": "nonsense"}],
           "rewardItems": [*common[:3], {"c": person(tw, "h1b")}, {"c": "nonsense"}]}
    for user in ("admin", "resident", "nobody"):
        for document, field in DOCUMENTS:
            for variables in bad[field]:
                compiled, resolved, _ = await both(api, tw, user, document, variables)
                assert compiled == resolved and b'"errors"' in compiled, (user, field, variables, compiled)


async def test_a_compiled_points_list_is_one_statement(api: Api, points_tenant: TenantWorld) -> None:
    """Without full reads of personal data (those add the audit's statements, as on the general path)."""
    tw = points_tenant
    plain = [d.replace(PERSON, "person { name piiMasked }") for d, _ in DOCUMENTS]
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", plain[0], {"first": 50})
    finally:
        state.compiled_reads = True
    for document in (*plain, MIX):
        for first in (1, 50):
            _, n = await api.counted(tw, "admin", document, {"first": first} if document != MIX else {})
            assert n == baseline + 1, (document[:20], first, n, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
