"""The whole life of a meeting, a notice and a topic (issue #23): edit and cancel (withdraw), who may
(meeting/notice/topic · manage where convening, publishing and accepting reach; a topic's proposer
while it is PROPOSED), the invitees and the proposer notified, a withdrawn notice gone from every
reader's list but kept, refused states and bad input changing nothing. World: tests/support/world.py
(P1 is in C1: chair and secretary manage there, the firm serves it; resident and secretary2 live in
P1; resident4 lives in P3)."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.deliberation.test_deliberation_public import CONVENE, FEED, PUBLISH, _in
from tests.support.deliberation import ACCEPT, DECIDE, area, codes, propose
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

ERR = "errors { code field }"
UPD_MEETING = f"""mutation($i: UpdateMeetingInput!) {{ updateMeeting(input: $i) {{
  meeting {{ title place state version cancelReason }} {ERR} }} }}"""
CANCEL_MEETING = f"""mutation($i: CancelMeetingInput!) {{ cancelMeeting(input: $i) {{
  meeting {{ state version cancelReason }} {ERR} }} }}"""
UPD_NOTICE = f"""mutation($i: UpdateNoticeInput!) {{ updateNotice(input: $i) {{
  notice {{ title body expiresAt withdrawnAt }} {ERR} }} }}"""
WITHDRAW = f"""mutation($i: WithdrawNoticeInput!) {{ withdrawNotice(input: $i) {{
  notice {{ withdrawnAt }} {ERR} }} }}"""
UPD_TOPIC = f"""mutation($i: UpdateTopicInput!) {{ updateTopic(input: $i) {{
  topic {{ title description state version }} {ERR} }} }}"""
CANCEL_TOPIC = f"""mutation($i: CancelTopicInput!) {{ cancelTopic(input: $i) {{
  topic {{ state version cancelReason }} {ERR} }} }}"""
MEETING = "query($id: ID!) { node(id: $id) { ... on Meeting { title place state version } } }"
TOPIC = "query($id: ID!) { node(id: $id) { ... on Topic { title description state version } } }"
NOTICE = "query($id: ID!) { node(id: $id) { ... on Notice { title body } } }"
LOG = """query($a: String) { auditLog(first: 5, action: $a) { nodes { outcome
  changes { table fields { name before after } } } } }"""
NOTES = "{ notifications(first: 50) { nodes { kind message } } }"


async def _pay(api: Api, tw: TenantWorld, who: str, doc: str, i: dict[str, Any]) -> dict[str, Any]:
    (payload,) = (await api.gql(tw, who, doc, {"i": i}))["data"].values()
    return payload  # type: ignore[no-any-return]


async def _node(api: Api, tw: TenantWorld, doc: str, id_: str, who: str = "admin") -> Any:
    return (await api.gql(tw, who, doc, {"id": id_}))["data"]["node"]


async def _kinds(api: Api, tw: TenantWorld, who: str) -> list[str]:
    return [n["kind"] for n in (await api.gql(tw, who, NOTES))["data"]["notifications"]["nodes"]]


async def _meeting(api: Api, tw: TenantWorld) -> str:
    person = encode_global_id("Person", tw.persons["h1b"])  # the resident's own register entry
    r = await api.gql(tw, "chair", CONVENE, {"i": {
        "areaId": area(tw, "P1"), "title": "幸福小区议事会", "startsAt": _in(24), "place": "议事角",
        "attendees": [{"personId": person}, {"organisation": "安居物业"}]}})
    assert codes(r["data"]["conveneMeeting"]) == []
    return str(r["data"]["conveneMeeting"]["meeting"]["id"])


async def test_meeting_update_and_cancel(api: Api, fresh: World) -> None:
    a = fresh.a
    mid = await _meeting(api, a)
    before = await _node(api, a, MEETING, mid)
    for who, code in (("resident", "FORBIDDEN"), ("firm", "FORBIDDEN"), ("secretary2", "FORBIDDEN"),
                      ("resident4", "NOT_FOUND"), ("nobody", "NOT_FOUND")):
        assert codes(await _pay(api, a, who, UPD_MEETING, {"id": mid, "place": "x"})) == [code], who
        assert codes(await _pay(api, a, who, CANCEL_MEETING, {"id": mid, "reason": "x"})) == [code], who
    assert codes(await _pay(api, fresh.b, "admin", UPD_MEETING, {"id": mid, "place": "x"})) == ["NOT_FOUND"]
    bad = await _pay(api, a, "admin", UPD_MEETING, {"id": mid, "title": " ", "place": "地" * 201})
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "title"), ("TOO_LONG", "place")]
    stale = await _pay(api, a, "admin", UPD_MEETING, {"id": mid, "place": "y", "expectedVersion": 7})
    assert codes(stale) == ["CONFLICT"]
    assert await _node(api, a, MEETING, mid) == before and await _kinds(api, a, "resident") == []
    # allowed: the chair, the community's secretary, the street admin; the invitee is told each time
    for n, who in enumerate(("chair", "secretary", "admin"), start=1):
        p = await _pay(api, a, who, UPD_MEETING, {"id": mid, "place": f"{who} 活动室", "expectedVersion": n})
        assert codes(p) == [] and p["meeting"]["place"] == f"{who} 活动室" and p["meeting"]["version"] == n + 1
    assert await _kinds(api, a, "resident") == ["meeting_changed"] * 3
    p = await _pay(api, a, "secretary", CANCEL_MEETING, {"id": mid, "reason": " "})
    assert [(e["code"], e["field"]) for e in p["errors"]] == [("INVALID", "reason")]
    p = await _pay(api, a, "secretary", CANCEL_MEETING, {"id": mid, "reason": "场地冲突", "expectedVersion": 4})
    assert p["meeting"] == {"state": "CANCELLED", "version": 5, "cancelReason": "场地冲突"}
    assert (await _kinds(api, a, "resident"))[0] == "meeting_cancelled"
    # final: no edit, no second cancel, no minutes
    assert codes(await _pay(api, a, "admin", UPD_MEETING, {"id": mid, "place": "z"})) == ["INVALID_TRANSITION"]
    assert codes(await _pay(api, a, "admin", CANCEL_MEETING, {"id": mid, "reason": "z"})) == ["INVALID_TRANSITION"]
    closing = await api.gql(a, "admin", """mutation($i: CloseMeetingInput!) { closeMeeting(input: $i) {
        errors { code } } }""", {"i": {"id": mid, "minutes": "无"}})
    assert codes(closing["data"]["closeMeeting"]) == ["INVALID_TRANSITION"]


async def test_notice_update_and_withdraw(api: Api, fresh: World) -> None:
    a = fresh.a
    r = await api.gql(a, "firm", PUBLISH, {"i": {"areaId": area(a, "P1"), "title": "停水通知", "body": "周六停水"}})
    nid = str(r["data"]["publishNotice"]["notice"]["id"])
    for who, code in (("resident", "FORBIDDEN"), ("secretary2", "FORBIDDEN"), ("resident4", "NOT_FOUND"),
                      ("nobody", "NOT_FOUND")):
        assert codes(await _pay(api, a, who, UPD_NOTICE, {"id": nid, "body": "x"})) == [code], who
        assert codes(await _pay(api, a, who, WITHDRAW, {"id": nid})) == [code], who
    bad = await _pay(api, a, "firm", UPD_NOTICE, {"id": nid, "expiresAt": _in(-1), "title": ""})
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "title"), ("INVALID", "expiresAt")]
    assert await _node(api, a, NOTICE, nid) == {"title": "停水通知", "body": "周六停水"}
    for who in ("firm", "chair", "secretary", "admin"):
        p = await _pay(api, a, who, UPD_NOTICE, {"id": nid, "body": f"周日停水（{who}）"})
        assert codes(p) == [] and p["notice"]["body"] == f"周日停水（{who}）", who
    p = await _pay(api, a, "chair", UPD_NOTICE, {"id": nid, "expiresAt": _in(48)})
    assert p["notice"]["expiresAt"]
    p = await _pay(api, a, "chair", UPD_NOTICE, {"id": nid, "clearExpiry": True})
    assert p["notice"]["expiresAt"] is None
    seen = {who: (await api.gql(a, who, FEED, {"a": None}))["data"]["notices"]["totalCount"]
            for who in ("resident", "firm", "admin")}
    assert seen == {"resident": 1, "firm": 1, "admin": 1}
    p = await _pay(api, a, "firm", WITHDRAW, {"id": nid, "reason": "已恢复供水"})
    assert codes(p) == [] and p["notice"]["withdrawnAt"]
    # gone for every reader (lists and node), the manager included; a second withdrawal is refused
    for who in ("resident", "firm", "admin"):
        assert (await api.gql(a, who, FEED, {"a": None}))["data"]["notices"]["totalCount"] == 0, who
        assert await _node(api, a, NOTICE, nid, who) is None
    assert codes(await _pay(api, a, "admin", WITHDRAW, {"id": nid})) == ["INVALID_TRANSITION"]
    # the row stays, and the audit log has the withdrawal, before → after
    log = (await api.gql(a, "admin", LOG, {"a": "withdrawNotice"}))["data"]["auditLog"]["nodes"]
    fields = {f["name"] for n in log for c in n["changes"] if c["table"] == "notices" for f in c["fields"]}
    assert {"withdrawn_at", "withdrawn_by", "withdraw_reason"} <= fields, log
    assert codes(await _pay(api, a, "admin", UPD_NOTICE, {"id": nid, "body": "x"})) == ["INVALID_TRANSITION"]


async def test_topic_update_and_cancel(api: Api, fresh: World) -> None:
    a = fresh.a
    tid = str((await propose(api, a, "resident", "P1", "楼道堆物"))["topic"]["id"])
    for who, code in (("firm", "FORBIDDEN"), ("secretary2", "FORBIDDEN"), ("resident4", "NOT_FOUND"),
                      ("nobody", "NOT_FOUND")):
        assert codes(await _pay(api, a, who, UPD_TOPIC, {"id": tid, "title": "x"})) == [code], who
        assert codes(await _pay(api, a, who, CANCEL_TOPIC, {"id": tid, "reason": "x"})) == [code], who
    bad = await _pay(api, a, "resident", UPD_TOPIC, {"id": tid, "title": "题" * 101})
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("TOO_LONG", "title")]
    assert (await _node(api, a, TOPIC, tid))["title"] == "楼道堆物"
    # the proposer edits their own proposal; staff in scope edit it too
    p = await _pay(api, a, "resident", UPD_TOPIC, {"id": tid, "description": "三楼楼道", "expectedVersion": 1})
    assert p["topic"]["description"] == "三楼楼道" and p["topic"]["version"] == 2
    p = await _pay(api, a, "chair", UPD_TOPIC, {"id": tid, "title": "楼道堆物清理"})
    assert p["topic"]["title"] == "楼道堆物清理"
    await api.gql(a, "chair", ACCEPT, {"i": {"id": tid}})
    # accepted: the proposer can no longer change or withdraw it; staff still can
    assert codes(await _pay(api, a, "resident", UPD_TOPIC, {"id": tid, "title": "y"})) == ["INVALID_TRANSITION"]
    assert codes(await _pay(api, a, "resident", CANCEL_TOPIC, {"id": tid, "reason": "y"})) == ["INVALID_TRANSITION"]
    p = await _pay(api, a, "secretary", CANCEL_TOPIC, {"id": tid, "reason": "已由物业处理"})
    assert p["topic"]["state"] == "CANCELLED" and p["topic"]["cancelReason"] == "已由物业处理"
    assert await _kinds(api, a, "resident") == ["topic_cancelled"]
    assert codes(await _pay(api, a, "admin", CANCEL_TOPIC, {"id": tid, "reason": "z"})) == ["INVALID_TRANSITION"]
    assert codes(await _pay(api, a, "admin", UPD_TOPIC, {"id": tid, "title": "z"})) == ["INVALID_TRANSITION"]
    # the proposer withdraws their own proposal; a decided topic is not cancelled
    own = str((await propose(api, a, "resident", "P1", "增设快递柜"))["topic"]["id"])
    p = await _pay(api, a, "resident", CANCEL_TOPIC, {"id": own, "reason": "重复提出"})
    assert p["topic"]["state"] == "CANCELLED"
    assert await _kinds(api, a, "resident") == ["topic_cancelled"]  # not told of their own withdrawal
    decided = str((await propose(api, a, "chair", "P1", "绿化"))["topic"]["id"])
    await api.gql(a, "chair", ACCEPT, {"i": {"id": decided}})
    await api.gql(a, "chair", DECIDE, {"i": {"id": decided, "text": "同意"}})
    assert codes(await _pay(api, a, "admin", CANCEL_TOPIC, {"id": decided, "reason": "z"})) == [
        "INVALID_TRANSITION"]


async def test_a_changed_notice_is_notified_to_those_it_was_sent_to(api: Api, db: DbEnv) -> None:
    """updateNotice tells the accounts of the people living in the notice's area (P1: the resident and
    secretary2 in H1, the chair in H2), like cancelActivity tells its volunteers — not the one who edited
    it, not the residents of another compound; a refused edit or one that changes nothing tells no one."""
    from tests.support.harness import new_slug
    from tests.support.world import build_tenant

    a = await build_tenant(db.sessionmaker, new_slug("noticed"))
    r = await api.gql(a, "firm", PUBLISH, {"i": {"areaId": area(a, "P1"), "title": "停水通知", "body": "周六停水"}})
    nid = str(r["data"]["publishNotice"]["notice"]["id"])
    told = ("resident", "secretary2", "chair", "resident4", "firm", "admin")
    assert codes(await _pay(api, a, "resident", UPD_NOTICE, {"id": nid, "body": "x"})) == ["FORBIDDEN"]
    assert codes(await _pay(api, a, "firm", UPD_NOTICE, {"id": nid, "body": "周六停水"})) == []  # no change
    assert {who: await _kinds(api, a, who) for who in told} == {who: [] for who in told}
    assert codes(await _pay(api, a, "firm", UPD_NOTICE, {"id": nid, "body": "改为周日停水"})) == []
    assert {who: await _kinds(api, a, who) for who in told} == {
        "resident": ["notice_changed"], "secretary2": ["notice_changed"], "chair": ["notice_changed"],
        "resident4": [], "firm": [], "admin": []}
    msg = (await api.gql(a, "resident", NOTES))["data"]["notifications"]["nodes"][0]["message"]
    assert "停水通知" in msg, msg
