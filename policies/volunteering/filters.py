"""SQL predicates of the volunteering and evaluation grants (issue #6).

For points, "own" is the actor's own person (a balance is personal, not the household's); the
other conditions reach the persons registered in households inside the grant's area reach.
Compounds are reached by evaluation grants when they lie in the scope, contain the scope (a grid
or building inside the compound), or hold a building covered by a grid in scope.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, literal, or_, select, true
from sqlalchemy.orm import aliased

from models import Household, Person
from policies.actor import Actor, Grant
from policies.filters import building_predicate, grid_compounds


def person_points_predicate(col: SQLColumnExpression[uuid.UUID], grant: Grant, actor: Actor) -> ColumnElement[bool]:
    """``col`` (a person id) is reached by a points grant."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    if grant.own and actor.person_id is not None:
        parts.append(col == actor.person_id)
    reach = Grant(scope_paths=grant.scope_paths, own_compound=grant.own_compound, firm_ids=grant.firm_ids)
    if reach:
        h = aliased(Household)
        p = aliased(Person)
        parts.append(col.in_(
            select(p.id).join(h, and_(h.tenant_id == p.tenant_id, h.id == p.household_id))
            .where(building_predicate(h.building_id, reach, actor))
        ))
    return or_(*parts) if parts else false()


def compound_predicate(path: SQLColumnExpression[str], grant: Grant, actor: Actor) -> ColumnElement[bool]:
    """A compound (given by its path column) is reached by an evaluation grant."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    for p in grant.scope_paths:
        parts.append(path.startswith(p))
        parts.append(literal(p).startswith(path))
    if grant.scope_paths:  # a compound the scope's grids touch: the one rule of DESIGN.md §8
        parts.append(path.in_(select(grid_compounds(grant.scope_paths).subquery().c.path)))
    if grant.grid_compound_paths:
        parts.append(path.in_(select(grid_compounds(grant.grid_compound_paths).subquery().c.path)))
    if grant.own_compound and actor.own_compound_path:
        parts.append(path == actor.own_compound_path)
    if grant.firm_ids:
        from policies.filters import served_compounds

        served = served_compounds(grant.firm_ids, actor.today).subquery()
        parts.append(select(served.c.path).where(served.c.path == path).exists())
    return or_(*parts) if parts else false()


def activity_signup_predicate(area_path: SQLColumnExpression[str], grant: Grant, actor: Actor) -> ColumnElement[bool]:
    """"own compound" for signing up: an activity in the actor's compound, or in an area above it
    (a community- or street-wide activity is open to the residents under it)."""
    if not grant or not grant.own_compound or not actor.own_compound_path:
        return false()
    own = actor.own_compound_path
    return or_(area_path.startswith(own), literal(own).startswith(area_path))
