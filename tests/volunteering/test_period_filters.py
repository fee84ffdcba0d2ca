"""Lists by state and period (issue #23): activities and meetings filtered by state and by a start-time
window [startsFrom, startsBefore); a reversed window is INVALID naming startsBefore and returns nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.deliberation.test_deliberation_lifecycle import CANCEL_MEETING
from tests.deliberation.test_deliberation_public import CONVENE
from tests.support.deliberation import area, codes
from tests.support.harness import Api, World
from tests.support.volunteering import run
from tests.volunteering.test_activities import publish
from tests.volunteering.test_lifecycle import CANCEL

ACTS = """query($s: [ActivityState!], $f: DateTime, $b: DateTime) {
  activities(states: $s, startsFrom: $f, startsBefore: $b, first: 50) { nodes { title } } }"""
MEETINGS = """query($s: [MeetingState!], $f: DateTime, $b: DateTime) {
  meetings(states: $s, startsFrom: $f, startsBefore: $b, first: 50) { nodes { title } } }"""


def at(days: int) -> str:
    return (datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)).isoformat()


async def test_activities_by_state_and_period(api: Api, fresh: World) -> None:
    tw = fresh.a
    for title, day in (("一日后", 1), ("五日后", 5), ("十日后", 10)):
        await publish(api, tw, title=title, startsAt=at(day),
                      endsAt=(datetime.fromisoformat(at(day)) + timedelta(hours=2)).isoformat())
    acts = {n["title"] for n in (await api.gql(tw, "admin", ACTS))["data"]["activities"]["nodes"]}
    assert {"一日后", "五日后", "十日后"} <= acts
    ids = {n["title"]: n["id"] for n in (await api.gql(tw, "admin", "{ activities(first: 50) { nodes { id title } } }"))
           ["data"]["activities"]["nodes"]}
    cancelled = await run(api, tw, "admin", CANCEL, {"in": {"id": ids["十日后"], "reason": "场地改作他用"}})
    assert cancelled["errors"] == []

    async def titles(**v: object) -> set[str]:
        return {n["title"] for n in (await api.gql(tw, "admin", ACTS, v))["data"]["activities"]["nodes"]}

    assert await titles(s=["CANCELLED"]) == {"十日后"}
    assert "十日后" not in await titles(s=["PUBLISHED"])
    assert await titles(f=at(3), b=at(7)) == {"五日后"}
    assert await titles(f=at(3)) == {"五日后", "十日后"}
    assert await titles(f=at(3), s=["PUBLISHED"]) == {"五日后"}
    bad = await api.gql(tw, "admin", ACTS, {"f": at(7), "b": at(3)}, allow_errors=True)
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID", "startsBefore"), bad


async def test_meetings_by_state_and_period(api: Api, fresh: World) -> None:
    tw = fresh.a
    ids = {}
    for title, day in (("近期议事会", 2), ("下月议事会", 30)):
        r = await api.gql(tw, "chair", CONVENE, {"i": {"areaId": area(tw, "P1"), "title": title, "startsAt": at(day),
                                                       "place": "议事角", "attendees": [{"organisation": "安居物业"}]}})
        assert codes(r["data"]["conveneMeeting"]) == []
        ids[title] = r["data"]["conveneMeeting"]["meeting"]["id"]
    r = await api.gql(tw, "chair", CANCEL_MEETING, {"i": {"id": ids["下月议事会"], "reason": "改期"}})
    assert codes(r["data"]["cancelMeeting"]) == []

    async def titles(**v: object) -> set[str]:
        return {n["title"] for n in (await api.gql(tw, "chair", MEETINGS, v))["data"]["meetings"]["nodes"]}

    assert await titles(s=["CONVENED"]) == {"近期议事会"}
    assert await titles(s=["CANCELLED"]) == {"下月议事会"}
    assert await titles(f=at(10)) == {"下月议事会"}
    assert await titles(b=at(10)) == {"近期议事会"}
    bad = await api.gql(tw, "chair", MEETINGS, {"f": at(10), "b": at(10)}, allow_errors=True)
    assert bad["errors"][0]["extensions"]["field"] == "startsBefore", bad
