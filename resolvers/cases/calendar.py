"""A tenant's working calendar from the database: its own overrides (``calendar_overrides``) over the
platform's loaded arrangements (``platform_calendar_days``) over the package and the computed statutory
holidays (``WorkCalendar``). Dispatch reads it for due times; ``workingCalendar(from, to)`` shows it,
day by day, to draw a calendar (issue #22). Two statements either way, whatever the period."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from models import CalendarOverride
from policies.roles import Condition, Role
from resolvers.cases.arrangement import platform_days
from resolvers.cases.holidays import package_day, statutory_holidays
from resolvers.cases.workcalendar import DaySource, WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError

__all__ = ["MAX_CALENDAR_DAYS", "CalendarDay", "describe_day", "work_calendar", "working_calendar"]

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


async def working_calendar(ctx: RequestContext, start: date, end: date) -> list[CalendarDay]:
    """Every day of [start, end] (at most 366): working or not, which source says so, and the holiday or
    the override's note. Every role of the tenant may read it (policy: calendar · read)."""
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
    loaded = await _load(ctx, start, end)
    return [describe_day(loaded.calendar, start + timedelta(days=k), override_notes=loaded.override_notes,
                         holidays=loaded.holidays) for k in range((end - start).days + 1)]
