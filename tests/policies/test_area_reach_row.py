"""policies.filters.area_reach_row — the reach a report checks on its one area's row (issue #21: index probes
from the row, not scans of the tenant's areas) — reaches exactly the areas area_reach_predicate does, on both
backends: for every user of the test world, every grant a check of one area asks with (a report, a review, an
activity, a lead, a ballot …) and every area of the tenant. The world is extended as for
grid_compound_ids_by_parent (tests/policies/test_grid_compounds_by_parent.py): a grid G4 inside P1 covering B2,
and a building B5 straight under C1 (no compound) that G1 covers too."""

from __future__ import annotations

from sqlalchemy import select

from models import Area, AreaKind, GridBuilding, path_segment, uuid7
from policies.filters import area_reach_predicate, area_reach_row
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World

GRANTS = (("case", "report"), ("case", "review"), ("statistics", "read"), ("activity", "publish"),
          ("activity", "manage"), ("care", "manage"), ("vote", "cast"), ("notice", "publish"))


async def test_the_row_reaches_what_the_predicate_reaches_for_every_user_grant_and_area(
        api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = {a.id: a for a in await s.scalars(select(Area))}
            by_key = {k: rows[v] for k, v in tw.areas.items()}
            for key, parent, kind in (("G4", "P1", AreaKind.GRID), ("B5", "C1", AreaKind.BUILDING)):
                p = by_key[parent]
                aid = uuid7()
                by_key[key] = a = Area(id=aid, parent_id=p.id, kind=kind, name=key, path=p.path + path_segment(aid),
                                       depth=p.depth + 1)
                s.add(a)
            await s.flush()
            for grid, building in (("G4", "B2"), ("G1", "B5")):
                s.add(GridBuilding(grid_id=by_key[grid].id, building_id=by_key[building].id))
    names = {a.id: k for k, a in by_key.items()}
    compared = reached = 0
    kinds: set[str] = set()
    for user, user_id in tw.users.items():
        async with state.sessionmaker() as session:
            ctx = await state.open_context(session, user_id, tw.slug, "test", None)
            for resource, action in GRANTS:
                grant = ctx.actor.grant(resource, action)
                if not grant:
                    continue
                by_set = set(await session.scalars(select(Area.id).where(area_reach_predicate(grant, ctx.actor))))
                by_row = set(await session.scalars(select(Area.id).where(area_reach_row(grant, ctx.actor))))
                assert {names.get(i, i) for i in by_row} == {names.get(i, i) for i in by_set}, (user, resource, action)
                # one area at a time, as a report asks it
                for area_id in names:
                    one = await session.scalar(select(area_reach_row(grant, ctx.actor)).where(Area.id == area_id))
                    assert bool(one) == (area_id in by_set), (user, resource, action, names[area_id])
                compared += 1
                reached += len(by_set)
                kinds |= {k for k, v in (("all", grant.all), ("scope", grant.scope_paths), ("firm", grant.firm_ids),
                                         ("own_compound", grant.own_compound and ctx.actor.own_compound_path),
                                         ("grid_compound", grant.grid_compound_paths)) if v}
            await session.rollback()
    assert compared >= 10 and reached, (compared, reached)
    assert kinds == {"all", "scope", "firm", "own_compound", "grid_compound"}, kinds  # every branch was asked
