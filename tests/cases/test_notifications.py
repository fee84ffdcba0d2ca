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
    assert other["data"]["markNotificationsRead"]["errors"] == [{"code": "NOT_FOUND"}]
    mine = await api.gql(a, "firm", MARK, {"ids": [feed[0]["id"]]})
    assert mine["data"]["markNotificationsRead"]["marked"] == 1
    assert await _feed(api, a, "firm", unread=True) == []
    assert len(await _feed(api, a, "firm")) == 1


MARK_FIELD = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code field } } }"
DISPATCH_FIELD = ("mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) { case { id state } "
                  "errors { code field } } }")


async def test_foreign_or_unknown_ids_are_not_found_and_change_nothing(api: Api, fresh: World) -> None:
    """issue #24: another tenant's notification ids (mixed with one's own) and another tenant's
    community or firm in dispatchCase are a typed NOT_FOUND naming the field, and nothing is done."""
    a, b = fresh.a, fresh.b
    await _dispatched_case(api, a, to_firm=True)
    await _dispatched_case(api, b, to_firm=True)
    mine = await _feed(api, a, "firm", unread=True)
    theirs = await _feed(api, b, "firm", unread=True)
    unknown = encode_global_id("Notification", "0190a8e4-0000-7000-8000-000000000000")
    for ids in ([theirs[0]["id"]], [mine[0]["id"], theirs[0]["id"]], [unknown]):
        out = (await api.gql(a, "firm", MARK_FIELD, {"ids": ids}))["data"]["markNotificationsRead"]
        assert out == {"marked": 0, "errors": [{"code": "NOT_FOUND", "field": "ids"}]}, (ids, out)
    assert len(await _feed(api, a, "firm", unread=True)) == 1  # one's own stays unread too
    assert len(await _feed(api, b, "firm", unread=True)) == 1

    r = await api.gql(a, "grid1", REPORT, {"i": {"areaId": encode_global_id("Building", a.areas["B1"]),
                                                 "category": "garbage", "title": "垃圾满溢"}})
    cid = str(r["data"]["reportCase"]["case"]["id"])
    await api.gql(a, "grid1", ACCEPT, {"i": {"id": cid}})
    foreign_firm = encode_global_id("PropertyFirm", b.firms["F1"])
    foreign_community = encode_global_id("Community", b.areas["C1"])
    own_firm = encode_global_id("PropertyFirm", a.firms["F1"])
    for handler, field in (
            ({"handlerKind": "PROPERTY_FIRM", "firmId": foreign_firm}, "firmId"),
            ({"handlerKind": "COMMUNITY", "communityId": foreign_community}, "communityId"),
            # an id the handler kind does not use is still checked, not ignored
            ({"handlerKind": "PROPERTY_FIRM", "firmId": own_firm, "communityId": foreign_community}, "communityId")):
        out = (await api.gql(a, "grid1", DISPATCH_FIELD, {"i": {"id": cid, **handler}}))["data"]["dispatchCase"]
        assert out == {"case": None, "errors": [{"code": "NOT_FOUND", "field": field}]}, (handler, out)
    out = (await api.gql(a, "grid1", DISPATCH_FIELD, {"i": {
        "id": cid, "handlerKind": "PROPERTY_FIRM", "firmId": own_firm,
        "communityId": encode_global_id("Community", a.areas["C1"])}}))["data"]["dispatchCase"]
    assert out["errors"] == [{"code": "INVALID", "field": "communityId"}], out
    out = (await api.gql(a, "grid1", DISPATCH_FIELD, {"i": {"id": cid, "handlerKind": "PROPERTY_FIRM",
                                                            "firmId": own_firm}}))["data"]["dispatchCase"]
    assert out["errors"] == [] and out["case"]["state"] == "DISPATCHED", out
