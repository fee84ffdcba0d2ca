"""The walls by category, state and period (issue #23): problemWall/echoWall(filter: WallFilter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.deliberation.test_deliberation_public import REPORT
from tests.support.deliberation import area
from tests.support.harness import Api, World

WALL = """query($c: ID!, $f: WallFilter) { problemWall(compoundId: $c, filter: $f) { nodes { title state } }
  echoWall(compoundId: $c, filter: $f) { nodes { title } } }"""


def at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_walls_by_category_state_and_period(api: Api, fresh: World) -> None:
    a = fresh.a
    ids = {}
    for category, title in (("drainage", "下水道堵塞"), ("garbage", "垃圾满溢")):
        r = await api.gql(a, "resident", REPORT, {"i": {"areaId": area(a, "B1"), "category": category,
                                                        "title": title}})
        ids[title] = r["data"]["reportCase"]["case"]["id"]
    dispatch = {"handlerKind": "COMMUNITY", "communityId": area(a, "C1")}
    for step, extra in (("acceptCase", {}), ("dispatchCase", dispatch), ("startCase", {}),
                        ("resolveCase", {"resolution": "已疏通"})):
        kind = {"acceptCase": "CaseTransitionInput", "dispatchCase": "DispatchCaseInput",
                "startCase": "CaseTransitionInput", "resolveCase": "ResolveCaseInput"}[step]
        r = await api.gql(a, "grid1", f"mutation($i: {kind}!) {{ {step}(input: $i) {{ errors {{ code }} }} }}",
                          {"i": {"id": ids["下水道堵塞"], **extra}})
        assert r["data"][step]["errors"] == [], (step, r)

    async def wall(f: dict[str, object] | None) -> tuple[set[str], set[str]]:
        d = (await api.gql(a, "resident", WALL, {"c": area(a, "P1"), "f": f}))["data"]
        return {n["title"] for n in d["problemWall"]["nodes"]}, {n["title"] for n in d["echoWall"]["nodes"]}

    assert await wall(None) == ({"下水道堵塞", "垃圾满溢"}, {"下水道堵塞"})
    assert await wall({"category": "garbage"}) == ({"垃圾满溢"}, set())
    assert await wall({"states": ["RESOLVED"]}) == ({"下水道堵塞"}, {"下水道堵塞"})
    assert await wall({"states": ["REPORTED"]}) == ({"垃圾满溢"}, set())
    assert await wall({"reportedFrom": at(-1), "reportedBefore": at(1)}) == ({"下水道堵塞", "垃圾满溢"}, {"下水道堵塞"})
    assert await wall({"reportedFrom": at(1)}) == (set(), set())
    reversed_period = {"reportedFrom": at(1), "reportedBefore": at(-1)}
    bad = await api.gql(a, "resident", WALL, {"c": area(a, "P1"), "f": reversed_period}, allow_errors=True)
    assert {(e["extensions"]["code"], e["extensions"]["field"]) for e in bad["errors"]} == {
        ("INVALID", "reportedBefore")}, bad
