"""Case.grid means one thing on both read paths (issue #20): the grids covering the case's building
that the actor may read, first by name; else the case's own area when it is a readable grid; else null
(policies.filters.CaseGrid, which the resolver and the compiled read are built from).

The shared cases world has one grid per building and no case at a grid, so neither "first by name
among the readable" nor the fallback is exercised there: this world adds both."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from models import Area, AreaKind
from tenants.session import bind_tenant
from tests.support.cases import area_gid, report
from tests.support.compiled import both
from tests.support.harness import Api, DbEnv, World

USERS = ("admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4", "secretary2",
         "expired", "nobody")
GRID = "grid { __typename id name kind }"
NODE = "query N($id: ID!) { node(id: $id) { __typename id ... on Case { title @GRID } } }".replace("@GRID", GRID)
CASES = "query { cases(first: 50) { nodes { id title @GRID } } }".replace("@GRID", GRID)
SET_GRID_BUILDINGS = """mutation($i: SetGridBuildingsInput!) {
  m: setGridBuildings(input: $i) { errors { code } grid { buildingCount } } }"""


@pytest.fixture
async def grid_cases(api: Api, fresh: World, db: DbEnv) -> Any:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    # B1 is covered by 一网格 (G1) and now 二网格 (G2) too: a grid leader of each reads only their own.
    body = await api.gql(tw, "admin", SET_GRID_BUILDINGS, {"i": {
        "gridId": area_gid(tw, "G2"), "buildingIds": [area_gid(tw, k) for k in ("B1", "B2", "B3")]}})
    assert body["data"]["m"] == {"errors": [], "grid": {"buildingCount": 3}}, body
    cases = {"two": await report(api, tw, "admin", "B1", title="两个网格"),
             "none": await report(api, tw, "admin", "P1", title="小区无网格"),
             "at_grid": await report(api, tw, "admin", "G1", title="网格内")}
    return tw, cases


async def test_case_grid_is_the_first_readable_covering_grid_on_both_paths(api: Api, grid_cases: Any, db: DbEnv
                                                                           ) -> None:
    tw, cases = grid_cases
    grid_of = {}
    for user in USERS:
        for gid in (c["id"] for c in cases.values()):
            compiled, resolved, taken = await both(api, tw, user, NODE, {"id": gid})
            assert taken and compiled == resolved, (user, gid)
            node = orjson.loads(compiled)["data"]["node"]
            grid_of[user, gid] = node and node["grid"] and node["grid"]["name"]
        compiled, resolved, taken = await both(api, tw, user, CASES, {})
        assert taken and compiled == resolved, user
    two, none, at_grid = cases["two"]["id"], cases["none"]["id"], cases["at_grid"]["id"]
    assert grid_of["grid1", two] == "一网格" and grid_of["grid2", two] == "二网格"  # only the readable one
    async with db.sessionmaker() as s:  # "first by name" in the database's own collation
        bind_tenant(s, tw.tenant_id)
        first = (await s.scalars(sa.select(Area.name).where(Area.kind == AreaKind.GRID,
                                                            Area.name.in_(("一网格", "二网格")))
                                 .order_by(Area.name).limit(1))).one()
    assert grid_of["admin", two] == first
    assert grid_of["admin", at_grid] == grid_of["grid1", at_grid] == "一网格"  # its own area, a grid
    assert grid_of["grid2", at_grid] is None  # a grid that is not yours to see
    assert grid_of["admin", none] is None  # a compound that no grid covers, and no grid itself
