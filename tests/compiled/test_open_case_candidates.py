"""The open-case page's candidates (issue #21): a scope of several branches takes its page from the newest
first + 1 of each branch (compiled.case_filters.among_newest), the grid's compounds and their walls found by
parent links (policies.filters.grid_compound_ids_by_parent) — and every page, with filters and after a cursor,
must be the resolvers' page, byte for byte.

In the world (tests/support/world.py) G1 covers B1 of P1, G2 covers B2 (P1) and B3 (P2), G3 covers B4 of P3.
Here G1 comes to cover B3 instead of B1 after grid1 reported in B1: grid1's reports in B1 are then in its scope
only as its own reports (the reporter branch alone), the residents' wall cases in P1 reach grid2 only through
P1's wall (B1 is not G2's), P1's own cases reach grid2 as a compound its grid touches, and a case in B2 that
grid2's building and P1's wall both reach must come once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cases import area_gid, call, ok, report
from tests.support.compiled import compiled_statements, walk_pages
from tests.support.harness import Api, DbEnv, World

OPEN = ["REPORTED", "ACCEPTED", "DISPATCHED", "IN_PROGRESS", "REOPENED"]
LIST = """query Q($first: Int, $after: String, $states: [CaseState!], $priorities: [CasePriority!], $text: String) {
  cases(first: $first, after: $after, states: $states, priorities: $priorities, text: $text) {
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id number title state priority onProblemWall reportedByMe reporter { username }
                          area { id name } community { name } grid { name } timeline(last: 3) { seq action } } }
  }
}"""
SET_GRID_BUILDINGS = """mutation($i: SetGridBuildingsInput!) {
  m: setGridBuildings(input: $i) { errors { code } grid { buildingCount } } }"""


@pytest.fixture
async def branches(api: Api, fresh: World, db: DbEnv) -> Any:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    for i in range(3):
        await report(api, tw, "grid1", "B1", title=f"网格员上报{i}", priority="URGENT" if i else "NORMAL")
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # on P1's wall
        await report(api, tw, "resident", "B2", title=f"墙上二栋{i}")  # on P1's wall, in G2's B2: two branches
        await report(api, tw, "admin", "P1", title=f"小区门口{i}", priority="URGENT" if i == 1 else "NORMAL")
        await report(api, tw, "admin", "B3", title=f"三栋{i}")
        await report(api, tw, "admin", "B4", title=f"四栋{i}")
    rejected = await report(api, tw, "grid2", "B2", title="不受理")
    ok(await call(api, tw, "grid2", "rejectCase", id=rejected["id"], reason="不属于受理范围"))  # closed: filtered
    body = await api.gql(tw, "admin", SET_GRID_BUILDINGS, {"i": {
        "gridId": area_gid(tw, "G1"), "buildingIds": [area_gid(tw, "B3")]}})
    assert body["data"]["m"] == {"errors": [], "grid": {"buildingCount": 1}}, body
    return tw


@pytest.mark.parametrize("filters", [{}, {"priorities": ["URGENT"]}, {"text": "墙"}, {"states": ["REPORTED"]}])
async def test_open_case_pages_from_each_branch_are_the_resolvers_pages(api: Api, branches: Any,
                                                                        filters: dict[str, Any]) -> None:
    tw = branches
    with compiled_statements() as made:
        pages = 0
        for user in ("grid1", "grid2", "grid3", "resident", "chair", "admin"):
            for size in (1, 2, 5):
                pages += await walk_pages(api, tw, user, LIST, "cases", {"first": size, "states": OPEN, **filters})
    assert pages > 18, pages  # some lists ran to several pages (18: one page each)
    sql = [m[0] for m in made if m is not None]
    # the grid leaders' statements took the candidate scans, the compounds by parent links
    assert any("UNION ALL" in s and "pc_compound" in s for s in sql), len(sql)


async def test_grid1_reads_its_own_reports_outside_its_grid_and_p1s_wall_reaches_grid2(
        api: Api, branches: Any) -> None:
    """The branches the pages above came from are the ones the fixture meant (a page of only one branch
    would pass them too)."""
    tw = branches
    titles = {}
    for user in ("grid1", "grid2"):
        body = await api.gql(tw, user, LIST, {"first": 50, "states": OPEN})
        titles[user] = sorted(e["node"]["title"] for e in body["data"]["cases"]["edges"])
    # grid1: its own reports in B1 (reporter branch only) and B3 (its grid now); not P1's wall or P1
    assert titles["grid1"] == sorted([f"网格员上报{i}" for i in range(3)] + [f"三栋{i}" for i in range(3)])
    # grid2: B2 (its building and P1's wall, once), P1's wall in B1, P1 itself, B3; not grid1's reports in B1
    assert titles["grid2"] == sorted([f"楼道堆物{i}" for i in range(3)] + [f"墙上二栋{i}" for i in range(3)]
                                     + [f"小区门口{i}" for i in range(3)] + [f"三栋{i}" for i in range(3)])
