"""A secretary's open-case page reads no area's cases that its community's own scan gives already (issue #21).

The page's candidates (compiled.case_filters.among_newest) are the newest ids of each branch of the scope. A
community party secretary's are the community's cases by path, the buildings its grids cover, the compounds those
grids touch and those compounds' walls — each area-id branch read area by area by ix_cases_open_area. Areas inside
the community hold only cases of the path branch (a case's area_path is its area's path), whose newest the path
scan gives: on the base each such area was read again (bench.secretary op1 at s0.1: 100 area scans, 3,078 open
cases, 2,895 buffers). Here the community's buildings hold many open cases, and P2 moves to C2 while B3 stays G2's
(in C1), so the branches keep areas outside the community: their cases come from the grid's branch and the compound
G2 touches alone. The compounds the grids touch are walked to once per statement (policies.filters
grid_compound_ids_by_parent's CTE), not once in the compounds' branch and twice in the walls'. Every page is the
resolvers', byte for byte; the plan is the app role's under row-level security."""

from __future__ import annotations

import re

import orjson
import pytest

from tests.support import citus
from tests.support.cases import area_gid, copy_cases, report
from tests.support.compiled import both, compiled_plan, walk_pages
from tests.support.harness import Api, DbEnv, World

OPEN = ["REPORTED", "ACCEPTED", "DISPATCHED", "IN_PROGRESS", "REOPENED"]
LIST = """query Q($first: Int, $after: String, $states: [CaseState!]) {
  cases(first: $first, after: $after, states: $states) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id number title state onProblemWall reporter { username } area { name }
                          community { name } grid { name } } } } }"""
TEXT = """query Q($text: String, $states: [CaseState!]) { cases(text: $text, states: $states, first: 5) {
  edges { node { title onProblemWall area { name } } } } }"""
MOVE = "mutation($i: MoveAreaInput!) { m: moveArea(input: $i) { errors { code } } }"
INSIDE = 300  # more open cases in each of B1 and B2 (C1): what the area branches need not read


async def test_a_secretarys_candidates_read_no_area_inside_the_community_again(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = fresh.a
    for i in range(2):
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # on P1's wall
        await report(api, tw, "admin", "B2", title=f"二栋{i}")
        await report(api, tw, "admin", "B3", title=f"三栋{i}")  # C2 after the move: the secretary's through G2
        await report(api, tw, "admin", "P2", title=f"老街{i}")  # C2 after the move: as a compound G2 touches
        await report(api, tw, "admin", "B4", title=f"四栋{i}")  # C2: not the secretary's
    body = await api.gql(tw, "admin", MOVE, {"i": {"id": area_gid(tw, "P2"), "newParentId": area_gid(tw, "C2")}})
    assert body["data"]["m"]["errors"] == [], body  # P2 (B3) now in C2, B3 still G2's (in C1)
    assert await copy_cases(db, tw.tenant_id, INSIDE, "c.title IN ('楼道堆物0', '二栋0')",
                            title="c.title || '-' || g") == 2 * INSIDE
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, "secretary", LIST, {"first": 20, "states": OPEN},
                                         root="cases", analyze="cases")  # (a CTE of the grids' compounds first)
    read = sum(int(m.group(1)) * int(m.group(2)) for line in plan if "ix_cases_open_area" in line
               and (m := re.search(r"rows=(\d+) loops=(\d+)", line)))
    # the area scans read B3's and P2's few cases only (on the base also B1's and B2's newest, and their walls)
    assert read <= 10, "\n".join(plan)
    # the grids' buildings walked to their compounds once (a CTE), not in each of the compounds' and walls' branches
    walks = [line for line in plan if re.search(r" on areas pc_grid(_\d+)? ", line) and "never executed" not in line]
    assert len(walks) == 1, "\n".join(plan)
    # every page is the resolvers' (608 open cases: 7 pages of 100)
    assert await walk_pages(api, tw, "secretary", LIST, "cases", {"first": 100, "states": OPEN}) == 7
    assert orjson.loads(compiled)["data"]["cases"]["pageInfo"]["hasNextPage"]
    # B3's cases through G2, P2's as a compound G2 touches: the areas outside the community kept; not B4's
    for term, titles in (("三栋", {"三栋0", "三栋1"}), ("老街", {"老街0", "老街1"}), ("四栋", set()),
                         ("二栋1", {"二栋1"})):
        compiled, resolved, taken = await both(api, tw, "secretary", TEXT, {"text": term, "states": OPEN})
        assert taken and compiled == resolved
        assert {e["node"]["title"] for e in orjson.loads(compiled)["data"]["cases"]["edges"]} == titles, compiled
