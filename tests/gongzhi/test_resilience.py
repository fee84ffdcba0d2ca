"""A failing field cancels its siblings mid-statement: the request must still commit cleanly
(its audit entries included) and the connection stay usable."""

from __future__ import annotations

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

Q = """query($x: ID!) {
  a: caseStatistics(areaId: $x, from: "2026-01-01", to: "2025-01-01") { total }
  b: caseStatistics(areaId: $x, from: "2026-01-01", to: "2025-01-01") { total }
  households(first: 50) { totalCount nodes { persons { idCardNo } } }
}"""


async def test_sibling_failures_do_not_break_the_commit(api: Api, world: World) -> None:
    a = world.a
    area = encode_global_id("Community", a.areas["C1"])
    for _ in range(5):
        r = await api.post(Q, {"x": area}, token=api.token(a, "grid1"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["data"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {"INVALID"}
        follow = await api.post("{ me { username } }", token=api.token(a, "grid1"))
        assert follow.status_code == 200 and follow.json()["data"]["me"]["username"] == a.username("grid1")
