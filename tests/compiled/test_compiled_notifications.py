"""The compiled notifications list (compiled/notifications.py, issue #21) answers exactly what the
resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The world's cases are reported, dispatched to the
firm, started, resolved, supervised and rejected, which sends notifications to users, the firm and
areas; some are then marked read by one of the users they reach, so read state differs per reader."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.cases import accept, area_gid, call, dispatch_firm, ok, report, resolve, start
from tests.support.compiled import agree, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

NOTIFICATIONS = """
query Inbox($first: Int, $after: String, $unreadOnly: Boolean! = false) {
  notifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id kind message at readAt
                          case { __typename id number title state reportedByMe reporter { displayName }
                                 area { name } } } }
    nodes { id readAt }
  }
}
"""

# The inbox as bench/mix_ops.py sends it, and fragments, aliases and a list asked twice.
PORTAL = """
query Inbox { notifications(unreadOnly: false, first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id kind message at readAt case { id number title } } } }
"""
NOTIFICATIONS_FRAGMENTS = """
query { a: notifications(first: 1) { nodes { ...F } }
        b: notifications(unreadOnly: true) { edges { node { ... on Node { id } ...F } } }
        c: notifications { totalCount } d: notifications(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Notification { id m: message ...G }
fragment G on Notification { readAt case { title } }
"""

NOTIFICATION_DOCUMENTS = (NOTIFICATIONS, PORTAL, NOTIFICATIONS_FRAGMENTS)

MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code field } } }"


async def _inbox(api: Api, tw: TenantWorld, user: str) -> list[dict[str, Any]]:
    body = await api.gql(tw, user, NOTIFICATIONS, {"first": 100})
    return [e["node"] for e in body["data"]["notifications"]["edges"]]


@pytest.fixture(scope="module")
async def notification_tenant(api: Api, db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    c = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "resident", "B1", title="楼道堆物")))
    await resolve(api, tw, await start(api, tw, c))
    c = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "grid1", "B1", title="管道堵塞")))
    ok(await call(api, tw, "admin", "superviseCase", id=c["id"]))
    c = await report(api, tw, "admin", "B4", title="飞线充电")
    ok(await call(api, tw, "admin", "superviseCase", id=c["id"]))
    c = await report(api, tw, "grid2", "B3", title="噪音扰民")
    ok(await call(api, tw, "grid2", "rejectCase", id=c["id"], reason="不属于受理范围"))
    await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "chair", "B2", title="路灯不亮"),
                                              user="grid2"), user="grid2")
    # Dispatched to a grid and to a community: notifications to areas, which reach every user above them.
    for title, kind, key in (("电梯故障", "GRID", "G1"), ("井盖缺失", "COMMUNITY", "C1")):
        c = await accept(api, tw, await report(api, tw, "chair", "B1", title=title))
        c = ok(await call(api, tw, "grid1", "dispatchCase", id=c["id"], handlerKind=kind,
                          **{"gridId" if kind == "GRID" else "communityId": area_gid(tw, key)}))
        ok(await call(api, tw, "admin", "superviseCase", id=c["id"]))
    # Each of these readers marks every other notification of theirs read: the others' state stays.
    for user in ("firm", "grid1", "resident", "secretary"):
        mine = await _inbox(api, tw, user)
        r = await api.gql(tw, user, MARK, {"ids": [n["id"] for n in mine[::2]]})
        assert r["data"]["markNotificationsRead"]["errors"] == [], (user, r)
    return tw


# One test per user, the page walks of every user in one test of their own (CI time, issue #21): pytest-xdist's
# worksteal can share a file's users between the workers; as one test the users' loop held one worker
# for one to three minutes at the end of a run under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_notification_lists_compile_to_the_resolvers_answer_for_every_user(
        api: Api, notification_tenant: Any, user: str) -> None:
    tw = notification_tenant
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 100}, {"unreadOnly": True},
                                   {"unreadOnly": True, "first": 1}]
    for variables in pages:
        await agree(api, tw, user, NOTIFICATIONS, variables)
    for document in (PORTAL, NOTIFICATIONS_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_notification_list_pages_compile_to_the_resolvers_answer_for_every_user(
        api: Api, notification_tenant: Any) -> None:
    tw = notification_tenant
    seen_pages = 0
    for user in USERS:
        for unread_only in (False, True):  # page by page from the cursors, to the end
            variables = {"first": 1, "unreadOnly": unread_only}
            seen_pages += await walk_pages(api, tw, user, NOTIFICATIONS, "notifications", variables, 30)
    assert seen_pages > 3 * len(USERS), seen_pages  # several users' inboxes ran to several pages


async def test_a_notification_list_has_real_content_and_each_reader_its_own_read_state(
        api: Api, notification_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers or one shared read state."""
    tw = notification_tenant

    async def inbox(user: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, NOTIFICATIONS, {"first": 100, **variables}))[0])
        conn = body["data"]["notifications"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"] for e in conn["edges"]]

    firm = await inbox("firm", {})
    assert len(firm) >= 3 and all(n["case"] is not None for n in firm), firm
    assert [n["readAt"] is not None for n in firm] == [i % 2 == 0 for i in range(len(firm))]
    assert len(await inbox("firm", {"unreadOnly": True})) == len(firm) // 2
    assert await inbox("nobody", {}) == []
    # Notifications that reach several readers: marked read by one, unread for the other.
    grid1 = {n["id"]: n["readAt"] for n in await inbox("grid1", {})}
    admin = {n["id"]: n["readAt"] for n in await inbox("admin", {})}
    shared = set(grid1) & set(admin)
    assert any(grid1[i] is not None and admin[i] is None for i in shared), (grid1, admin)
    assert len({n["case"]["title"] for n in firm}) >= 2


async def test_a_bad_notification_argument_is_the_resolvers_error_either_way(
        api: Api, notification_tenant: Any) -> None:
    tw = notification_tenant
    for user in ("admin", "firm", "nobody"):
        for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}):
            compiled, resolved, _ = await both(api, tw, user, NOTIFICATIONS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_compiled_notification_list_is_one_statement_whatever_the_page_size(
        api: Api, notification_tenant: Any) -> None:
    tw = notification_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "firm", "query { __typename }")
        _, resolved = await api.counted(tw, "firm", NOTIFICATIONS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "firm", NOTIFICATIONS, {"first": first})
    _, counts[0] = await api.counted(tw, "firm", NOTIFICATIONS, {"first": 2, "unreadOnly": True})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
