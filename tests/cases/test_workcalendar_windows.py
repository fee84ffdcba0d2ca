"""A WorkCalendar keeps each date's working windows once it has made them (issue #21: a report's due time made
them of every day it crossed): the same due times and working seconds as a calendar that never kept any, and the
calendar's equality and hash are its fields' as before."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from resolvers.cases import workcalendar
from resolvers.cases.workcalendar import WorkCalendar

OVERRIDES = {date(2026, 12, 12): True, date(2026, 12, 8): False}


def test_kept_windows_answer_as_fresh_ones() -> None:
    rng = random.Random(21)
    kept = WorkCalendar(overrides=OVERRIDES)
    no_lunch = WorkCalendar(lunch_start=None, lunch_end=None, day_end=time(18, 0))
    for _ in range(400):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 500))
        hours = rng.choice([0.5, 1, 2, 4, 8, 24, 72, rng.uniform(0.01, 200)])
        for calendar, fields in ((kept, {"overrides": OVERRIDES}),
                                 (no_lunch, {"lunch_start": None, "lunch_end": None, "day_end": time(18, 0)})):
            fresh = WorkCalendar(**fields)  # type: ignore[arg-type]
            assert calendar.add_working_hours(start, hours) == fresh.add_working_hours(start, hours)
            end = start + timedelta(hours=hours * 3)
            again = WorkCalendar(**fields)  # type: ignore[arg-type]
            assert calendar.working_seconds_between(start, end) == again.working_seconds_between(start, end)
    assert kept == WorkCalendar(overrides=OVERRIDES) and hash(kept) == hash(WorkCalendar(overrides=OVERRIDES))


def test_a_date_s_windows_are_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = WorkCalendar()
    start = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    first = calendar.add_working_hours(start, 4)
    asked: list[date] = []
    real = WorkCalendar.is_workday

    def counted(self: WorkCalendar, d: date) -> bool:
        asked.append(d)
        return real(self, d)

    monkeypatch.setattr(workcalendar.WorkCalendar, "is_workday", counted)
    assert calendar.add_working_hours(start + timedelta(seconds=1), 4) == first + timedelta(seconds=1)
    assert asked == []  # the day's windows were kept
    assert WorkCalendar().add_working_hours(start, 4) == first and asked == [date(2026, 12, 7)]
