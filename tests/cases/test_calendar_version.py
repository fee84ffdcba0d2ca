"""The working calendar a process keeps per (tenant, calendar_version) (issue #21) on both backends: kept
after the first load (no statement), and loaded afresh by another engine — another process — on its next
read after a change made through the app (an override set or removed) or by the platform (an
arrangement loaded, one for every tenant); another tenant's change leaves it kept."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from models import Tenant
from resolvers.cases import stages
from resolvers.cases.stages import tenant_calendar
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import CALENDAR_VERSION, Db
from tenants.session import bind_tenant, count_statements, make_engine, make_sessionmaker
from tests.support.calendar import arrangement_json, loaded
from tests.support.harness import Api, DbEnv, World

SET = """mutation($d: Date!, $w: Boolean!) {
  setCalendarOverride(input: {day: $d, workday: $w}) { errors { code } } }"""
REMOVE = "mutation($d: Date!) { removeCalendarOverride(input: {day: $d}) { errors { code } } }"
ARRANGEMENT_2043 = arrangement_json(2043, [{"name": "元旦", "off": ["2043-01-02/2043-01-03"], "work": []}])


async def _calendar(engine: Any, tenant_id: Any) -> tuple[WorkCalendar, int]:
    """The calendar as a request reads it (the version first, as its first statement does), and the
    statements the calendar itself cost."""
    async with make_sessionmaker(engine)() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            s.info[CALENDAR_VERSION] = await s.scalar(select(Tenant.calendar_version).where(Tenant.id == tenant_id))
            with count_statements() as statements:
                calendar = await tenant_calendar(Db(s))
    return calendar, len(statements)


async def test_a_change_in_one_process_is_seen_by_the_others_on_their_next_read(api: Api, db: DbEnv,
                                                                                 fresh: World) -> None:
    a, b = fresh.a, fresh.b
    other = make_engine(db.pool_url or db.app_url, pool_size=1)  # the other process's engine
    try:
        first, n = await _calendar(other, a.tenant_id)
        assert n == 1 and first.is_workday(date(2042, 3, 3))  # a Monday
        kept, n = await _calendar(other, a.tenant_id)
        assert n == 0 and kept is first
        # tenant b's change does not touch tenant a's kept calendar
        assert (await api.gql(b, "admin", SET, {"d": "2042-03-04", "w": False}))["data"]["setCalendarOverride"] == {
            "errors": []}
        assert (await _calendar(other, a.tenant_id)) == (first, 0)
        # tenant a's override, set through the app's own engine: the other engine loads it on its next read
        assert (await api.gql(a, "admin", SET, {"d": "2042-03-03", "w": False}))["data"]["setCalendarOverride"] == {
            "errors": []}
        changed, n = await _calendar(other, a.tenant_id)
        assert n == 1 and not changed.is_workday(date(2042, 3, 3))
        assert (await _calendar(other, a.tenant_id)) == (changed, 0)
        assert (await api.gql(a, "admin", REMOVE, {"d": "2042-03-03"}))["data"]["removeCalendarOverride"] == {
            "errors": []}
        removed, n = await _calendar(other, a.tenant_id)
        assert n == 1 and removed.is_workday(date(2042, 3, 3))
        # an arrangement the platform loads: every tenant's calendar, and again when it is removed
        async with loaded(db, ARRANGEMENT_2043):
            arranged, n = await _calendar(other, a.tenant_id)
            assert n == 1 and not arranged.is_workday(date(2043, 1, 2)) and removed.is_workday(date(2043, 1, 2))
        unloaded, n = await _calendar(other, a.tenant_id)
        assert n == 1 and unloaded.is_workday(date(2043, 1, 2))
    finally:
        await other.dispose()


async def test_the_kept_calendars_hold_their_limit(db: DbEnv, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """At its limit the process's kept calendars are emptied before another tenant's goes in: the last is kept, the
    one before is loaded again (one statement)."""
    monkeypatch.setattr(stages, "_kept", {})
    monkeypatch.setattr(stages, "_KEPT_MAX", 1)
    other = make_engine(db.pool_url or db.app_url, pool_size=1)
    try:
        assert (await _calendar(other, fresh.a.tenant_id))[1] == 1
        assert list(stages._kept) == [fresh.a.tenant_id]
        b, n = await _calendar(other, fresh.b.tenant_id)
        assert n == 1 and list(stages._kept) == [fresh.b.tenant_id] and stages._kept[fresh.b.tenant_id][1] is b
        assert (await _calendar(other, fresh.a.tenant_id))[1] == 1
    finally:
        await other.dispose()
