"""Working-time arithmetic on the Chinese calendar, for SLA due times and handling-time statistics.

Pure code: no database, no I/O.

A day is a working day or a day off by the first of these that speaks of it (``explain`` says which,
as a ``DaySource``):

1. ``TENANT_OVERRIDE`` — the tenant's ``overrides`` (date -> True for a working day, False for a day off);
2. ``PLATFORM_ARRANGEMENT`` — the State Council's yearly arrangement loaded platform-wide by the operator
   (``arrangement``, same shape; ``resolvers.cases.arrangement``): its days off and 调休 make-up working days;
3. ``PACKAGE`` — the ``chinesecalendar`` package (public holidays and make-up working days, e.g. 2025
   National Day: Oct 1-8 off, Sunday Sep 28 and Saturday Oct 11 worked; 1.11.0 knows 2004-2026);
4. ``STATUTORY`` — for a year the package does not know: the statutory holidays of 《全国年节及纪念日放假办法》
   computed for the year (``resolvers.cases.holidays``: 元旦, 除夕-初三, 清明, May 1-2, 端午, 中秋, Oct 1-3);
5. ``WEEKEND`` / ``WEEKDAY`` — otherwise Saturday and Sunday off, Monday-Friday working. In a year the package
   does not know and no arrangement covers, these are guesses: no make-up day is guessed.

Working hours are ``day_start``-``lunch_start`` and ``lunch_end``-``day_end`` on working days (default
09:00-12:00 and 13:30-17:30, i.e. 7 hours a day), in the calendar's ``tz`` (default Asia/Shanghai).

Conventions:

* Every datetime argument must be timezone-aware (any zone; naive -> ``ValueError``); dates are taken in ``tz``;
  results are aware UTC datetimes.
* ``add_working_days(start, n)`` — "within n working days" (n个工作日内): counting starts on the first working day
  after start's local date (the day of receipt never counts, even if received at 08:00 on a working day); the
  due time is ``day_end`` of the n-th such day.
* ``add_working_hours(start, h)`` — consumes h hours of working time from start (or from the next window start
  if start is outside working hours). Time that runs out exactly at the end of a window yields that window's
  end (12:00 or 17:30), not the next window's start.
* ``working_seconds_between(a, b)`` — working seconds in [a, b); the inverse of ``add_working_hours``:
  ``working_seconds_between(s, add_working_hours(s, h)) == h * 3600`` (to the microsecond).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from models.bounded import keep
from resolvers.cases.holidays import package_day, statutory_holidays

__all__ = ["SHANGHAI", "DaySource", "WorkCalendar"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ONE_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)


class DaySource(enum.StrEnum):
    """Why a day is a working day or a day off: the first source that speaks of it (module docstring)."""

    TENANT_OVERRIDE = "tenant_override"
    PLATFORM_ARRANGEMENT = "platform_arrangement"
    PACKAGE = "package"
    STATUTORY = "statutory"
    WEEKEND = "weekend"
    WEEKDAY = "weekday"


@lru_cache(maxsize=16384)
def _default_day(d: date) -> tuple[bool, DaySource]:
    """A day without override or arrangement: the package, else the computed statutory holidays, else the
    weekday. Cached: the package's own check scans its whole holiday table on every call (~15 µs)."""
    known = package_day(d)
    if known is not None:
        return known[0], DaySource.PACKAGE
    if d in statutory_holidays(d.year):
        return False, DaySource.STATUTORY
    return (True, DaySource.WEEKDAY) if d.weekday() < 5 else (False, DaySource.WEEKEND)


def _check_days(name: str, days: Mapping[date, bool]) -> None:
    for key, value in days.items():
        if not isinstance(key, date) or isinstance(key, datetime):
            raise TypeError(f"{name} keys must be dates, got {key!r}")
        if not isinstance(value, bool):
            raise TypeError(f"{name} for {key} must be a bool, got {value!r}")


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


@dataclass(frozen=True)
class WorkCalendar:
    """A tenant's working calendar: its overrides over the platform's arrangement over the package over the
    computed statutory holidays over the weekdays. See the module docstring for the conventions."""

    overrides: Mapping[date, bool] = field(default_factory=dict, hash=False)
    arrangement: Mapping[date, bool] = field(default_factory=dict, hash=False)
    day_start: time = time(9, 0)
    day_end: time = time(17, 30)
    lunch_start: time | None = time(12, 0)
    lunch_end: time | None = time(13, 30)
    tz: ZoneInfo = SHANGHAI

    def __post_init__(self) -> None:
        _check_days("override", self.overrides)
        _check_days("arrangement", self.arrangement)
        # Copy and freeze, so later changes to the caller's dict do not leak in.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "arrangement", MappingProxyType(dict(self.arrangement)))
        for name in ("day_start", "day_end", "lunch_start", "lunch_end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive time (it is read in tz), got {value!r}")
        if not self.day_start < self.day_end:
            raise ValueError("day_start must be before day_end")
        if (self.lunch_start is None) != (self.lunch_end is None):
            raise ValueError("lunch_start and lunch_end must both be set or both be None")
        if self.lunch_start is not None and self.lunch_end is not None:
            if not self.day_start < self.lunch_start < self.lunch_end < self.day_end:
                raise ValueError("need day_start < lunch_start < lunch_end < day_end")

    # ------------------------------------------------------------------ days

    def explain(self, d: date) -> tuple[bool, DaySource]:
        """Whether ``d`` is a working day, and which source says so."""
        if isinstance(d, datetime):
            raise TypeError("explain takes a date; convert the datetime to a local date in tz first")
        override = self.overrides.get(d)
        if override is not None:
            return override, DaySource.TENANT_OVERRIDE
        arranged = self.arrangement.get(d)
        if arranged is not None:
            return arranged, DaySource.PLATFORM_ARRANGEMENT
        return _default_day(d)

    def is_workday(self, d: date) -> bool:
        """Overrides, the platform's arrangement, the package, the statutory holidays, the weekday: the first
        that speaks of ``d``."""
        if isinstance(d, datetime):
            raise TypeError("is_workday takes a date; convert the datetime to a local date in tz first")
        override = self.overrides.get(d)
        if override is not None:
            return override
        arranged = self.arrangement.get(d)
        if arranged is not None:
            return arranged
        return _default_day(d)[0]

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Due time for "within ``days`` working days" of ``start``: ``day_end`` (local) of the ``days``-th working
        day after start's local date, as an aware UTC datetime."""
        _require_aware("start", start)
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {days!r}")
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        d = start.astimezone(self.tz).date()
        remaining = days
        while remaining:
            d += _ONE_DAY
            if self.is_workday(d):
                remaining -= 1
        return datetime.combine(d, self.day_end, tzinfo=self.tz).astimezone(UTC)

    # ----------------------------------------------------------------- hours

    def _windows(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working windows of local date ``d`` as (start, end) aware UTC datetimes; none on a day off. Kept
        per calendar and date (the calendar is frozen; issue #21: a report's due time asked them of every day)."""
        kept: dict[date, tuple[tuple[datetime, datetime], ...]] = self.__dict__.setdefault("_kept_windows", {})
        found = kept.get(d)
        if found is not None:
            return found
        if not self.is_workday(d):
            found = ()
        else:
            if self.lunch_start is None or self.lunch_end is None:
                bounds = [(self.day_start, self.day_end)]
            else:
                bounds = [(self.day_start, self.lunch_start), (self.lunch_end, self.day_end)]
            found = tuple((datetime.combine(d, lo, tzinfo=self.tz).astimezone(UTC),
                           datetime.combine(d, hi, tzinfo=self.tz).astimezone(UTC)) for lo, hi in bounds)
        return keep(kept, d, found, 4096)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of working time (resolution: 1 µs), as an aware UTC datetime."""
        _require_aware("start", start)
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise TypeError(f"hours must be a number, got {hours!r}")
        if not math.isfinite(hours) or hours <= 0:
            raise ValueError(f"hours must be a positive finite number, got {hours!r}")
        remaining = round(hours * 3_600_000_000)  # microseconds, integer: exact and consistent with the inverse
        if remaining <= 0:
            raise ValueError(f"hours must be at least one microsecond, got {hours!r}")
        now = start.astimezone(UTC)
        d = start.astimezone(self.tz).date()
        while True:
            for lo, hi in self._windows(d):
                if hi <= now:
                    continue
                begin = max(lo, now)
                available = (hi - begin) // _US
                if remaining <= available:
                    return begin + timedelta(microseconds=remaining)
                remaining -= available
            d += _ONE_DAY

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b); 0.0 if b <= a."""
        _require_aware("a", a)
        _require_aware("b", b)
        if b <= a:
            return 0.0
        a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
        d = a.astimezone(self.tz).date()
        last = b.astimezone(self.tz).date()
        total = 0
        while d <= last:
            for lo, hi in self._windows(d):
                overlap = (min(hi, b_utc) - max(lo, a_utc)) // _US
                if overlap > 0:
                    total += overlap
            d += _ONE_DAY
        return total / 1_000_000
