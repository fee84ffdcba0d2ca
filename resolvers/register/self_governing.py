"""Residents' self-governing zones and groups (自治片区、自治小组) and their central party-member
households (党员中心户), issue #23: 三里亭人家 runs itself in 2 zones and 12 groups, each group gathered
round a party member's household. Before, the demo only said so in a description.

Policy (policies/register/policy.csv): ``self_governing · manage`` party secretary in scope, street
admin all. Reads follow the area: whoever may read the compound or building reads its zones, groups
and central households (which household and which party member, by id: the household and the person
themselves are read under their own rules).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, select

from models import (
    Area,
    AreaKind,
    CentralHousehold,
    Household,
    Person,
    PersonStatus,
    SelfGoverningKind,
    SelfGoverningUnit,
)
from policies.filters import area_read_predicate, person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.register.organisations import managed_area

# Where zones and groups sit: the compound (or a community without compounds, or one building).
UNIT_AREAS = frozenset({AreaKind.COMMUNITY, AreaKind.COMPOUND, AreaKind.BUILDING})


def _readable(ctx: RequestContext) -> ColumnElement[bool]:
    return area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)


async def create_self_governing_unit(ctx: RequestContext, *, area_id: uuid.UUID, kind: SelfGoverningKind,
                                     name: str, parent_id: uuid.UUID | None) -> SelfGoverningUnit:
    """A zone, or a group (in a zone of the same area when ``parent_id`` is given)."""
    area = await managed_area(ctx, "self_governing", area_id, "areaId")
    errors = FieldErrors()
    clean = errors.check(v.text, name, "name", max_len=100) or ""
    if area.kind not in UNIT_AREAS:
        errors.add(ErrorCode.INVALID, t("自治片区、小组设在社区、小区或楼栋",
                                        "zones and groups sit on a community, compound or building"), "areaId")
    if area.archived_at is not None:
        errors.add(ErrorCode.INVALID, t("该区域已归档", "the area is archived"), "areaId")
    if parent_id is not None:
        parent = await ctx.db.scalar(select(SelfGoverningUnit).where(SelfGoverningUnit.id == parent_id))
        if parent is None or parent.area_id != area.id:
            errors.add(ErrorCode.NOT_FOUND, t("同一区域下没有这个自治片区", "no such zone on this area"), "parentId")
        elif kind is not SelfGoverningKind.GROUP or parent.kind is not SelfGoverningKind.ZONE:
            errors.add(ErrorCode.INVALID, t("只有小组可以设在自治片区下", "only a group sits in a zone"), "parentId")
    errors.raise_if_any()
    if await ctx.db.scalar(select(SelfGoverningUnit.id).where(SelfGoverningUnit.area_id == area.id,
                                                              SelfGoverningUnit.name == clean)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该区域已有同名的自治片区或小组",
                                                       "the area has a zone or group of that name"), "name")
    unit = SelfGoverningUnit(area_id=area.id, parent_id=parent_id, kind=kind, name=clean)
    await ctx.db.flush(unit)
    return unit


async def add_central_household(ctx: RequestContext, *, unit_id: uuid.UUID, household_id: uuid.UUID,
                                person_id: uuid.UUID, appointed_on: date | None) -> CentralHousehold:
    """A group's central party-member household: a household of the group's area, one of whose
    members — a party member on the register — the neighbours turn to."""
    unit: SelfGoverningUnit | None = await ctx.db.scalar(select(SelfGoverningUnit).where(
        SelfGoverningUnit.id == unit_id, SelfGoverningUnit.area_id.in_(select(Area.id).where(_readable(ctx)))))
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("自治小组不存在", "self-governing group not found"), "unitId")
    area = await managed_area(ctx, "self_governing", unit.area_id, "unitId")
    person: Person | None = await ctx.db.scalar(select(Person).where(
        Person.id == person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))
    errors = FieldErrors()
    if unit.kind is not SelfGoverningKind.GROUP:
        errors.add(ErrorCode.INVALID, t("党员中心户属于自治小组", "a central household belongs to a group"), "unitId")
    household: Household | None = await ctx.db.scalar(select(Household).where(
        Household.id == household_id,
        Household.building_id.in_(select(Area.id).where(Area.path.startswith(area.path)))))
    if household is None:
        errors.add(ErrorCode.NOT_FOUND, t("该区域内没有这户", "no such household in the area"), "householdId")
    if person is None:
        errors.add(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    elif household is not None and (person.household_id != household.id or person.status is not PersonStatus.ACTIVE):
        errors.add(ErrorCode.INVALID, t("该居民不在这户登记", "the person is not registered in the household"),
                   "personId")
    elif not person.party_member:
        errors.add(ErrorCode.INVALID, t("党员中心户须由党员担任", "a central household is a party member's"),
                   "personId")
    errors.raise_if_any()
    if await ctx.db.scalar(select(CentralHousehold.id).where(CentralHousehold.unit_id == unit.id,
                                                             CentralHousehold.household_id == household_id)):
        raise ServiceError(ErrorCode.CONFLICT, t("该户已是本小组的党员中心户",
                                                 "the household is already the group's central household"),
                           "householdId")
    row = CentralHousehold(unit_id=unit.id, household_id=household_id, person_id=person_id,
                           appointed_on=appointed_on)
    await ctx.db.flush(row)
    return row


async def _area_path(ctx: RequestContext, area_id: uuid.UUID) -> str:
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id, _readable(ctx)))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    return str(path)


def self_governing_unit_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None,
                                     kind: SelfGoverningKind | ColumnElement[str] | None
                                     ) -> list[ColumnElement[bool]]:
    """The zones and groups list's rows: on areas the actor may read (inside the area's path when one
    is given), of the kind when given. The compiled read (compiled/organisations.py) filters with this
    too, with the path a subquery."""
    readable = select(Area.id).where(_readable(ctx))
    if area_path is not None:
        readable = readable.where(Area.path.startswith(area_path))
    filters: list[ColumnElement[bool]] = [SelfGoverningUnit.area_id.in_(readable)]
    if kind is not None:
        filters.append(SelfGoverningUnit.kind == kind)
    return filters


async def list_self_governing_units(ctx: RequestContext, *, area_id: uuid.UUID | None,
                                    kind: SelfGoverningKind | None, first: int | None,
                                    after: str | None) -> Page[SelfGoverningUnit]:
    """Zones and groups on areas the actor may read (inside ``area_id`` when given)."""
    path = None if area_id is None else await _area_path(ctx, area_id)
    stmt = select(SelfGoverningUnit).where(*self_governing_unit_list_filters(ctx, area_path=path, kind=kind))
    return await keyset_page(ctx.db, stmt, SelfGoverningUnit.id, first=first, after=after)


def central_household_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None,
                                   unit_id: uuid.UUID | ColumnElement[uuid.UUID] | None
                                   ) -> list[ColumnElement[bool]]:
    """The central households list's rows: of groups on areas the actor may read (inside the area's
    path when one is given), of the group when given."""
    readable = select(Area.id).where(_readable(ctx))
    if area_path is not None:
        readable = readable.where(Area.path.startswith(area_path))
    units = select(SelfGoverningUnit.id).where(SelfGoverningUnit.area_id.in_(readable))
    if unit_id is not None:
        units = units.where(SelfGoverningUnit.id == unit_id)
    return [CentralHousehold.unit_id.in_(units)]


async def list_central_households(ctx: RequestContext, *, area_id: uuid.UUID | None, unit_id: uuid.UUID | None,
                                  first: int | None, after: str | None) -> Page[CentralHousehold]:
    """Central party-member households of groups on areas the actor may read."""
    path = None if area_id is None else await _area_path(ctx, area_id)
    stmt = select(CentralHousehold).where(*central_household_list_filters(ctx, area_path=path, unit_id=unit_id))
    return await keyset_page(ctx.db, stmt, CentralHousehold.id, first=first, after=after)
