"""Home visits (走访): who may read them, recording one (optionally raising a case), reading them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from models import (
    CasePriority,
    Household,
    Visit,
    VisitKind,
    uuid7,
)
from policies.care import care_household_predicate
from policies.filters import buildings_in_scope, household_predicate
from resolvers import cases as case_service
from resolvers import inserts, prepared
from resolvers import validation as v
from resolvers.care.common import area_path, local_day_bounds
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.idempotency import checked_key, keyed_row, once
from resolvers.pagination import Page, keyset_page


def acting_role(ctx: RequestContext) -> str:
    roles = ctx.actor.roles
    return roles[0].value if roles else ""



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
    idempotency_key: str | None = None


async def record_visit(ctx: RequestContext, data: VisitInput) -> Visit:
    """A visit, and the case it raises if asked. With an idempotency key, a retry answers with the
    visit first recorded (no second case); the key with another household, kind, time, findings or
    needs, or with(out) a case to raise, is IDEMPOTENCY_KEY_REUSED."""
    key = checked_key(data.idempotency_key)
    if key is None:
        return await _record_visit(ctx, data, None)
    try:  # compared as stored: the text checks trim, so the retry's text goes through them too
        findings = v.text(data.findings, "findings", max_len=5000)
        needs = None if data.needs is None else v.text(data.needs, "needs", max_len=2000, required=False) or None
    except ServiceError:
        return await _record_visit(ctx, data, key)  # invalid: reported with every other input error

    async def earlier() -> Visit | None:
        row: Visit | None = await keyed_row(ctx, Visit, Visit.visitor_user_id, key, lambda r: (
            r.household_id == data.household_id and r.kind == data.kind and r.visited_at == data.visited_at
            and r.findings == findings and r.needs == needs and (r.case_id is None) == (data.raise_case is None)),
            prepared_first=True)
        return row

    return await once(ctx, key, earlier, lambda: _record_visit(ctx, data, key))


def record_visit_checks(ctx: RequestContext, p: prepared.Bind) -> Any:
    """One statement (issue #21; it was two): the household (``$1``) if the actor reads it, and whether the record
    grant reaches it as a column; NOT_FOUND before FORBIDDEN as before. Shared with recordVisit on the driver
    (resolvers.care.visit_fast)."""
    actor = ctx.actor  # read here: the text is built for a stand-in of the actor (resolvers/stand_in.py)
    readable = or_(household_predicate(actor.grant("household", "read"), actor),
                   care_household_predicate(actor, "visit", "read", household_id=Household.id,
                                            building_id=Household.building_id))
    allowed = care_household_predicate(actor, "visit", "record", household_id=Household.id,
                                       building_id=Household.building_id)
    return select(Household.building_id, allowed.label("allowed")).where(Household.id == p(0, "uuid"), readable)


async def _record_visit(ctx: RequestContext, data: VisitInput, key: str | None) -> Visit:
    actor = ctx.actor
    errors = FieldErrors()
    findings = needs = None
    with errors.catch():
        findings = v.text(data.findings, "findings", max_len=5000)
    if data.needs is not None:
        with errors.catch():
            needs = v.text(data.needs, "needs", max_len=2000, required=False) or None
    if data.visited_at.tzinfo is None:
        errors.add(ErrorCode.INVALID, t("visitedAt 需带时区", "visitedAt needs a timezone"), "visitedAt")
    elif data.visited_at > ctx.now + timedelta(minutes=5):
        errors.add(ErrorCode.INVALID, t("visitedAt 不能是将来的时间", "visitedAt lies in the future"), "visitedAt")
    elif data.visited_at < ctx.now - timedelta(days=366):
        errors.add(ErrorCode.INVALID, t("visitedAt 不能早于一年前", "visitedAt is more than a year ago"), "visitedAt")
    errors.raise_if_any()
    h = await prepared.first(ctx, ("record_visit",), lambda p: record_visit_checks(ctx, p), data.household_id)
    if h is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("户不存在", "household not found"), "householdId")
    if not h[1]:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权登记对该户的走访",
                                                  "you may not record visits to this household"), "householdId")
    building_id = prepared.uid(h[0])
    assert building_id is not None  # a household's building is NOT NULL
    case_id = None
    if data.raise_case is not None:
        rc = data.raise_case
        case = await case_service.report_case(ctx, case_service.ReportInput(
            area_id=building_id, category=rc.category, priority=rc.priority, title=rc.title,
            description=rc.description))
        case_id = case.id
    visit = Visit(id=uuid7(), household_id=data.household_id, building_id=building_id, visitor_user_id=actor.user_id,
                  visitor_role=acting_role(ctx), kind=data.kind, visited_at=data.visited_at, findings=findings,
                  needs=needs, case_id=case_id, created_at=ctx.now, idempotency_key=key)
    await inserts.insert(ctx, visit)
    return visit


def visit_list_filters(ctx: RequestContext, *, household_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                       area_path: str | ColumnElement[str] | None,
                       period: tuple[datetime | ColumnElement[datetime], datetime | ColumnElement[datetime]] | None,
                       ) -> list[ColumnElement[bool]]:
    """The visits list's rows (newest first by id): readable, of the household, in the buildings under
    the area's path, visited in [period) (the local days' bounds of ``local_day_bounds``). The compiled
    read (compiled/visits.py) filters with this too, with the path read by a subquery and the household
    and the bounds as parameters."""
    filters = [visit_read_predicate(ctx)]
    if household_id is not None:
        filters.append(Visit.household_id == household_id)
    if area_path is not None:
        # policies.filters types the scope paths as strings; startswith takes an expression as well.
        filters.append(Visit.building_id.in_(buildings_in_scope((area_path,))))  # type: ignore[arg-type]
    if period is not None:
        filters += [Visit.visited_at >= period[0], Visit.visited_at < period[1]]
    return filters


def visit_period(start: date | None, end: date | None) -> tuple[datetime, datetime] | None:
    """visits(from:, to:) as UTC bounds: local days, open ends the calendar's first and last."""
    if start is None and end is None:
        return None
    return local_day_bounds(start or date(1970, 1, 1), end or date(9999, 12, 30))


async def list_visits(ctx: RequestContext, *, household_id: uuid.UUID | None, area_id: uuid.UUID | None,
                      start: date | None, end: date | None, first: int | None, after: str | None) -> Page[Visit]:
    path = None if area_id is None else await area_path(ctx, area_id)
    stmt = select(Visit).where(*visit_list_filters(ctx, household_id=household_id, area_path=path,
                                                   period=visit_period(start, end)))
    return await keyset_page(ctx.db, stmt, Visit.id, first=first, after=after, descending=True)


async def get_visit(ctx: RequestContext, visit_id: uuid.UUID) -> Visit | None:
    visit: Visit | None = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id, visit_read_predicate(ctx)))
    return visit
