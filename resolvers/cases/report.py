"""Reporting a case (上报): checked input, the reporter's reach, own photos, a fresh case number, and
idempotency per client key."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.exc import IntegrityError

from models import Area, Case, CaseCategory, CasePriority, CaseSource, CaseStageKind, CaseState, uuid7
from policies.filters import area_reach_row
from resolvers import validation as v
from resolvers.cases.machine import MAX_PHOTOS, acting_role, is_resident_only, own_unattached_photos, record_event
from resolvers.cases.sources import TICKET_FIELD, default_source, duplicate_ticket, ticket_error, ticket_taken
from resolvers.cases.stages import open_stage
from resolvers.cases.workcalendar import SHANGHAI
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
# base64's base32 digits (RFC 4648: A–Z then 2–7, the 40 bits most significant first) as Crockford's (issue #21:
# one C call for the eight characters, and the calendar's zone without making a WorkCalendar).
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _NUMBER_ALPHABET)


def _case_number(now: datetime) -> str:
    """Local date and 8 random base32 characters (40 bits): a collision among a day's reports is
    negligible, and one is retried anyway."""
    local = now.astimezone(SHANGHAI)  # a WorkCalendar's default zone
    suffix = base64.b32encode(os.urandom(5)).decode().translate(_TO_CROCKFORD)
    return f"{local.year:04d}{local.month:02d}{local.day:02d}-{suffix}"  # %Y%m%d, without strftime's 3 µs


@dataclass
class CheckedReport:
    """A report's input as checked (the same for the general path and the one on the driver)."""

    title: str | None  # None only with an error in the FieldErrors
    description: str | None
    location: str | None
    photos: list[uuid.UUID]
    ticket: str | None


def check_text(data: ReportInput, errors: FieldErrors) -> tuple[str | None, str | None, str | None]:
    """Title, description, place and coordinates; what is wrong goes to ``errors`` (in this order)."""
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
    return title, description, location


def unknown_category(errors: FieldErrors, code: str) -> None:
    errors.add(ErrorCode.INVALID, t(f"没有事件类别 {code!r}", f"unknown case category {code!r}"), "category")


def check_lists(data: ReportInput, errors: FieldErrors) -> tuple[list[uuid.UUID], str | None]:
    """Photos and the 12345 ticket number, after the category's check."""
    photos = list(dict.fromkeys(data.photo_ids or []))
    if len(photos) > MAX_PHOTOS:
        errors.add(ErrorCode.INVALID, t(f"最多 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos"), "photoIds")
    ticket = (data.external_ticket_no or "").strip() or None
    if ticket is not None and (why := ticket_error(ticket)) is not None:
        errors.add(ErrorCode.INVALID, why, TICKET_FIELD)
        ticket = None
    return photos, ticket


def new_case(ctx: RequestContext, data: ReportInput, checked: CheckedReport, area_id: uuid.UUID, area_path: str,
             key: str | None) -> Case:
    """The reported case's row (not yet written), with a fresh number."""
    return Case(**case_values(ctx, data, checked, area_id, area_path, key))


def case_values(ctx: RequestContext, data: ReportInput, checked: CheckedReport, area_id: uuid.UUID, area_path: str,
                key: str | None) -> dict[str, Any]:
    """The reported case's values (what ``new_case`` makes its row of; written as such on the driver)."""
    return dict(
        id=uuid7(), number=_case_number(ctx.now), area_id=area_id, area_path=area_path,
        category_code=data.category, priority=data.priority, title=checked.title,
        description=checked.description or "", location_text=checked.location, latitude=data.latitude,
        longitude=data.longitude, state=CaseState.REPORTED, reporter_user_id=ctx.actor.user_id,
        reporter_role=acting_role(ctx), on_wall=is_resident_only(ctx), idempotency_key=key,
        source=data.source or default_source(list(ctx.actor.roles)), external_ticket_no=checked.ticket,
        supervised=False, reopen_count=0, version=1, updated_at=ctx.now, created_at=ctx.now,
    )


def report_reach(ctx: RequestContext) -> ColumnElement[bool]:
    """Whether the reporter's grant reaches ``Area``, asked of the one area's row (``area_reach_row``: the areas
    ``area_reach_predicate`` gives, by index probes from the row rather than scans of the tenant's areas; false
    without a grant)."""
    grant = ctx.actor.grant("case", "report")
    return area_reach_row(grant, ctx.actor) if grant else false()


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
    title, description, location = check_text(data, errors)
    category = await ctx.db.scalar(
        select(CaseCategory).where(CaseCategory.code == data.category, CaseCategory.active.is_(True))
    )
    if category is None:
        unknown_category(errors, data.category)
    photos, ticket = check_lists(data, errors)
    errors.raise_if_any()
    if ticket is not None and await ticket_taken(ctx.db, ticket):
        raise duplicate_ticket(ticket)
    checked = CheckedReport(title=title, description=description, location=location, photos=photos, ticket=ticket)
    # The area and whether the reporter's grant reaches it, in one statement (issue #21: one round trip
    # fewer per report); a missing area is NOT_FOUND before an unreachable one is FORBIDDEN, as before.
    found = (await ctx.db.all(select(Area, report_reach(ctx).label("reachable")).where(Area.id == data.area_id)))
    if not found:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    area, reachable = found[0]
    if not reachable:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权在该区域报告事件",
                                                  "you may not report cases in this area"), "areaId")
    attachments = await own_unattached_photos(ctx, photos)
    case: Case | None = None
    for _attempt in range(3):
        case = new_case(ctx, data, checked, area.id, area.path, key)
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
