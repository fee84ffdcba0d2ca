"""SQL predicates for deliberation rows (topics, meetings, notices): each row carries the area it
belongs to (``area_id``) and that area's materialized path (``area_path``)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, false, literal, or_, select, true
from sqlalchemy.orm import aliased

from models import Area, GridBuilding
from policies.actor import Actor, Grant
from policies.filters import grid_compound_rows, in_subtree, served_compounds


def area_rows_predicate(
    path_col: SQLColumnExpression[str], area_col: SQLColumnExpression[uuid.UUID], grant: Grant, actor: Actor,
    *, ancestors: bool,
) -> ColumnElement[bool]:
    """Rows whose area lies where the grant reaches: the scope subtrees (and the buildings their grids
    cover), the actor's own compound, the compounds the actor's firm serves, under "grid_compound" the
    compounds the actor's grids touch. With ``ancestors`` also
    rows of an area *above* those (a notice to the whole community reaches each compound in it)."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    paths = list(grant.scope_paths)
    if grant.own_compound and actor.own_compound_path:
        paths.append(actor.own_compound_path)
    if paths:
        tpaths = tuple(paths)
        parts.append(in_subtree(path_col, tpaths))
        if ancestors:
            parts.extend(literal(p).startswith(path_col) for p in tpaths)
        if grant.scope_paths:
            g = aliased(Area)
            parts.append(area_col.in_(
                select(GridBuilding.building_id)
                .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
                .where(in_subtree(g.path, grant.scope_paths))
            ))
    if grant.firm_ids:
        served = served_compounds(grant.firm_ids, actor.today).subquery()
        cond = path_col.startswith(served.c.path)
        if ancestors:
            cond = or_(cond, served.c.path.startswith(path_col))
        parts.append(exists().where(cond))
    if grant.grid_compound_paths:  # a compound a grid of the actor's touches (DESIGN.md §8)
        parts.append(grid_compound_rows(area_col, path_col, grant.grid_compound_paths, ancestors=ancestors))
    return or_(*parts) if parts else false()
