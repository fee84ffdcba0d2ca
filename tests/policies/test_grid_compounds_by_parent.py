"""policies.filters.grid_compound_ids_by_parent — the areas of the compounds a grid touches found by parent
links, which the compiled open-case page scans (issue #21) — are the areas grid_compound_rows selects by
path, on both backends: a compound holds only grids and buildings (ALLOWED_PARENTS), so a building's compound
is its parent and what lies inside a compound are its children.

The world (tests/support/world.py) is extended: a grid G4 inside P1 covering B2 and a building B5 straight
under C1 (no compound) that G1 covers too."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import ALLOWED_PARENTS, Area, AreaKind, GridBuilding, path_segment, uuid7
from policies.filters import grid_compound_ids_by_parent, grid_compound_rows
from tenants.session import bind_tenant
from tests.support.harness import DbEnv, World


def _kinds_above(kind: AreaKind) -> set[AreaKind]:
    above: set[AreaKind] = set()
    todo = set(ALLOWED_PARENTS[kind])
    while todo:
        k = todo.pop()
        if k not in above:
            above.add(k)
            todo |= ALLOWED_PARENTS[k]
    return above


def test_a_compound_holds_only_grids_and_buildings_and_is_a_buildings_parent() -> None:
    """What grid_compound_ids_by_parent stands on: change ALLOWED_PARENTS and it must change too."""
    assert {k for k, parents in ALLOWED_PARENTS.items() if AreaKind.COMPOUND in parents} == {AreaKind.GRID,
                                                                                            AreaKind.BUILDING}
    assert not any({AreaKind.GRID, AreaKind.BUILDING} & parents for parents in ALLOWED_PARENTS.values())
    # no kind a building may sit in lies inside a compound: a compound above a building is its parent
    assert all(AreaKind.COMPOUND not in _kinds_above(k) for k in ALLOWED_PARENTS[AreaKind.BUILDING])


async def test_the_areas_by_parent_are_the_areas_by_path_for_every_grid(db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = {a.id: a for a in await s.scalars(select(Area))}
            by_key = {k: rows[v] for k, v in tw.areas.items()}

            def add(key: str, parent: str, kind: AreaKind) -> None:
                p = by_key[parent]
                aid = uuid7()
                by_key[key] = a = Area(id=aid, parent_id=p.id, kind=kind, name=key, path=p.path + path_segment(aid),
                                       depth=p.depth + 1)
                s.add(a)

            add("G4", "P1", AreaKind.GRID)
            add("B5", "C1", AreaKind.BUILDING)
            await s.flush()
            for grid, building in (("G4", "B2"), ("G1", "B5")):
                s.add(GridBuilding(grid_id=by_key[grid].id, building_id=by_key[building].id))
            await s.flush()
            checked = 0
            areas = list(await s.scalars(select(Area)))
            by_id = {a.id: a for a in areas}
            covered = [(by_id[gb.grid_id].path, by_id[gb.building_id]) for gb in await s.scalars(select(GridBuilding))]
            for scope in ("G1", "G2", "G3", "G4", "C1", "C2", "S", "P2", "B1"):
                paths = (by_key[scope].path,)
                # the reference, by paths alone (as grid_compound_rows read them before issue #21's parent links):
                # a compound whose path prefixes a covered building's; its ancestors prefix its path, what it
                # holds has its path as a prefix
                touched = [c for c in areas if c.kind == AreaKind.COMPOUND and any(
                    g.startswith(paths) and b.path.startswith(c.path) for g, b in covered)]
                for below in (False, True):
                    by_path = {a.id for a in areas if any(
                        a.id == c.id or (below and a.path.startswith(c.path)) for c in touched)}
                    rows = set(await s.scalars(select(Area.id).where(
                        grid_compound_rows(Area.id, Area.path, paths, below=below))))
                    by_parent: set[uuid.UUID] = set(await s.scalars(grid_compound_ids_by_parent(paths, below=below)))
                    assert rows == by_path, (scope, below)
                    assert by_parent == by_path, (scope, below)
                    checked += bool(by_path)
                above = {a.id for a in areas if any(c.path.startswith(a.path) for c in touched)}
                rows = set(await s.scalars(select(Area.id).where(
                    grid_compound_rows(Area.id, Area.path, paths, ancestors=True))))
                assert rows == above, scope
                assert len(above) > len(touched) or not touched, scope  # the street, community (, zone) above
            names = {by_key[k].id: k for k in by_key}
            g1 = (by_key["G1"].path,)
            assert {names[i] for i in await s.scalars(grid_compound_ids_by_parent(g1, below=True))} == {
                "P1", "B1", "B2", "G4"}  # P1 and its children; B5 has no compound
            assert checked >= 10, checked
