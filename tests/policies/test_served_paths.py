"""A firm's served areas joined by a range of their paths (issue #21; policies.paths).

``buildings_served`` joined every area of the tenant to every served compound by a prefix test between two
columns, which no index serves: a firm's open-case page tested 561 × 10 paths three times at bench scale 0.1.
Now the compound's path comes with its successor and the join is a byte-order range on the paths' pattern index,
the prefix test kept. Here: the range is a necessary condition of the prefix for every kind of last character (so
no served area is lost) on both backends; the served areas are those of the plain prefix join; and on PostgreSQL
the firm's open-case page finds them by the range as an index condition, as the app role under row-level
security."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import literal, select, text

from models import Area
from policies.filters import buildings_served, served_compounds
from policies.paths import path_in_range, path_successor
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support import citus
from tests.support.cases import report
from tests.support.compiled import compiled_plan
from tests.support.harness import Api, DbEnv, World

MANY = 2000  # buildings of another compound (B4's, P3): what the served areas' join must not test one by one
PREFIXES = ("/a1/", "/a1/b2/", "/x", "/é/", "/中/", "/😀/", "/a~")


async def test_the_range_holds_every_path_the_prefix_holds(db: DbEnv) -> None:
    candidates = {p + s for p in PREFIXES for s in ("", "0", "ff/", "é", "中文/", "😀", "~", "\x7f")}
    candidates |= {"/a0/", "/a10/", "/a2", "/b", "/", "/a1", "/é", "/中", "/😀", "/a}"}
    async with db.sessionmaker() as s:
        for prefix in PREFIXES:
            upper = await s.scalar(select(path_successor(literal(prefix))))
            assert upper is not None and upper > prefix and not upper.startswith(prefix), (prefix, upper)
            for path in sorted(candidates):
                ranged = await s.scalar(select(path_in_range(literal(path), literal(prefix), literal(upper))))
                if path.startswith(prefix):
                    assert ranged, (prefix, path, upper)
                elif path < prefix or path >= upper:  # by code point, as the range compares
                    assert not ranged, (prefix, path, upper)


async def test_the_served_areas_are_the_prefix_joins(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    async with state.sessionmaker() as session:
        ctx = await state.open_context(session, tw.users["firm"], tw.slug, "test", None)
        grant = ctx.actor.grant("case", "read")
        assert grant and grant.firm_ids
        served = served_compounds(grant.firm_ids, ctx.actor.today).subquery()
        plain = set(await session.scalars(select(Area.id).join(served, Area.path.startswith(served.c.path))))
        ranged = set(await session.scalars(buildings_served(grant.firm_ids, ctx.actor.today)))
        await session.rollback()
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            compound_areas = {a.id for a in await s.scalars(select(Area).where(Area.path.startswith(
                select(Area.path).where(Area.id == tw.areas["P1"]).scalar_subquery())))}
    assert ranged == plain and len(plain) > 1, (ranged, plain)
    assert compound_areas <= plain  # the served compound's own areas among them (the test world's firm serves P1)


async def test_a_firms_case_page_finds_its_served_areas_by_the_path_range(
        api: Api, db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path and its plans are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = fresh.a
    for i in range(2):
        await report(api, tw, "resident", "B1", title=f"楼道堆物{i}")  # in P1, which the firm serves
    async with db.owner_engine.begin() as conn:  # a tenant of many areas: buildings of a compound not served
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        made = await conn.execute(text(
            "INSERT INTO areas (id, tenant_id, parent_id, kind, name, path, depth, created_at, version) "
            "SELECT n.id, a.tenant_id, a.parent_id, a.kind, a.name || '-' || n.g, "
            "p.path || replace(n.id::text, '-', '') || '/', a.depth, a.created_at, 1 "
            "FROM areas a JOIN areas p ON p.tenant_id = a.tenant_id AND p.id = a.parent_id "
            "CROSS JOIN (SELECT g, gen_random_uuid() AS id FROM generate_series(1, :n) g) n "
            "WHERE a.tenant_id = :t AND a.id = :b4"), {"n": MANY, "t": tw.tenant_id, "b4": tw.areas["B4"]})
        assert made.rowcount == MANY
    query = "query { cases(first: 20) { nodes { id number title state area { name } } } }"
    compiled, plan = await compiled_plan(api, db, tw, monkeypatch, "firm", query, {}, root="cases", analyze="areas")
    assert orjson.loads(compiled)["data"]["cases"]["nodes"]
    # on the base: no range at all; the areas are tested one by one against every served compound
    assert any("Index Cond" in line and "~>=~" in line and "~<~" in line for line in plan), "\n".join(plan)
    assert not any("Join Filter: starts_with" in line for line in plan), "\n".join(plan)
