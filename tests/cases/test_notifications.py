"""Notifications reach the handler (the firm's staff, or the community's) and no one else."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World
from tests.support.world import TenantWorld

REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"
ACCEPT = "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { case { id } errors { code } } }"
DISPATCH = "mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) { case { id } errors { code } } }"
SUPERVISE = "mutation($i: CaseTransitionInput!) { superviseCase(input: $i) { case { id } errors { code } } }"
FEED = "query($u: Boolean!) { notifications(unreadOnly: $u) { totalCount nodes { id kind message case { id } } } }"
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code } } }"


async def _dispatched_case(api: Api, tw: TenantWorld, *, to_firm: bool) -> str:
    r = await api.gql(tw, "grid1", REPORT, {"i": {"areaId": encode_global_id("Building", tw.areas["B1"]),
                                                  "category": "garbage", "title": "垃圾满溢"}})
    cid = str(r["data"]["reportCase"]["case"]["id"])
    await api.gql(tw, "grid1", ACCEPT, {"i": {"id": cid}})
    handler: dict[str, Any] = (
        {"handlerKind": "PROPERTY_FIRM", "firmId": encode_global_id("PropertyFirm", tw.firms["F1"])} if to_firm
        else {"handlerKind": "COMMUNITY", "communityId": encode_global_id("Community", tw.areas["C1"])})
    r = await api.gql(tw, "grid1", DISPATCH, {"i": {"id": cid, **handler}})
    assert r["data"]["dispatchCase"]["errors"] == []
    return cid


async def _feed(api: Api, tw: TenantWorld, who: str, unread: bool = False) -> list[dict[str, Any]]:
    return list((await api.gql(tw, who, FEED, {"u": unread}))["data"]["notifications"]["nodes"])


async def test_firm_is_notified_of_dispatch_and_supervision(api: Api, fresh: World) -> None:
    a = fresh.a
    cid = await _dispatched_case(api, a, to_firm=True)
    await api.gql(a, "secretary", SUPERVISE, {"i": {"id": cid, "note": "请加快"}})
    feed = await _feed(api, a, "firm")
    assert [n["kind"] for n in feed] == ["supervised", "dispatched"]
    assert all(n["case"]["id"] == cid for n in feed)
    for outsider in ("grid2", "resident", "chair", "resident4"):
        assert await _feed(api, a, outsider) == [], outsider
    assert await _feed(api, fresh.b, "firm") == []


async def test_community_handler_is_notified_in_scope_only(api: Api, fresh: World) -> None:
    a = fresh.a
    await _dispatched_case(api, a, to_firm=False)
    assert [n["kind"] for n in await _feed(api, a, "secretary")] == ["dispatched"]
    assert [n["kind"] for n in await _feed(api, a, "admin")] == ["dispatched"]
    assert await _feed(api, a, "secretary2") == []  # C2's secretary
    assert await _feed(api, a, "firm") == []


async def test_mark_read(api: Api, fresh: World) -> None:
    a = fresh.a
    await _dispatched_case(api, a, to_firm=True)
    feed = await _feed(api, a, "firm", unread=True)
    assert len(feed) == 1
    other = await api.gql(a, "grid2", MARK, {"ids": [feed[0]["id"]]})
    assert other["data"]["markNotificationsRead"]["marked"] == 0  # not addressed to grid2
    mine = await api.gql(a, "firm", MARK, {"ids": [feed[0]["id"]]})
    assert mine["data"]["markNotificationsRead"]["marked"] == 1
    assert await _feed(api, a, "firm", unread=True) == []
    assert len(await _feed(api, a, "firm")) == 1
