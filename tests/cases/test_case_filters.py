"""What a handling desk filters cases by (issue #23): priority, the period reported in, the handling unit
(kind and firm), and a keyword — on the general path (the compiled path hands these filters over)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.cases import accept, dispatch_firm, firm_gid, report
from tests.support.harness import Api, World

Q = """query($p: [CasePriority!], $f: DateTime, $b: DateTime, $k: HandlerKind, $firm: ID, $t: String) {
  cases(priorities: $p, reportedFrom: $f, reportedBefore: $b, handlerKind: $k, handlerFirmId: $firm, text: $t,
        first: 50) { totalCount nodes { title } } }"""


def at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_cases_by_priority_period_handler_and_text(api: Api, fresh: World) -> None:
    a = fresh.a
    await report(api, a, "resident", "B1", title="井盖缺失", category="garbage", priority="URGENT",
                 description="夜间有人绊倒")
    piped = await report(api, a, "resident", "B1", title="下水道堵塞", category="drainage")
    await accept(api, a, piped)
    await dispatch_firm(api, a, piped)

    async def titles(who: str = "admin", **v: object) -> set[str]:
        return {n["title"] for n in (await api.gql(a, who, Q, v))["data"]["cases"]["nodes"]}

    assert await titles(p=["URGENT"]) == {"井盖缺失"}
    assert await titles(p=["NORMAL", "LOW"]) == {"下水道堵塞"}
    assert await titles(f=at(-1), b=at(1)) == {"井盖缺失", "下水道堵塞"}
    assert await titles(f=at(1)) == set()
    assert await titles(k="PROPERTY_FIRM") == {"下水道堵塞"}
    assert await titles(firm=firm_gid(a)) == {"下水道堵塞"}
    assert await titles(firm=firm_gid(a), p=["URGENT"]) == set()
    assert await titles(t="下水道") == {"下水道堵塞"}
    assert await titles(t="绊倒") == {"井盖缺失"}  # the description, seen in full by the admin
    assert await titles(t="100%") == set()  # a LIKE wildcard is a character here
    bad = await api.gql(a, "admin", Q, {"f": at(1), "b": at(-1)}, allow_errors=True)
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID", "reportedBefore"), bad
    # Another street office sees none of them, whatever it filters by.
    assert (await api.gql(fresh.b, "admin", Q, {"t": "下水道"}))["data"]["cases"]["totalCount"] == 0
