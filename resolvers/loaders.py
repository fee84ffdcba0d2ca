"""Per-request DataLoaders (``XByYLoader``). Each applies the same read predicate as the lists, so
an object reached through a relation is only returned when the actor may read it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import and_, func, select
from strawberry.dataloader import DataLoader

from models import Area, AreaKind, Case, CaseCategory, CaseEvent, GridBuilding, Household, Person, PersonCareTag, User
from policies.filters import area_read_predicate, case_predicate, household_predicate, person_predicate
from resolvers.context import RequestContext


def _loader(
    ctx: RequestContext, name: str, fn: Callable[[list[Any]], Awaitable[Sequence[Any]]]
) -> DataLoader[Any, Any]:
    found = ctx.loaders.get(name)
    if found is None:
        found = ctx.loaders[name] = DataLoader(load_fn=fn)  # type: ignore[arg-type]
    return found


def area_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Area | None]:
    async def load(ids: list[uuid.UUID]) -> list[Area | None]:
        pred = area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)
        rows = await ctx.db.scalars(select(Area).where(Area.id.in_(ids), pred))
        by_id = {a.id: a for a in rows}
        return [by_id.get(i) for i in ids]

    return _loader(ctx, "AreaByIdLoader", load)


def grids_by_building(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Area]]:
    async def load(ids: list[uuid.UUID]) -> list[list[Area]]:
        pred = area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)
        rows = await ctx.db.all(
            select(GridBuilding.building_id, Area)
            .join(Area, and_(Area.tenant_id == GridBuilding.tenant_id, Area.id == GridBuilding.grid_id))
            .where(GridBuilding.building_id.in_(ids), Area.kind == AreaKind.GRID, pred)
            .order_by(Area.name)
        )
        out: dict[uuid.UUID, list[Area]] = defaultdict(list)
        for bid, grid in rows:
            out[bid].append(grid)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "GridsByBuildingLoader", load)


def household_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Household | None]:
    async def load(ids: list[uuid.UUID]) -> list[Household | None]:
        pred = household_predicate(ctx.actor.grant("household", "read"), ctx.actor)
        rows = await ctx.db.scalars(select(Household).where(Household.id.in_(ids), pred))
        by_id = {h.id: h for h in rows}
        return [by_id.get(i) for i in ids]

    return _loader(ctx, "HouseholdByIdLoader", load)


def person_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Person | None]:
    async def load(ids: list[uuid.UUID]) -> list[Person | None]:
        pred = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
        rows = await ctx.db.scalars(select(Person).where(Person.id.in_(ids), pred))
        by_id = {p.id: p for p in rows}
        return [by_id.get(i) for i in ids]

    return _loader(ctx, "PersonByIdLoader", load)


def persons_by_household(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Person]]:
    async def load(ids: list[uuid.UUID]) -> list[list[Person]]:
        pred = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
        rows = await ctx.db.scalars(
            select(Person).where(Person.household_id.in_(ids), pred).order_by(Person.id)
        )
        out: dict[uuid.UUID, list[Person]] = defaultdict(list)
        for p in rows:
            if p.household_id is not None:
                out[p.household_id].append(p)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "PersonsByHouseholdLoader", load)


def pii_visible_by_person(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Whether the actor may read a person's personal data in full; a full read is audited."""

    async def load(ids: list[uuid.UUID]) -> list[bool]:
        pred = person_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor)
        visible = set(await ctx.db.scalars(select(Person.id).where(Person.id.in_(ids), pred)))
        return [i in visible for i in ids]

    return _loader(ctx, "PiiVisibleByPersonLoader", load)


def pii_visible_by_household(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """A household's exact address is personal data: the person read-PII grant decides."""

    async def load(ids: list[uuid.UUID]) -> list[bool]:
        pred = household_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor)
        visible = set(await ctx.db.scalars(select(Household.id).where(Household.id.in_(ids), pred)))
        return [i in visible for i in ids]

    return _loader(ctx, "PiiVisibleByHouseholdLoader", load)


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

    async def load(ids: list[uuid.UUID]) -> list[User | None]:
        rows = await ctx.db.scalars(select(User).where(User.id.in_(ids)))
        by_id = {u.id: u for u in rows}
        return [by_id.get(i) for i in ids]

    return _loader(ctx, "UserByIdLoader", load)


def case_full_view(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Whether a case is visible in full (not only as an anonymised problem-wall entry)."""
    async def load(ids: list[uuid.UUID]) -> list[bool]:
        pred = case_predicate(ctx.actor.grant("case", "read"), ctx.actor, public=False)
        visible = set(await ctx.db.scalars(select(Case.id).where(Case.id.in_(ids), pred)))
        return [i in visible for i in ids]

    return _loader(ctx, "CaseFullViewLoader", load)


def events_by_case(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    async def load(ids: list[uuid.UUID]) -> list[list[Any]]:
        rows = await ctx.db.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids))
                                    .order_by(CaseEvent.case_id, CaseEvent.seq))
        out: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for e in rows:
            out[e.case_id].append(e)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "EventsByCaseLoader", load)


def category_name_by_code(ctx: RequestContext) -> DataLoader[str, str | None]:
    async def load(codes: list[str]) -> list[str | None]:
        rows = await ctx.db.all(select(CaseCategory.code, CaseCategory.name).where(CaseCategory.code.in_(codes)))
        names = dict(rows)
        return [names.get(c) for c in codes]

    return _loader(ctx, "CategoryNameByCodeLoader", load)
