"""workingCalendar's days kept by the process per (tenant, year) at the tenant's calendar_version (issue #21)
on both backends: the second request reads no calendar statement (on PostgreSQL it is the compiled read,
one statement whose parameter is the kept days) and answers the same days (any part of
a kept year, across a year's end); an override set or removed through the API is seen by the next request
in the same process and by another process (its own kept days: the version the override bumped makes it
load them afresh); another tenant's override leaves them kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import resolvers.cases.calendar as calendar_module
from tests.support.calendar import Q_CALENDAR as SHARED_CALENDAR
from tests.support.harness import Api, DbEnv, World

SET = """mutation($d: Date!, $w: Boolean!, $n: String) {
  setCalendarOverride(input: {day: $d, workday: $w, note: $n}) { errors { code } } }"""
REMOVE = "mutation($d: Date!) { removeCalendarOverride(input: {day: $d}) { errors { code } } }"
# The document's text is this test's own: whether a request first tries the compiled path depends on whether the
# process compiled the text before (for any actor), and other tests send tests.support.calendar's text on the
# same session-wide app — in whatever order xdist gives them.
Q_CALENDAR = SHARED_CALENDAR + "\n# tests/cases/test_calendar_kept.py"
SPAN = {"f": "2041-12-20", "t": "2042-01-10"}  # across a year's end: two kept years


@contextmanager
def other_process() -> Iterator[None]:
    """Requests made inside run as another process would: with that process's own kept days."""
    mine = calendar_module._kept_years
    calendar_module._kept_years = other_kept
    try:
        yield
    finally:
        calendar_module._kept_years = mine


other_kept: dict[Any, Any] = {}


def _day(body: dict[str, Any], day: str) -> dict[str, Any]:
    return next(d for d in body["data"]["workingCalendar"] if d["date"] == day)


async def test_the_kept_days_answer_alike_and_follow_every_change(api: Api, fresh: World, db: DbEnv) -> None:
    a, b = fresh.a, fresh.b
    # On PostgreSQL a request whose years are kept is compiled (compiled/calendar.py): its one statement
    # carries the kept days as a parameter and reads no calendar table; on SQLite none at all.
    answer = 1 if db.is_pg else 0
    other_kept.clear()
    await api.counted(a, "grid1", "query { __typename }")  # the tenant's first request: its policy loaded
    first, loading = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
    again, kept = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
    # the overrides and the platform's days (both years at once), then no calendar statement
    assert again == first and kept == loading - 2 + answer, (loading, kept)
    # A request whose years are not kept at its version once the document compiled in the process: on
    # PostgreSQL the compiled read is tried first on the driver (its one statement, the actor) and declines,
    # then the resolvers load and keep the years.
    reload = loading + answer
    part, n = await api.counted(a, "grid1", Q_CALENDAR, {"f": "2041-12-31", "t": "2042-01-02"})
    assert n == kept and part["data"]["workingCalendar"] == first["data"]["workingCalendar"][11:14]
    assert [d["date"] for d in part["data"]["workingCalendar"]] == ["2041-12-31", "2042-01-01", "2042-01-02"]
    assert _day(first, "2042-01-06") == {"date": "2042-01-06", "working": True, "source": "WEEKDAY", "note": None}
    with other_process():
        body, n = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
        assert body == first and n == reload
        assert (await api.counted(a, "grid1", Q_CALENDAR, SPAN))[1] == kept

    # Another tenant's override: both processes keep tenant a's days.
    assert (await api.gql(b, "admin", SET, {"d": "2042-01-06", "w": False}))["data"]["setCalendarOverride"] == {
        "errors": []}
    assert await api.counted(a, "grid1", Q_CALENDAR, SPAN) == (first, kept)
    with other_process():
        assert await api.counted(a, "grid1", Q_CALENDAR, SPAN) == (first, kept)

    # Tenant a's override, set in this process: the next request here and in the other process sees it.
    assert (await api.gql(a, "admin", SET, {"d": "2042-01-06", "w": False, "n": "街道休息日"}))["data"][
        "setCalendarOverride"] == {"errors": []}
    override = {"date": "2042-01-06", "working": False, "source": "TENANT_OVERRIDE", "note": "街道休息日"}
    changed, n = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
    assert _day(changed, "2042-01-06") == override and n == reload
    with other_process():
        seen, n = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
        assert seen == changed and n == reload
        assert (await api.counted(a, "grid1", Q_CALENDAR, SPAN)) == (changed, kept)

    # Removed in the other process: this one sees the day as it was.
    with other_process():
        assert (await api.gql(a, "admin", REMOVE, {"d": "2042-01-06"}))["data"]["removeCalendarOverride"] == {
            "errors": []}
    removed, n = await api.counted(a, "grid1", Q_CALENDAR, SPAN)
    assert removed == first and n == reload


async def test_the_kept_years_hold_their_limit(api: Api, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """At its limit the process's kept years are emptied before another year goes in: of a span across a year's
    end, the last year is kept, and the answer is the same."""
    monkeypatch.setattr(calendar_module, "_kept_years", {})
    monkeypatch.setattr(calendar_module, "_KEPT_MAX", 1)
    first = await api.gql(fresh.a, "grid1", Q_CALENDAR, SPAN)
    assert list(calendar_module._kept_years) == [(fresh.a.tenant_id, 2042)]
    assert await api.gql(fresh.a, "grid1", Q_CALENDAR, SPAN) == first
    assert [d["date"] for d in first["data"]["workingCalendar"]][::21] == ["2041-12-20", "2042-01-10"]
