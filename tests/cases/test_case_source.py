"""Source channel (来源渠道) and 12345 work-order number (工单号) on cases (issue #22): set on report, the
default channel by the reporter's role, the number unique per tenant with a typed error naming the
field, both filterable in the cases list, hidden on the public wall."""

from __future__ import annotations

from typing import Any

from tests.support.cases import add_resident, area_gid, call, failed, ok, report
from tests.support.harness import Api, DbEnv, World

Q = """
query($sources: [CaseSource!], $ticket: String) {
  cases(sources: $sources, externalTicketNo: $ticket, first: 50) { nodes { id source externalTicketNo } }
}
"""


async def _list(api: Api, tw: Any, user: str, **variables: Any) -> list[dict[str, Any]]:
    body = await api.gql(tw, user, Q, variables)
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["cases"]["nodes"]
    return nodes


async def test_source_and_ticket_on_report_and_in_the_list(api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    hotline = await report(api, a, "grid1", "B1", title="12345 转来: 噪音扰民", source="HOTLINE_12345",
                           externalTicketNo="GD20261203000123")
    own = await report(api, a, "resident", "B1", title="楼道灯不亮")
    patrol = await report(api, a, "grid1", "B1", title="井盖松动")
    other = await report(api, a, "admin", "B1", title="路灯")
    rows = {n["id"]: n for n in await _list(api, a, "admin")}
    assert rows[hotline["id"]] == {"id": hotline["id"], "source": "HOTLINE_12345",
                                   "externalTicketNo": "GD20261203000123"}
    assert (rows[own["id"]]["source"], rows[patrol["id"]]["source"], rows[other["id"]]["source"]) == (
        "RESIDENT_REPORT", "GRID_PATROL", "OTHER")
    assert [n["id"] for n in await _list(api, a, "admin", sources=["HOTLINE_12345"])] == [hotline["id"]]
    assert {n["id"] for n in await _list(api, a, "admin", sources=["RESIDENT_REPORT", "GRID_PATROL"])} == {
        own["id"], patrol["id"]}
    assert [n["id"] for n in await _list(api, a, "admin", ticket="GD20261203000123")] == [hotline["id"]]
    assert await _list(api, a, "admin", ticket="GD-NONE") == []
    # the same number in another tenant is that tenant's own work order
    ok(await call(api, b, "grid1", "reportCase", areaId=area_gid(b, "B1"), category="garbage", title="噪音",
                  source="HOTLINE_12345", externalTicketNo="GD20261203000123"))


async def test_a_ticket_number_is_unique_per_tenant(api: Api, fresh: World) -> None:
    a = fresh.a
    await report(api, a, "grid1", "B1", source="HOTLINE_12345", externalTicketNo="GD1")
    before = len(await _list(api, a, "admin"))
    failed(await call(api, a, "admin", "reportCase", areaId=area_gid(a, "B1"), category="garbage", title="again",
                      source="HOTLINE_12345", externalTicketNo=" GD1 "), "DUPLICATE_TICKET_NO", "externalTicketNo")
    failed(await call(api, a, "admin", "reportCase", areaId=area_gid(a, "B1"), category="garbage", title="bad",
                      externalTicketNo="工单 1"), "INVALID", "externalTicketNo")
    assert len(await _list(api, a, "admin")) == before  # nothing written


async def test_the_public_wall_shows_neither(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await add_resident(db, a, "neighbour", "P1", "h2a")  # a second resident of P1, who sees the wall
    case = await report(api, a, "resident", "B1", title="垃圾", source="HOTLINE_12345", externalTicketNo="GD77")
    assert {n["id"]: n for n in await _list(api, a, "resident")}[case["id"]]["externalTicketNo"] == "GD77"
    wall = {n["id"]: n for n in await _list(api, a, "neighbour")}
    assert wall[case["id"]] == {"id": case["id"], "source": None, "externalTicketNo": None}
    # nor can the wall be searched by number
    assert await _list(api, a, "neighbour", ticket="GD77") == []
