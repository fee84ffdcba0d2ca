"""The compiled notices list (compiled/notices.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The notices reach the world's areas from
above and below, by several publishers; one has expired, one was withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from models import Notice
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import agree, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

NOTICE_SELECTION = """
  __typename id title body publishedAt expiresAt withdrawnAt
  area { __typename id name kind ... on Compound { propertyManagement } }
  publisher { username displayName }
"""

NOTICES = """
query Notices($first: Int, $after: String, $includeExpired: Boolean! = false, $areaId: ID) {
  notices(includeExpired: $includeExpired, first: $first, after: $after, areaId: $areaId) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @NOTICE } }
    nodes { id title }
  }
}
""".replace("@NOTICE", NOTICE_SELECTION)

# The portal's feed as bench/mix_ops.py sends it, and fragments, aliases and a list asked twice.
PORTAL = """
query { notices(includeExpired: false, first: 20) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id title body publishedAt expiresAt area { name } publisher { displayName } } } }
"""
NOTICES_FRAGMENTS = """
query { a: notices(first: 1) { nodes { ...F } }
        b: notices(includeExpired: true) { edges { node { ... on Node { id } ...F } } }
        c: notices { totalCount } d: notices(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Notice { id t: title ...G }
fragment G on Notice { publisher { displayName } }
"""

NOTICE_DOCUMENTS = (NOTICES, PORTAL, NOTICES_FRAGMENTS)

PUBLISH = "mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { notice { id } errors { code } } }"
WITHDRAW = "mutation($i: WithdrawNoticeInput!) { withdrawNotice(input: $i) { errors { code } } }"

# (publisher, area, title, expires in hours or None): to a street, communities, compounds, a grid, buildings.
NOTICES_OF_THE_WORLD = (
    ("admin", "S", "街道通知", 48), ("admin", "C1", "社区停电", None), ("admin", "C2", "二社区义诊", 24),
    ("chair", "P1", "小区议事会", None), ("firm", "B1", "电梯检修", 72), ("grid1", "B1", "楼道清理", None),
    ("grid1", "G1", "网格走访", None), ("admin", "P3", "湖畔小区通知", None), ("admin", "C1", "已过期通知", 1),
    ("chair", "P1", "已撤回通知", None), ("admin", "Z1", "片区通知", None),
)


async def _publish(api: Api, tw: TenantWorld) -> dict[str, str]:
    ids = {}
    for who, where, title, hours in NOTICES_OF_THE_WORLD:
        expires = None if hours is None else (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
        r = await api.gql(tw, who, PUBLISH, {"i": {"areaId": area(tw, where), "title": title, "body": f"{title}：内容",
                                                   "expiresAt": expires}})
        assert r["data"]["publishNotice"]["errors"] == [], (who, where, r)
        ids[title] = r["data"]["publishNotice"]["notice"]["id"]
    return ids


@pytest.fixture(scope="module")
async def notice_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    ids = await _publish(api, tw)
    r = await api.gql(tw, "chair", WITHDRAW, {"i": {"id": ids["已撤回通知"], "reason": "重复发布"}})
    assert r["data"]["withdrawNotice"]["errors"] == []
    async with db.sessionmaker() as s:  # expired an hour ago (publishing refuses a past expiry)
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Notice).where(Notice.id == decode_global_id(ids["已过期通知"])[1])
                            .values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    return tw, ids


# One test per user (CI time, issue #21: the users' loop was one test that one worker ran alone at
# the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_notice_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, notice_tenant: Any,
                                                                          user: str) -> None:
    tw, _ = notice_tenant
    areas = [area(tw, k) for k in ("S", "C1", "P1", "B1", "G1", "B4")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"includeExpired": True, "first": 50}]
    pages += [{"areaId": a} for a in areas] + [{"areaId": areas[3], "includeExpired": True}]
    for variables in pages:
        await agree(api, tw, user, NOTICES, variables)
    for document in (PORTAL, NOTICES_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_notice_feed_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, notice_tenant: Any) -> None:
    tw, _ = notice_tenant
    seen_pages = 0
    for user in USERS:
        # page by page from the cursors, to the end
        for include_expired in (False, True):
            variables = {"first": 2, "includeExpired": include_expired}
            seen_pages += await walk_pages(api, tw, user, NOTICES, "notices", variables, 20)
    assert seen_pages > 3 * len(USERS), seen_pages  # several users' feeds ran to several pages


async def test_a_notice_list_has_real_content(api: Api, notice_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers: what each feed holds."""
    tw, _ = notice_tenant

    async def titles(user: str, variables: dict[str, Any]) -> list[str]:
        body = orjson.loads((await both(api, tw, user, NOTICES, {"first": 50, **variables}))[0])
        conn = body["data"]["notices"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"]["title"] for e in conn["edges"]]

    everything = [t for _, _, t, _ in reversed(NOTICES_OF_THE_WORLD) if t != "已撤回通知"]
    assert await titles("admin", {"includeExpired": True}) == everything  # newest first, the withdrawn one not
    assert await titles("admin", {}) == [t for t in everything if t != "已过期通知"]
    assert set(await titles("resident", {})) == {"街道通知", "社区停电", "小区议事会", "电梯检修", "楼道清理"}
    assert await titles("resident4", {}) == ["片区通知", "湖畔小区通知", "二社区义诊", "街道通知"]
    assert await titles("nobody", {}) == []
    # reaching B1: to the areas above it and to B1 itself
    assert set(await titles("admin", {"areaId": area(tw, "B1")})) == {
        "街道通知", "社区停电", "小区议事会", "电梯检修", "楼道清理"}
    body = orjson.loads((await both(api, tw, "admin", NOTICES, {"first": 50}))[0])
    node = next(e["node"] for e in body["data"]["notices"]["edges"] if e["node"]["title"] == "电梯检修")
    assert node["publisher"]["username"] == tw.username("firm") and node["area"]["name"]
    assert node["expiresAt"] and node["publishedAt"] and node["withdrawnAt"] is None


async def test_a_bad_notice_argument_is_the_resolvers_error_either_way(api: Api, notice_tenant: Any) -> None:
    """An unknown area (NOT_FOUND), an ID of no area, a page size out of range, a bad cursor: the
    resolvers' typed errors, the same bytes whichever path was tried first."""
    tw, _ = notice_tenant
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"}]
    for user in ("admin", "resident", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, NOTICES, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_compiled_notice_list_is_one_statement_whatever_the_page_size(api: Api, notice_tenant: Any
                                                                               ) -> None:
    tw, _ = notice_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "resident", "query { __typename }")
        _, resolved = await api.counted(tw, "resident", NOTICES, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "resident", NOTICES, {"first": first})
    _, counts[0] = await api.counted(tw, "resident", NOTICES, {"first": 2, "areaId": area(tw, "B1")})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
