"""Reporting a case (上报): checked input, the reporter's reach, own photos, a fresh case number, and
idempotency per client key."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError

from models import Area, Case, CaseCategory, CasePriority, CaseSource, CaseStageKind, CaseState, uuid7
from policies.filters import area_reach_predicate
from resolvers import validation as v
from resolvers.cases.machine import MAX_PHOTOS, acting_role, is_resident_only, own_unattached_photos, record_event
from resolvers.cases.sources import TICKET_FIELD, default_source, duplicate_ticket, ticket_error, ticket_taken
from resolvers.cases.stages import open_stage
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t


@dataclass
class ReportInput:
    area_id: uuid.UUID
    category: str
    priority: CasePriority
    title: str
    description: str = ""
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_ids: list[uuid.UUID] | None = None
    idempotency_key: str | None = None
    source: CaseSource | None = None  # null: from the reporter's role (resolvers.cases.sources)
    external_ticket_no: str | None = None  # 12345 工单号, unique per tenant


_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _case_number(now: datetime) -> str:
    """Local date and 8 random base32 characters (40 bits): a collision among a day's reports is
    negligible, and one is retried anyway."""
    local = now.astimezone(WorkCalendar().tz)
    bits = int.from_bytes(os.urandom(5), "big")
    suffix = "".join(_NUMBER_ALPHABET[(bits >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"{local:%Y%m%d}-{suffix}"


async def report_case(ctx: RequestContext, data: ReportInput) -> Case:
    actor = ctx.actor
    key = None
    if data.idempotency_key is not None:
        key = v.text(data.idempotency_key, "idempotencyKey", max_len=64)
        existing: Case | None = await ctx.db.scalar(
            select(Case).where(Case.reporter_user_id == actor.user_id, Case.idempotency_key == key)
        )
        if existing is not None:
            return existing  # a retry of a request that already succeeded: the same case
    errors = FieldErrors()
    title = errors.check(v.text, data.title, "title", max_len=100)
    description = errors.check(v.text, data.description, "description", max_len=5000, required=False)
    location = None
    if data.location_text is not None:
        location = errors.check(lambda x: v.text(x, "locationText", max_len=200, required=False) or None,
                                data.location_text)
    if (data.latitude is None) != (data.longitude is None):
        errors.add(ErrorCode.INVALID, t("经度和纬度须同时给出或都不给",
                                        "give both latitude and longitude, or neither"), "latitude")
    elif data.latitude is not None and data.longitude is not None:
        if not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
            errors.add(ErrorCode.INVALID, t("坐标超出范围", "coordinates out of range"), "latitude")
    category = await ctx.db.scalar(
        select(CaseCategory).where(CaseCategory.code == data.category, CaseCategory.active.is_(True))
    )
    if category is None:
        errors.add(ErrorCode.INVALID, t(f"没有事件类别 {data.category!r}",
                                        f"unknown case category {data.category!r}"), "category")
    photos = list(dict.fromkeys(data.photo_ids or []))
    if len(photos) > MAX_PHOTOS:
        errors.add(ErrorCode.INVALID, t(f"最多 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos"), "photoIds")
    ticket = (data.external_ticket_no or "").strip() or None
    if ticket is not None and (why := ticket_error(ticket)) is not None:
        errors.add(ErrorCode.INVALID, why, TICKET_FIELD)
        ticket = None
    errors.raise_if_any()
    if ticket is not None and await ticket_taken(ctx.db, ticket):
        raise duplicate_ticket(ticket)
    source = data.source or default_source(list(actor.roles))
    # The area and whether the reporter's grant reaches it, in one statement (issue #21: one round trip
    # fewer per report); a missing area is NOT_FOUND before an unreachable one is FORBIDDEN, as before.
    grant = actor.grant("case", "report")
    reach = area_reach_predicate(grant, actor) if grant else false()
    found = (await ctx.db.all(select(Area, reach.label("reachable")).where(Area.id == data.area_id)))
    if not found:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    area, reachable = found[0]
    if not reachable:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权在该区域报告事件",
                                                  "you may not report cases in this area"), "areaId")
    attachments = await own_unattached_photos(ctx, photos)
    case: Case | None = None
    for _attempt in range(3):
        case = Case(
            id=uuid7(), number=_case_number(ctx.now), area_id=area.id, area_path=area.path,
            category_code=data.category, priority=data.priority, title=title, description=description or "",
            location_text=location, latitude=data.latitude, longitude=data.longitude, state=CaseState.REPORTED,
            reporter_user_id=actor.user_id, reporter_role=acting_role(ctx), on_wall=is_resident_only(ctx),
            idempotency_key=key, source=source, external_ticket_no=ticket,
            supervised=False, reopen_count=0, version=1, updated_at=ctx.now,
            created_at=ctx.now,
        )
        try:
            async with ctx.db.savepoint():
                await ctx.db.flush(case)
            break
        except IntegrityError:
            # Either a concurrent retry with the same idempotency key committed first (answer with
            # its case), or the random case number collided (draw another).
            if key is not None:
                existing = await ctx.db.scalar(
                    select(Case).where(Case.reporter_user_id == actor.user_id, Case.idempotency_key == key)
                )
                if existing is not None:
                    return existing
            if ticket is not None and await ticket_taken(ctx.db, ticket):
                raise duplicate_ticket(ticket) from None  # a concurrent report took the number first
    else:
        raise ServiceError(ErrorCode.CONFLICT, t("未能分配事件编号，请重试",
                                                 "could not allocate a case number; retry"), "title")
    assert case is not None
    for a in attachments:
        a.case_id = case.id
    if attachments:
        await ctx.db.flush(*attachments)
    await record_event(ctx, case, "report", None, CaseState.REPORTED, note=None,
                       attachments=[str(a.id) for a in attachments], flush=False)  # open_stage's flush writes it
    await open_stage(ctx.db, case, CaseStageKind.ACCEPT, ctx.now, first=True)  # 受理 is due from now (issue #22)
    return case
