"""Points ledger and redemptions by date (issue #23): ``pointsLedger(bookedFrom:, bookedBefore:)`` and
``redemptions(requestedFrom:, requestedBefore:)`` keep the window [from, before) of the entry's booking or
the request's time, under the reader's own predicate; a reversed window is INVALID naming the later bound."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Api, World
from tests.support.volunteering import AWARD, CREATE_ITEM, REQUEST, area, person, run

LEDGER = """query($f: DateTime, $b: DateTime) { pointsLedger(bookedFrom: $f, bookedBefore: $b, first: 50) {
  totalCount nodes { id reason } } }"""
REDEMPTIONS = """query($f: DateTime, $b: DateTime) { redemptions(requestedFrom: $f, requestedBefore: $b, first: 50) {
  totalCount nodes { id } } }"""


async def test_points_and_redemptions_by_period(api: Api, fresh: World) -> None:
    tw = fresh.a
    booked = []
    for reason in ("清扫楼道", "巡逻", "义诊"):
        p = await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 40, "r": reason})
        assert p["errors"] == []
        booked.append(p["entry"]["id"])
    at = {n["id"]: n["at"] for n in (await api.gql(tw, "admin", "{ pointsLedger(first: 50) { nodes { id at } } }"))
          ["data"]["pointsLedger"]["nodes"]}

    async def reasons(who: str = "admin", **v: Any) -> list[str]:
        return [n["reason"] for n in (await api.gql(tw, who, LEDGER, v))["data"]["pointsLedger"]["nodes"]]

    assert await reasons() == ["义诊", "巡逻", "清扫楼道"]  # newest first
    assert await reasons(f=at[booked[1]]) == ["义诊", "巡逻"]  # from: inclusive
    assert await reasons(b=at[booked[1]]) == ["清扫楼道"]  # before: exclusive
    assert await reasons(f=at[booked[1]], b=at[booked[2]]) == ["巡逻"]
    # the window narrows what the reader may see, never widens it: h1b's own, and nothing for grid2
    assert await reasons("resident", f=at[booked[1]]) == ["义诊", "巡逻"]
    assert await reasons("grid2", f=at[booked[0]]) == []
    assert (await api.gql(fresh.b, "admin", LEDGER, {"f": at[booked[0]]}))["data"]["pointsLedger"]["totalCount"] == 0
    bad = await api.gql(tw, "admin", LEDGER, {"f": at[booked[2]], "b": at[booked[0]]}, allow_errors=True)
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID", "bookedBefore"), bad

    item = await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, "C1", "Community"), "n": "洗衣液", "p": 10,
                                                     "s": 5})
    asked = []
    for _ in range(2):
        r = await run(api, tw, "resident", REQUEST, {"i": item["item"]["id"]})
        assert r["errors"] == []
        asked.append(r["redemption"]["id"])
    requested = {n["id"]: n["requestedAt"] for n in (await api.gql(
        tw, "admin", "{ redemptions(first: 50) { nodes { id requestedAt } } }"))["data"]["redemptions"]["nodes"]}

    async def ids(who: str = "admin", **v: Any) -> list[str]:
        return [n["id"] for n in (await api.gql(tw, who, REDEMPTIONS, v))["data"]["redemptions"]["nodes"]]

    assert await ids() == asked[::-1]
    assert await ids(f=requested[asked[1]]) == [asked[1]]
    assert await ids(b=requested[asked[1]]) == [asked[0]]
    assert await ids("resident", b=requested[asked[1]]) == [asked[0]]
    assert await ids("grid2", f=requested[asked[0]]) == []
    assert (await api.gql(fresh.b, "admin", REDEMPTIONS, {}))["data"]["redemptions"]["totalCount"] == 0
    bad = await api.gql(tw, "admin", REDEMPTIONS, {"f": requested[asked[1]], "b": requested[asked[0]]},
                        allow_errors=True)
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID", "requestedBefore"), bad
