"""Conditions compiled to SQL predicates, so lists are filtered in the database.

Every predicate is a plain boolean SQL expression over the row being filtered; pagination and
counts stay right because nothing is dropped after loading.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    Text,
    and_,
    exists,
    false,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import CompoundSelect, Select

from models import (
    ALLOWED_PARENTS,
    Area,
    AreaKind,
    GridBuilding,
    Household,
    LeadHousehold,
    NeighborLead,
    Person,
    PersonalDataConsent,
    RoleAssignment,
    ServiceContract,
)
from models.bounded import keep
from policies.actor import Actor, Grant
from policies.paths import path_in_range, path_successor
from policies.roles import Condition, Role

# Aliases of areas (and households) for the predicates' subqueries, made once: building an alias's
# column collection costs ≈ 0.5 ms each time (issue #9: reporting a case spent ≈ 30 % of its CPU
# building fresh aliases for one reach check). Each is used by one function only, in subqueries that
# never nest inside one another, so no subquery can correlate to another's alias.
_SERVED_COMPOUND = aliased(Area, name="served_compound")
_SCOPE_AREA = aliased(Area, name="scope_area")
_SCOPE_GRID = aliased(Area, name="scope_grid")
_SERVED_BUILDING = aliased(Area, name="served_building")
_REACH_HOUSEHOLD = aliased(Household, name="reach_household")
_READ_GRID = aliased(Area, name="read_grid")
_GC_GRID = aliased(Area, name="gc_grid")
_GC_BUILDING = aliased(Area, name="gc_building")
_GC_COMPOUND = aliased(Area, name="gc_compound")
_PC_GRID = aliased(Area, name="pc_grid")
_PC_BUILDING = aliased(Area, name="pc_building")
_PC_COMPOUND = aliased(Area, name="pc_compound")
_PC_AREA = aliased(Area, name="pc_area")
_PC = (_PC_GRID, _PC_BUILDING, _PC_COMPOUND)
_RC_COMPOUND = aliased(Area, name="rc_compound")
_RC = (aliased(Area, name="rc_grid"), aliased(Area, name="rc_building"), _RC_COMPOUND)
_RC_CHILD = aliased(Area, name="rc_child")


def _levels_above(kind: AreaKind) -> int:
    """How many areas can lie above an area of ``kind`` (ALLOWED_PARENTS' longest chain of parents)."""
    return max((1 + _levels_above(p) for p in ALLOWED_PARENTS[kind]), default=0)


_ABOVE_COMPOUND = _levels_above(AreaKind.COMPOUND)  # a zone's community's street: 3
_RC_UP = tuple(aliased(Area, name=f"rc_up{i}") for i in range(1, _ABOVE_COMPOUND))
_ROW_GRID = aliased(Area, name="row_grid")
_ROW_BUILDING = aliased(Area, name="row_building")


# Predicates kept per actor in the process (issue #21): the loaders built the same area, household and
# person predicates on every request (≈ 12 % of the Python calls of ``me``). A predicate is an immutable
# expression made from the grant and the actor's facts only; for an actor read from the request's first
# statement those facts are its tenant, user, the texts of its rows (``Actor.source``) and the day, so
# these and the grant (Casbin's answer under the current policy) are the key. Other actors (SQLite,
# partner units) and aliased models are built each time.
_KEPT: dict[tuple[Any, ...], ColumnElement[bool]] = {}
_KEPT_LIMIT = 1024


def kept_predicate(name: str, grant: Grant, actor: Actor,
                   build: Callable[[], ColumnElement[bool]]) -> ColumnElement[bool]:
    """``build()``, kept under ``name`` for this grant and actor (see above); built each time for other actors."""
    if actor.source is None or actor.partner_unit_id is not None:
        return build()
    key = (name, grant, actor.tenant_id, actor.user_id, actor.source, actor.today)
    found = _KEPT.get(key)
    if found is None:
        found = keep(_KEPT, key, build(), _KEPT_LIMIT)
    return found


def in_subtree(col: SQLColumnExpression[str], paths: tuple[str, ...]) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(col.startswith(p) for p in paths))


def served_compounds(firm_ids: tuple[uuid.UUID, ...], today: date) -> Select[Any]:
    """Paths of the compounds the firms serve today."""
    c = _SERVED_COMPOUND
    return (
        select(c.path)
        .join(ServiceContract, and_(ServiceContract.tenant_id == c.tenant_id, ServiceContract.compound_id == c.id))
        .where(
            ServiceContract.firm_id.in_(firm_ids),
            ServiceContract.valid_from <= today,
            or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= today),
        )
    )


def buildings_in_scope(paths: tuple[str, ...]) -> CompoundSelect[Any]:
    """Ids of areas under the scope paths, and of buildings covered by grids under them."""
    a, g = _SCOPE_AREA, _SCOPE_GRID
    under = select(a.id).where(in_subtree(a.path, paths))
    covered = (
        select(GridBuilding.building_id)
        .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
        .where(in_subtree(g.path, paths))
    )
    return under.union(covered)


# buildings_in_scope as a CTE, one object per scope (issue #21): a statement that tests the scope in several
# places (a register page: its count, its rows, each household's persons, their buildings) names the one CTE
# each time, which PostgreSQL then computes once — as subqueries it computed the same set up to seven times
# per households page (≈ 0.9 ms of PostgreSQL of its 3.3, bench/RESULTS.md h-aud). The same object for the
# same paths (SQLAlchemy renders it once); its name is the paths' digest and the cache's generation, so two
# objects in one statement (a predicate kept from before the cache was last cleared, one made after) never
# share a name: each is rendered, as the subqueries were. The same rule for every CTE kept here (``kept_cte``).
_CTES: dict[tuple[str, Any], Any] = {}
_CTE_GENERATION = [0]


def kept_cte(kind: str, key: Any, digested: Callable[[], str], build: Callable[[str], Any]) -> Any:
    """``build(name)``, kept per (``kind``, ``key``): the CTE's name is ``kind``, a digest of ``digested()`` and the
    cache's generation (moved on each time the cache is emptied, at 4,096 CTEs). Both are called on a miss only."""
    found = _CTES.get((kind, key))
    if found is None:
        if len(_CTES) >= 4096:
            _CTES.clear()
            _CTE_GENERATION[0] += 1
        digest = hashlib.sha1(digested().encode(), usedforsecurity=False).hexdigest()[:16]
        found = _CTES[(kind, key)] = build(f"{kind}_{digest}_{_CTE_GENERATION[0]}")
    return found


def scope_buildings(paths: tuple[str, ...]) -> Select[Any]:
    """``SELECT id`` of ``buildings_in_scope(paths)``, as the scope's CTE."""
    return select(kept_cte("scope", paths, lambda: "\x1f".join(paths),
                           lambda name: buildings_in_scope(paths).cte(name)).c.id)


# What the firms serve today, as CTEs, one object per firms and day as scope_buildings (issue #21: a firm's
# open-case page tested its served areas three times, each a test of every area of the tenant against every
# served compound, and each row's area, grid and community against the served compounds once more, each a join of
# the contracts and compounds): the compounds' paths once (with their successors, policies.paths; MATERIALIZED, so
# PostgreSQL never folds them back into a join, where the functions making a successor would keep the range out
# of the index), the areas under them once, by a range of the paths' index.
def _served_cte(kind: str, firm_ids: tuple[uuid.UUID, ...], today: date, build: Callable[[str], Any]) -> Any:
    return kept_cte(kind, (firm_ids, today), lambda: f"{sorted(map(str, firm_ids))}{today}", build)


def served_paths(firm_ids: tuple[uuid.UUID, ...], today: date) -> Any:
    """The CTE of ``served_compounds``: ``path`` and ``upper`` (its successor), a row per compound served."""
    return _served_cte("served_paths", firm_ids, today, lambda name: served_compounds(firm_ids, today).add_columns(
        path_successor(_SERVED_COMPOUND.path).label("upper")).cte(name).prefix_with("MATERIALIZED",
                                                                                     dialect="postgresql"))


def buildings_served(firm_ids: tuple[uuid.UUID, ...], today: date) -> Select[Any]:
    """``SELECT id`` of the areas at or under a compound the firms serve today."""
    def build(name: str) -> Any:
        b, served = _SERVED_BUILDING, served_paths(firm_ids, today)
        return (select(b.id).join(served, and_(path_in_range(b.path, served.c.path, served.c.upper),
                                               b.path.startswith(served.c.path))).cte(name))
    return select(_served_cte("served", firm_ids, today, build).c.id)


# ---------------------------------------------------------------- the compounds a grid touches (DESIGN.md §8)
# A grid's scope is its buildings and their households, and the compounds those buildings belong to for
# what is public or shared in them. One rule, here, for every module and both read paths: the areas, the
# cases, the notices, activities and topics (and so the votes), the walls, the evaluations.


def grid_compounds(paths: tuple[str, ...]) -> Select[uuid.UUID, str]:
    """The compounds (id, path) holding a building that a grid at or under ``paths`` covers. The kind is
    written into the SQL text (the compiled plans keep only ids and the clock as parameters)."""
    c, b, g = _GC_COMPOUND, _GC_BUILDING, _GC_GRID
    return (
        select(c.id, c.path)
        .join(b, and_(b.tenant_id == c.tenant_id, b.path.startswith(c.path)))
        .join(GridBuilding, and_(GridBuilding.tenant_id == b.tenant_id, GridBuilding.building_id == b.id))
        .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
        .where(c.kind == literal_column(f"'{AreaKind.COMPOUND.value}'", Text), in_subtree(g.path, paths))
    )


def grid_compound_rows(area_col: SQLColumnExpression[uuid.UUID], path_col: SQLColumnExpression[str],
                       paths: tuple[str, ...], *, ancestors: bool = False, below: bool = False
                       ) -> ColumnElement[bool]:
    """A row of an area (``area_col``, ``path_col``) lies at a compound a grid under ``paths`` touches; with
    ``ancestors`` also above one (a community's notice reaches the compound), with ``below`` anywhere
    inside one (the compound's public wall).

    The areas are found by parent links, each step an index probe (ALLOWED_PARENTS: a building's compound is its
    parent, what lies inside a compound are its children, and a compound has at most ``_ABOVE_COMPOUND`` areas
    above it). By paths — a building's compound as the compound whose path prefixes the building's, the
    ancestors as the areas whose paths prefix the compound's — PostgreSQL read every area of the tenant twice
    under row-level security (issue #21: a grid leader's area·read check of one compound at bench scale 0.1,
    2,231 buffers). Equal by tests/policies/test_grid_compounds_by_parent.py."""
    if not paths:
        return false()
    c = _RC_COMPOUND
    parts: list[Select[Any]] = [compound_chain(paths, _RC, c.id)]
    if ancestors:  # the compounds walked once, then the levels above them
        parts = [select(_compounds_walked(paths).c.id), *_above_compounds(paths)]
    if below:  # what a compound holds are its children (grids and buildings)
        child = _RC_CHILD
        parts.append(compound_chain(paths, _RC, child.id)
                     .join(child, and_(child.tenant_id == c.tenant_id, child.parent_id == c.id)))
    ids: Any = parts[0] if len(parts) == 1 else select(union_all(*parts).subquery().c[0])
    if not ancestors:
        ids = ids.execution_options(**{BY_PARENT: grid_compound_ids_by_parent(paths, below=below)})
    return area_col.in_(ids)


def _compounds_walked(paths: tuple[str, ...]) -> Any:
    """The compounds the grids at or under ``paths`` touch (tenant_id, id, parent_id), each once, as a CTE: one walk
    of the grids' buildings however many of its branches a statement names (issue #21: a compound and each level
    above it as a branch of its own walked the grids, their buildings and the compounds again — four walks per
    copy of an area predicate, and a party secretary's areas page holds six copies). One object per paths, named
    with the cache's generation, as scope_buildings."""
    c = _RC_COMPOUND
    return kept_cte("gca", paths, lambda: "\x1f".join(paths),
                    lambda name: compound_chain(paths, _RC, c.tenant_id, c.id, c.parent_id).distinct().cte(name))


def _above_compounds(paths: tuple[str, ...]) -> list[Select[Any]]:
    """The ids of the areas above the compounds of ``_compounds_walked``, a SELECT per level: the compound's parent,
    its parent's, … up to ``_ABOVE_COMPOUND`` levels, each step an index probe by parent link (NULL above the
    street: out)."""
    walked = _compounds_walked(paths)
    out: list[Select[Any]] = [select(walked.c.parent_id).where(walked.c.parent_id.is_not(None))]
    stmt: Select[Any] = select(walked.c.parent_id).select_from(walked)
    tenant, parent = walked.c.tenant_id, walked.c.parent_id
    for up in _RC_UP:  # _ABOVE_COMPOUND - 1 of them
        stmt = stmt.join(up, and_(up.tenant_id == tenant, up.id == parent))
        tenant, parent = up.tenant_id, up.parent_id
        out.append(stmt.with_only_columns(up.parent_id).where(up.parent_id.is_not(None)))
    return out


def compound_chain(paths: tuple[str, ...], aliases: tuple[Any, Any, Any], *cols: Any) -> Select[Any]:
    """``cols`` of the compounds of the buildings that the grids at or under ``paths`` cover, by parent links:
    the grids, their buildings (grid_buildings), each building's parent when it is a compound. ``aliases``: the
    grid's, the building's and the compound's (one set per caller, so that no subquery correlates with another)."""
    g, b, c = aliases
    return (
        select(*cols)
        .select_from(g)
        .join(GridBuilding, and_(GridBuilding.tenant_id == g.tenant_id, GridBuilding.grid_id == g.id))
        .join(b, and_(b.tenant_id == GridBuilding.tenant_id, b.id == GridBuilding.building_id))
        .join(c, and_(c.tenant_id == b.tenant_id, c.id == b.parent_id))
        .where(c.kind == literal_column(f"'{AreaKind.COMPOUND.value}'", Text), in_subtree(g.path, paths))
    )


# The execution option of grid_compound_rows' id SELECT that holds the same ids found by parent links.
BY_PARENT = "gongzhi_by_parent"


def grid_compound_ids_by_parent(paths: tuple[str, ...], *, below: bool = False) -> Select[Any]:
    """The ids grid_compound_rows(…) selects (without ``ancestors``), found through parent links: each step an
    index probe under row-level security, where the path-prefix joins of grid_compounds scan the tenant's
    areas once per covered building (issue #21: 70 % of the PostgreSQL time of the case list's candidates).
    Equal by ALLOWED_PARENTS (tests/policies/test_grid_compounds_by_parent.py): a compound sits under a
    community or zone and holds only grids and buildings, so a building's compound is its parent and what
    lies inside a compound is its children. For candidates whose rows are tested by the predicate itself
    (compiled.case_filters): the open-case page's scans of the compounds' areas."""
    c, a = _PC_COMPOUND, _PC_AREA

    def chain(*cols: Any) -> Select[Any]:
        return compound_chain(paths, _PC, *cols)

    # The compounds once per statement, as a CTE (issue #21): a grid leader's or secretary's open-case candidates
    # name them in the compounds' branch and twice in the walls' (the compounds, their children) — as subqueries
    # PostgreSQL walked the grids' buildings to their compounds three times (≈ 270 buffers each at s0.1 for a
    # community's 40 buildings). One object per paths, named with the cache's generation, as scope_buildings.
    found = kept_cte("pc", paths, lambda: "\x1f".join(paths), lambda name: chain(c.tenant_id, c.id).cte(name))
    if not below:
        return select(found.c.id)
    inside = select(a.id).join(found, and_(a.tenant_id == found.c.tenant_id, a.parent_id == found.c.id))
    both = union_all(select(found.c.id), inside).subquery()
    return select(both.c.id)


def building_predicate(col: SQLColumnExpression[uuid.UUID], grant: Grant, actor: Actor) -> ColumnElement[bool]:
    """``col`` (a building id) lies where the grant reaches."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    paths = grant.scope_paths
    if grant.own_compound and actor.own_compound_path:
        paths = (*paths, actor.own_compound_path)
    if paths:
        parts.append(col.in_(scope_buildings(paths)))
    if grant.firm_ids:
        parts.append(col.in_(buildings_served(grant.firm_ids, actor.today)))
    return or_(*parts) if parts else false()


def household_predicate(grant: Grant, actor: Actor, household: type[Household] = Household) -> ColumnElement[bool]:
    if household is Household:
        return kept_predicate("household", grant, actor, lambda: _household_predicate(grant, actor, Household))
    return _household_predicate(grant, actor, household)


def _household_predicate(grant: Grant, actor: Actor, household: type[Household]) -> ColumnElement[bool]:
    parts = [building_predicate(household.building_id, grant, actor)]
    if grant.own and actor.household_id is not None:
        parts.append(household.id == actor.household_id)
    if grant.has(Condition.ASSIGNED) and _is_lead(actor):
        parts.append(household.id.in_(lead_household_ids(actor)))  # care: a lead's households
    return or_(*parts)


def person_predicate(grant: Grant, actor: Actor, person: type[Person] = Person) -> ColumnElement[bool]:
    if person is Person:
        return kept_predicate("person", grant, actor, lambda: _person_predicate(grant, actor, Person))
    return _person_predicate(grant, actor, person)


def _person_predicate(grant: Grant, actor: Actor, person: type[Person]) -> ColumnElement[bool]:
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    if grant.own and actor.household_id is not None:
        parts.append(person.household_id == actor.household_id)
    reach = Grant(scope_paths=grant.scope_paths, own_compound=grant.own_compound, firm_ids=grant.firm_ids)
    if reach:
        parts.append(person.household_id.in_(reach_households(reach, actor)))
    if grant.has(Condition.ASSIGNED) and _is_lead(actor):
        parts.append(person.household_id.in_(lead_household_ids(actor)))  # care: a lead's households
    if grant.has(Condition.AGREEMENT) and actor.partner_unit_id is not None:
        parts.append(_consented(person, actor))
    return or_(*parts) if parts else false()


def person_household_ids(grant: Grant, actor: Actor) -> Select[Any] | CompoundSelect[Any] | None:
    """The households whose persons ``person_predicate(grant, actor)`` admits, as one ``SELECT`` (UNION ALL of
    its parts), for a list of persons that ``household_id IN (…)`` can drive from ix_persons_household (issue #21:
    a grid leader living in a household read the tenant's every person for the OR of its own household and its
    reach, ``x = own OR x IN (reach)``, which no index drives). None where the predicate is not an OR of household
    sets (one part or none: it is its own best form; every person; a partner unit's consents)."""
    if grant.all or (grant.has(Condition.AGREEMENT) and actor.partner_unit_id is not None):
        return None
    sets: list[Select[Any]] = []
    if grant.own and actor.household_id is not None:
        sets.append(select(literal(actor.household_id, _REACH_HOUSEHOLD.id.type)))
    reach = Grant(scope_paths=grant.scope_paths, own_compound=grant.own_compound, firm_ids=grant.firm_ids)
    if reach:
        sets.append(reach_households(reach, actor))
    if grant.has(Condition.ASSIGNED) and _is_lead(actor):
        sets.append(lead_household_ids(actor))
    return union_all(*sets) if len(sets) > 1 else None


# The households a person predicate's reach covers, as a CTE, one object per reach (issue #21), as scope_buildings
# is for the buildings: a persons page tests a person's reach in its count, its rows and each field that masks
# (piiMasked, phone, idCardNo …), a households page in each household's persons and their fields — as subqueries
# PostgreSQL computed the same households (a scan of the tenant's households against the scope) six times per
# persons page, three per households page. Keyed by what building_predicate reads of the reach and the actor:
# the paths (the own compound's included), the firms and, for the firms' contracts, the day.
def reach_households(reach: Grant, actor: Actor) -> Select[Any]:
    """``SELECT id`` of the households whose building ``building_predicate(…, reach, actor)`` admits, as one CTE."""
    paths = reach.scope_paths
    if reach.own_compound and actor.own_compound_path:
        paths = (*paths, actor.own_compound_path)
    key = (reach.all, paths, reach.firm_ids, actor.today if reach.firm_ids else None)
    h = _REACH_HOUSEHOLD
    return select(kept_cte("reach", key, lambda: repr(key), lambda name: select(h.id).where(
        building_predicate(h.building_id, reach, actor)).cte(name)).c.id)


def _consented(person: type[Person], actor: Actor) -> ColumnElement[bool]:
    """A partner unit's reach into the register (PIPL art. 23, issue #24): the persons whose consent for
    the unit is in force, living in a community its agreements share person·read in."""
    paths = actor.agreement_paths.get(("person", "read"), ())
    h = _REACH_HOUSEHOLD
    return and_(
        person.id.in_(select(PersonalDataConsent.person_id).where(
            PersonalDataConsent.partner_unit_id == actor.partner_unit_id, PersonalDataConsent.withdrawn_at.is_(None))),
        person.household_id.in_(select(h.id).where(h.building_id.in_(buildings_in_scope(tuple(paths))))),
    )


def area_read_predicate(grant: Grant, actor: Actor, area: type[Area] = Area) -> ColumnElement[bool]:
    """An area is readable inside the reach of the grant, and so are its ancestors (their names
    give a node its place in the tree)."""
    if area is Area:
        return kept_predicate("area_read", grant, actor, lambda: _area_read_predicate(grant, actor, Area))
    return _area_read_predicate(grant, actor, area)


def _area_read_predicate(grant: Grant, actor: Actor, area: type[Area]) -> ColumnElement[bool]:
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    paths = list(grant.scope_paths)
    if grant.own_compound and actor.own_compound_path:
        paths.append(actor.own_compound_path)
    if paths:
        tpaths = tuple(paths)
        parts.append(in_subtree(area.path, tpaths))
        parts.extend(literal(p).startswith(area.path) for p in tpaths)
        g = _READ_GRID
        parts.append(
            area.id.in_(
                select(GridBuilding.building_id)
                .join(g, and_(g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id))
                .where(in_subtree(g.path, tpaths))
            )
        )
    if grant.firm_ids:  # the served compounds' paths computed once per statement, not joined again per row
        served = served_paths(grant.firm_ids, actor.today)
        parts.append(
            exists().where(or_(area.path.startswith(served.c.path), served.c.path.startswith(area.path)))
        )
    if grant.grid_compound_paths:  # the compounds the grids touch, and the areas above them (DESIGN.md §8)
        parts.append(grid_compound_rows(area.id, area.path, grant.grid_compound_paths, ancestors=True))
    return or_(*parts) if parts else false()


def area_manage_predicate(grant: Grant, area: type[Area] = Area) -> ColumnElement[bool]:
    """Managing is limited to the subtree itself (never the ancestors)."""
    if grant.all:
        return true()
    return in_subtree(area.path, grant.scope_paths)


def role_assignment_predicate(grant: Grant) -> ColumnElement[bool]:
    if grant.all:
        return true()
    if not grant.scope_paths:
        return false()
    return RoleAssignment.scope_area_id.in_(select(Area.id).where(in_subtree(Area.path, grant.scope_paths)))


def area_reach_predicate(grant: Grant, actor: Actor, area: type[Area] = Area) -> ColumnElement[bool]:
    """An area lies where the grant reaches (subtree, grid-covered buildings, own compound, served
    compounds; under "grid_compound" the compounds the grids touch, DESIGN.md §8) — for acting *in* an
    area, e.g. reporting a case there. Ancestors are not included."""
    if grant.all:
        return true()
    reach = building_predicate(area.id, grant, actor)
    if grant.grid_compound_paths:
        return or_(reach, grid_compound_rows(area.id, area.path, grant.grid_compound_paths))
    return reach


def area_reach_row(grant: Grant, actor: Actor, area: type[Area] = Area) -> ColumnElement[bool]:
    """``area_reach_predicate`` asked of the area's own row — for one area (the one a case is reported in),
    not for filtering a list. The same areas: where that predicate gathers every reachable id of the tenant
    (the scope's areas, every building a grid under it covers, every compound such a grid touches, by
    path scans of the tenant's areas — issue #21: 28 % of PostgreSQL's CPU per report at scale 0.1), this
    asks the row: its path under a scope path (the area itself among the scope's areas), a grid under the
    scope covering it (index probes from the row), a compound whose building a grid under the paths covers
    (its children: a compound holds only grids and buildings, ALLOWED_PARENTS, as grid_compound_ids_by_parent
    stands on), a served compound above it. tests/policies/test_area_reach_row.py holds it to
    area_reach_predicate for every actor and area of the test world."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    paths = grant.scope_paths
    if grant.own_compound and actor.own_compound_path:
        paths = (*paths, actor.own_compound_path)
    if paths:  # building_predicate's buildings_in_scope
        g = _ROW_GRID
        parts.append(in_subtree(area.path, paths))
        parts.append(exists().where(GridBuilding.building_id == area.id, g.tenant_id == GridBuilding.tenant_id,
                                    g.id == GridBuilding.grid_id, in_subtree(g.path, paths)))
    if grant.firm_ids:  # building_predicate's buildings_served
        served = served_compounds(grant.firm_ids, actor.today).subquery()
        parts.append(exists().where(area.path.startswith(served.c.path)))
    if grant.grid_compound_paths:  # grid_compound_rows: a compound holding a building a grid covers
        g, b = _ROW_GRID, _ROW_BUILDING
        parts.append(and_(area.kind == literal_column(f"'{AreaKind.COMPOUND.value}'", Text), exists().where(
            b.tenant_id == area.tenant_id, b.parent_id == area.id, GridBuilding.tenant_id == b.tenant_id,
            GridBuilding.building_id == b.id, g.tenant_id == GridBuilding.tenant_id, g.id == GridBuilding.grid_id,
            in_subtree(g.path, grant.grid_compound_paths))))
    return or_(*parts) if parts else false()


# ---------------------------------------------------------------- a case's grid (issue #20)
# Case.grid, one rule (CaseGrid) for both read paths — the resolver (resolvers.loaders.grid_of_case)
# and the compiled read (compiled.fields.case_grid): the grids covering the case's building that the actor
# may read, first by name; else the case's own area when it is a grid the actor may read; else null.


def is_grid(kind: SQLColumnExpression[Any], *, literal: bool) -> ColumnElement[bool]:
    """The area is a grid. ``literal``: the kind written into the SQL text (the compiled plans keep one
    generic plan per statement, so only ids and the clock may be parameters), else a bound value."""
    if literal:
        return kind == literal_column(f"'{AreaKind.GRID.value}'", Text)
    return kind == AreaKind.GRID


@dataclass(frozen=True)
class GridsCovering:
    """The readable grids covering some buildings: ``link`` (grid_buildings) joined to the grids
    ``on``, filtered by ``where``, in ``order_by`` — the first of a building's is the case's grid."""

    on: ColumnElement[bool]
    where: tuple[ColumnElement[bool], ...]
    order_by: tuple[SQLColumnExpression[Any], ...]


class CaseGrid:
    """The rule of Case.grid over one areas entity ``grid`` (or an alias of it), the read predicate
    built once for both of its lookups. The compiled read passes ``columns`` (its alias's table
    columns, which the ORM's tenant criteria do not reach) and ``tenant_id`` (repeated on each table)
    so that its SQL stays as it was; the resolvers leave the tenant to the session."""

    def __init__(self, actor: Actor, grid: type[Area], *, literal: bool, tenant_id: uuid.UUID | None = None,
                 columns: Any = None) -> None:
        self.g: Any = grid if columns is None else columns
        self.literal = literal
        self.tenant_id = tenant_id
        self.readable = area_read_predicate(actor.grant("area", "read"), actor, grid)

    def covering(self, buildings: SQLColumnExpression[uuid.UUID] | Sequence[uuid.UUID], link: Any) -> GridsCovering:
        """Grids covering ``buildings`` (a column of the outer row, or a batch of ids) that the actor
        may read; ``link`` is the grid_buildings entity or a table alias's columns."""
        g = self.g
        if isinstance(buildings, (list, tuple)):
            covers = link.building_id.in_(buildings)
        else:
            covers = link.building_id == buildings
        where: tuple[ColumnElement[bool], ...] = (covers, is_grid(g.kind, literal=self.literal), self.readable)
        if self.tenant_id is not None:  # on each table: a join column alone does not route on Citus (issue #27)
            where = (link.tenant_id == self.tenant_id, g.tenant_id == self.tenant_id, *where)
        return GridsCovering(on=and_(link.tenant_id == g.tenant_id, link.grid_id == g.id), where=where,
                             order_by=(g.name,))

    def own_area(self, area_id: SQLColumnExpression[uuid.UUID]) -> tuple[ColumnElement[bool], ...]:
        """The fallback in SQL: the case's own area (``area_id``), when it is a grid the actor may read."""
        g = self.g
        where: tuple[ColumnElement[bool], ...] = (g.id == area_id, is_grid(g.kind, literal=self.literal),
                                                  self.readable)
        return where if self.tenant_id is None else (g.tenant_id == self.tenant_id, *where)

    @staticmethod
    def own_area_loaded(area: Area | None) -> Area | None:
        """The same fallback on the case's own area as loaded through the area read predicate
        (resolvers.loaders.area_by_id): the area when it is a grid."""
        return area if area is not None and area.kind is AreaKind.GRID else None


# ---------------------------------------------------------------- neighbourhood leads (care, issue #5)
# A lead reads the households assigned to them (household and person reach, above).


def _is_lead(actor: Actor) -> bool:
    return any(a.role is Role.NEIGHBOR_LEAD for a in actor.assignments)


def lead_household_ids(actor: Actor) -> Select[Any]:
    """Households assigned to the actor as a neighbourhood lead (邻长) under an appointment in force."""
    return (
        select(LeadHousehold.household_id)
        .join(NeighborLead, and_(NeighborLead.tenant_id == LeadHousehold.tenant_id,
                                 NeighborLead.id == LeadHousehold.lead_id))
        .where(NeighborLead.user_id == actor.user_id, NeighborLead.ended_at.is_(None))
    )
