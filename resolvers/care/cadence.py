"""Visit statistics: each household against the visit cadence (走访周期), the overdue list (逾期未访)
and coverage over a period (走访覆盖率)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, select

from models import (
    Area,
    AreaKind,
    GridBuilding,
    Household,
    LeadHousehold,
    Person,
    PersonCareTag,
    Visit,
)
from policies.care import care_household_predicate
from policies.filters import buildings_in_scope
from resolvers.care.common import area_path, local_day_bounds
from resolvers.care.settings import care_settings
from resolvers.cases import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def _local_date(d: datetime) -> date:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(WorkCalendar().tz).date()


@dataclass
class HouseholdCadence:
    """Where a household stands against the visit cadence on a given day."""

    household_id: uuid.UUID
    building_id: uuid.UUID
    key: bool
    interval_days: int
    last_visit_on: date | None
    due_on: date | None
    days_overdue: int | None  # None when never visited
    overdue: bool
    lead_id: uuid.UUID | None
    grid_ids: list[uuid.UUID] = field(default_factory=list)
    community_id: uuid.UUID | None = None


async def cadence(ctx: RequestContext, *, as_of: date, area_id: uuid.UUID | None = None,
                  lead_id: uuid.UUID | None = None) -> list[HouseholdCadence]:
    """Every household in the actor's visit·read reach (optionally inside an area or kept by one
    lead), with its last visit up to ``as_of`` and how long it is overdue.

    A key household (重点户) is one with a member carrying any care tag; it is due every
    ``key_visit_days``, every other household every ``routine_visit_days``. A household never
    visited is overdue with no day count."""
    s = await care_settings(ctx)
    reach = care_household_predicate(ctx.actor, "visit", "read", household_id=Household.id,
                                     building_id=Household.building_id)
    key_expr = exists().where(Person.household_id == Household.id, PersonCareTag.person_id == Person.id)
    stmt = select(Household.id, Household.building_id, Area.path, key_expr).join(
        Area, and_(Area.tenant_id == Household.tenant_id, Area.id == Household.building_id)).where(reach)
    if area_id is not None:
        stmt = stmt.where(Household.building_id.in_(buildings_in_scope((await area_path(ctx, area_id),))))
    if lead_id is not None:
        stmt = stmt.where(Household.id.in_(select(LeadHousehold.household_id).where(LeadHousehold.lead_id == lead_id)))
    rows = await ctx.db.all(stmt.order_by(Household.id))
    ids = [r[0] for r in rows]
    if not ids:
        return []
    _, hi = local_day_bounds(as_of, as_of)
    last = dict(await ctx.db.all(
        select(Visit.household_id, func.max(Visit.visited_at)).where(Visit.household_id.in_(ids), Visit.visited_at < hi)
        .group_by(Visit.household_id)))
    leads = dict(await ctx.db.all(
        select(LeadHousehold.household_id, LeadHousehold.lead_id).where(LeadHousehold.household_id.in_(ids))))
    buildings = {r[1] for r in rows}
    grids: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for gid, bid in await ctx.db.all(select(GridBuilding.grid_id, GridBuilding.building_id)
                                     .where(GridBuilding.building_id.in_(buildings))):
        grids[bid].append(gid)
    communities = {path: cid for cid, path in await ctx.db.all(
        select(Area.id, Area.path).where(Area.kind == AreaKind.COMMUNITY))}
    out = []
    for hid, bid, bpath, key in rows:
        interval = s.key_visit_days if key else s.routine_visit_days
        at = last.get(hid)
        last_on = None if at is None else _local_date(at)
        due = None if last_on is None else last_on + timedelta(days=interval)
        days = None if due is None else max((as_of - due).days, 0)
        community = next((cid for p, cid in communities.items() if bpath.startswith(p)), None)
        out.append(HouseholdCadence(
            household_id=hid, building_id=bid, key=bool(key), interval_days=interval, last_visit_on=last_on,
            due_on=due, days_overdue=days, overdue=due is None or as_of > due, lead_id=leads.get(hid),
            grid_ids=sorted(grids.get(bid, [])), community_id=community))
    return out


async def overdue_visits(ctx: RequestContext, *, as_of: date, area_id: uuid.UUID | None,
                         lead_id: uuid.UUID | None) -> list[HouseholdCadence]:
    """Households overdue for a visit on ``as_of``, never-visited first, then longest overdue."""
    rows = [c for c in await cadence(ctx, as_of=as_of, area_id=area_id, lead_id=lead_id) if c.overdue]
    return sorted(rows, key=lambda c: (c.days_overdue is not None, -(c.days_overdue or 0), c.household_id))


@dataclass
class CoverageGroup:
    group_by: str
    key_id: uuid.UUID | None
    households: int
    visited: int
    key_households: int
    key_visited: int
    overdue: int

    @property
    def rate(self) -> float | None:
        return self.visited / self.households if self.households else None

    @property
    def key_rate(self) -> float | None:
        return self.key_visited / self.key_households if self.key_households else None


GROUPINGS = ("total", "lead", "grid", "community")


async def coverage(ctx: RequestContext, *, start: date, end: date, area_id: uuid.UUID | None,
                   group_by: str) -> list[CoverageGroup]:
    """Visit coverage (走访覆盖率) over the local days ``start``–``end``: households visited at least
    once, overall and for key households, with how many are overdue on ``end``; per lead, grid or
    community (a household with no lead counts under none; a building in two grids in both)."""
    if end < start or (end - start).days > 366:
        raise ServiceError(ErrorCode.INVALID, t("统计期应从前往后，且最长一年",
                                                "the period runs forward and spans at most a year"), "to")
    if group_by not in GROUPINGS:
        raise ServiceError(ErrorCode.INVALID, t(f"groupBy 应为以下之一：{'、'.join(GROUPINGS)}",
                                                f"groupBy must be one of {', '.join(GROUPINGS)}"), "groupBy")
    rows = await cadence(ctx, as_of=end, area_id=area_id)
    lo, hi = local_day_bounds(start, end)
    visited = set(await ctx.db.scalars(select(Visit.household_id).distinct().where(
        Visit.household_id.in_([r.household_id for r in rows]), Visit.visited_at >= lo, Visit.visited_at < hi)))
    groups: dict[uuid.UUID | None, CoverageGroup] = {}
    for r in rows:
        keys: list[uuid.UUID | None]
        if group_by == "lead":
            keys = [r.lead_id]
        elif group_by == "grid":
            keys = list(r.grid_ids) or [None]
        elif group_by == "community":
            keys = [r.community_id]
        else:
            keys = [None]
        for k in keys:
            g = groups.setdefault(k, CoverageGroup(group_by, k, 0, 0, 0, 0, 0))
            g.households += 1
            g.visited += r.household_id in visited
            g.key_households += r.key
            g.key_visited += r.key and r.household_id in visited
            g.overdue += r.overdue
    return sorted(groups.values(), key=lambda g: (g.key_id is None, str(g.key_id)))
