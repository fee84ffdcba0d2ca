"""The cases domain's read predicates: which cases a grant reaches, and which lie in an area."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import aliased

from models import Area, Case, GridBuilding
from policies.actor import Actor, Grant
from policies.filters import buildings_served, grid_compound_rows, in_subtree, kept_predicate
from policies.roles import Condition

# Made once, each used by one function only (see policies.filters: building aliases costs CPU).
_CASE_GRID = aliased(Area, name="case_grid")
_IN_AREA_GRID = aliased(Area, name="in_area_grid")


def case_predicate(grant: Grant, actor: Actor, *, public: bool = True) -> ColumnElement[bool]:
    """Cases the grant reaches. ``public`` adds the problem-wall entries of the actor's own
    compound (shown anonymised); without it only cases the actor may see in full. Kept per actor in the
    process as the area, household and person predicates are (policies.filters ``kept_predicate``; issue #21: the
    general path's case steps built it twice per request, read and step grants, ≈ 1–2 ms of CPU)."""
    return kept_predicate("case_public" if public else "case", grant, actor,
                          lambda: _case_predicate(grant, actor, public))


def _case_predicate(grant: Grant, actor: Actor, public: bool) -> ColumnElement[bool]:
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    if grant.scope_paths:
        g = _CASE_GRID
        parts.append(in_subtree(Case.area_path, grant.scope_paths))
        parts.append(
            Case.area_id.in_(
                select(GridBuilding.building_id)
                .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
                .where(in_subtree(g.path, grant.scope_paths))
            )
        )
    if grant.firm_ids:
        parts.append(Case.area_id.in_(buildings_served(grant.firm_ids, actor.today)))
    if grant.assigned_firm_ids:
        parts.append(Case.handler_firm_id.in_(grant.assigned_firm_ids))
    if grant.assigned_partner_ids:  # a partner unit's system: the cases dispatched to its unit (issue #22),
        # in a community one of its agreements in force today covers (DESIGN.md §4): once the agreement
        # ends, the unit neither reads nor acts on the case (NOT_FOUND, like any case it may not read).
        parts.append(and_(Case.handler_partner_id.in_(grant.assigned_partner_ids),
                          in_subtree(Case.area_path, grant.assigned_partner_paths)))
    if grant.has(Condition.OWN) or grant.has(Condition.OWN_REPORTS):
        parts.append(Case.reporter_user_id == actor.user_id)
    if grant.own_compound and actor.own_compound_path:
        parts.append(Case.area_path.startswith(actor.own_compound_path))
    if public and grant.has(Condition.PUBLIC) and actor.own_compound_path:
        parts.append(and_(Case.on_wall.is_(True), Case.area_path.startswith(actor.own_compound_path)))
    if grant.grid_compound_paths:
        # DESIGN.md §8: cases located at a compound the actor's grids touch (in full), and that compound's
        # public wall (anonymised, like its residents see it) — not its other buildings' cases in full.
        parts.append(grid_compound_rows(Case.area_id, Case.area_path, grant.grid_compound_paths))
        if public:
            parts.append(and_(Case.on_wall.is_(True),
                              grid_compound_rows(Case.area_id, Case.area_path, grant.grid_compound_paths,
                                                 below=True)))
    return or_(*parts) if parts else false()


def case_in_area(path: str | ColumnElement[str]) -> ColumnElement[bool]:
    """A case lies in an area: at or below it, or in a building that a grid at or below it covers.
    ``path`` may be a SQL expression: the compiled figures (compiled/statistics.py) read it in their statement."""
    g = _IN_AREA_GRID
    return or_(
        Case.area_path.startswith(path),
        Case.area_id.in_(
            select(GridBuilding.building_id)
            .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
            .where(g.path.startswith(path))
        ),
    )
