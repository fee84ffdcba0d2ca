"""Per-request DataLoaders (``XByYLoader``). Each applies the same read predicate as the lists, so
an object reached through a relation is only returned when the actor may read it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, func, select, union
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from strawberry.dataloader import DataLoader

from models import (
    Area,
    AreaKind,
    Case,
    CaseCategory,
    CaseEvent,
    CaseStage,
    GridBuilding,
    Household,
    Person,
    PersonCareTag,
    PersonStatus,
    User,
)
from policies.cases import case_predicate
from policies.filters import CaseGrid, area_read_predicate, household_predicate, person_predicate
from resolvers.context import RequestContext
from resolvers.ids import decode_cursor
from resolvers.pagination import Page, page_size

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R", bound="_Row")


def _loader(
    ctx: RequestContext, name: str, fn: Callable[[list[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    found: DataLoader[K, V] | None = ctx.loaders.get(name)
    if found is None:
        found = ctx.loaders[name] = DataLoader(load_fn=fn)
    return found


# ---------------------------------------------------------------- by id
# One statement per batch of ids, through the read predicate of the list the rows belong to (the
# session adds the request's tenant to every statement): an object reached through a relation or
# a global ID is only returned when the actor may read it.


class _Row(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


def _id_column(model: type[Any]) -> Any:
    """The mapped ``id`` attribute of a model class (the ORM attribute, so the tenant criteria apply)."""
    return model.id


def by_id(ctx: RequestContext, model: type[R], where: Callable[[], Any] | None = None, *,
          name: str | None = None) -> DataLoader[uuid.UUID, R | None]:
    """``<Model>ByIdLoader``: the rows of ``model`` with the batch's ids that satisfy ``where()``
    (built when the batch runs; ``None``: the caller's own rule already decided), else ``None``."""

    async def load(ids: list[uuid.UUID]) -> list[R | None]:
        stmt = select(model).where(_id_column(model).in_(ids))
        if where is not None:
            stmt = stmt.where(where())
        found = {r.id: r for r in await ctx.db.scalars(stmt)}
        return [found.get(i) for i in ids]

    return _loader(ctx, name or f"{model.__name__}ByIdLoader", load)


def visible_by_id(ctx: RequestContext, model: type[_Row], where: Callable[[], Any], *,
                  name: str) -> DataLoader[uuid.UUID, bool]:
    """Whether each id's row satisfies ``where()`` (one statement reading ids only)."""

    async def load(ids: list[uuid.UUID]) -> list[bool]:
        id_col = _id_column(model)
        visible = set(await ctx.db.scalars(select(id_col).where(id_col.in_(ids), where())))
        return [i in visible for i in ids]

    return _loader(ctx, name, load)


def value_by_id(ctx: RequestContext, model: type[_Row], column: Any, *, name: str) -> DataLoader[uuid.UUID, Any]:
    """One column of each id's row (a name, for objects whose own rule already let the actor see it)."""

    async def load(ids: list[uuid.UUID]) -> list[Any]:
        id_col = _id_column(model)
        values = dict(await ctx.db.all(select(id_col, column).where(id_col.in_(ids))))
        return [values.get(i) for i in ids]

    return _loader(ctx, name, load)


def area_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Area | None]:
    return by_id(ctx, Area, lambda: area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor))


def grids_by_building(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Area]]:
    """The grids covering each building that the actor may read, by name (policies.filters.CaseGrid)."""

    async def load(ids: list[uuid.UUID]) -> list[list[Area]]:
        rule = CaseGrid(ctx.actor, Area, literal=False).covering(ids, GridBuilding)
        rows = await ctx.db.all(
            select(GridBuilding.building_id, Area).join(Area, rule.on).where(*rule.where).order_by(*rule.order_by)
        )
        out: dict[uuid.UUID, list[Area]] = defaultdict(list)
        for bid, grid in rows:
            out[bid].append(grid)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "GridsByBuildingLoader", load)


async def grid_of_case(ctx: RequestContext, area_id: uuid.UUID) -> Area | None:
    """Case.grid by the rule of policies.filters (the compiled read builds its SQL from the same): the
    first readable grid covering the case's building, else its own area when that is a readable grid."""
    grids = await grids_by_building(ctx).load(area_id)
    if grids:
        return grids[0]
    return CaseGrid.own_area_loaded(await area_by_id(ctx).load(area_id))


def household_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Household | None]:
    return by_id(ctx, Household, lambda: household_predicate(ctx.actor.grant("household", "read"), ctx.actor))


def person_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Person | None]:
    return by_id(ctx, Person, lambda: person_predicate(ctx.actor.grant("person", "read"), ctx.actor))


def persons_by_household(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Person]]:
    async def load(ids: list[uuid.UUID]) -> list[list[Person]]:
        pred = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
        rows = await ctx.db.scalars(
            select(Person).where(Person.household_id.in_(ids), pred, Person.status == PersonStatus.ACTIVE)
            .order_by(Person.id)
        )
        out: dict[uuid.UUID, list[Person]] = defaultdict(list)
        for p in rows:
            if p.household_id is not None:
                out[p.household_id].append(p)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "PersonsByHouseholdLoader", load)


def pii_visible_by_person(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Whether the actor may read a person's personal data in full; a full read is audited."""
    return visible_by_id(ctx, Person, lambda: person_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor),
                         name="PiiVisibleByPersonLoader")


def pii_visible_by_household(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """A household's exact address is personal data: the person read-PII grant decides."""
    return visible_by_id(ctx, Household,
                         lambda: household_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor),
                         name="PiiVisibleByHouseholdLoader")


def care_tags_by_person(ctx: RequestContext) -> DataLoader[uuid.UUID, list[str]]:
    async def load(ids: list[uuid.UUID]) -> list[list[str]]:
        rows = await ctx.db.all(
            select(PersonCareTag.person_id, PersonCareTag.code)
            .where(PersonCareTag.person_id.in_(ids))
            .order_by(PersonCareTag.code)
        )
        out: dict[uuid.UUID, list[str]] = defaultdict(list)
        for pid, code in rows:
            out[pid].append(code)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "CareTagsByPersonLoader", load)


def building_count_by_grid(ctx: RequestContext) -> DataLoader[uuid.UUID, int]:
    async def load(ids: list[uuid.UUID]) -> list[int]:
        rows = await ctx.db.all(
            select(GridBuilding.grid_id, func.count()).where(GridBuilding.grid_id.in_(ids))
            .group_by(GridBuilding.grid_id)
        )
        counts = dict(rows)
        return [int(counts.get(i, 0)) for i in ids]

    return _loader(ctx, "BuildingCountByGridLoader", load)


def user_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, User | None]:
    """Login identities (names only) of users that hold roles in this tenant."""
    return by_id(ctx, User)


def case_full_view(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Whether a case is visible in full (not only as an anonymised problem-wall entry)."""
    return visible_by_id(ctx, Case, lambda: case_predicate(ctx.actor.grant("case", "read"), ctx.actor, public=False),
                         name="CaseFullViewLoader")


def case_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Case | None]:
    """Cases reached from another object (a notification, a visit, a global ID), through the same
    read predicate as the case list (problem-wall cases included, shown anonymised)."""
    return by_id(ctx, Case, lambda: case_predicate(ctx.actor.grant("case", "read"), ctx.actor, public=True))


def events_by_case(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    async def load(ids: list[uuid.UUID]) -> list[list[Any]]:
        rows = await ctx.db.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids))
                                    .order_by(CaseEvent.case_id, CaseEvent.seq))
        out: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for e in rows:
            out[e.case_id].append(e)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "EventsByCaseLoader", load)


def stages_by_case(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    """A case's stages (办理环节, issue #22), oldest first: one statement for a page of cases."""
    async def load(ids: list[uuid.UUID]) -> list[list[Any]]:
        rows = await ctx.db.scalars(select(CaseStage).where(CaseStage.case_id.in_(ids))
                                    .order_by(CaseStage.case_id, CaseStage.seq))
        out: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for st in rows:
            out[st.case_id].append(st)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "StagesByCaseLoader", load)


def category_name_by_code(ctx: RequestContext) -> DataLoader[str, str | None]:
    async def load(codes: list[str]) -> list[str | None]:
        rows = await ctx.db.all(select(CaseCategory.code, CaseCategory.name).where(CaseCategory.code.in_(codes)))
        names = dict(rows)
        return [names.get(c) for c in codes]

    return _loader(ctx, "CategoryNameByCodeLoader", load)


# ---------------------------------------------------------------- pages nested in a list
# An area's children and an area's households are connections on every area of a list: one
# statement per (page arguments) for the pages of all the areas — ROW_NUMBER() per parent keeps
# each parent's first n (+1, to know whether more follow) — and one GROUP BY for their totals.


@dataclass(frozen=True)
class NestedPageKey:
    parent: uuid.UUID
    first: int | None
    after: str | None
    kind: AreaKind | None = None


def _windowed(
    ctx: RequestContext, keys: list[NestedPageKey], parent_col: Any, id_col: Any, base: Callable[[], Select[Any]],
    entity: Any, count_loader: DataLoader[Any, int], count_key: Callable[[NestedPageKey], Any],
) -> Callable[[], Awaitable[list[Page[Any]]]]:
    async def run() -> list[Page[Any]]:
        groups: dict[tuple[int | None, str | None, AreaKind | None], list[NestedPageKey]] = defaultdict(list)
        for k in keys:
            groups[(k.first, k.after, k.kind)].append(k)
        pages: dict[NestedPageKey, Page[Any]] = {}
        for (first, after, _kind), group in groups.items():
            n = page_size(first)
            stmt = base().where(parent_col.in_([k.parent for k in group]))
            if group[0].kind is not None:
                stmt = stmt.where(Area.kind == group[0].kind)
            if after is not None:
                stmt = stmt.where(id_col > decode_cursor(after))
            rn = func.row_number().over(partition_by=parent_col, order_by=id_col).label("rn")
            inner = stmt.add_columns(parent_col.label("page_parent"), rn).subquery()
            row = aliased(entity, inner)
            found = await ctx.db.all(select(row, inner.c.page_parent).where(inner.c.rn <= n + 1)
                                     .order_by(inner.c.page_parent, inner.c.rn))
            by_parent: dict[uuid.UUID, list[Any]] = defaultdict(list)
            for item, parent in found:
                by_parent[parent].append(item)
            for k in group:
                items = by_parent.get(k.parent, [])
                pages[k] = Page(items=items[:n], has_next=len(items) > n, has_previous=after is not None,
                                count_stmt=None, db=ctx.db, count=partial(count_loader.load, count_key(k)))
        return [pages[k] for k in keys]

    return run


def children_page_by_area(ctx: RequestContext) -> DataLoader[NestedPageKey, Page[Area]]:
    """``Area.children``: the readable direct children of each area, one page each."""

    def base() -> Select[Any]:
        return select(Area).where(area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor),
                                  Area.archived_at.is_(None))  # archived areas: only on request (issue #23)

    async def load(keys: list[NestedPageKey]) -> list[Page[Area]]:
        return await _windowed(ctx, keys, Area.parent_id, Area.id, base, Area, children_count_by_area(ctx),
                               lambda k: (k.parent, k.kind))()

    return _loader(ctx, "ChildrenPageByAreaLoader", load)


def children_count_by_area(ctx: RequestContext) -> DataLoader[tuple[uuid.UUID, AreaKind | None], int]:
    async def load(keys: list[tuple[uuid.UUID, AreaKind | None]]) -> list[int]:
        pred = area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)
        counts: dict[tuple[uuid.UUID, AreaKind | None], int] = {}
        for kind in {k for _p, k in keys}:
            stmt = select(Area.parent_id, func.count()).where(
                Area.parent_id.in_([p for p, k in keys if k == kind]), pred, Area.archived_at.is_(None))
            if kind is not None:
                stmt = stmt.where(Area.kind == kind)
            for parent, c in await ctx.db.all(stmt.group_by(Area.parent_id)):
                counts[(parent, kind)] = int(c)
        return [counts.get(k, 0) for k in keys]

    return _loader(ctx, "ChildrenCountByAreaLoader", load)


def _buildings_of_areas(ids: list[uuid.UUID]) -> Any:
    """(area_id, building_id): the areas under each area, and the buildings covered by grids under
    it — per area, what ``buildings_in_scope`` gives for its path."""
    scope, sub, grid = aliased(Area), aliased(Area), aliased(Area)
    under = (select(scope.id.label("area_id"), sub.id.label("building_id"))
             .join(sub, and_(sub.tenant_id == scope.tenant_id, sub.path.startswith(scope.path)))
             .where(scope.id.in_(ids)))
    covered = (select(scope.id.label("area_id"), GridBuilding.building_id.label("building_id"))
               .join(grid, and_(grid.tenant_id == scope.tenant_id, grid.path.startswith(scope.path)))
               .join(GridBuilding, and_(GridBuilding.tenant_id == grid.tenant_id, GridBuilding.grid_id == grid.id))
               .where(scope.id.in_(ids)))
    return union(under, covered).subquery()


def households_page_by_area(ctx: RequestContext) -> DataLoader[NestedPageKey, Page[Household]]:
    """``Compound/Grid/Building.households``: readable households in each area, one page each."""

    async def load(keys: list[NestedPageKey]) -> list[Page[Household]]:
        m = _buildings_of_areas(list({k.parent for k in keys}))

        def base() -> Select[Any]:
            return (select(Household).join(m, Household.building_id == m.c.building_id)
                    .where(household_predicate(ctx.actor.grant("household", "read"), ctx.actor)))

        return await _windowed(ctx, keys, m.c.area_id, Household.id, base, Household, households_count_by_area(ctx),
                               lambda k: k.parent)()

    return _loader(ctx, "HouseholdsPageByAreaLoader", load)


def households_count_by_area(ctx: RequestContext) -> DataLoader[uuid.UUID, int]:
    async def load(ids: list[uuid.UUID]) -> list[int]:
        m = _buildings_of_areas(ids)
        rows = await ctx.db.all(
            select(m.c.area_id, func.count()).select_from(Household)
            .join(m, Household.building_id == m.c.building_id)
            .where(household_predicate(ctx.actor.grant("household", "read"), ctx.actor))
            .group_by(m.c.area_id))
        counts = {a: int(c) for a, c in rows}
        return [counts.get(i, 0) for i in ids]

    return _loader(ctx, "HouseholdsCountByAreaLoader", load)
