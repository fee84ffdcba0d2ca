"""The State Council's yearly holiday arrangement (国务院办公厅关于某年部分节假日安排的通知), loaded by the
operator for every tenant: the file format, its checks, and the platform tables that hold it
(``platform_calendars``, ``platform_calendar_days``; issue #22).

The file is JSON, one year per file (``examples/calendar/2026.json`` is 2026's notice)::

    {
      "year": 2027,
      "title": "国务院办公厅关于2027年部分节假日安排的通知",
      "number": "国办发明电〔2026〕N号",            (optional: the notice's number, 文号)
      "published": "2026-11-04",                    (optional: the notice's date)
      "holidays": [
        {"name": "元旦", "off": ["2027-01-01/2027-01-03"]},
        {"name": "春节", "off": ["2027-02-05/2027-02-12"], "work": ["2027-02-20"]}
      ]
    }

``off`` lists the days off of a holiday, ``work`` its 调休 make-up working days; each entry is a date
(``YYYY-MM-DD``) or an inclusive range (``YYYY-MM-DD/YYYY-MM-DD``, at most 31 days). Every day lies in
``year`` — a make-up working day may also lie in the 31 days before or after it, as notices have put
them (2012's New Year was worked for on 2011-12-31). A day appears once in the file, and in one
loaded year only. Loading a year replaces what was loaded for it. Unknown keys are refused (a typo
must not drop a holiday silently). A statutory holiday of the year missing from the days off is
reported as a warning, not refused: the law may change before this code does.

Writers (``store_arrangement``) run as the database owner (the CLI, the platform API); tenants'
requests read (``platform_days``) as the app role, which may only SELECT these tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import PlatformCalendar, PlatformCalendarDay, Tenant
from resolvers.cases.holidays import package_knows, statutory_holidays
from resolvers.cases.workcalendar import SHANGHAI

__all__ = [
    "Arrangement",
    "ArrangementError",
    "StoredArrangement",
    "describe_days",
    "next_year_missing",
    "parse_arrangement",
    "platform_days",
    "read_arrangement",
    "store_arrangement",
]

MIN_YEAR, MAX_YEAR = 2000, 2100
_KEYS = {"year", "title", "number", "published", "holidays"}
_HOLIDAY_KEYS = {"name", "off", "work"}
_MAX_RANGE = 31
_MARGIN = timedelta(days=31)


class ArrangementError(ValueError):
    """The file is not a valid arrangement; ``problems`` lists every reason found (in Chinese)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Arrangement:
    """One year's arrangement as read from a file: day → (working day?, the holiday's name)."""

    year: int
    title: str
    number: str | None
    published: date | None
    days: Mapping[date, tuple[bool, str]]
    warnings: tuple[str, ...] = ()

    @property
    def days_off(self) -> list[date]:
        return sorted(d for d, (work, _) in self.days.items() if not work)

    @property
    def working_days(self) -> list[date]:
        return sorted(d for d, (work, _) in self.days.items() if work)


@dataclass(frozen=True)
class StoredArrangement:
    """A loaded year, with who loaded it and when."""

    arrangement: Arrangement
    loaded_by: str | None
    loaded_at: datetime
    problems: list[str] = field(default_factory=list)


def _text(value: Any, name: str, max_len: int, problems: list[str], *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} 须为非空文字")
        return None
    if len(value.strip()) > max_len:
        problems.append(f"{name} 最多 {max_len} 个字")
        return None
    return value.strip()


def _date(value: str, where: str, problems: list[str]) -> date | None:
    try:
        if len(value) == 10:  # fromisoformat also takes 20270101 and week dates: only the one form
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems.append(f"{where}：日期 {value!r} 无效（格式 YYYY-MM-DD）")
    return None


def _days(entries: Any, where: str, problems: list[str]) -> list[date]:
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        problems.append(f"{where} 须为日期列表（\"YYYY-MM-DD\" 或 \"YYYY-MM-DD/YYYY-MM-DD\"）")
        return []
    out: list[date] = []
    for entry in entries:
        first_text, _, last_text = entry.partition("/")
        first = _date(first_text.strip(), where, problems)
        last = _date(last_text.strip(), where, problems) if last_text else first
        if first is None or last is None:
            continue
        if last < first or (last - first).days >= _MAX_RANGE:
            problems.append(f"{where}：区间 {entry} 须从前往后且不超过 {_MAX_RANGE} 天")
            continue
        out += [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return out


def parse_arrangement(text: str | bytes) -> Arrangement:
    """Read and check an arrangement file (module docstring); ``ArrangementError`` lists every problem."""
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArrangementError([f"不是有效的 JSON：{e}"]) from None
    if not isinstance(data, dict):
        raise ArrangementError(["文件须为一个 JSON 对象（year, title, holidays …）"])
    problems = [f"未知的键 {k!r}" for k in sorted(set(data) - _KEYS)]
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(f"year 须为 {MIN_YEAR}–{MAX_YEAR} 之间的年份")
        raise ArrangementError(problems)
    title = _text(data.get("title"), "title", 200, problems, required=True)
    number = _text(data.get("number"), "number", 100, problems, required=False)
    published = None
    if data.get("published") is not None:
        published = _date(str(data["published"]), "published", problems)
    holidays = data.get("holidays")
    if not isinstance(holidays, list) or not holidays:
        problems.append("holidays 须为非空列表")
        holidays = []
    days: dict[date, tuple[bool, str]] = {}
    first, last = date(year, 1, 1), date(year, 12, 31)
    for i, h in enumerate(holidays):
        where = f"holidays[{i}]"
        if not isinstance(h, dict):
            problems.append(f"{where} 须为对象（name, off, work）")
            continue
        problems += [f"{where}：未知的键 {k!r}" for k in sorted(set(h) - _HOLIDAY_KEYS)]
        name = _text(h.get("name"), f"{where}.name", 20, problems, required=True) or "?"
        where = f"{where}（{name}）"
        off = _days(h.get("off"), f"{where}.off", problems)
        if not off and "off" in h:
            problems.append(f"{where}.off 须至少有一天")
        work = _days(h.get("work", []), f"{where}.work", problems)
        for d, working in [(d, False) for d in off] + [(d, True) for d in work]:
            lo, hi = (first - _MARGIN, last + _MARGIN) if working else (first, last)
            if not lo <= d <= hi:
                problems.append(f"{where}：{d} 不在 {year} 年内" if not working
                                else f"{where}：调休上班日 {d} 离 {year} 年太远")
            elif d in days:
                problems.append(f"{where}：{d} 重复出现")
            else:
                days[d] = (working, name)
    if problems:
        raise ArrangementError(problems)
    assert title is not None
    off_days = {d for d, (w, _) in days.items() if not w}
    warnings = tuple(f"法定节假日 {name} {d} 不在放假日期中" for d, name in statutory_holidays(year).items()
                     if d not in off_days)
    return Arrangement(year, title, number, published, days, warnings)


async def store_arrangement(session: AsyncSession, arrangement: Arrangement, *, loaded_by: str | None,
                            now: datetime) -> None:
    """Replace the loaded arrangement of its year, in one transaction (the caller's session, not bound to a
    tenant: the owner's). ``ArrangementError`` when a day belongs to another loaded year."""
    y = arrangement.year
    async with session.begin():
        taken = (await session.execute(
            select(PlatformCalendarDay.day, PlatformCalendarDay.year)
            .where(PlatformCalendarDay.day.in_(list(arrangement.days)), PlatformCalendarDay.year != y)
            .order_by(PlatformCalendarDay.day))).all()
        if taken:
            raise ArrangementError([f"{d} 已属于已加载的 {other} 年安排" for d, other in taken])
        await session.execute(delete(PlatformCalendarDay).where(PlatformCalendarDay.year == y))
        await session.execute(delete(PlatformCalendar).where(PlatformCalendar.year == y))
        await session.execute(insert(PlatformCalendar).values(
            year=y, title=arrangement.title, number=arrangement.number, published=arrangement.published,
            loaded_by=loaded_by, loaded_at=now))
        await session.execute(insert(PlatformCalendarDay), [
            {"day": d, "year": y, "workday": w, "holiday": name} for d, (w, name) in sorted(arrangement.days.items())])
        # Every tenant's working calendar changed: a new version for each (issue #21, see tenants.calendar_version).
        await session.execute(update(Tenant).values(calendar_version=Tenant.calendar_version + 1))


async def read_arrangement(session: AsyncSession, year: int) -> StoredArrangement | None:
    """The loaded arrangement of ``year``, or None."""
    head = await session.scalar(select(PlatformCalendar).where(PlatformCalendar.year == year))
    if head is None:
        return None
    rows = (await session.execute(
        select(PlatformCalendarDay.day, PlatformCalendarDay.workday, PlatformCalendarDay.holiday)
        .where(PlatformCalendarDay.year == year).order_by(PlatformCalendarDay.day))).all()
    arrangement = Arrangement(year, head.title, head.number, head.published, {d: (w, n) for d, w, n in rows})
    return StoredArrangement(arrangement, head.loaded_by, head.loaded_at)


def platform_days(start: date | None = None, end: date | None = None) -> Select[date, bool, str]:
    """The statement reading loaded days (day, workday, holiday), within [start, end] if given."""
    stmt = select(PlatformCalendarDay.day, PlatformCalendarDay.workday, PlatformCalendarDay.holiday)
    if start is not None:
        stmt = stmt.where(PlatformCalendarDay.day >= start)
    if end is not None:
        stmt = stmt.where(PlatformCalendarDay.day <= end)
    return stmt


async def next_year_missing(session: AsyncSession, now: datetime) -> int | None:
    """From 1 November (Beijing time), the coming year if its arrangement is neither in the package nor
    loaded; else None."""
    today = now.astimezone(SHANGHAI).date()
    if today < date(today.year, 11, 1):
        return None
    coming = today.year + 1
    if package_knows(coming):
        return None
    loaded = await session.scalar(select(PlatformCalendar.year).where(PlatformCalendar.year == coming))
    return None if loaded is not None else coming


def describe_days(days: Sequence[date]) -> str:
    """Dates as short ranges for people: 2027-02-05–02-12, 2027-02-20."""
    out: list[str] = []
    run: list[date] = []
    for d in sorted(days):
        if run and d - run[-1] == timedelta(days=1):
            run.append(d)
            continue
        if run:
            out.append(_span(run))
        run = [d]
    if run:
        out.append(_span(run))
    return ", ".join(out)


def _span(run: list[date]) -> str:
    return run[0].isoformat() if len(run) == 1 else f"{run[0].isoformat()}–{run[-1].strftime('%m-%d')}"
