"""What a handling desk filters cases by (issue #23): priority, the period reported in, the handling unit
(kind, firm, and partner unit by its record — issue #22), and a keyword — on the general path, and on the
compiled path, which answers them in its one statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support.cases import accept, area_gid, call, dispatch_firm, firm_gid, ok, report
from tests.support.cobuilding import community, make_agreement, make_unit
from tests.support.compiled import both
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

Q = """query($p: [CasePriority!], $f: DateTime, $b: DateTime, $k: HandlerKind, $firm: ID, $pu: ID, $t: String) {
  cases(priorities: $p, reportedFrom: $f, reportedBefore: $b, handlerKind: $k, handlerFirmId: $firm,
        handlerPartnerUnitId: $pu, text: $t, first: 50) { totalCount nodes { title } } }"""


def at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def partner_handled(api: Api, tw: TenantWorld, title: str) -> tuple[str, str]:
    """A case in B1 dispatched to a partner unit with an agreement for 东风社区 (C1), and another unit with one
    too that handles nothing: their global ids."""
    unit, idle = await make_unit(api, tw, "蓝天救援队", 61), await make_unit(api, tw, "林邑社工服务中心", 62)
    for u in (unit, idle):
        await make_agreement(api, tw, u, [community(tw, "C1")])
    case = await accept(api, tw, await report(api, tw, "resident", "B1", title=title, category="drainage",
                                                priority="HIGH"))
    ok(await call(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit))
    return unit, idle


async def test_cases_by_priority_period_handler_and_text(api: Api, fresh: World) -> None:
    a = fresh.a
    await report(api, a, "resident", "B1", title="井盖缺失", category="garbage", priority="URGENT",
                 description="夜间有人绊倒")
    piped = await report(api, a, "resident", "B1", title="下水道堵塞", category="drainage")
    await accept(api, a, piped)
    await dispatch_firm(api, a, piped)
    unit, idle = await partner_handled(api, a, "污水外溢")

    async def titles(who: str = "admin", **v: object) -> set[str]:
        return {n["title"] for n in (await api.gql(a, who, Q, v))["data"]["cases"]["nodes"]}

    assert await titles(p=["URGENT"]) == {"井盖缺失"}
    assert await titles(p=["NORMAL", "LOW"]) == {"下水道堵塞"}
    assert await titles(f=at(-1), b=at(1)) == {"井盖缺失", "下水道堵塞", "污水外溢"}
    assert await titles(f=at(1)) == set()
    assert await titles(k="PROPERTY_FIRM") == {"下水道堵塞"}
    assert await titles(firm=firm_gid(a)) == {"下水道堵塞"}
    assert await titles(firm=firm_gid(a), p=["URGENT"]) == set()
    assert await titles(k="PARTNER_UNIT") == {"污水外溢"}
    assert await titles(pu=unit) == {"污水外溢"}
    assert await titles(pu=idle) == set()
    assert await titles(pu=unit, firm=firm_gid(a)) == set()
    assert await titles("grid1", pu=unit) == {"污水外溢"}
    assert await titles("resident", pu=unit) == {"污水外溢"}  # their own report
    assert await titles("firm", pu=unit) == {"污水外溢"}  # in a compound the firm serves
    assert await titles("grid3", pu=unit) == set()  # outside the grid leader's reach: the filter widens nothing
    wrong = await api.gql(a, "admin", Q, {"pu": firm_gid(a)}, allow_errors=True)  # a firm's id is no partner unit's
    assert wrong["errors"][0]["extensions"]["field"] == "handlerPartnerUnitId", wrong
    assert await titles(t="下水道") == {"下水道堵塞"}
    assert await titles(t="绊倒") == {"井盖缺失"}  # the description, seen in full by the admin
    assert await titles(t="100%") == set()  # a LIKE wildcard is a character here
    bad = await api.gql(a, "admin", Q, {"f": at(1), "b": at(-1)}, allow_errors=True)
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID", "reportedBefore"), bad
    # Another street office sees none of them, whatever it filters by.
    assert (await api.gql(fresh.b, "admin", Q, {"t": "下水道"}))["data"]["cases"]["totalCount"] == 0


FULL = """query($a: ID, $p: [CasePriority!], $f: DateTime, $b: DateTime, $k: HandlerKind, $firm: ID, $pu: ID,
            $t: String, $src: [CaseSource!], $no: String, $mine: Boolean, $flag: Boolean, $o: CaseOrder!, $first: Int) {
  cases(areaId: $a, priorities: $p, reportedFrom: $f, reportedBefore: $b, handlerKind: $k, handlerFirmId: $firm,
        handlerPartnerUnitId: $pu, text: $t, sources: $src, externalTicketNo: $no, assignedToMe: $mine,
        closureFlagged: $flag, order: $o, first: $first) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { title state overdue dueAt } } } }"""


async def test_the_compiled_read_filters_as_the_resolvers(api: Api, fresh: World, db: DbEnv) -> None:
    """Every filter of the handling desk on the compiled path (PostgreSQL): the same bytes as the resolvers,
    for readers of different reach; a value the resolvers refuse (a reversed window, a foreign area id, an
    unknown area, too long a text) is handed to them and answered with their error."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    a = fresh.a
    await report(api, a, "resident", "B1", title="井盖缺失_100%", category="garbage", priority="URGENT",
                 description="夜间有人绊倒")
    piped = await report(api, a, "resident", "B1", title="下水道堵塞", category="drainage")
    await dispatch_firm(api, a, await accept(api, a, piped))
    await report(api, a, "grid2", "B3", title="路灯不亮", category="other", priority="HIGH")
    unit, idle = await partner_handled(api, a, "污水外溢")
    wide = {"o": "NEWEST", "first": 50}
    variants: list[dict[str, object]] = [
        {}, {"a": area_gid(a, "P1")}, {"a": area_gid(a, "G2")}, {"p": ["URGENT", "HIGH"]}, {"f": at(-1), "b": at(1)},
        {"f": at(1)}, {"k": "PROPERTY_FIRM"}, {"firm": firm_gid(a)}, {"t": "下水道"}, {"t": "绊倒"}, {"t": "_100%"},
        {"t": "100%"}, {"src": ["RESIDENT_REPORT"]}, {"src": ["GRID_PATROL", "HOTLINE_12345"]}, {"no": " X-1 "},
        {"mine": True}, {"flag": False}, {"o": "OVERDUE_FIRST", "p": ["NORMAL", "URGENT"]},
        {"o": "DUE_SOONEST", "first": 1}, {"o": "DUE_SOONEST", "k": "PROPERTY_FIRM"},
        {"k": "PARTNER_UNIT"}, {"pu": unit}, {"pu": idle}, {"pu": unit, "k": "PARTNER_UNIT", "o": "OVERDUE_FIRST"},
    ]
    refused = [{"f": at(1), "b": at(-1)}, {"a": firm_gid(a)}, {"a": area_gid(fresh.b, "P1")}, {"t": "长" * 51},
               {"pu": firm_gid(a)}]
    for user in ("admin", "grid1", "firm", "resident"):
        for extra in variants:
            compiled, resolved, taken = await both(api, a, user, FULL, {**wide, **extra})
            assert taken and compiled == resolved, (user, extra)
        for extra in refused:
            # declined when compiling, or (an unknown area) by the statement's guard: the resolvers answer
            compiled, resolved, _ = await both(api, a, user, FULL, {**wide, **extra})
            assert compiled == resolved and b'"errors"' in compiled, (user, extra)
    # not two empty answers: the admin's keyword and area filters find what the general path finds
    body = orjson.loads((await both(api, a, "admin", FULL, {**wide, "t": "_100%"}))[0])
    assert [e["node"]["title"] for e in body["data"]["cases"]["edges"]] == ["井盖缺失_100%"]
    body = orjson.loads((await both(api, a, "admin", FULL, {**wide, "a": area_gid(a, "G2")}))[0])
    assert [e["node"]["title"] for e in body["data"]["cases"]["edges"]] == ["路灯不亮"]
    body = orjson.loads((await both(api, a, "grid1", FULL, {**wide, "pu": unit}))[0])
    assert [e["node"]["title"] for e in body["data"]["cases"]["edges"]] == ["污水外溢"]
