"""cappedCount(cap:) on every kind of connection (issue #21): the list's length when it is at most the
cap, else the cap and hasMore — whatever builds the page (keyset_page, ordered_page, sorted_page, a
nested page's count loader, a list paged in Python), on both backends. The audit log's compiled form is
compared with the resolvers' in tests/compiled/test_compiled_audit.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

COUNTS = "totalCount cappedCount(cap: $cap) { count hasMore }"
LISTS = f"""query($cap: Int!, $street: ID!, $asOf: Date!) {{
  households(first: 2) {{ {COUNTS} }}
  cases(first: 1) {{ {COUNTS} }}
  caseCategoriesConnection(first: 2) {{ {COUNTS} }}
  auditLog(first: 1) {{ {COUNTS} }}
  overdueVisitsConnection(asOf: $asOf, first: 1) {{ {COUNTS} }}
  node(id: $street) {{ ... on Street {{ children(first: 1) {{ {COUNTS} }} }} }}
}}"""


def _lists(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {**{k: v for k, v in data.items() if k != "node"}, "children": data["node"]["children"]}


REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"""


async def test_the_capped_count_is_exact_up_to_the_cap_on_every_kind_of_page(api: Api, fresh: World) -> None:
    tw = fresh.a
    for title in ("下水道堵塞", "路灯不亮"):  # two cases, and two entries on the log
        r = await api.gql(tw, "grid1", REPORT, {"i": {"areaId": encode_global_id("Building", tw.areas["B1"]),
                                                      "category": "drainage", "title": title}})
        assert r["data"]["reportCase"]["errors"] == [], r
    variables = {"street": encode_global_id("Street", tw.areas["S"]), "asOf": date(2030, 1, 1).isoformat()}
    r = await api.gql(tw, "admin", LISTS, {**variables, "cap": 1000})
    assert "errors" not in r, r
    totals = {name: page["totalCount"] for name, page in _lists(r["data"]).items()}
    assert all(t > 1 for t in totals.values()), totals  # each list is longer than a page, so caps below bite
    for cap in sorted({0, 1, 2, 10_000, *(t + d for t in totals.values() for d in (-1, 0, 1))}):
        r = await api.gql(tw, "admin", LISTS, {**variables, "cap": cap})
        for name, page in _lists(r["data"]).items():
            total = totals[name]
            assert page["totalCount"] == total, (name, cap)
            assert page["cappedCount"] == {"count": min(total, cap), "hasMore": total > cap}, (name, cap, total)


async def test_a_cap_out_of_bounds_is_invalid(api: Api, world: World) -> None:
    tw = world.a
    for cap in (-1, 10_001):
        r = await api.gql(tw, "admin", "query($cap: Int!) { households(first: 1) { cappedCount(cap: $cap) { "
                          "count } } }", {"cap": cap}, allow_errors=True)
        assert r["data"] is None and r["errors"][0]["extensions"] == {"code": "INVALID", "field": "cap"}, r
