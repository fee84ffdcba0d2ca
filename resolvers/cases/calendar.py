"""A tenant's working calendar from the database: its own overrides (``calendar_overrides``) over the
platform's loaded arrangements (``platform_calendar_days``) over the package and the computed statutory
holidays (``WorkCalendar``). Dispatch reads it for due times; ``workingCalendar(from, to)`` shows it,
day by day, to draw a calendar (issue #22). Two statements either way, whatever the period; none for
``workingCalendar`` when the process keeps the period's years at the tenant's calendar version (issue #21)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from models import CalendarOverride
from models.bounded import keep
from policies.roles import Condition, Role
from resolvers.cases.arrangement import platform_days
from resolvers.cases.holidays import package_day, statutory_holidays
from resolvers.cases.workcalendar import DaySource, WorkCalendar
from resolvers.context import CALENDAR_VERSION, RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError

__all__ = ["MAX_CALENDAR_DAYS", "CalendarDay", "check_calendar_period", "describe_day", "kept_calendar_years",
           "work_calendar", "working_calendar"]

MAX_CALENDAR_DAYS = 366
_FIRST, _LAST = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    source: DaySource
    note: str | None


@dataclass(frozen=True)
class _Loaded:
    calendar: WorkCalendar
    override_notes: dict[date, str | None]
    holidays: dict[date, str]  # arrangement day → its holiday


async def _load(ctx: RequestContext, start: date | None = None, end: date | None = None) -> _Loaded:
    overrides = select(CalendarOverride.day, CalendarOverride.workday, CalendarOverride.note)
    if start is not None and end is not None:
        overrides = overrides.where(CalendarOverride.day >= start, CalendarOverride.day <= end)
    own = await ctx.db.all(overrides)
    platform = await ctx.db.all(platform_days(start, end))
    calendar = WorkCalendar(overrides={d: w for d, w, _ in own}, arrangement={d: w for d, w, _ in platform})
    return _Loaded(calendar, {d: n for d, _, n in own}, {d: h for d, _, h in platform})


async def work_calendar(ctx: RequestContext) -> WorkCalendar:
    """The tenant's calendar for due times: every override and every loaded arrangement."""
    return (await _load(ctx)).calendar


def describe_day(calendar: WorkCalendar, d: date, *, override_notes: Mapping[date, str | None],
                 holidays: Mapping[date, str]) -> CalendarDay:
    """``d`` on ``calendar``: working or not, the source, and the note — the override's, or the holiday
    (``holidays``: the arrangement's days → their holiday)."""
    working, source = calendar.explain(d)
    return CalendarDay(d, working, source, _note(d, working, source, override_notes, holidays))


def _note(d: date, working: bool, source: DaySource, override_notes: Mapping[date, str | None],
          holidays: Mapping[date, str]) -> str | None:
    if source is DaySource.TENANT_OVERRIDE:
        return override_notes.get(d)
    if source is DaySource.PLATFORM_ARRANGEMENT:
        name = holidays.get(d, "")
        return f"{name}调休上班" if working else name
    if source is DaySource.PACKAGE:
        known = package_day(d)
        holiday = known[1] if known else None
        if holiday is None:
            return None
        return f"{holiday}调休上班" if working else holiday
    if source is DaySource.STATUTORY:
        return statutory_holidays(d.year).get(d)
    return None


def _may_read(ctx: RequestContext) -> bool:
    """calendar · read with condition all: a role of the chain by its assignments; a partner unit's API
    client (no assignments: its grants come from agreements) by the partner_unit line itself."""
    actor = ctx.actor
    if actor.grant("calendar", "read").all:
        return True
    return actor.partner_unit_id is not None and Condition.ALL in actor.policy.conditions(
        Role.PARTNER_UNIT.value, "calendar", "read")


def check_calendar_period(ctx: RequestContext, start: date, end: date) -> None:
    """``working_calendar``'s refusals, in its order: a period out of range, then an actor without
    calendar · read (the compiled read, compiled/calendar.py, asks the same)."""
    errors = FieldErrors()
    if not _FIRST <= start <= _LAST:
        errors.add(ErrorCode.INVALID, "开始日期须在 2000–2100 年之间", "from")
    if not _FIRST <= end <= _LAST:
        errors.add(ErrorCode.INVALID, "结束日期须在 2000–2100 年之间", "to")
    if end < start:
        errors.add(ErrorCode.INVALID, "结束日期不能早于开始日期", "to")
    elif (end - start).days + 1 > MAX_CALENDAR_DAYS:
        errors.add(ErrorCode.INVALID, f"一次最多查询 {MAX_CALENDAR_DAYS} 天，所给区间有 {(end - start).days + 1} 天",
                   "to")
    errors.raise_if_any()
    if not _may_read(ctx):
        raise ServiceError(ErrorCode.FORBIDDEN, "你在本街道没有可查看工作日历的角色", None)


async def working_calendar(ctx: RequestContext, start: date, end: date) -> list[CalendarDay]:
    """Every day of [start, end] (at most 366): working or not, which source says so, and the holiday or
    the override's note. Every role of the tenant may read it (policy: calendar · read)."""
    check_calendar_period(ctx, start, end)
    years = await _years(ctx, start.year, end.year)
    out: list[CalendarDay] = []
    for y in range(start.year, end.year + 1):
        first = (start if y == start.year else date(y, 1, 1)) - date(y, 1, 1)
        last = (end if y == end.year else date(y, 12, 31)) - date(y, 1, 1)
        out += years[y][first.days:last.days + 1]
    return out


def kept_calendar_years(ctx: RequestContext, first: int, last: int) -> dict[int, tuple[CalendarDay, ...]] | None:
    """The years ``first`` … ``last`` as ``working_calendar`` describes them, if this process keeps every one
    at the calendar version the request read; None otherwise (``working_calendar`` loads and keeps them).
    For the compiled read (compiled/calendar.py), which needs no statement of its own for the days."""
    tenant_id, version = ctx.tenant.id, ctx.db.session.info.get(CALENDAR_VERSION)
    if version is None:
        return None
    out: dict[int, tuple[CalendarDay, ...]] = {}
    for y in range(first, last + 1):
        kept = _kept_years.get((tenant_id, y))
        if kept is None or kept[0] != version:
            return None
        out[y] = kept[1]
    return out


# The days of a year as ``working_calendar`` describes them, kept by the process per (tenant, year) with the
# tenant's ``calendar_version`` they were computed at (issue #21: 36 days took two statements and a
# description of each day, every request). As ``stages.tenant_calendar``: every change of a tenant's
# calendar bumps the version in its transaction and the request's first statement reads it, so another
# process's change is seen on the next request; a request of an older version never reads a newer entry,
# and a transaction that changed the calendar (no version in its session any more) keeps nothing.
_kept_years: dict[tuple[Any, int], tuple[int, tuple[CalendarDay, ...]]] = {}
_KEPT_MAX = 128  # a year ≈ 0.13 MB (tracemalloc): at most ≈ 17 MB a process


async def _years(ctx: RequestContext, first: int, last: int) -> dict[int, tuple[CalendarDay, ...]]:
    """Every day of the years ``first`` … ``last``: kept ones as they are, the others in one load (two
    statements) of their days."""
    tenant_id, version = ctx.tenant.id, ctx.db.session.info.get(CALENDAR_VERSION)
    out: dict[int, tuple[CalendarDay, ...]] = {}
    if version is not None:
        for y in range(first, last + 1):
            kept = _kept_years.get((tenant_id, y))
            if kept is not None and kept[0] == version:
                out[y] = kept[1]
    missing = [y for y in range(first, last + 1) if y not in out]
    if not missing:
        return out
    loaded = await _load(ctx, date(missing[0], 1, 1), date(missing[-1], 12, 31))
    for y in missing:
        begin = date(y, 1, 1)
        out[y] = tuple(describe_day(loaded.calendar, begin + timedelta(days=k), override_notes=loaded.override_notes,
                                    holidays=loaded.holidays) for k in range((date(y, 12, 31) - begin).days + 1))
        kept = _kept_years.get((tenant_id, y))
        if version is not None and (kept is None or kept[0] < version):
            keep(_kept_years, (tenant_id, y), (version, out[y]), _KEPT_MAX)
    return out
