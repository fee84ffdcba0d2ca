"""Meetings, notices (and their feed and subscription filter), the problem wall and the echo wall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from resolvers.ids import encode_global_id
from tests.support.deliberation import ACCEPT, area, codes, propose
from tests.support.harness import Api, World
from tests.support.world import TenantWorld

CONVENE = ("mutation($i: ConveneMeetingInput!) { conveneMeeting(input: $i) { meeting { id state attendees { id name "
           "isOrganisation attended } } errors { code message } } }")
CLOSE_MEETING = """mutation($i: CloseMeetingInput!) { closeMeeting(input: $i) { meeting { state minutes
  decidedTopics { title state decision } agenda { position decided topic { title state } }
  attendees { name attended } } errors { code message } } }"""
PUBLISH = "mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { notice { id } errors { code } } }"
FEED = "query($a: ID) { notices(areaId: $a) { totalCount nodes { title } } }"
WALL = """query($c: ID!) { problemWall(compoundId: $c) { nodes { number title state answer } }
  echoWall(compoundId: $c) { nodes { title answer } } }"""
REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def _accepted(api: Api, tw: TenantWorld, title: str) -> str:
    tid = str((await propose(api, tw, "chair", "P1", title))["topic"]["id"])
    await api.gql(tw, "chair", ACCEPT, {"i": {"id": tid}})
    return tid


async def test_meeting_convened_recorded_and_closed_with_its_decisions(api: Api, fresh: World) -> None:
    a = fresh.a
    t1, t2 = await _accepted(api, a, "加装电梯"), await _accepted(api, a, "停车管理")
    proposed_only = str((await propose(api, a, "resident", "P1", "未受理"))["topic"]["id"])
    base: dict[str, Any] = {"areaId": area(a, "P1"), "title": "幸福小区议事会", "startsAt": _in(24),
                            "place": "小区议事角", "topicIds": [t1, t2],
                            "attendees": [{"personId": encode_global_id("Person", a.persons["h1a"]),
                                           "roleNote": "居民代表"},
                                          {"organisation": "安居物业", "roleNote": "物业"}]}
    for who, code in (("resident", "FORBIDDEN"), ("firm", "FORBIDDEN"), ("secretary2", "FORBIDDEN"),
                      ("resident4", "NOT_FOUND")):
        r = await api.gql(a, who, CONVENE, {"i": base})
        assert codes(r["data"]["conveneMeeting"]) == [code], who
    bad = await api.gql(a, "chair", CONVENE, {"i": {**base, "topicIds": [t1, proposed_only]}})
    assert codes(bad["data"]["conveneMeeting"]) == ["INVALID_TRANSITION"]
    both_kinds = [{"organisation": "x", "personId": base["attendees"][0]["personId"]}]
    both = await api.gql(a, "chair", CONVENE, {"i": {**base, "attendees": both_kinds}})
    assert codes(both["data"]["conveneMeeting"]) == ["INVALID"]
    r = await api.gql(a, "chair", CONVENE, {"i": base})
    m = r["data"]["conveneMeeting"]["meeting"]
    assert [(x["name"], x["isOrganisation"], x["attended"]) for x in m["attendees"]] == [
        ("张建国", False, None), ("安居物业", True, None)]
    person_attendee = m["attendees"][0]["id"]
    denied = await api.gql(a, "firm", CLOSE_MEETING, {"i": {"id": m["id"], "minutes": "x"}})
    assert codes(denied["data"]["closeMeeting"]) == ["FORBIDDEN"]
    closed = await api.gql(a, "chair", CLOSE_MEETING, {"i": {
        "id": m["id"], "minutes": "与会居民同意启动加装电梯表决", "attended": [person_attendee],
        "decisions": [{"topicId": t1, "decision": "启动业主表决"}]}})
    got = closed["data"]["closeMeeting"]["meeting"]
    assert got["state"] == "CLOSED"
    assert got["decidedTopics"] == [{"title": "加装电梯", "state": "DECIDED", "decision": "启动业主表决"}]
    assert [(i["position"], i["decided"], i["topic"]["state"]) for i in got["agenda"]] == [
        (1, True, "DECIDED"), (2, False, "DELIBERATED")]
    assert [(x["name"], x["attended"]) for x in got["attendees"]] == [("张建国", True), ("安居物业", False)]
    again = await api.gql(a, "chair", CLOSE_MEETING, {"i": {"id": m["id"], "minutes": "x"}})
    assert codes(again["data"]["closeMeeting"]) == ["INVALID_TRANSITION"]
    lists = "{ meetings { totalCount } }"
    for who, n in (("resident", 1), ("firm", 1), ("resident4", 0), ("grid2", 0), ("admin", 1)):
        assert (await api.gql(a, who, lists))["data"]["meetings"]["totalCount"] == n, who
    assert (await api.gql(fresh.b, "admin", lists))["data"]["meetings"]["totalCount"] == 0


async def test_notices_publish_by_role_and_feed(api: Api, fresh: World) -> None:
    a = fresh.a
    cases = [("chair", "P1", []), ("firm", "B1", []), ("admin", "C1", []), ("admin", "C2", []), ("grid1", "B1", []),
             ("resident", "P1", ["FORBIDDEN"]), ("firm", "P3", ["NOT_FOUND"]), ("chair", "P2", ["NOT_FOUND"]),
             ("resident4", "P1", ["NOT_FOUND"])]
    for who, where, expected in cases:
        r = await api.gql(a, who, PUBLISH, {"i": {"areaId": area(a, where), "title": f"{who}@{where}",
                                                  "body": "通知内容"}})
        assert codes(r["data"]["publishNotice"]) == expected, (who, where)
    past = await api.gql(a, "admin", PUBLISH, {"i": {"areaId": area(a, "S"), "title": "x", "body": "y",
                                                      "expiresAt": _in(-1)}})
    assert codes(past["data"]["publishNotice"]) == ["INVALID"]
    feeds = {
        "resident": {"chair@P1", "firm@B1", "admin@C1", "grid1@B1"},
        "resident4": {"admin@C2"},
        # above G2, and at P1, a compound G2 covers a building of (DESIGN.md §8); nothing inside G2 itself
        "grid2": {"admin@C1", "chair@P1"},
        "admin": {"chair@P1", "firm@B1", "admin@C1", "admin@C2", "grid1@B1"},
        "nobody": set(),
    }
    for who, titles in feeds.items():
        got = (await api.gql(a, who, FEED))["data"]["notices"]
        assert {n["title"] for n in got["nodes"]} == titles, who
        assert got["totalCount"] == len(titles), who
    b1 = (await api.gql(a, "admin", FEED, {"a": area(a, "B1")}))["data"]["notices"]["nodes"]
    assert {n["title"] for n in b1} == {"chair@P1", "firm@B1", "admin@C1", "grid1@B1"}
    assert (await api.gql(fresh.b, "resident", FEED))["data"]["notices"]["totalCount"] == 0


async def test_problem_wall_and_echo_wall(api: Api, fresh: World) -> None:
    a = fresh.a
    r = await api.gql(a, "resident", REPORT, {"i": {"areaId": area(a, "B1"), "category": "drainage",
                                                    "title": "下水道堵塞"}})
    cid = r["data"]["reportCase"]["case"]["id"]
    await api.gql(a, "grid2", REPORT, {"i": {"areaId": area(a, "B2"), "category": "garbage", "title": "网格员巡查"}})
    await api.gql(a, "resident4", REPORT, {"i": {"areaId": area(a, "B4"), "category": "noise", "title": "湖畔噪音"}})
    await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    await api.gql(a, "grid1", "mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid, "handlerKind": "COMMUNITY", "communityId": area(a, "C1")}})
    await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { startCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    res = await api.gql(a, "grid1", "mutation($i: ResolveCaseInput!) { resolveCase(input: $i) { errors { code } } }",
                        {"i": {"id": cid, "resolution": "已疏通管道"}})
    assert res["data"]["resolveCase"]["errors"] == []
    for who in ("resident", "chair", "secretary", "admin", "secretary2"):  # residents of P1 and staff in scope
        w = (await api.gql(a, who, WALL, {"c": area(a, "P1")}))["data"]
        assert [(e["title"], e["answer"]) for e in w["problemWall"]["nodes"]] == [("下水道堵塞", "已疏通管道")], who
        assert [e["title"] for e in w["echoWall"]["nodes"]] == ["下水道堵塞"], who
    # Another compound's resident: the wall does not exist for them; their own shows only their compound.
    # Both walls in one request: two sibling fields failing at once. The first NOT_FOUND nulls the whole
    # response (both fields are non-null), the sibling is cancelled: no internal error, no poisoned session.
    denied = await api.gql(a, "resident4", WALL, {"c": area(a, "P1")}, allow_errors=True)
    assert denied["data"] is None and denied["errors"]
    assert {(e["path"][0], e["extensions"]["code"]) for e in denied["errors"]} <= {
        ("echoWall", "NOT_FOUND"), ("problemWall", "NOT_FOUND")}, denied
    own = (await api.gql(a, "resident4", WALL, {"c": area(a, "P3")}))["data"]
    assert [e["title"] for e in own["problemWall"]["nodes"]] == ["湖畔噪音"] and own["echoWall"]["nodes"] == []
    for who in ("secretary2",):  # C2's secretary; grid3 cannot read the compound P3 itself (see the report)
        p3 = (await api.gql(a, who, WALL, {"c": area(a, "P3")}))["data"]
        assert [e["title"] for e in p3["problemWall"]["nodes"]] == ["湖畔噪音"], who
    # A wall entry carries no reporter and no actor: the type has no such fields.
    from gongzhi.modules import schema as _built

    schema = _built()

    wall_type = schema.get_type_by_name("WallEntry")
    names = {f.graphql_name or f.python_name for f in wall_type.fields}  # type: ignore[union-attr]
    assert not names & {"reporter", "reportedByMe", "timeline", "actor", "handlerName"}
    other = await api.gql(fresh.b, "resident", "query($c: ID!) { problemWall(compoundId: $c) { nodes { title } } }",
                          {"c": area(a, "P1")}, allow_errors=True)
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
