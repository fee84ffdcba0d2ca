"""Neighbourhood leads (邻长): who may see them, appointing, changing their households, ending."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update

from models import (
    Area,
    AreaKind,
    Household,
    LeadHousehold,
    LeadTitle,
    Member,
    NeighborLead,
    Person,
    RoleAssignment,
    uuid7,
)
from policies.filters import area_reach_predicate, building_predicate, buildings_in_scope, person_predicate
from policies.roles import Role
from resolvers.care.settings import care_settings
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


def lead_read_predicate(ctx: RequestContext) -> Any:
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


def lead_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None, include_ended: bool
                      ) -> list[ColumnElement[bool]]:
    """The leads list's rows (by id): readable, still appointed unless ended ones are asked, serving
    under the area's path. The compiled read (compiled/care.py) filters with this too."""
    filters = [lead_read_predicate(ctx)]
    if not include_ended:
        filters.append(NeighborLead.ended_at.is_(None))
    if area_path is not None:
        filters.append(NeighborLead.area_path.startswith(area_path))
    return filters


async def list_leads(ctx: RequestContext, *, area_id: uuid.UUID | None, include_ended: bool,
                     first: int | None, after: str | None) -> Page[NeighborLead]:
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(NeighborLead).where(*lead_list_filters(ctx, area_path=path, include_ended=include_ended))
    return await keyset_page(ctx.db, stmt, NeighborLead.id, first=first, after=after)


async def get_lead(ctx: RequestContext, lead_id: uuid.UUID) -> NeighborLead | None:
    lead: NeighborLead | None = await ctx.db.scalar(
        select(NeighborLead).where(NeighborLead.id == lead_id, lead_read_predicate(ctx)))
    return lead


async def _check_households(ctx: RequestContext, ids: list[uuid.UUID], area_path: str) -> None:
    """Every household exists, lies in the lead's area and in the appointer's reach; the count is
    within the tenant's range; none is kept by another lead."""
    s = await care_settings(ctx)
    if not s.lead_min_households <= len(ids) <= s.lead_max_households:
        raise ServiceError(ErrorCode.INVALID, t(
            f"一位邻长联系 {s.lead_min_households}–{s.lead_max_households} 户，现给了 {len(ids)} 户",
                                                f"a lead keeps {s.lead_min_households}–{s.lead_max_households} "
                             f"households; {len(ids)} given"), "householdIds")
    grant = ctx.actor.grant("visit", "appoint_lead")
    found = set(await ctx.db.scalars(
        select(Household.id).where(Household.id.in_(ids), building_predicate(Household.building_id, grant, ctx.actor),
                                   Household.building_id.in_(buildings_in_scope((area_path,))))
    ))
    if len(found) != len(ids):
        raise ServiceError(ErrorCode.INVALID, t("户须存在、位于邻长的区域内且在您的管辖范围内",
                                                "households must exist, lie in the lead's area and in your scope"),
                           "householdIds")


async def appoint_lead(ctx: RequestContext, *, person_id: uuid.UUID, title: LeadTitle, area_id: uuid.UUID,
                       household_ids: list[uuid.UUID]) -> NeighborLead:
    actor = ctx.actor
    ids = list(dict.fromkeys(household_ids))
    person = await ctx.db.scalar(
        select(Person).where(Person.id == person_id, person_predicate(actor.grant("person", "read"), actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    area = await ctx.db.scalar(select(Area).where(Area.id == area_id))
    if area is None or area.kind not in (AreaKind.BUILDING, AreaKind.COMPOUND, AreaKind.ZONE, AreaKind.GRID):
        raise ServiceError(ErrorCode.NOT_FOUND, t("请指定楼栋、小区、片区或网格",
                                                  "name a building, compound, zone or grid"), "areaId")
    grant = actor.grant("visit", "appoint_lead")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area.id, area_reach_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权在该区域任命邻长",
                                                  "you may not appoint leads in this area"), "areaId")
    user_id = await ctx.db.scalar(select(Member.user_id).where(Member.person_id == person.id))
    if user_id is None:
        raise ServiceError(ErrorCode.INVALID, t("该居民没有账号，不能担任邻长",
                                                "the person has no user account to act as lead"), "personId")
    await _check_households(ctx, ids, area.path)
    if await ctx.db.scalar(select(NeighborLead.id).where(NeighborLead.user_id == user_id,
                                                         NeighborLead.ended_at.is_(None))) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该居民已是邻长，请先结束原任命",
                                                 "the person is already a lead; end that appointment first"),
                           "personId")
    taken = await ctx.db.scalar(select(func.count()).select_from(LeadHousehold)
                                .where(LeadHousehold.household_id.in_(ids)))
    if taken:
        raise ServiceError(ErrorCode.CONFLICT, t(f"其中 {taken} 户已有邻长",
                                                 f"{taken} of the households already have a lead"), "householdIds")
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
        raise ServiceError(ErrorCode.NOT_FOUND, t("邻长不存在", "lead not found"), "id")
    grant = ctx.actor.grant("visit", "appoint_lead")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == lead.area_id, area_reach_predicate(grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权修改该邻长", "you may not change this lead"), "id")
    if lead.ended_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该任命已结束", "the appointment has ended"), "id")
    return lead


async def set_lead_households(ctx: RequestContext, lead_id: uuid.UUID, household_ids: list[uuid.UUID]
                              ) -> NeighborLead:
    lead = await _manageable_lead(ctx, lead_id)
    ids = list(dict.fromkeys(household_ids))
    await _check_households(ctx, ids, lead.area_path)
    taken = await ctx.db.scalar(select(func.count()).select_from(LeadHousehold).where(
        LeadHousehold.household_id.in_(ids), LeadHousehold.lead_id != lead.id))
    if taken:
        raise ServiceError(ErrorCode.CONFLICT, t(f"其中 {taken} 户已有其他邻长",
                                                 f"{taken} of the households already have another lead"),
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
