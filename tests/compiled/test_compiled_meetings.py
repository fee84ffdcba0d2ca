"""The compiled meetings list (compiled/meetings.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The meetings are held for areas above and
below the users' scopes, convened by two users, starting over the coming days; one is closed with
its minutes, one called off with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.deliberation.test_deliberation_lifecycle import CANCEL_MEETING
from tests.deliberation.test_deliberation_public import CLOSE_MEETING, CONVENE
from tests.support.compiled import agree, both, module_tenant, walk_pages
from tests.support.deliberation import area, codes
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

MEETING_SELECTION = """
  __typename id title startsAt place state minutes cancelReason version closedAt
  area { __typename id name kind ... on Compound { propertyManagement } }
  convener { username displayName }
"""

MEETINGS = """
query Meetings($first: Int, $after: String, $areaId: ID, $states: [MeetingState!], $from: DateTime,
               $before: DateTime) {
  meetings(first: $first, after: $after, areaId: $areaId, states: $states, startsFrom: $from,
           startsBefore: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @MEETING } }
    nodes { id title }
  }
}
""".replace("@MEETING", MEETING_SELECTION)

# The portal's list as bench/mix_ops.py sends it, and fragments, aliases and a list asked twice.
PORTAL = """
query Meetings { meetings(first: 20) { totalCount pageInfo { hasNextPage endCursor }
                 nodes { id title startsAt place state area { name } } } }
"""
MEETINGS_FRAGMENTS = """
query { a: meetings(first: 1) { nodes { ...F } }
        b: meetings(states: [CONVENED]) { edges { node { ... on Node { id } ...F } } }
        c: meetings { totalCount } d: meetings(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Meeting { id t: title state ...G }
fragment G on Meeting { convener { displayName } area { name } }
"""

MEETING_DOCUMENTS = (MEETINGS, PORTAL, MEETINGS_FRAGMENTS)

# (convener, area, title, starts in hours): the street, communities, a zone, compounds, a building.
MEETINGS_OF_THE_WORLD = (
    ("chair", "P1", "幸福小区议事会", 24), ("admin", "S", "街道议事会", 200), ("admin", "C1", "一社区议事会", 72),
    ("admin", "C2", "二社区议事会", 12), ("chair", "P1", "电梯议事会", 48), ("admin", "P3", "湖畔议事会", 100),
    ("admin", "B1", "楼栋议事会", 30), ("admin", "Z1", "片区议事会", 150), ("chair", "P1", "已闭会议事会", 6),
    ("chair", "P1", "已取消议事会", 300),
)


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture(scope="module")
async def meeting_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    ids = {}
    for who, where, title, hours in MEETINGS_OF_THE_WORLD:
        r = await api.gql(tw, who, CONVENE, {"i": {"areaId": area(tw, where), "title": title, "startsAt": _in(hours),
                                                   "place": f"{title}会场",
                                                   "attendees": [{"organisation": "安居物业"}]}})
        assert codes(r["data"]["conveneMeeting"]) == [], (who, where, r)
        ids[title] = str(r["data"]["conveneMeeting"]["meeting"]["id"])
    r = await api.gql(tw, "chair", CLOSE_MEETING, {"i": {"id": ids["已闭会议事会"], "minutes": "与会居民同意修缮"}})
    assert codes(r["data"]["closeMeeting"]) == [], r
    r = await api.gql(tw, "chair", CANCEL_MEETING, {"i": {"id": ids["已取消议事会"], "reason": "改期"}})
    assert codes(r["data"]["cancelMeeting"]) == [], r
    return tw, ids


# One test per user (CI time, issue #21: the users' loop was one test that one worker ran alone at
# the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_meeting_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, meeting_tenant: Any,
                                                                           user: str) -> None:
    tw, _ = meeting_tenant
    areas = [area(tw, k) for k in ("S", "C1", "P1", "B1", "C2")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 50, "states": ["CLOSED", "CANCELLED"]},
                                   {"states": ["CONVENED"]}, {"from": _in(40)}, {"before": _in(40)},
                                   {"from": _in(20), "before": _in(120), "states": ["CONVENED"]}]
    pages += [{"areaId": a} for a in areas] + [{"areaId": areas[2], "states": ["CONVENED"], "from": _in(1)}]
    for variables in pages:
        await agree(api, tw, user, MEETINGS, variables)
    for document in (PORTAL, MEETINGS_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_meeting_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, meeting_tenant: Any) -> None:
    tw, _ = meeting_tenant
    seen_pages = 0
    for user in USERS:
        for extra in ({}, {"from": _in(10)}):  # page by page from the cursors, to the end
            variables = {"first": 2, **extra}
            seen_pages += await walk_pages(api, tw, user, MEETINGS, "meetings", variables, 20)
    assert seen_pages > 3 * len(USERS), seen_pages  # several users' lists ran to several pages


async def test_a_meeting_list_has_real_content(api: Api, meeting_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers: what the lists hold."""
    tw, _ = meeting_tenant

    async def nodes(user: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, MEETINGS, {"first": 50, **variables}))[0])
        conn = body["data"]["meetings"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"] for e in conn["edges"]]

    everything = [t for _, _, t, _ in reversed(MEETINGS_OF_THE_WORLD)]
    assert [n["title"] for n in await nodes("admin", {})] == everything  # newest first
    by_title = {n["title"]: n for n in await nodes("admin", {})}
    closed, cancelled = by_title["已闭会议事会"], by_title["已取消议事会"]
    assert closed["state"] == "CLOSED" and closed["minutes"] == "与会居民同意修缮" and closed["closedAt"]
    assert cancelled["state"] == "CANCELLED" and cancelled["cancelReason"] == "改期" and cancelled["version"] == 2
    assert by_title["电梯议事会"]["convener"]["username"] == tw.username("chair")
    assert by_title["电梯议事会"]["area"]["name"] == "幸福小区" and by_title["电梯议事会"]["place"] == "电梯议事会会场"
    assert {n["title"] for n in await nodes("admin", {"states": ["CONVENED"], "from": _in(40), "before": _in(160)})
            } == {"电梯议事会", "一社区议事会", "湖畔议事会", "片区议事会"}
    # the resident: the own compound's meetings (its building's too) and those of the areas above it
    assert {n["title"] for n in await nodes("resident", {})} == {"幸福小区议事会", "街道议事会", "一社区议事会",
                                                                 "电梯议事会", "楼栋议事会", "已闭会议事会",
                                                                 "已取消议事会"}
    assert {n["title"] for n in await nodes("resident4", {})} == {"片区议事会", "湖畔议事会", "二社区议事会",
                                                                  "街道议事会"}
    assert await nodes("nobody", {}) == []
    # inside the second community: its zone and the compound in it
    assert {n["title"] for n in await nodes("admin", {"areaId": area(tw, "C2")})} == {"二社区议事会", "片区议事会",
                                                                                     "湖畔议事会"}


async def test_a_bad_meeting_argument_is_the_resolvers_error_either_way(api: Api, meeting_tenant: Any) -> None:
    """An unknown area (NOT_FOUND), an ID of no area, a page size out of range, a bad cursor, a period
    empty, reversed or without a zone: the resolvers' typed errors, the same bytes either way."""
    tw, _ = meeting_tenant
    naive = (datetime.now(UTC) + timedelta(hours=5)).replace(tzinfo=None).isoformat()
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"},
                                 {"from": _in(10), "before": _in(5)}, {"from": naive}, {"before": naive}]
    at = _in(10)
    bad.append({"from": at, "before": at})
    for user in ("admin", "resident", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, MEETINGS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)
    # a good period after a bad one (and a bad one after a good one) with the plan of the same document
    for variables in ({"from": _in(1)}, {"from": _in(10), "before": _in(5)}, {"from": _in(1), "before": _in(500)}):
        compiled, resolved, taken = await both(api, tw, "admin", MEETINGS, variables)
        assert compiled == resolved and taken == (b'"errors"' not in compiled), (variables, compiled)


async def test_a_meeting_list_with_a_field_not_compiled_takes_the_general_path(api: Api, meeting_tenant: Any
                                                                              ) -> None:
    tw, _ = meeting_tenant
    query = "query { meetings { nodes { title agenda { position } attendees { name attended } } } }"
    compiled, resolved, taken = await both(api, tw, "chair", query, {})
    assert not taken and compiled == resolved and b"attendees" in compiled and b"\xe5\xae\x89" in compiled


async def test_a_compiled_meeting_list_is_one_statement_whatever_the_page_size(api: Api, meeting_tenant: Any
                                                                                ) -> None:
    tw, _ = meeting_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "chair", "query { __typename }")
        _, resolved = await api.counted(tw, "chair", MEETINGS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "chair", MEETINGS, {"first": first})
    _, counts[0] = await api.counted(tw, "chair", MEETINGS, {"first": 2, "areaId": area(tw, "P1"),
                                                             "from": _in(1), "before": _in(100)})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
