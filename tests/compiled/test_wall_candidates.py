"""A resident's open-case page takes its wall candidates from the compound's path by an index (issue #21).

The page's candidates (compiled.case_filters.among_newest) are the newest ids of each branch of the scope; a
resident's are its own reports and its compound's problem wall (``on_wall AND area_path`` under the compound).
The wall branch's path was written as LIKE, which row-level security keeps out of an index condition (LIKE is not
leakproof): the planner then read every open case of the tenant by (tenant, state) and filtered them for the
compound's wall — at bench scale 0.1 18,808 rows for 129, 12,442 buffers, ≈ 20 ms of PostgreSQL per page. As
starts_with (leakproof) the path index gives the compound's cases. Here a tenant with thousands of open cases in
another compound: the plan is the app role's under row-level security, with the request's own statement.

A grid leader's candidates hold the walls of the compounds its grids touch, read area by area: through the open
cases of each area (ix_cases_open_area) they read every open case not on the wall there and dropped it (bench op 1
with op 4's 3,600 reports: 3,720 rows dropped, 2,078 of the page's 3,580 buffers); through the open wall cases
(ix_cases_open_wall, migration 0061) they read only the wall's.

The problem wall (compiled/walls.py) names its compound by id: the compound's path is a value of the statement, and
``area_path LIKE path || '%'`` was no index condition, so a resident's wall read the tenant's cases (bench s0.1:
186,774 buffers); as the cases of the areas under that path it reads the compound's only."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support import citus
from tests.support.cases import copy_cases, report
from tests.support.compiled import compiled_plan
from tests.support.harness import Api, DbEnv, World

OPEN = ["REPORTED", "ACCEPTED", "DISPATCHED", "IN_PROGRESS", "REOPENED"]
LIST = """query Q($states: [CaseState!]) { cases(states: $states, first: 20) {
  nodes { id number title state onProblemWall reportedByMe area { name } } } }"""
WALL = """query Q($c: ID!) { problemWall(compoundId: $c, first: 20) {
  hasNextPage endCursor nodes { number title state area { name } } } }"""
ELSEWHERE = 3000  # open cases in another compound (B4, of P3): what the wall branch must not read


async def test_a_residents_wall_candidates_read_the_compounds_cases_not_the_tenants(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = fresh.a
    for i in range(2):
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # on P1's wall
        await report(api, tw, "admin", "B4", title=f"四栋{i}")
    assert await copy_cases(db, tw.tenant_id, ELSEWHERE, "c.area_id = :b4 AND c.title = '四栋0'",
                            {"b4": tw.areas["B4"]}) == ELSEWHERE
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, "resident", LIST, {"states": OPEN},
                                         root="cases", analyze="cases")
    titles = sorted(n["title"] for n in orjson.loads(compiled)["data"]["cases"]["nodes"])
    assert titles == ["楼道堆物0", "楼道堆物1"], titles
    removed = [int(m.group(1)) for line in plan if (m := re.search(r"Rows Removed by Filter: (\d+)", line))]
    # no scan reads the other compound's open cases to drop them (on the base: all 3,000+ by (tenant, state))
    assert max(removed, default=0) < ELSEWHERE // 2, "\n".join(plan)
    # the compound's areas (an index of areas; which one is the planner's, by the tenant's size), then each area's
    # open wall cases by ix_cases_open_wall
    assert any("using ix_cases_open_wall" in line for line in plan), "\n".join(plan)


@pytest.mark.parametrize("user", ["grid2", "resident"])
async def test_a_walls_candidates_read_no_open_case_off_the_wall(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """grid2 reads P1's wall area by area (G2 covers B2 of P1); the resident (of P1) reads it by its compound's
    path, which took the path index over every case of P1 (on the base all 3,000 dropped), now the compound's
    areas each by ix_cases_open_wall."""
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = fresh.a
    for i in range(2):
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # on P1's wall: grid2's through P1 (G2 covers B2)
        await report(api, tw, "grid1", "B1", title=f"一栋{i}")  # not on the wall, in G1's B1: neither's
    assert await copy_cases(db, tw.tenant_id, ELSEWHERE, "c.area_id = :b1 AND c.title = '一栋0'",
                            {"b1": tw.areas["B1"]}, on_wall="false") == ELSEWHERE
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, user, LIST, {"states": OPEN},
                                         root="cases", analyze="cases")
    titles = sorted(n["title"] for n in orjson.loads(compiled)["data"]["cases"]["nodes"])
    assert titles == ["楼道堆物0", "楼道堆物1"], titles
    # no scan of cases reads one to drop it: not B1's open cases off the wall (on the base all 3,000: grid2's by
    # ix_cases_open_area in the loop over the wall's areas, a node's "Rows Removed" being per loop; the resident's
    # by the path index)
    assert _dropped(plan) == 0, "\n".join(plan)
    walls = [line for line in plan if "using ix_cases_open_wall" in line]
    assert walls and all("never executed" not in line for line in walls), "\n".join(plan)


async def test_a_residents_problem_wall_reads_its_compounds_cases_not_the_tenants(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = fresh.a
    for i in range(2):
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # on P1's wall
        await report(api, tw, "admin", "B4", title=f"四栋{i}")  # P3: another compound
    assert await copy_cases(db, tw.tenant_id, ELSEWHERE, "c.area_id = :b4 AND c.title = '四栋0'",
                            {"b4": tw.areas["B4"]}) == ELSEWHERE
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, "resident", WALL, {"c": compound_gid(tw, "P1")},
                                         root="problemWall", analyze="cases")
    titles = sorted(n["title"] for n in orjson.loads(compiled)["data"]["problemWall"]["nodes"])
    assert titles == ["楼道堆物0", "楼道堆物1"], titles
    # the compound's cases only (on the base the tenant's, 3,000 of P3's among them, each dropped)
    assert _dropped(plan) < ELSEWHERE // 2, "\n".join(plan)


def compound_gid(tw: Any, key: str) -> str:
    return encode_global_id("Compound", tw.areas[key])


def _dropped(plan: list[str]) -> int:
    """The cases the plan's scans of cases read and dropped by a filter, over all their loops."""
    loops, dropped = 0, 0
    for line in plan:
        if m := re.search(r"loops=(\d+)\)", line):  # a node: its filter's count is per loop
            loops = int(m.group(1)) if re.search(r" on cases( |$)", line) else 0
        if m := re.search(r"Rows Removed by Filter: (\d+)", line):
            dropped += int(m.group(1)) * loops
    return dropped


@pytest.mark.parametrize("user", ["grid2", "resident"])
async def test_a_problem_walls_compound_is_checked_once(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """The compound the wall names is read under the actor's area·read check once (compiled.sql.once), for the
    guard (NOT_FOUND) and the page alike: as two subqueries PostgreSQL ran the check twice — for a grid leader the
    walk of its grids' compounds, 4,462 of the 5,888 buffers of a problemWall at bench scale 0.1 (h-wall)."""
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    tw = fresh.a
    await report(api, tw, "resident", "B1", title="楼道堆物")  # on P1's wall
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, user, WALL, {"c": compound_gid(tw, "P1")},
                                         root="problemWall", analyze="areas")
    assert [n["title"] for n in orjson.loads(compiled)["data"]["problemWall"]["nodes"]] == ["楼道堆物"]
    # on Citus the check is read in the worker's plan, below the router task (the whole statement, its CTE
    # too, runs on the tenant's worker: the same plan, the shard named areas_<shard id>)
    checks = [line for line in plan if re.search(rf" on {citus.relation('areas')} wc(_\d+)?( |$)", line)]
    assert len(checks) == 1, "\n".join(plan)
    assert "never executed" not in checks[0], "\n".join(plan)
