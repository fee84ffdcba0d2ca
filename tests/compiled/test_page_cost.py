"""A request's statements planned at the configured cost of a page read out of order (issue #21,
``GONGZHI_DB_RANDOM_PAGE_COST``, set in the request's first statement). At PostgreSQL's default (4, a disk's
seek) the planner scanned a small table whole once per row of a page rather than look the row up by its key:
the tenant's areas for each household's building, the tenant's care tags for each person. The plans here are
EXPLAINed on the request's own connection, in its own transaction, just before the page's statement runs. (The
test world's tables are not the portal mix's: at the default cost its plans already take these keys — the
plans here guard the shape, the setting in the request's transaction is what the default cost lacked.)"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support import citus
from tests.support.compiled import COMPILED_READ, both
from tests.support.harness import Api, DbEnv, World

HOUSEHOLDS = """query { households(first: 20) { totalCount nodes { id unit room addressMasked
  building { name } persons { id name piiMasked phone } } } }"""
PERSONS = """query { persons(first: 20) { totalCount nodes { id name phone careTags household { unit room } } } }"""


def _in_the_request(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """For each page statement (the compiled read) a request sends: the page cost in its transaction then, and
    the statement's plan there."""
    import tenants.session as ts

    seen: list[tuple[str, list[str]]] = []
    original = ts._fetchrow

    async def explained(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
        if sql.startswith("WITH scope_") or COMPILED_READ.match(sql):
            cost = await connection.fetchval("SELECT current_setting('random_page_cost')")
            plan = await connection.fetch("EXPLAIN (COSTS OFF) " + sql, *args)
            seen.append((cost, [r[0] for r in plan]))
        return await original(connection, sql, args)

    monkeypatch.setattr(ts, "_fetchrow", explained)
    return seen


async def _page(api: Api, db: DbEnv, fresh: World, document: str, field: str,
                monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.EXPLAIN_IN_REQUEST)
    seen = _in_the_request(monkeypatch)
    compiled, resolved, taken = await both(api, fresh.a, "grid1", document, {})
    assert taken and compiled == resolved
    assert orjson.loads(compiled)["data"][field]["nodes"]
    assert seen
    return seen[-1]


async def test_a_households_page_looks_each_building_up_by_its_key(api: Api, db: DbEnv, fresh: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cost, plan = await _page(api, db, fresh, HOUSEHOLDS, "households", monkeypatch)
    text = "\n".join(plan)
    assert not any("Seq Scan on areas a" in line for line in plan), text  # not the tenant's every area per household
    assert any("Index Scan" in line and " on areas a " in line + " " for line in plan), text
    assert float(cost) == 1.5 == api.settings.db_random_page_cost  # the default, set in the first statement


async def test_a_persons_page_reads_its_care_tags_by_an_index(api: Api, db: DbEnv, fresh: World,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if db.is_pg and not citus.ENABLED:
        # The table as the planner sees it in production: many tenants' tags, analyzed. A test world's few tags fit
        # in one page, and once the session's world is analyzed (tests.support.databases.analyze) reading that
        # page whole per person is the cheaper plan at any page cost — what this test guards against at scale.
        await _more_care_tags(db, fresh.b.tenant_id, per_person=400)
    cost, plan = await _page(api, db, fresh, PERSONS, "persons", monkeypatch)
    text = "\n".join(plan)
    care = [line for line in plan if " on person_care_tags ct" in line]
    # which index the tags go by depends on the statistics: the (tenant, person, code) key or the tenant's by
    # code; never the table read whole per person
    assert care and all("Seq Scan" not in line for line in care), text
    assert float(cost) == 1.5


async def _more_care_tags(db: DbEnv, tenant_id: Any, per_person: int) -> None:
    """``per_person`` care tags for each person of another tenant (``tenant_id``), then ANALYZE of the table."""
    from sqlalchemy import text

    from tenants.rls import set_tenant_sql

    async with db.owner_engine.begin() as conn:
        await conn.execute(text(set_tenant_sql(tenant_id)))
        added = await conn.execute(text(
            "INSERT INTO person_care_tags (tenant_id, id, created_at, person_id, code) "
            "SELECT p.tenant_id, gen_random_uuid(), now(), p.id, 'filler' || g FROM persons p "
            "CROSS JOIN generate_series(1, :n) g WHERE p.tenant_id = :t"), {"n": per_person, "t": tenant_id})
        assert added.rowcount >= 1000  # a table of some pages
    async with db.owner_engine.begin() as conn:
        await conn.execute(text("ANALYZE person_care_tags"))
