"""A grid worker's scope computed once per statement (issue #21, policies.filters.scope_buildings): a register
page tests the scope in its count, its rows, each household's persons and their buildings; as subqueries
PostgreSQL computed the same set of buildings for each (seven scans of the scope's areas in a households
page), as the one CTE it computes it once. The answers are the resolvers' (the equivalence tests), the plan
is the app role's under row-level security with the request's own parameters."""

from __future__ import annotations

import re

import orjson
import pytest

from gongzhi.http.read_audit import read_of
from tests.support import citus
from tests.support.compiled import COMPILED_READ, both
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import plan_as_app, statements_sent

HOUSEHOLDS = """query { households(first: 20) { totalCount nodes { id unit room addressMasked
  building { name } persons { id name piiMasked phone } } } }"""
PERSONS = """query { persons(first: 20) { totalCount nodes { id name phone household { room } } } }"""


async def _page_statement(api: Api, db: DbEnv, fresh: World, document: str, field: str,
                          monkeypatch: pytest.MonkeyPatch) -> tuple[str, tuple[object, ...]]:
    """A grid worker's page on the compiled path, its answer the resolvers' and not empty: the statement sent."""
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, fresh.a, "grid1", document, {})
    assert taken and compiled == resolved
    assert orjson.loads(compiled)["data"][field]["nodes"]
    # the read itself, also where it writes its full reads' audit entry (gongzhi.http.read_audit: plan_as_app explains
    # the read of such a statement)
    sql, args = next((s, a) for s, a in sent if (r := (read_of(s) or (s, 0))[0]).startswith("WITH scope_")
                     or COMPILED_READ.match(r))
    return sql, tuple(args)


@pytest.mark.parametrize("document, field", [(HOUSEHOLDS, "households"), (PERSONS, "persons")])
async def test_a_grid_workers_page_computes_its_scope_once(api: Api, db: DbEnv, fresh: World, document: str,
                                                           field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sql, args = await _page_statement(api, db, fresh, document, field, monkeypatch)
    plan = await plan_as_app(db, fresh.a.tenant_id, sql, args)
    # on Citus in the worker's plan, below the router task (tests.support.citus.relation)
    scans = [line for line in plan if re.search(rf" on {citus.relation('areas')} scope_area\b", line)]
    assert len(scans) == 1, "\n".join(plan)


@pytest.mark.parametrize("document, field, tests_of_reach", [(HOUSEHOLDS, "households", 3), (PERSONS, "persons", 3)])
async def test_a_grid_workers_page_computes_its_persons_reach_once(api: Api, db: DbEnv, fresh: World, document: str,
                                                                   field: str, tests_of_reach: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The persons' reach (policies.filters.reach_households: the households in the scope's buildings) is one CTE
    too: a persons page tests it in its count, its rows and each field that masks, a households page in each
    household's persons and their fields; as subqueries PostgreSQL scanned the tenant's households for each."""
    sql, args = await _page_statement(api, db, fresh, document, field, monkeypatch)
    assert sql.count("reach_household.building_id IN") == 1, sql  # the reach written once, used by name
    assert sql.count("FROM reach_") >= tests_of_reach, sql
    plan = await plan_as_app(db, fresh.a.tenant_id, sql, args)
    scans = [line for line in plan if re.search(rf" on {citus.relation('households')} reach_household\b", line)]
    assert len(scans) == 1, "\n".join(plan)
