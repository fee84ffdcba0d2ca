"""The whole life of an activity and a catalogue item (issue #23): updateActivity and cancelActivity
(activity · manage, where publishing reaches: admin, secretary, chair, firm for P1 — see
test_activities.py), the volunteers notified, no hours or points for a cancelled activity, bad input
and refused states changing nothing; retireRewardItem (points · manage_catalogue) keeps earlier
requests resolvable and refuses new ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.harness import Api, World
from tests.support.volunteering import APPROVE, AWARD, CREATE_ITEM, ERR, REQUEST, area, codes, person, run
from tests.volunteering.test_activities import CHECK_IN, CHECK_OUT, CONFIRM, SIGN_UP, publish

UPDATE = f"""mutation($in: UpdateActivityInput!) {{ updateActivity(input: $in) {{
  activity {{ id title place capacity startsAt state }} {ERR} }} }}"""
CANCEL = f"""mutation($in: CancelActivityInput!) {{ cancelActivity(input: $in) {{
  activity {{ id state cancelReason cancelledAt }} {ERR} }} }}"""
RETIRE = f"""mutation($in: RetireRewardItemInput!) {{ retireRewardItem(input: $in) {{
  item {{ id retiredAt }} {ERR} }} }}"""
ACTIVITY = "query($id: ID!) { node(id: $id) { ... on Activity { title place capacity state cancelReason } } }"
NOTES = "{ notifications(first: 50) { nodes { kind message } } }"
ITEMS = "query($c: ID) { rewardItems(communityId: $c, first: 50) { totalCount } }"


async def _notes(api: Api, tw: Any, who: str) -> list[tuple[str, str]]:
    body = await api.gql(tw, who, NOTES)
    return [(n["kind"], n["message"]) for n in body["data"]["notifications"]["nodes"]]


async def _node(api: Api, tw: Any, id_: str) -> dict[str, Any]:
    return (await api.gql(tw, "admin", ACTIVITY, {"id": id_}))["data"]["node"]  # type: ignore[no-any-return]


async def test_update_allowed_denied_and_volunteers_notified(api: Api, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, capacity=5)
    s = await run(api, tw, "resident", SIGN_UP, {"a": act["id"]})
    assert s["errors"] == []
    before = await _node(api, tw, act["id"])
    # denied: a neighbour of another compound does not see it; staff elsewhere may not manage it
    for who, code in (("resident", "FORBIDDEN"), ("resident4", "NOT_FOUND"), ("secretary2", "FORBIDDEN"),
                      ("nobody", "NOT_FOUND")):
        p = await run(api, tw, who, UPDATE, {"in": {"id": act["id"], "place": "别处"}})
        assert codes(p) == [code], (who, p)
    p = await run(api, fresh.b, "admin", UPDATE, {"in": {"id": act["id"], "place": "别处"}})
    assert codes(p) == ["NOT_FOUND"]
    assert await _node(api, tw, act["id"]) == before
    assert await _notes(api, tw, "resident") == []
    # allowed: each of the managers
    for who in ("admin", "secretary", "chair", "firm"):
        p = await run(api, tw, who, UPDATE, {"in": {"id": act["id"], "place": f"{who} 活动室"}})
        assert p["errors"] == [] and p["activity"]["place"] == f"{who} 活动室", (who, p)
    notes = await _notes(api, tw, "resident")
    assert len(notes) == 4 and all(k == "activity_changed" for k, _ in notes)
    assert any("firm 活动室" in m for _, m in notes)
    # a change of the description alone is not news for the volunteers
    p = await run(api, tw, "admin", UPDATE, {"in": {"id": act["id"], "description": "带手套"}})
    assert p["errors"] == [] and len(await _notes(api, tw, "resident")) == 4


async def test_update_bad_input_changes_nothing(api: Api, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, capacity=5)
    for who in ("resident", "chair"):
        assert (await run(api, tw, who, SIGN_UP, {"a": act["id"]}))["errors"] == []
    before = await _node(api, tw, act["id"])
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for fields, code, field in (({"title": " "}, "INVALID", "title"), ({"place": "地" * 201}, "TOO_LONG", "place"),
                                ({"capacity": 1}, "INVALID", "capacity"), ({"capacity": 0}, "INVALID", "capacity"),
                                ({"startsAt": past}, "INVALID", "startsAt"),
                                ({"endsAt": datetime.now(UTC).isoformat()}, "INVALID", "endsAt")):
        p = await run(api, tw, "admin", UPDATE, {"in": {"id": act["id"], **fields}})
        assert [(e["code"], e["field"]) for e in p["errors"]] == [(code, field)], (fields, p)
    assert await _node(api, tw, act["id"]) == before
    assert await _notes(api, tw, "resident") == []


async def test_cancel_notifies_the_volunteers_and_grants_no_hours(api: Api, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, capacity=5)
    signups = {who: (await run(api, tw, who, SIGN_UP, {"a": act["id"]}))["signup"]["id"]
               for who in ("resident", "chair")}
    assert (await run(api, tw, "resident", CHECK_IN, {"s": signups["resident"]}))["errors"] == []
    # denied first, and nothing changes
    for who, code in (("resident", "FORBIDDEN"), ("secretary2", "FORBIDDEN"), ("resident4", "NOT_FOUND")):
        p = await run(api, tw, who, CANCEL, {"in": {"id": act["id"], "reason": "下雨"}})
        assert codes(p) == [code], (who, p)
    p = await run(api, tw, "admin", CANCEL, {"in": {"id": act["id"], "reason": " "}})
    assert [(e["code"], e["field"]) for e in p["errors"]] == [("INVALID", "reason")]
    assert (await _node(api, tw, act["id"]))["state"] == "PUBLISHED"
    # the firm serving the compound cancels it; both volunteers (not the firm) are told why
    p = await run(api, tw, "firm", CANCEL, {"in": {"id": act["id"], "reason": "暴雨预警"}})
    assert p["errors"] == [] and p["activity"]["state"] == "CANCELLED"
    assert p["activity"]["cancelReason"] == "暴雨预警" and p["activity"]["cancelledAt"]
    for who in ("resident", "chair"):
        notes = await _notes(api, tw, who)
        assert [k for k, _ in notes] == ["activity_cancelled"] and "暴雨预警" in notes[0][1], (who, notes)
    assert await _notes(api, tw, "firm") == []
    # final: no edit, no second cancel, no sign-up, check-in/out or hours
    assert codes(await run(api, tw, "admin", UPDATE, {"in": {"id": act["id"], "place": "x"}})) == [
        "INVALID_TRANSITION"]
    assert codes(await run(api, tw, "admin", CANCEL, {"in": {"id": act["id"], "reason": "再"}})) == [
        "INVALID_TRANSITION"]
    assert codes(await run(api, tw, "secretary2", SIGN_UP, {"a": act["id"]})) == ["INVALID_TRANSITION"]
    assert codes(await run(api, tw, "chair", CHECK_IN, {"s": signups["chair"]})) == ["INVALID_TRANSITION"]
    assert codes(await run(api, tw, "resident", CHECK_OUT, {"s": signups["resident"]})) == ["INVALID_TRANSITION"]
    assert codes(await run(api, tw, "admin", CONFIRM, {"s": signups["resident"], "h": 2})) == [
        "INVALID_TRANSITION"]


async def test_an_activity_with_confirmed_hours_is_not_cancelled(api: Api, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, capacity=5)
    s = (await run(api, tw, "resident", SIGN_UP, {"a": act["id"]}))["signup"]["id"]
    for doc, who, v in ((CHECK_IN, "resident", {"s": s}), (CHECK_OUT, "resident", {"s": s}),
                        (CONFIRM, "admin", {"s": s, "h": 2})):
        assert (await run(api, tw, who, doc, v))["errors"] == []
    p = await run(api, tw, "admin", CANCEL, {"in": {"id": act["id"], "reason": "补录"}})
    assert codes(p) == ["INVALID_TRANSITION"]
    assert (await _node(api, tw, act["id"]))["state"] == "PUBLISHED"


async def test_retire_reward_item(api: Api, fresh: World) -> None:
    tw = fresh.a
    c1 = area(tw, "C1", "Community")
    item = (await run(api, tw, "admin", CREATE_ITEM, {"c": c1, "n": "大米", "p": 5, "s": 5}))["item"]
    assert (await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 50, "r": "志愿服务"}))["errors"] == []
    earlier = (await run(api, tw, "resident", REQUEST, {"i": item["id"]}))["redemption"]
    # denied: residents, grid leaders and the other community's secretary do not keep this catalogue
    for who in ("resident", "grid1", "secretary2", "chair"):
        assert codes(await run(api, tw, who, RETIRE, {"in": {"id": item["id"]}})) in (["FORBIDDEN"], ["NOT_FOUND"]), who
    assert (await api.gql(tw, "resident", ITEMS, {"c": c1}))["data"]["rewardItems"]["totalCount"] == 1
    # allowed: the community's party secretary
    p = await run(api, tw, "secretary", RETIRE, {"in": {"id": item["id"]}})
    assert p["errors"] == [] and p["item"]["retiredAt"]
    assert codes(await run(api, tw, "admin", RETIRE, {"in": {"id": item["id"]}})) == ["INVALID_TRANSITION"]
    assert (await api.gql(tw, "resident", ITEMS, {"c": c1}))["data"]["rewardItems"]["totalCount"] == 0
    assert codes(await run(api, tw, "resident", REQUEST, {"i": item["id"]})) == ["INVALID_TRANSITION"]
    # the request made before still resolves, and spends its points
    p = await run(api, tw, "admin", APPROVE, {"r": earlier["id"]})
    assert p["errors"] == [] and p["redemption"]["state"] == "APPROVED"
