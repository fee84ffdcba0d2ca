"""In-service party members (在职党员双报到): registration with a community, the service they
record, and a work unit's summary of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from models import (
    Activity,
    Area,
    AreaKind,
    InServiceMember,
    InServiceRecord,
    PartnerUnit,
    Person,
    ServiceKind,
    Wish,
    uuid7,
)
from policies.actor import Actor
from policies.cobuilding.filters import inservice_predicate, local_date, shared_building_predicate
from policies.filters import person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


@dataclass
class RegisterInServiceInput:
    person_id: uuid.UUID
    community_id: uuid.UUID
    partner_unit_id: uuid.UUID | None
    work_unit_name: str | None
    registered_on: date


async def register_inservice_member(ctx: RequestContext, data: RegisterInServiceInput) -> InServiceMember:
    """A party member from a work unit registers with the community where they live or serve."""
    grant = ctx.actor.grant("inservice", "register")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权登记在职党员",
                                                  "you may not register in-service party members"), "communityId")
    person = await ctx.db.scalar(select(Person).where(
        Person.id == data.person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    if not person.party_member:
        raise ServiceError(ErrorCode.INVALID, "only party members register back (双报到)", "personId")
    community = (await ctx.db.all(select(Area.path).where(Area.id == data.community_id,
                                                          Area.kind == AreaKind.COMMUNITY)))
    if not community:
        raise ServiceError(ErrorCode.NOT_FOUND, t("社区不存在", "community not found"), "communityId")
    path = community[0].path
    if not grant.all and not any(path.startswith(p) for p in grant.scope_paths):
        raise ServiceError(ErrorCode.FORBIDDEN, t("该社区超出您的管辖范围",
                                                  "the community lies outside your scope"), "communityId")
    unit_name: str | None = None
    if data.partner_unit_id is not None:
        unit = await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == data.partner_unit_id))
        if unit is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位不存在", "partner unit not found"), "partnerUnitId")
        unit_name = unit.name
    elif data.work_unit_name:
        unit_name = v.text(data.work_unit_name, "workUnitName", max_len=100)
    if not unit_name:
        raise ServiceError(ErrorCode.INVALID, t("请写明工作单位，或指定其共建单位",
                                                "name the work unit, or give its partner unit"), "workUnitName")
    clash = await ctx.db.scalar(select(InServiceMember.id).where(
        InServiceMember.person_id == person.id, InServiceMember.community_id == data.community_id))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("已在该社区报到",
                                                 "already registered with this community"), "personId")
    member = InServiceMember(id=uuid7(), person_id=person.id, community_id=data.community_id, community_path=path,
                             partner_unit_id=data.partner_unit_id, work_unit_name=unit_name,
                             registered_on=data.registered_on, registered_by=ctx.actor.user_id, created_at=ctx.now)
    person.in_service_party_member = True  # the register's flag (在职党员) follows the registration
    await ctx.db.flush(member, person)
    return member


@dataclass
class ServiceRecordInput:
    member_id: uuid.UUID
    kind: ServiceKind
    served_on: date
    hours: Decimal
    description: str
    wish_id: uuid.UUID | None = None
    activity_id: uuid.UUID | None = None


async def record_inservice_service(ctx: RequestContext, data: ServiceRecordInput) -> InServiceRecord:
    errors = FieldErrors()
    text = errors.check(v.text, data.description, "description", max_len=500)
    if not Decimal(0) <= data.hours <= Decimal(24):
        errors.add(ErrorCode.INVALID, t("一天的服务时长应在 0 到 24 小时之间",
                                        "hours are between 0 and 24 for a day's service"), "hours")
    if data.served_on > local_date(ctx.now):
        errors.add(ErrorCode.INVALID, t("服务完成后才能登记，不能提前登记",
                                        "service is recorded once given, not ahead"), "servedOn")
    if data.kind is ServiceKind.WISH and data.wish_id is None:
        errors.add(ErrorCode.INVALID, t("请指定完成的微心愿", "name the wish fulfilled"), "wishId")
    if data.kind is ServiceKind.ACTIVITY and data.activity_id is None:
        errors.add(ErrorCode.INVALID, t("请指定志愿活动", "name the activity"), "activityId")
    errors.raise_if_any()
    member = await ctx.db.scalar(select(InServiceMember).where(
        InServiceMember.id == data.member_id,
        inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))))
    if member is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("在职党员不存在", "in-service member not found"), "memberId")
    if await ctx.db.scalar(select(InServiceMember.id).where(
            InServiceMember.id == member.id,
            inservice_predicate(ctx.actor.grant("inservice", "record"), ctx.actor, ("inservice", "record")))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权为该党员登记服务",
                                                  "you may not record service for this member"), "memberId")
    if data.wish_id is not None and await ctx.db.scalar(select(Wish.id).where(
            Wish.id == data.wish_id, shared_building_predicate(Wish.building_id, (member.community_path,)))) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("该党员所在社区没有这个微心愿",
                                                  "no such wish in the member's community"), "wishId")
    if data.activity_id is not None and await ctx.db.scalar(select(Activity.id).where(
            Activity.id == data.activity_id, Activity.area_path.startswith(member.community_path))) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("该党员所在社区没有这个志愿活动",
                                                  "no such activity in the member's community"), "activityId")
    record = InServiceRecord(id=uuid7(), member_id=member.id, kind=data.kind, served_on=data.served_on,
                             hours=data.hours, description=text, wish_id=data.wish_id, activity_id=data.activity_id,
                             recorded_by=ctx.actor.user_id, created_at=ctx.now)
    await ctx.db.flush(record)
    return record


def inservice_member_list_filters(ctx: RequestContext, *, community_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                                  partner_unit_id: uuid.UUID | ColumnElement[uuid.UUID] | None
                                  ) -> list[ColumnElement[bool]]:
    """The in-service members list's rows: readable (inservice · read), of the community and the unit
    when given. The compiled read (compiled/inservice.py) filters with this too, the ids parameters."""
    filters = [inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))]
    if community_id is not None:
        filters.append(InServiceMember.community_id == community_id)
    if partner_unit_id is not None:
        filters.append(InServiceMember.partner_unit_id == partner_unit_id)
    return filters


async def list_inservice_members(ctx: RequestContext, *, community_id: uuid.UUID | None,
                                 partner_unit_id: uuid.UUID | None, first: int | None, after: str | None
                                 ) -> Page[InServiceMember]:
    stmt = select(InServiceMember).where(*inservice_member_list_filters(ctx, community_id=community_id,
                                                                        partner_unit_id=partner_unit_id))
    return await keyset_page(ctx.db, stmt, InServiceMember.id, first=first, after=after)


async def get_inservice_member(ctx: RequestContext, member_id: uuid.UUID) -> InServiceMember | None:
    member: InServiceMember | None = await ctx.db.scalar(select(InServiceMember).where(
        InServiceMember.id == member_id,
        inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))))
    return member


@dataclass
class ServiceSummary:
    members: int
    records: int
    hours: Decimal
    wishes: int
    activities: int


def inservice_summary_members(actor: Actor, partner_unit_id: Any) -> tuple[ColumnElement[bool], ...]:
    """The members a summary counts: a partner unit's own system its own (inservice·summary), staff the
    unit named among the members they may read (inservice·read). The compiled summary
    (compiled/inservice.py) passes the unit's id as a parameter."""
    if actor.partner_unit_id is not None:
        return (inservice_predicate(actor.grant("inservice", "summary"), actor, ("inservice", "summary")),
                InServiceMember.partner_unit_id == actor.partner_unit_id)
    return (inservice_predicate(actor.grant("inservice", "read"), actor, ("inservice", "read")),
            InServiceMember.partner_unit_id == partner_unit_id)


def inservice_summary_counts(members: tuple[ColumnElement[bool], ...], start: Any, end: Any
                             ) -> Select[ServiceKind, int, Decimal]:
    """Their services recorded in the period, per kind: how many, and the hours."""
    return (select(InServiceRecord.kind.label("kind"), func.count().label("n"),
                   func.coalesce(func.sum(InServiceRecord.hours), 0).label("hours"))
            .join(InServiceMember, and_(InServiceMember.tenant_id == InServiceRecord.tenant_id,
                                        InServiceMember.id == InServiceRecord.member_id))
            .where(*members, InServiceRecord.served_on >= start, InServiceRecord.served_on <= end)
            .group_by(InServiceRecord.kind))


async def inservice_summary(ctx: RequestContext, *, partner_unit_id: uuid.UUID | None, start: date, end: date
                            ) -> ServiceSummary:
    """A work unit's members' service in a period: for the unit's own system ("own"), or for staff
    reading the members registered in their scope."""
    if end < start:
        raise ServiceError(ErrorCode.INVALID, t("统计期应从前往后", "the period runs forward"), "to")
    if ctx.actor.partner_unit_id is None and partner_unit_id is None:
        raise ServiceError(ErrorCode.INVALID, t("请指定共建单位", "name the partner unit"), "partnerUnitId")
    members_of = inservice_summary_members(ctx.actor, partner_unit_id)
    members = await ctx.db.scalar(select(func.count()).select_from(InServiceMember).where(*members_of))
    rows = await ctx.db.all(inservice_summary_counts(members_of, start, end))
    counts = {k: int(n) for k, n, _h in rows}
    return ServiceSummary(members=int(members or 0), records=sum(counts.values()),
                          hours=sum((Decimal(str(h)) for _k, _n, h in rows), Decimal(0)).quantize(Decimal("0.01")),
                          wishes=counts.get(ServiceKind.WISH, 0), activities=counts.get(ServiceKind.ACTIVITY, 0))
