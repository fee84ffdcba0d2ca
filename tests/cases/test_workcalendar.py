"""WorkCalendar: working days / working hours on the Chinese calendar, with fixed dates.

Package data relied on (chinesecalendar 1.11.0, checked when these tests were written):
2025 National Day: Sep 27 (Sat) off, Sep 28 (Sun) worked, Oct 1-8 off, Oct 11 (Sat) worked.
2026 Spring Festival: Feb 14 (Sat) worked, Feb 15-23 off, Feb 28 (Sat) worked.
The package knows 2004-2026 only; later years use the computed statutory holidays (tests/cases/test_holidays.py).
"""

from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from resolvers.cases.workcalendar import SHANGHAI, WorkCalendar

CAL = WorkCalendar()
NEW_YORK = ZoneInfo("America/New_York")


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """An aware Asia/Shanghai datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def assert_utc(result: datetime, expected: datetime) -> None:
    assert result.tzinfo is UTC
    assert result == expected, f"{result.astimezone(SHANGHAI).isoformat()} != {expected.isoformat()}"


# --------------------------------------------------------------------------- is_workday


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 9, 26), True),  # Fri
        (date(2025, 9, 27), False),  # Sat, off
        (date(2025, 9, 28), True),  # Sun, 调休 working day
        (date(2025, 9, 30), True),
        (date(2025, 10, 1), False),
        (date(2025, 10, 6), False),  # Mid-autumn, inside the National Day block
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Sat, 调休 working day
        (date(2025, 10, 12), False),  # Sun
        (date(2026, 2, 13), True),
        (date(2026, 2, 14), True),  # Sat, 调休 working day
        (date(2026, 2, 15), False),
        (date(2026, 2, 23), False),  # Mon, last day of Spring Festival
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Sat, 调休 working day
        (date(2026, 3, 1), False),
        (date(2031, 1, 1), False),  # unknown year: the statutory New Year's Day (a Wednesday) is off
        (date(2031, 1, 2), True),  # Thu: an ordinary weekday
        (date(2031, 1, 4), False),  # Sat
    ],
)
def test_is_workday(d: date, expected: bool) -> None:
    assert CAL.is_workday(d) is expected


def test_is_workday_rejects_datetime() -> None:
    with pytest.raises(TypeError):
        CAL.is_workday(datetime(2025, 10, 9, tzinfo=UTC))


# --------------------------------------------------------------------------- add_working_days


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # received Tue Sep 30: Oct 9 (Thu), Oct 10 (Fri), Oct 11 (Sat, 调休)
        (sh(2025, 9, 30, 10), 1, sh(2025, 10, 9, 17, 30)),
        (sh(2025, 9, 30, 10), 3, sh(2025, 10, 11, 17, 30)),
        (sh(2025, 9, 30, 10), 4, sh(2025, 10, 13, 17, 30)),
        # the day of receipt never counts, whatever the hour
        (sh(2025, 9, 30, 0, 1), 3, sh(2025, 10, 11, 17, 30)),
        (sh(2025, 9, 30, 23, 59), 3, sh(2025, 10, 11, 17, 30)),
        # received on the make-up Sunday Sep 28: Sep 29, Sep 30, then Oct 9
        (sh(2025, 9, 28, 10), 1, sh(2025, 9, 29, 17, 30)),
        (sh(2025, 9, 28, 10), 3, sh(2025, 10, 9, 17, 30)),
        # received on Saturday Sep 27 (off): the make-up Sunday is the first working day
        (sh(2025, 9, 27, 10), 1, sh(2025, 9, 28, 17, 30)),
        # received during the holiday
        (sh(2025, 10, 3, 10), 1, sh(2025, 10, 9, 17, 30)),
        # ordinary week: received Mon Sep 15, 5 working days → Mon Sep 22
        (sh(2025, 9, 15, 10), 5, sh(2025, 9, 22, 17, 30)),
        # 30 working days from Mon Sep 1: Sep 2-5, 8-12, 15-19, 22-26, 28, 29, 30, Oct 9, 10, 11, 13-17
        (sh(2025, 9, 1, 10), 30, sh(2025, 10, 17, 17, 30)),
        # Spring Festival 2026: Fri Feb 13 → Sat Feb 14 (调休) → Tue Feb 24
        (sh(2026, 2, 13, 10), 1, sh(2026, 2, 14, 17, 30)),
        (sh(2026, 2, 13, 10), 2, sh(2026, 2, 24, 17, 30)),
        (sh(2026, 2, 14, 10), 1, sh(2026, 2, 24, 17, 30)),
        # Feb 24, 25, 26, 27, then Sat Feb 28 (调休)
        (sh(2026, 2, 14, 10), 5, sh(2026, 2, 28, 17, 30)),
    ],
)
def test_add_working_days(start: datetime, days: int, due: datetime) -> None:
    assert_utc(CAL.add_working_days(start, days), due)


def test_add_working_days_uses_local_date_not_utc_date() -> None:
    # 2025-09-28 16:30 UTC is Mon Sep 29 00:30 in Shanghai: the first counted day is Tue Sep 30.
    start = datetime(2025, 9, 28, 16, 30, tzinfo=UTC)
    assert_utc(CAL.add_working_days(start, 1), sh(2025, 9, 30, 17, 30))
    # The same instant expressed in New York gives the same answer.
    assert_utc(CAL.add_working_days(start.astimezone(NEW_YORK), 1), sh(2025, 9, 30, 17, 30))
    # 17:30 Shanghai is 09:30 UTC.
    assert CAL.add_working_days(start, 1) == datetime(2025, 9, 30, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("days", [0, -1])
def test_add_working_days_rejects_non_positive(days: int) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(sh(2025, 9, 30, 10), days)


# --------------------------------------------------------------------------- add_working_hours

HOUR_CASES = [
    # across lunch: 11:00-12:00, then 13:30-14:30
    (sh(2025, 9, 15, 11), 2, sh(2025, 9, 15, 14, 30)),
    # across a night: Tue 16:30-17:30, then Wed 09:00-10:00
    (sh(2025, 9, 16, 16, 30), 2, sh(2025, 9, 17, 10)),
    # across a weekend: Fri 16:00-17:30, then Mon 09:00-10:30
    (sh(2025, 9, 19, 16), 3, sh(2025, 9, 22, 10, 30)),
    # across the National Day holiday: Tue Sep 30 15:00-17:30, then Thu Oct 9 09:00-10:30
    (sh(2025, 9, 30, 15), 4, sh(2025, 10, 9, 10, 30)),
    # ... and on to the 调休 Saturday: 2.5 + 7 (Oct 9) + 7 (Oct 10) + 1 (Sat Oct 11)
    (sh(2025, 9, 30, 15), 17.5, sh(2025, 10, 11, 10)),
    # start inside lunch: counting starts at 13:30
    (sh(2025, 9, 15, 12, 30), 1, sh(2025, 9, 15, 14, 30)),
    # start before hours / after hours
    (sh(2025, 9, 15, 7), 1, sh(2025, 9, 15, 10)),
    (sh(2025, 9, 15, 18), 1, sh(2025, 9, 16, 10)),
    # start on a holiday
    (sh(2025, 10, 3, 10), 1, sh(2025, 10, 9, 10)),
    # start on the make-up Sunday
    (sh(2025, 9, 28, 10), 1, sh(2025, 9, 28, 11)),
    # time that runs out exactly at a window's end gives that end, not the next window's start
    (sh(2025, 9, 15, 9), 3, sh(2025, 9, 15, 12)),
    (sh(2025, 9, 15, 9), 7, sh(2025, 9, 15, 17, 30)),
    (sh(2025, 9, 15, 9), 7.5, sh(2025, 9, 16, 9, 30)),
    # fractions
    (sh(2025, 9, 15, 11, 45), 0.25, sh(2025, 9, 15, 12)),
    (sh(2025, 9, 15, 11, 45), 0.5, sh(2025, 9, 15, 13, 45)),
    # Spring Festival 2026: Fri Feb 13 16:30-17:30, Sat Feb 14 (调休) 09:00-10:00
    (sh(2026, 2, 13, 16, 30), 2, sh(2026, 2, 14, 10)),
    # Sat Feb 14 17:00-17:30, then Tue Feb 24 09:00-09:30
    (sh(2026, 2, 14, 17), 1, sh(2026, 2, 24, 9, 30)),
    # 200 hours from Mon Sep 1 09:00 = 28 full days (through Oct 14) + 4 h on Oct 15 (3 h + 1 h after lunch)
    (sh(2025, 9, 1, 9), 200, sh(2025, 10, 15, 14, 30)),
]


@pytest.mark.parametrize(("start", "hours", "due"), HOUR_CASES)
def test_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    assert_utc(CAL.add_working_hours(start, hours), due)


def test_add_working_hours_accepts_any_timezone() -> None:
    start = sh(2025, 9, 30, 15)
    assert_utc(CAL.add_working_hours(start.astimezone(NEW_YORK), 4), sh(2025, 10, 9, 10, 30))
    assert_utc(CAL.add_working_hours(start.astimezone(UTC), 4), sh(2025, 10, 9, 10, 30))


@pytest.mark.parametrize("hours", [0, -1, float("nan"), float("inf")])
def test_add_working_hours_rejects_bad_hours(hours: float) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_hours(sh(2025, 9, 15, 10), hours)


def test_no_lunch_break() -> None:
    cal = WorkCalendar(lunch_start=None, lunch_end=None)
    assert_utc(cal.add_working_hours(sh(2025, 9, 15, 11), 2), sh(2025, 9, 15, 13))
    assert cal.working_seconds_between(sh(2025, 9, 15), sh(2025, 9, 16)) == 8.5 * 3600


# --------------------------------------------------------------------------- working_seconds_between


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (sh(2025, 9, 15, 11), sh(2025, 9, 15, 14, 30), 2),  # across lunch
        (sh(2025, 9, 16, 16, 30), sh(2025, 9, 17, 10), 2),  # across a night
        (sh(2025, 9, 19, 16), sh(2025, 9, 22, 10, 30), 3),  # across a weekend
        (sh(2025, 9, 30, 15), sh(2025, 10, 9, 10, 30), 4),  # across the holiday
        (sh(2025, 9, 15, 12, 10), sh(2025, 9, 15, 13, 20), 0),  # inside lunch
        (sh(2025, 10, 2), sh(2025, 10, 8, 23, 59), 0),  # inside the holiday
        (sh(2025, 9, 27), sh(2025, 9, 29), 7),  # only the make-up Sunday works
        # Sep 29, Sep 30, Oct 9, Oct 10, Oct 11 (Sat)
        (sh(2025, 9, 29), sh(2025, 10, 13), 35),
        # Feb 9-13, Sat Feb 14, Feb 24-27, Sat Feb 28: 11 working days
        (sh(2026, 2, 9), sh(2026, 3, 2), 77),
        (sh(2025, 9, 15, 10), sh(2025, 9, 15, 10), 0),  # empty
        (sh(2025, 9, 15, 11), sh(2025, 9, 15, 10), 0),  # reversed
    ],
)
def test_working_seconds_between(a: datetime, b: datetime, hours: float) -> None:
    assert CAL.working_seconds_between(a, b) == hours * 3600


def test_working_seconds_between_half_open_and_mixed_zones() -> None:
    # [09:00, 09:00 next day) on a working day is exactly the 7 working hours of that day
    assert CAL.working_seconds_between(sh(2025, 9, 15, 9), sh(2025, 9, 16, 9)) == 7 * 3600
    a = sh(2025, 9, 30, 15).astimezone(UTC)
    b = sh(2025, 10, 9, 10, 30).astimezone(NEW_YORK)
    assert CAL.working_seconds_between(a, b) == 4 * 3600


@pytest.mark.parametrize(("start", "hours", "due"), HOUR_CASES)
def test_working_seconds_between_inverts_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    assert CAL.working_seconds_between(start, CAL.add_working_hours(start, hours)) == hours * 3600


@pytest.mark.parametrize("hours", [0.1, 1 / 3, 2.75, 13.999, 61])
@pytest.mark.parametrize("start", [sh(2025, 9, 30, 16, 59), sh(2025, 10, 4, 3), sh(2026, 2, 13, 12, 1)])
def test_roundtrip_odd_values(start: datetime, hours: float) -> None:
    got = CAL.working_seconds_between(start, CAL.add_working_hours(start, hours))
    assert got == pytest.approx(hours * 3600, abs=1e-6)


# --------------------------------------------------------------------------- overrides and unknown years


def test_unknown_year_uses_statutory_holidays_then_weekdays() -> None:
    # 2030/2031 are unknown to the package: New Year's Day 2031 (Wed) is a statutory day off (it used to
    # count as a working day under the plain Monday-Friday fallback).
    assert_utc(CAL.add_working_days(sh(2030, 12, 31, 10), 1), sh(2031, 1, 2, 17, 30))
    # Jan 2, 3 (Thu, Fri), then Mon Jan 6
    assert_utc(CAL.add_working_days(sh(2030, 12, 31, 10), 3), sh(2031, 1, 6, 17, 30))
    # Fri Jan 3 17:00-17:30, then Mon Jan 6 09:00-09:30
    assert_utc(CAL.add_working_hours(sh(2031, 1, 3, 17), 1), sh(2031, 1, 6, 9, 30))
    # Tue Dec 31 17:00-17:30, then (Jan 1 off) Thu Jan 2 09:00-09:30
    assert_utc(CAL.add_working_hours(sh(2030, 12, 31, 17), 1), sh(2031, 1, 2, 9, 30))


def test_overrides_in_unknown_year() -> None:
    cal = WorkCalendar(overrides={date(2031, 1, 1): False, date(2031, 1, 4): True})
    assert not cal.is_workday(date(2031, 1, 1))
    assert cal.is_workday(date(2031, 1, 4))
    # Jan 2, 3, then Sat Jan 4 (overridden on)
    assert_utc(cal.add_working_days(sh(2030, 12, 31, 10), 1), sh(2031, 1, 2, 17, 30))
    assert_utc(cal.add_working_days(sh(2030, 12, 31, 10), 3), sh(2031, 1, 4, 17, 30))
    assert_utc(cal.add_working_hours(sh(2031, 1, 3, 17), 1), sh(2031, 1, 4, 9, 30))
    assert cal.working_seconds_between(sh(2030, 12, 29), sh(2031, 1, 6)) == 5 * 7 * 3600  # Dec 30, 31, Jan 2, 3, 4


def test_package_year_boundary_needs_no_overrides() -> None:
    # Dec 31 2026 is from the package; Jan 1 2027 (Fri) is the statutory New Year's Day, no longer "Friday,
    # working day": two working days from Wed Dec 30 are Dec 31 and Mon Jan 4.
    assert_utc(CAL.add_working_days(sh(2026, 12, 30, 10), 2), sh(2027, 1, 4, 17, 30))
    # A tenant's override still wins: declaring Jan 1 a working day brings it back.
    cal = WorkCalendar(overrides={date(2027, 1, 1): True})
    assert_utc(cal.add_working_days(sh(2026, 12, 30, 10), 2), sh(2027, 1, 1, 17, 30))


def test_overrides_win_over_package() -> None:
    cal = WorkCalendar(overrides={date(2025, 10, 9): False, date(2025, 10, 4): True})
    assert_utc(cal.add_working_days(sh(2025, 9, 30, 10), 1), sh(2025, 10, 4, 17, 30))
    # Oct 4 (on), Oct 10, Oct 11
    assert_utc(cal.add_working_days(sh(2025, 9, 30, 10), 3), sh(2025, 10, 11, 17, 30))
    assert_utc(cal.add_working_hours(sh(2025, 9, 30, 17), 1), sh(2025, 10, 4, 9, 30))


def test_overrides_are_copied_and_calendar_is_hashable() -> None:
    source = {date(2025, 10, 9): False}
    cal = WorkCalendar(overrides=source)
    source[date(2025, 10, 9)] = True
    assert not cal.is_workday(date(2025, 10, 9))
    # usable as a dict key / in a set (e.g. cached per tenant); equal calendars collapse
    assert len({cal, WorkCalendar(overrides={date(2025, 10, 9): False})}) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day_start": time(18), "day_end": time(9)},
        {"lunch_start": None},
        {"lunch_start": time(14), "lunch_end": time(13)},
        {"lunch_start": time(8), "lunch_end": time(10)},
    ],
)
def test_bad_configuration(kwargs: dict[str, time | None]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(**kwargs)  # type: ignore[arg-type]


def test_bad_override_types() -> None:
    with pytest.raises(TypeError):
        WorkCalendar(overrides={datetime(2025, 10, 9, tzinfo=UTC): False})
    with pytest.raises(TypeError):
        WorkCalendar(overrides={date(2025, 10, 9): 0})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- input checks and speed


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2025, 9, 30, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_seconds_between(naive, sh(2025, 10, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_seconds_between(sh(2025, 9, 30), naive)


def test_fast_enough() -> None:
    # Generous bound (≈2 ms a call): only catches per-minute or per-hour loops, not machine noise — this
    # thread's CPU time, not the wall clock, which also counts the time a busy machine does not run it.
    start = sh(2025, 9, 1, 10)
    t0 = _time.thread_time()
    for i in range(200):
        s = start + timedelta(minutes=i)
        CAL.add_working_days(s, 30)
        CAL.add_working_hours(s, 200)
    assert _time.thread_time() - t0 < 0.8
