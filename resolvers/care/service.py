"""Care (关爱): neighbourhood leads and home visits with their cadence, care-group service lists and
service records, needs and micro-wishes (需求清单/微心愿).

Checks follow the house order: validate input, find the object through the read predicate (else
NOT_FOUND), check the action's grant reaches it (else FORBIDDEN), check state (INVALID_TRANSITION),
write. Wish transitions are ``UPDATE … WHERE version = :seen AND state = :from``: of two claims at
once exactly one wins, the other gets CONFLICT.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, true, update

from models import (
    Area,
    AreaKind,
    CareService,
    CareServiceRecord,
    CareSettings,
    CareTagKind,
    CasePriority,
    GridBuilding,
    Household,
    LeadHousehold,
    LeadTitle,
    Member,
    NeighborLead,
    Person,
    PersonCareTag,
    RoleAssignment,
    Visit,
    VisitKind,
    Wish,
    WishState,
    uuid7,
)
from policies.actor import Grant
from policies.filters import (
    area_manage_predicate,
    area_reach_predicate,
    building_predicate,
    buildings_in_scope,
    care_household_predicate,
    care_service_predicate,
    household_predicate,
    person_predicate,
    wish_predicate,
)
from policies.roles import Condition, Role
from resolvers import cases as case_service
from resolvers import validation as v
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition


def _acting_role(ctx: RequestContext) -> str:
    roles = ctx.actor.roles
    return roles[0].value if roles else ""


def _local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = WorkCalendar().tz
    return (datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC))


def _local_date(d: datetime) -> date:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(WorkCalendar().tz).date()


async def care_settings(ctx: RequestContext) -> CareSettings:
    row = await ctx.db.scalar(select(CareSettings))
    return row if row is not None else CareSettings(lead_min_households=5, lead_max_households=15,
                                                     key_visit_days=7, routine_visit_days=90)


@dataclass
class SettingsInput:
    lead_min_households: int | None = None
    lead_max_households: int | None = None
    key_visit_days: int | None = None
    routine_visit_days: int | None = None


async def update_care_settings(ctx: RequestContext, data: SettingsInput) -> CareSettings:
    if not ctx.actor.grant("care", "configure").all:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the street admin sets the care rules", None)
    s = await care_settings(ctx)
    lo = data.lead_min_households if data.lead_min_households is not None else s.lead_min_households
    hi = data.lead_max_households if data.lead_max_households is not None else s.lead_max_households
    key = data.key_visit_days if data.key_visit_days is not None else s.key_visit_days
    routine = data.routine_visit_days if data.routine_visit_days is not None else s.routine_visit_days
    errors = FieldErrors()
    if not 1 <= lo <= hi <= 100:
        errors.add(ErrorCode.INVALID, "the household range must satisfy 1 ≤ min ≤ max ≤ 100",
                   "leadMinHouseholds")
    if not 1 <= key <= 366:
        errors.add(ErrorCode.INVALID, "keyVisitDays must be 1–366", "keyVisitDays")
    if not 1 <= routine <= 366:
        errors.add(ErrorCode.INVALID, "routineVisitDays must be 1–366", "routineVisitDays")
    errors.raise_if_any()
    s.lead_min_households, s.lead_max_households, s.key_visit_days, s.routine_visit_days = lo, hi, key, routine
    await ctx.db.flush(s)
    return s


# ---------------------------------------------------------------- neighbourhood leads (邻长)


def _lead_read_predicate(ctx: RequestContext) -> Any:
    """Leads whose area lies in the reach of visit·read (or the actor's own appointment)."""
    actor = ctx.actor
    grant = actor.grant("visit", "read")
    parts = [NeighborLead.user_id == actor.user_id]
    if grant.all:
        return true()
    if grant.scope_paths:
        parts.append(or_(*(NeighborLead.area_path.startswith(p) for p in grant.scope_paths)))
        a = Area
        parts.append(NeighborLead.area_id.in_(select(a.id).where(building_predicate(a.id, grant, actor))))
    return or_(*parts)


async def list_leads(ctx: RequestContext, *, area_id: uuid.UUID | None, include_ended: bool,
                     first: int | None, after: str | None) -> Page[NeighborLead]:
    stmt = select(NeighborLead).where(_lead_read_predicate(ctx))
    if not include_ended:
        stmt = stmt.where(NeighborLead.ended_at.is_(None))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(NeighborLead.area_path.startswith(path))
    return await keyset_page(ctx.db, stmt, NeighborLead.id, first=first, after=after)


async def get_lead(ctx: RequestContext, lead_id: uuid.UUID) -> NeighborLead | None:
    return await ctx.db.scalar(select(NeighborLead).where(NeighborLead.id == lead_id, _lead_read_predicate(ctx)))


async def _check_households(ctx: RequestContext, ids: list[uuid.UUID], area_path: str) -> None:
    """Every household exists, lies in the lead's area and in the appointer's reach; the count is
    within the tenant's range; none is kept by another lead."""
    s = await care_settings(ctx)
    if not s.lead_min_households <= len(ids) <= s.lead_max_households:
        raise ServiceError(ErrorCode.INVALID, f"a lead keeps {s.lead_min_households}–{s.lead_max_households} "
                           f"households; {len(ids)} given", "householdIds")
    grant = ctx.actor.grant("visit", "appoint_lead")
    found = set(await ctx.db.scalars(
        select(Household.id).where(Household.id.in_(ids), building_predicate(Household.building_id, grant, ctx.actor),
                                   Household.building_id.in_(buildings_in_scope((area_path,))))
    ))
    if len(found) != len(ids):
        raise ServiceError(ErrorCode.INVALID, "households must exist, lie in the lead's area and in your scope",
                           "householdIds")


async def appoint_lead(ctx: RequestContext, *, person_id: uuid.UUID, title: LeadTitle, area_id: uuid.UUID,
                       household_ids: list[uuid.UUID]) -> NeighborLead:
    actor = ctx.actor
    ids = list(dict.fromkeys(household_ids))
    person = await ctx.db.scalar(
        select(Person).where(Person.id == person_id, person_predicate(actor.grant("person", "read"), actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "person not found", "personId")
    area = await ctx.db.scalar(select(Area).where(Area.id == area_id))
    if area is None or area.kind not in (AreaKind.BUILDING, AreaKind.COMPOUND, AreaKind.ZONE, AreaKind.GRID):
        raise ServiceError(ErrorCode.NOT_FOUND, "name a building, compound, zone or grid", "areaId")
    grant = actor.grant("visit", "appoint_lead")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area.id, area_reach_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not appoint leads in this area", "areaId")
    user_id = await ctx.db.scalar(select(Member.user_id).where(Member.person_id == person.id))
    if user_id is None:
        raise ServiceError(ErrorCode.INVALID, "the person has no user account to act as lead", "personId")
    await _check_households(ctx, ids, area.path)
    if await ctx.db.scalar(select(NeighborLead.id).where(NeighborLead.user_id == user_id,
                                                         NeighborLead.ended_at.is_(None))) is not None:
        raise ServiceError(ErrorCode.CONFLICT, "the person is already a lead; end that appointment first",
                           "personId")
    taken = await ctx.db.scalar(select(func.count()).select_from(LeadHousehold)
                                .where(LeadHousehold.household_id.in_(ids)))
    if taken:
        raise ServiceError(ErrorCode.CONFLICT, f"{taken} of the households already have a lead", "householdIds")
    # A neighbor_lead role the user already holds over exactly this area (granted by hand before
    # appointments existed) is taken over rather than doubled.
    ra_id = await ctx.db.scalar(select(RoleAssignment.id).where(
        RoleAssignment.user_id == user_id, RoleAssignment.role == Role.NEIGHBOR_LEAD.value,
        RoleAssignment.scope_area_id == area.id, RoleAssignment.revoked_at.is_(None),
        or_(RoleAssignment.valid_until.is_(None), RoleAssignment.valid_until > ctx.now),
        RoleAssignment.id.not_in(select(NeighborLead.role_assignment_id).where(
            NeighborLead.role_assignment_id.is_not(None)))))
    if ra_id is None:
        ra = RoleAssignment(id=uuid7(), user_id=user_id, role=Role.NEIGHBOR_LEAD.value, scope_area_id=area.id,
                            firm_id=None, valid_from=ctx.now, valid_until=None, granted_by=actor.user_id,
                            created_at=ctx.now)
        await ctx.db.flush(ra)
        ra_id = ra.id
    lead = NeighborLead(id=uuid7(), user_id=user_id, person_id=person.id, title=title, area_id=area.id,
                        area_path=area.path, role_assignment_id=ra_id, appointed_by=actor.user_id, ended_at=None,
                        created_at=ctx.now)
    await ctx.db.flush(lead)
    await ctx.db.flush(*(LeadHousehold(lead_id=lead.id, household_id=h, created_at=ctx.now) for h in ids))
    return lead


async def _manageable_lead(ctx: RequestContext, lead_id: uuid.UUID) -> NeighborLead:
    lead = await get_lead(ctx, lead_id)
    if lead is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "lead not found", "id")
    grant = ctx.actor.grant("visit", "appoint_lead")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == lead.area_id, area_reach_predicate(grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not change this lead", "id")
    if lead.ended_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, "the appointment has ended", "id")
    return lead


async def set_lead_households(ctx: RequestContext, lead_id: uuid.UUID, household_ids: list[uuid.UUID]
                              ) -> NeighborLead:
    lead = await _manageable_lead(ctx, lead_id)
    ids = list(dict.fromkeys(household_ids))
    await _check_households(ctx, ids, lead.area_path)
    taken = await ctx.db.scalar(select(func.count()).select_from(LeadHousehold).where(
        LeadHousehold.household_id.in_(ids), LeadHousehold.lead_id != lead.id))
    if taken:
        raise ServiceError(ErrorCode.CONFLICT, f"{taken} of the households already have another lead",
                           "householdIds")
    await ctx.db.execute(delete(LeadHousehold).where(LeadHousehold.lead_id == lead.id))
    await ctx.db.flush(*(LeadHousehold(lead_id=lead.id, household_id=h, created_at=ctx.now) for h in ids))
    return lead


async def end_lead(ctx: RequestContext, lead_id: uuid.UUID) -> NeighborLead:
    """End an appointment: the households are freed and the neighbor_lead role is revoked."""
    lead = await _manageable_lead(ctx, lead_id)
    await ctx.db.execute(delete(LeadHousehold).where(LeadHousehold.lead_id == lead.id))
    if lead.role_assignment_id is not None:
        await ctx.db.execute(
            update(RoleAssignment).where(RoleAssignment.id == lead.role_assignment_id,
                                         RoleAssignment.revoked_at.is_(None))
            .values(revoked_at=ctx.now, revoked_by=ctx.actor.user_id).execution_options(synchronize_session=False))
    lead.ended_at = ctx.now
    await ctx.db.flush(lead)
    return lead


# ---------------------------------------------------------------- visits (走访)


def visit_read_predicate(ctx: RequestContext) -> Any:
    return care_household_predicate(ctx.actor, "visit", "read", household_id=Visit.household_id,
                                    building_id=Visit.building_id)


@dataclass
class RaiseCase:
    category: str
    title: str
    description: str = ""
    priority: CasePriority = CasePriority.NORMAL


@dataclass
class VisitInput:
    household_id: uuid.UUID
    kind: VisitKind
    visited_at: datetime
    findings: str
    needs: str | None = None
    raise_case: RaiseCase | None = None


async def record_visit(ctx: RequestContext, data: VisitInput) -> Visit:
    actor = ctx.actor
    errors = FieldErrors()
    findings = needs = None
    with errors.catch():
        findings = v.text(data.findings, "findings", max_len=5000)
    if data.needs is not None:
        with errors.catch():
            needs = v.text(data.needs, "needs", max_len=2000, required=False) or None
    if data.visited_at.tzinfo is None:
        errors.add(ErrorCode.INVALID, "visitedAt needs a timezone", "visitedAt")
    elif data.visited_at > ctx.now + timedelta(minutes=5):
        errors.add(ErrorCode.INVALID, "visitedAt lies in the future", "visitedAt")
    elif data.visited_at < ctx.now - timedelta(days=366):
        errors.add(ErrorCode.INVALID, "visitedAt is more than a year ago", "visitedAt")
    errors.raise_if_any()
    readable = or_(household_predicate(actor.grant("household", "read"), actor),
                   care_household_predicate(actor, "visit", "read", household_id=Household.id,
                                            building_id=Household.building_id))
    h = await ctx.db.scalar(select(Household).where(Household.id == data.household_id, readable))
    if h is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "household not found", "householdId")
    allowed = care_household_predicate(actor, "visit", "record", household_id=Household.id,
                                       building_id=Household.building_id)
    if await ctx.db.scalar(select(Household.id).where(Household.id == h.id, allowed)) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not record visits to this household", "householdId")
    case_id = None
    if data.raise_case is not None:
        rc = data.raise_case
        case = await case_service.report_case(ctx, case_service.ReportInput(
            area_id=h.building_id, category=rc.category, priority=rc.priority, title=rc.title,
            description=rc.description))
        case_id = case.id
    visit = Visit(id=uuid7(), household_id=h.id, building_id=h.building_id, visitor_user_id=actor.user_id,
                  visitor_role=_acting_role(ctx), kind=data.kind, visited_at=data.visited_at, findings=findings,
                  needs=needs, case_id=case_id, created_at=ctx.now)
    await ctx.db.flush(visit)
    return visit


async def list_visits(ctx: RequestContext, *, household_id: uuid.UUID | None, area_id: uuid.UUID | None,
                      start: date | None, end: date | None, first: int | None, after: str | None) -> Page[Visit]:
    stmt = select(Visit).where(visit_read_predicate(ctx))
    if household_id is not None:
        stmt = stmt.where(Visit.household_id == household_id)
    if area_id is not None:
        path = await _area_path(ctx, area_id)
        stmt = stmt.where(Visit.building_id.in_(buildings_in_scope((path,))))
    if start is not None or end is not None:
        lo, hi = _local_day_bounds(start or date(1970, 1, 1), end or date(9999, 12, 30))
        stmt = stmt.where(Visit.visited_at >= lo, Visit.visited_at < hi)
    return await keyset_page(ctx.db, stmt, Visit.id, first=first, after=after, descending=True)


async def get_visit(ctx: RequestContext, visit_id: uuid.UUID) -> Visit | None:
    return await ctx.db.scalar(select(Visit).where(Visit.id == visit_id, visit_read_predicate(ctx)))


async def _area_path(ctx: RequestContext, area_id: uuid.UUID) -> str:
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
    return str(path)


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
        stmt = stmt.where(Household.building_id.in_(buildings_in_scope((await _area_path(ctx, area_id),))))
    if lead_id is not None:
        stmt = stmt.where(Household.id.in_(select(LeadHousehold.household_id).where(LeadHousehold.lead_id == lead_id)))
    rows = await ctx.db.all(stmt.order_by(Household.id))
    ids = [r[0] for r in rows]
    if not ids:
        return []
    _, hi = _local_day_bounds(as_of, as_of)
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
        raise ServiceError(ErrorCode.INVALID, "the period runs forward and spans at most a year", "to")
    if group_by not in GROUPINGS:
        raise ServiceError(ErrorCode.INVALID, f"groupBy must be one of {', '.join(GROUPINGS)}", "groupBy")
    rows = await cadence(ctx, as_of=end, area_id=area_id)
    lo, hi = _local_day_bounds(start, end)
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


# ---------------------------------------------------------------- care groups and service lists


_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


async def add_care_tag_kind(ctx: RequestContext, *, code: str, name: str) -> CareTagKind:
    if not ctx.actor.grant("care_tag", "manage").all:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the street admin adds care groups", "code")
    errors = FieldErrors()
    c = code.strip()
    if not _CODE_RE.match(c):
        errors.add(ErrorCode.INVALID, "code is 2–32 lowercase letters, digits or _", "code")
    with errors.catch():
        label = v.text(name, "name", max_len=50)
    errors.raise_if_any()
    if await ctx.db.scalar(select(CareTagKind.id).where(CareTagKind.code == c)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, f"care group {c!r} exists", "code")
    kind = CareTagKind(id=uuid7(), code=c, name=label, created_at=ctx.now)
    await ctx.db.flush(kind)
    return kind


@dataclass
class ServiceInput:
    tag_code: str
    area_id: uuid.UUID
    name: str
    frequency: str
    provider: str
    note: str | None = None


async def create_care_service(ctx: RequestContext, data: ServiceInput) -> CareService:
    errors = FieldErrors()
    vals: dict[str, Any] = {}
    for attr, label, n in (("name", "name", 100), ("frequency", "frequency", 50), ("provider", "provider", 100)):
        with errors.catch():
            vals[attr] = v.text(getattr(data, attr), label, max_len=n)
    note = None
    if data.note is not None:
        with errors.catch():
            note = v.text(data.note, "note", max_len=500, required=False) or None
    if await ctx.db.scalar(select(CareTagKind.id).where(CareTagKind.code == data.tag_code)) is None:
        errors.add(ErrorCode.INVALID, f"unknown care group {data.tag_code!r}", "tagCode")
    errors.raise_if_any()
    area = await ctx.db.scalar(select(Area).where(Area.id == data.area_id))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
    grant = ctx.actor.grant("care_service", "manage")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area.id, area_manage_predicate(grant))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not keep service lists for this area", "areaId")
    svc = CareService(id=uuid7(), tag_code=data.tag_code, area_id=area.id, area_path=area.path, note=note,
                      active=True, created_at=ctx.now, **vals)
    await ctx.db.flush(svc)
    return svc


async def list_care_services(ctx: RequestContext, *, tag_code: str | None, area_id: uuid.UUID | None
                             ) -> list[CareService]:
    stmt = select(CareService).where(care_service_predicate(ctx.actor.grant("care_service", "read")),
                                     CareService.active.is_(True))
    if tag_code is not None:
        stmt = stmt.where(CareService.tag_code == tag_code)
    if area_id is not None:
        path = await _area_path(ctx, area_id)
        # The lists that apply in an area: its own, those of the areas above it and below it.
        stmt = stmt.where(or_(CareService.area_path.startswith(path), func.substr(path, 1, func.length(
            CareService.area_path)) == CareService.area_path))
    return list(await ctx.db.scalars(stmt.order_by(CareService.tag_code, CareService.id)))


async def get_care_service(ctx: RequestContext, service_id: uuid.UUID) -> CareService | None:
    return await ctx.db.scalar(select(CareService).where(
        CareService.id == service_id, care_service_predicate(ctx.actor.grant("care_service", "read"))))


@dataclass
class ServiceRecordInput:
    service_id: uuid.UUID
    person_id: uuid.UUID
    provided_at: datetime
    provided_by: str
    note: str | None = None


async def record_care_service(ctx: RequestContext, data: ServiceRecordInput) -> CareServiceRecord:
    actor = ctx.actor
    errors = FieldErrors()
    by = note = None
    with errors.catch():
        by = v.text(data.provided_by, "providedBy", max_len=100)
    if data.note is not None:
        with errors.catch():
            note = v.text(data.note, "note", max_len=1000, required=False) or None
    if data.provided_at.tzinfo is None or data.provided_at > ctx.now + timedelta(minutes=5):
        errors.add(ErrorCode.INVALID, "providedAt must be a past time with a timezone",
                   "providedAt")
    errors.raise_if_any()
    svc = await get_care_service(ctx, data.service_id)
    if svc is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "service not found", "serviceId")
    person = await ctx.db.scalar(select(Person).where(
        Person.id == data.person_id, person_predicate(actor.grant("person", "read"), actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "person not found", "personId")
    grant = actor.grant("care_service", "record")
    if not grant or await ctx.db.scalar(
        select(Person.id).where(Person.id == person.id, person_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not record services for this person", "personId")
    if await ctx.db.scalar(select(PersonCareTag.id).where(PersonCareTag.person_id == person.id,
                                                          PersonCareTag.code == svc.tag_code)) is None:
        raise ServiceError(ErrorCode.INVALID, f"the person is not in the care group {svc.tag_code!r}", "personId")
    rec = CareServiceRecord(id=uuid7(), service_id=svc.id, person_id=person.id, provided_at=data.provided_at,
                            provided_by=by, note=note, recorder_user_id=actor.user_id, created_at=ctx.now)
    await ctx.db.flush(rec)
    return rec


async def list_service_records(ctx: RequestContext, *, person_id: uuid.UUID | None, service_id: uuid.UUID | None,
                               first: int | None, after: str | None) -> Page[CareServiceRecord]:
    """Service records are personal data: only of persons the actor may read in full; every
    record returned counts as a full read of its person (audited)."""
    actor = ctx.actor
    pii = select(Person.id).where(person_predicate(actor.grant("person", "read_pii"), actor))
    stmt = select(CareServiceRecord).where(CareServiceRecord.person_id.in_(pii))
    if person_id is not None:
        stmt = stmt.where(CareServiceRecord.person_id == person_id)
    if service_id is not None:
        stmt = stmt.where(CareServiceRecord.service_id == service_id)
    page = await keyset_page(ctx.db, stmt, CareServiceRecord.id, first=first, after=after, descending=True)
    ctx.pii_reads.update(r.person_id for r in page.items)
    return page


# ---------------------------------------------------------------- needs and micro-wishes (微心愿)


async def is_party_member(ctx: RequestContext) -> bool:
    if ctx.actor.person_id is None:
        return False
    return bool(await ctx.db.scalar(select(Person.party_member).where(Person.id == ctx.actor.person_id)))


async def wish_read_predicate(ctx: RequestContext) -> Any:
    grant = ctx.actor.grant("wish", "read")
    party = grant.has(Condition.PARTY_MEMBER) and await is_party_member(ctx)
    return wish_predicate(grant, ctx.actor, party_member=party)


def identity_predicate(ctx: RequestContext) -> Any:
    """Wishes whose beneficiary the actor may know: reached by scope/all/own, or claimed by them."""
    return or_(wish_predicate(ctx.actor.grant("wish", "read"), ctx.actor, party_member=False),
               Wish.claimant_user_id == ctx.actor.user_id)


async def list_wishes(ctx: RequestContext, *, states: list[WishState] | None, area_id: uuid.UUID | None,
                      claimed_by_me: bool | None, first: int | None, after: str | None) -> Page[Wish]:
    stmt = select(Wish).where(await wish_read_predicate(ctx))
    if states:
        stmt = stmt.where(Wish.state.in_(states))
    if area_id is not None:
        stmt = stmt.where(Wish.building_id.in_(buildings_in_scope((await _area_path(ctx, area_id),))))
    if claimed_by_me:
        stmt = stmt.where(Wish.claimant_user_id == ctx.actor.user_id)
    return await keyset_page(ctx.db, stmt, Wish.id, first=first, after=after, descending=True)


async def get_wish(ctx: RequestContext, wish_id: uuid.UUID) -> Wish | None:
    return await ctx.db.scalar(select(Wish).where(Wish.id == wish_id, await wish_read_predicate(ctx)))


async def post_wish(ctx: RequestContext, *, person_id: uuid.UUID, title: str, description: str) -> Wish:
    actor = ctx.actor
    errors = FieldErrors()
    t = d = None
    with errors.catch():
        t = v.text(title, "title", max_len=100)
    with errors.catch():
        d = v.text(description, "description", max_len=2000, required=False)
    errors.raise_if_any()
    person = await ctx.db.scalar(select(Person).where(
        Person.id == person_id, person_predicate(actor.grant("person", "read"), actor)))
    if person is None or person.household_id is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "person not found", "personId")
    grant = actor.grant("wish", "post")
    reach = household_predicate(grant, actor) if grant else None
    if reach is None or await ctx.db.scalar(
        select(Household.id).where(Household.id == person.household_id, reach)) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not post wishes for this person", "personId")
    building_id = await ctx.db.scalar(select(Household.building_id).where(Household.id == person.household_id))
    wish = Wish(id=uuid7(), beneficiary_person_id=person.id, household_id=person.household_id,
                building_id=building_id, title=t, description=d or "", poster_user_id=actor.user_id,
                state=WishState.OPEN, version=1, updated_at=ctx.now, created_at=ctx.now)
    await ctx.db.flush(wish)
    return wish


W = WishState
WISH: StateMachine[WishState] = StateMachine(
    noun="wish", model=Wish,
    moves={"claim": (frozenset({W.OPEN}), W.CLAIMED), "fulfil": (frozenset({W.CLAIMED}), W.FULFILLED),
           "confirm": (frozenset({W.FULFILLED}), W.CONFIRMED),
           "cancel": (frozenset({W.OPEN, W.CLAIMED}), W.CANCELLED)},
    lost="the wish was changed by someone else (now {now}); reload and retry",
)


async def _load_wish(ctx: RequestContext, wish_id: uuid.UUID, action: str) -> Wish:
    actor = ctx.actor
    wish = await get_wish(ctx, wish_id)
    grant = actor.grant("wish", action)
    if wish is None and action == "claim" and grant.has(Condition.PARTY_MEMBER) and await is_party_member(ctx):
        # A party member saw it open; it left their view because someone else claimed it.
        if await ctx.db.scalar(select(Wish.id).where(Wish.id == wish_id, Wish.state != WishState.OPEN)) is not None:
            raise ServiceError(ErrorCode.CONFLICT, "the wish has been claimed by someone else", "id")
    if wish is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "wish not found", "id")
    allowed = False
    if grant.all or grant.scope_paths:
        staff = Grant(all=grant.all, scope_paths=grant.scope_paths)
        allowed = await ctx.db.scalar(select(Wish.id).where(
            Wish.id == wish.id, building_predicate(Wish.building_id, staff, actor))) is not None
    if not allowed and action in ("claim", "fulfil") and grant.has(Condition.PARTY_MEMBER):
        # A party member claims any open wish, and fulfils only what they claimed.
        allowed = await is_party_member(ctx) and (action == "claim" or wish.claimant_user_id == actor.user_id)
    if not allowed and action == "confirm" and grant.has(Condition.OWN):
        allowed = wish.poster_user_id == actor.user_id or (
            actor.person_id is not None and wish.beneficiary_person_id == actor.person_id)
    if not allowed and action == "cancel":
        allowed = wish.poster_user_id == actor.user_id
    if not allowed:
        raise ServiceError(ErrorCode.FORBIDDEN, f"you may not {action} this wish", "id")
    WISH.check(wish, action)
    return wish


async def _apply_wish(ctx: RequestContext, wish: Wish, action: str, values: dict[str, Any],
                      expected_version: int | None) -> Wish:
    await transition(ctx, WISH, wish, action, expected_version=expected_version, values=values)
    return wish


async def claim_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "claim")
    return await _apply_wish(ctx, wish, "claim",
                             {"claimant_user_id": ctx.actor.user_id, "claimed_at": ctx.now}, expected_version)


async def fulfil_wish(ctx: RequestContext, wish_id: uuid.UUID, *, note: str | None,
                      expected_version: int | None) -> Wish:
    text = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    wish = await _load_wish(ctx, wish_id, "fulfil")
    return await _apply_wish(ctx, wish, "fulfil", {"fulfilled_at": ctx.now, "fulfil_note": text},
                             expected_version)


async def confirm_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "confirm")
    return await _apply_wish(ctx, wish, "confirm",
                             {"confirmed_at": ctx.now, "confirmed_by": ctx.actor.user_id}, expected_version)


async def cancel_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "cancel")
    return await _apply_wish(ctx, wish, "cancel", {}, expected_version)
