"""Visit statistics: each household against the visit cadence (走访周期), the overdue list (逾期未访)
and coverage over a period (走访覆盖率).

``cadence`` computes them in Python from several statements (it serves SQLite, and is the rule);
``cadence_sql`` is the same rule as one PostgreSQL statement for the compiled reads (compiled/care.py,
issue #21), built from the same filters (``cadence_filters``, ``key_household_sql``) and held to the
Python answers by tests/compiled/test_compiled_visit_figures.py."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from models import (
    Area,
    AreaKind,
    CareSettings,
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
from resolvers.care.settings import DEFAULT_KEY_VISIT_DAYS, DEFAULT_ROUTINE_VISIT_DAYS, care_settings
from resolvers.cases import SHANGHAI
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def _local_date(d: datetime) -> date:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(SHANGHAI).date()


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


def key_household_sql(household_id: ColumnElement[uuid.UUID] | Any) -> ColumnElement[bool]:
    """A key household (重点户): one of its persons carries a care tag."""
    return exists().where(Person.household_id == household_id, PersonCareTag.person_id == Person.id)


def cadence_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None,
                    lead_id: uuid.UUID | ColumnElement[uuid.UUID] | None) -> list[ColumnElement[bool]]:
    """The households the cadence covers: in the actor's visit·read reach, in the buildings under the
    area's path, kept by the lead (each optional)."""
    filters = [care_household_predicate(ctx.actor, "visit", "read", household_id=Household.id,
                                        building_id=Household.building_id)]
    if area_path is not None:
        # policies.filters types the scope paths as strings; startswith takes an expression as well.
        filters.append(Household.building_id.in_(buildings_in_scope((area_path,))))  # type: ignore[arg-type]
    if lead_id is not None:
        filters.append(Household.id.in_(select(LeadHousehold.household_id).where(LeadHousehold.lead_id == lead_id)))
    return filters


async def cadence(ctx: RequestContext, *, as_of: date, area_id: uuid.UUID | None = None,
                  lead_id: uuid.UUID | None = None, field: str = "asOf") -> list[HouseholdCadence]:
    """Every household in the actor's visit·read reach (optionally inside an area or kept by one
    lead), with its last visit up to ``as_of`` and how long it is overdue.

    A key household (重点户) is one with a member carrying any care tag; it is due every
    ``key_visit_days``, every other household every ``routine_visit_days``. A household never
    visited is overdue with no day count."""
    _, hi = local_day_bounds(as_of, as_of, (field, field))  # before anything: INVALID for any data
    s = await care_settings(ctx)
    path = None if area_id is None else await area_path(ctx, area_id)
    stmt = select(Household.id, Household.building_id, Area.path, key_household_sql(Household.id)).join(
        Area, and_(Area.tenant_id == Household.tenant_id, Area.id == Household.building_id)).where(
        *cadence_filters(ctx, area_path=path, lead_id=lead_id))
    rows = await ctx.db.all(stmt.order_by(Household.id))
    ids = [r[0] for r in rows]
    if not ids:
        return []
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
    lo, hi = local_day_bounds(start, end)
    rows = await cadence(ctx, as_of=end, area_id=area_id, field="to")
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


# ---------------------------------------------------------------- the same rule as one statement (PostgreSQL)

DateArg = date | ColumnElement[date]
TimeArg = datetime | ColumnElement[datetime]


def cadence_sql(ctx: RequestContext, *, as_of: DateArg, before: TimeArg, area_path: str | ColumnElement[str] | None,
                lead_id: uuid.UUID | ColumnElement[uuid.UUID] | None, visited_in: tuple[TimeArg, TimeArg] | None = None,
                where: tuple[ColumnElement[bool], ...] = ()) -> Select[Any]:
    """``cadence`` in SQL: one row per household it covers, with the columns household_id, building_id,
    key, interval_days, last_visit_on, due_on, days_overdue, overdue, lead_id, community_id (and visited,
    a visit in [visited_in), for coverage). ``before`` is the end of ``as_of``'s local day
    (``local_day_bounds``); the values may be SQL (the compiled reads' parameters)."""
    last_at = (select(func.max(Visit.visited_at)).where(Visit.household_id == Household.id, Visit.visited_at < before)
              .scalar_subquery())
    key_days = func.coalesce(select(CareSettings.key_visit_days).limit(1).scalar_subquery(), DEFAULT_KEY_VISIT_DAYS)
    routine_days = func.coalesce(select(CareSettings.routine_visit_days).limit(1).scalar_subquery(),
                                 DEFAULT_ROUTINE_VISIT_DAYS)
    # The settings' two intervals read inside the OFFSET 0 subquery, columns of it: read outside, each use of the
    # interval (the interval, the due day, the days overdue, the filter, the order, the answer) repeated the two
    # reads — eleven InitPlans for overdueVisits (issue #21); here two
    columns: list[ColumnElement[Any]] = [Household.id.label("household_id"), Household.building_id.label("building_id"),
               key_household_sql(Household.id).label("key"), last_at.label("last_at"), key_days.label("key_days"),
               routine_days.label("routine_days")]
    # A visit in [visited_in) when the period ends at ``before`` (coverage's: its last day is as_of) is a last visit
    # before ``before`` at the period's start or later: no second read of the household's visits (issue #21)
    derived = visited_in is not None and visited_in[1] is before
    if visited_in is not None and not derived:
        columns.append(exists().where(Visit.household_id == Household.id, Visit.visited_at >= visited_in[0],
                                      Visit.visited_at < visited_in[1]).label("visited"))
    # No join of the building: the foreign key (tenant_id, building_id) makes it one row, and only the community
    # reads its path (a scan of areas per household for every figure else, issue #21)
    h = (select(*columns).where(*cadence_filters(ctx, area_path=area_path, lead_id=lead_id), *where)
         # OFFSET 0: PostgreSQL keeps the subquery as it is (no pull-up), so each household's last visit and key
         # test run once, not once per use of the columns made from them (issue #21: five times for overdueVisits —
         # its filter, order, rank and answer)
         .offset(0).subquery("cadence_h"))
    interval = case((h.c.key, h.c.key_days), else_=h.c.routine_days)
    # _local_date: the last visit's day on the calendar's clock
    tz: ColumnElement[str] = literal_column(f"'{SHANGHAI.key}'")
    last_on = cast(func.timezone(tz, h.c.last_at), Date)
    due = (last_on + interval).label("due_on")
    days = case((h.c.last_at.is_(None), null()), else_=func.greatest(cast(as_of - due, Integer), 0))
    community = aliased(Area, name="cadence_community")
    building = aliased(Area, name="cadence_building")
    extra: list[ColumnElement[Any]] = []
    if derived:
        assert visited_in is not None
        extra.append(func.coalesce(h.c.last_at >= visited_in[0], false()).label("visited"))
    elif visited_in is not None:
        extra.append(h.c.visited)
    return select(
        h.c.household_id, h.c.building_id, h.c.key, interval.label("interval_days"), last_on.label("last_visit_on"),
        due, days.label("days_overdue"), or_(h.c.last_at.is_(None), as_of > due).label("overdue"),
        select(LeadHousehold.lead_id).where(LeadHousehold.household_id == h.c.household_id)
        .scalar_subquery().label("lead_id"),
        # the first community whose path begins the building's (str.startswith, as cadence reads them)
        select(community.id).where(community.kind == AreaKind.COMMUNITY, building.id == h.c.building_id,
                                   func.starts_with(building.path, community.path)).limit(1)
        .scalar_subquery().label("community_id"),
        *extra)


def overdue_order(row: Any) -> list[ColumnElement[Any]]:
    """overdue_visits' order over cadence_sql's columns."""
    return [row.c.days_overdue.is_not(None), row.c.days_overdue.desc(), row.c.household_id]


def coverage_sql(ctx: RequestContext, *, as_of: DateArg, before: TimeArg, visited_in: tuple[TimeArg, TimeArg],
                 area_path: str | ColumnElement[str] | None, group_by: str,
                 where: tuple[ColumnElement[bool], ...] = ()) -> Select[Any]:
    """``coverage``'s groups in SQL, in its order (the group's id, none last): key_id, households, visited,
    key_households, key_visited, overdue — over cadence_sql's rows on the period's last day."""
    c = cadence_sql(ctx, as_of=as_of, before=before, area_path=area_path, lead_id=None, visited_in=visited_in,
                    where=where).subquery("cadence")
    src: Any = c
    key: ColumnElement[Any]
    if group_by == "grid":  # a building in two grids counts in both; in none, under none
        # A table, not an ORM alias: the ORM's tenant criterion would land in the WHERE and drop "none".
        grid = GridBuilding.__table__.alias("coverage_grid")
        src = c.outerjoin(grid, and_(grid.c.tenant_id == ctx.actor.tenant_id, grid.c.building_id == c.c.building_id))
        key = grid.c.grid_id
    elif group_by in ("lead", "community"):
        key = c.c.lead_id if group_by == "lead" else c.c.community_id
    else:
        key = cast(null(), Household.id.type)
    counts = [func.count().label("households"), func.count().filter(c.c.visited).label("visited"),
              func.count().filter(c.c.key).label("key_households"),
              func.count().filter(and_(c.c.key, c.c.visited)).label("key_visited"),
              func.count().filter(c.c.overdue).label("overdue")]
    stmt = select(key.label("key_id"), *counts).select_from(src)
    # no household, no group: the total is no row then either (HAVING; GROUP BY a constant is refused)
    stmt = stmt.group_by(key) if group_by in ("grid", "lead", "community") else stmt.having(func.count() > 0)
    return stmt.order_by(key.is_(None), key)
