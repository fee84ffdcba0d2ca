"""Care groups (重点人群类别), their service lists (服务清单) and the service records (服务记录)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from models import (
    Area,
    CareService,
    CareServiceRecord,
    CareTagKind,
    Person,
    PersonCareTag,
    uuid7,
)
from policies.care import care_service_predicate
from policies.filters import area_manage_predicate, person_predicate
from resolvers import validation as v
from resolvers.care.common import area_path
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, keyset_page, sorted_page

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


async def add_care_tag_kind(ctx: RequestContext, *, code: str, name: str) -> CareTagKind:
    if not ctx.actor.grant("care_tag", "manage").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以添加关爱人群",
                                                  "only the street admin adds care groups"), "code")
    errors = FieldErrors()
    c = code.strip()
    if not _CODE_RE.match(c):
        errors.add(ErrorCode.INVALID, t("代码为 2–32 位小写字母、数字或下划线",
                                        "code is 2–32 lowercase letters, digits or _"), "code")
    with errors.catch():
        label = v.text(name, "name", max_len=50)
    errors.raise_if_any()
    if await ctx.db.scalar(select(CareTagKind.id).where(CareTagKind.code == c)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t(f"关爱人群 {c!r} 已存在", f"care group {c!r} exists"), "code")
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
        errors.add(ErrorCode.INVALID, t(f"没有关爱人群 {data.tag_code!r}",
                                        f"unknown care group {data.tag_code!r}"), "tagCode")
    errors.raise_if_any()
    area = await ctx.db.scalar(select(Area).where(Area.id == data.area_id))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    grant = ctx.actor.grant("care_service", "manage")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area.id, area_manage_predicate(grant))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该区域的服务清单",
                                                  "you may not keep service lists for this area"), "areaId")
    svc = CareService(id=uuid7(), tag_code=data.tag_code, area_id=area.id, area_path=area.path, note=note,
                      active=True, created_at=ctx.now, **vals)
    await ctx.db.flush(svc)
    return svc


async def retire_care_service(ctx: RequestContext, service_id: uuid.UUID) -> CareService:
    """Take an entry off a service list (停止服务, issue #23): no new service record under it; the
    records made before stay, and still name it."""
    svc = await get_care_service(ctx, service_id)
    if svc is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("服务项目不存在", "service not found"), "id")
    grant = ctx.actor.grant("care_service", "manage")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == svc.area_id, area_manage_predicate(grant))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该区域的服务清单",
                                                  "you may not keep service lists for this area"), "id")
    if not svc.active:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该服务项目已停止", "the service is already retired"), "id")
    svc.active = False
    svc.retired_at = ctx.now
    await ctx.db.flush(svc)
    return svc


# careServices (issue #25): by care group, then by id (creation).
CARE_SERVICES = ListOrder("careServices", (Key(CareService.tag_code), Key(CareService.id)))


async def list_care_services(ctx: RequestContext, *, tag_code: str | None, area_id: uuid.UUID | None
                             ) -> list[CareService]:
    stmt = await _care_services(ctx, tag_code=tag_code, area_id=area_id)
    return list(await ctx.db.scalars(stmt.order_by(*CARE_SERVICES.order_by())))


async def care_services_page(ctx: RequestContext, *, tag_code: str | None, area_id: uuid.UUID | None,
                             first: int | None, after: str | None) -> Page[CareService]:
    stmt = await _care_services(ctx, tag_code=tag_code, area_id=area_id)
    return await sorted_page(ctx.db, stmt, CARE_SERVICES, first=first, after=after)


def care_service_filters(ctx: RequestContext, *, tag_code: str | ColumnElement[str] | None,
                         area_path: str | ColumnElement[str] | None) -> list[ColumnElement[bool]]:
    """The service lists' rows: readable, in service, of the care group, applying in the area. The
    compiled read (compiled/care.py) filters with this too."""
    filters = [care_service_predicate(ctx.actor.grant("care_service", "read")), CareService.active.is_(True)]
    if tag_code is not None:
        filters.append(CareService.tag_code == tag_code)
    if area_path is not None:
        # The lists that apply in an area: its own, those of the areas above it and below it.
        filters.append(or_(CareService.area_path.startswith(area_path), func.substr(area_path, 1, func.length(
            CareService.area_path)) == CareService.area_path))
    return filters


async def _care_services(ctx: RequestContext, *, tag_code: str | None, area_id: uuid.UUID | None
                         ) -> Select[Any]:
    path = None if area_id is None else await area_path(ctx, area_id)
    return select(CareService).where(*care_service_filters(ctx, tag_code=tag_code, area_path=path))


async def get_care_service(ctx: RequestContext, service_id: uuid.UUID) -> CareService | None:
    svc: CareService | None = await ctx.db.scalar(select(CareService).where(
        CareService.id == service_id, care_service_predicate(ctx.actor.grant("care_service", "read"))))
    return svc


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
        errors.add(ErrorCode.INVALID, t("providedAt 应为带时区的过去时间",
                                        "providedAt must be a past time with a timezone"),
                   "providedAt")
    errors.raise_if_any()
    svc = await get_care_service(ctx, data.service_id)
    if svc is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("服务项目不存在", "service not found"), "serviceId")
    if not svc.active:  # retired (issue #23): no new record under it
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该服务项目已停止", "the service was retired"),
                           "serviceId")
    person = await ctx.db.scalar(select(Person).where(
        Person.id == data.person_id, person_predicate(actor.grant("person", "read"), actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    grant = actor.grant("care_service", "record")
    if not grant or await ctx.db.scalar(
        select(Person.id).where(Person.id == person.id, person_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权为该居民登记服务",
                                                  "you may not record services for this person"), "personId")
    if await ctx.db.scalar(select(PersonCareTag.id).where(PersonCareTag.person_id == person.id,
                                                          PersonCareTag.code == svc.tag_code)) is None:
        raise ServiceError(ErrorCode.INVALID, t(f"该居民不在关爱人群 {svc.tag_code!r} 中",
                                                f"the person is not in the care group {svc.tag_code!r}"), "personId")
    rec = CareServiceRecord(id=uuid7(), service_id=svc.id, person_id=person.id, provided_at=data.provided_at,
                            provided_by=by, note=note, recorder_user_id=actor.user_id, created_at=ctx.now)
    await ctx.db.flush(rec)
    return rec


def _records_readable(ctx: RequestContext) -> ColumnElement[bool]:
    """The record's person may be read in full: that person's row, by its key, under the full-read predicate. OFFSET
    0 keeps PostgreSQL from making it a join over every person of the tenant (issue #21: its generic plan merged the
    page's records with an index scan of all the tenant's persons, each tested; here a page tests its own persons)."""
    actor = ctx.actor
    return exists(select(Person.id).where(Person.id == CareServiceRecord.person_id,
                                          person_predicate(actor.grant("person", "read_pii"), actor)).offset(0))


async def get_service_record(ctx: RequestContext, record_id: uuid.UUID) -> CareServiceRecord | None:
    """One service record (node(id:)), only of a person the actor may read in full; a full read (audited)."""
    row: CareServiceRecord | None = await ctx.db.scalar(
        select(CareServiceRecord).where(CareServiceRecord.id == record_id, _records_readable(ctx)))
    if row is not None:
        ctx.pii_reads.add(row.person_id)
    return row


def service_record_filters(ctx: RequestContext, *, person_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                           service_id: uuid.UUID | ColumnElement[uuid.UUID] | None) -> list[ColumnElement[bool]]:
    """The service record list's rows: of persons the actor may read in full, of the person, of the
    service. The compiled read (compiled/care_records.py) filters with this too."""
    filters = [_records_readable(ctx)]
    if person_id is not None:
        filters.append(CareServiceRecord.person_id == person_id)
    if service_id is not None:
        filters.append(CareServiceRecord.service_id == service_id)
    return filters


async def list_service_records(ctx: RequestContext, *, person_id: uuid.UUID | None, service_id: uuid.UUID | None,
                               first: int | None, after: str | None) -> Page[CareServiceRecord]:
    """Service records are personal data: only of persons the actor may read in full; every
    record returned counts as a full read of its person (audited)."""
    stmt = select(CareServiceRecord).where(*service_record_filters(ctx, person_id=person_id, service_id=service_id))
    page = await keyset_page(ctx.db, stmt, CareServiceRecord.id, first=first, after=after, descending=True)
    ctx.pii_reads.update(r.person_id for r in page.items)
    return page
