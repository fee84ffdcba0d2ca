"""Every request's first statement, ``gongzhi_request_actor`` (migration 0048, issue #21): the own
household's compound is found by the building path's prefixes through the (tenant_id, path) index, not
by reading every compound of the tenant (≈ 150 µs of PostgreSQL's CPU per request at the bench's scale
0.1, most of it for staff accounts, who have no household and found nothing). Checked on the answers for
every user of both tenants against the areas themselves, and on the lookup's plan for a user without a
building. (That the (tenant_id, path) index serves the lookup shows at the bench's sizes, bench/RESULTS.md:
the test world's areas fit one page, where PostgreSQL reads the page either way.)"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.support import citus
from tests.support.harness import DbEnv, World
from tests.support.paths import ROOT

pytestmark = pytest.mark.asyncio

_ACTOR = text("SELECT assignments::text, own::text FROM gongzhi_request_actor(:t, :u, now())")


def _function(migration: str) -> str:
    path = next((ROOT / "migrations" / "versions").glob(f"{migration}_*.py"))
    spec = importlib.util.spec_from_file_location(f"m{migration}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def _own_select(function: str) -> str:
    """The function's own-household SELECT, its parameters as :t and :u, without its INTO."""
    body = function.split("$fn$")[1]
    select = next(s for s in body.split(";") if "FROM members m" in s).strip()
    return select.replace("INTO own", "").replace("p_tenant", ":t").replace("p_user", ":u")


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


async def test_the_own_compound_is_the_building_paths_compound(db: DbEnv, world: World) -> None:
    if not db.is_pg:
        pytest.skip("gongzhi_request_actor is PostgreSQL's")
    for tw in (world.a, world.b):
        async with db.engine.connect() as conn, conn.begin():  # the function binds the tenant: RLS reads it
            await conn.execute(_ACTOR, {"t": tw.tenant_id, "u": next(iter(tw.users.values()))})
            compounds = set((await conn.execute(text(
                "SELECT path FROM areas WHERE tenant_id = :t AND kind = 'compound'"), {"t": tw.tenant_id})).scalars())
        assert len(compounds) >= 3
        seen = {"in a compound": 0, "no household": 0}
        for key, user in tw.users.items():
            async with db.engine.connect() as conn, conn.begin():
                _assignments, own = (await conn.execute(_ACTOR, {"t": tw.tenant_id, "u": user})).one()
            if own is None:
                continue
            _person, _household, building, compound = json.loads(own)
            expected = [p for p in compounds if building is not None and building.startswith(p)]
            assert compound == (expected[0] if expected else None), key
            if compound is not None:
                seen["in a compound"] += 1
            elif building is None:
                seen["no household"] += 1
        assert seen["in a compound"] >= 1 and seen["no household"] >= 1, seen


@pytest.mark.parametrize("migration,runs", [("0048", 0), ("0034", 1)])
async def test_no_compound_lookup_without_a_building(db: DbEnv, world: World, migration: str, runs: int) -> None:
    """A user with no household (the admin: most staff accounts) has no building, so there is no compound
    to find: the lookup is never run. 0034's read the tenant's compounds for it on every request."""
    if not db.is_pg:
        pytest.skip("gongzhi_request_actor is PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.PLAN_ON_COORDINATOR)
    tw = world.a
    admin = tw.users["admin"]
    async with db.engine.connect() as conn, conn.begin():
        _assignments, own = (await conn.execute(_ACTOR, {"t": tw.tenant_id, "u": admin})).one()
        assert json.loads(own)[2:] == [None, None]  # a member without a building
        plan = (await conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + _own_select(_function(migration))),
                                   {"t": tw.tenant_id, "u": admin})).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    lookups = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") == "areas" and n.get("Alias") == "c"]
    assert len(lookups) == 1, lookups
    assert lookups[0]["Actual Loops"] == runs, lookups[0]
