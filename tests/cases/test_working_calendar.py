"""workingCalendar(from, to) (issue #22) on both backends: the days of 2027 without any arrangement
loaded, the package's years, a platform arrangement and a tenant's override in their order, who may
read it, its limits (366 days, forward), a fixed number of statements, and due times that follow the
platform arrangement. The platform tables are shared by the tenants of the test database: arrangements
are loaded for far years only and removed afterwards (tests/support/calendar.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import resolvers.cases.calendar as calendar_module
from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from resolvers.cases import work_calendar
from resolvers.context import Db, RequestContext
from tenants.session import bind_tenant
from tests.support.calendar import Q_CALENDAR, arrangement_json, loaded
from tests.support.cobuilding import make_unit
from tests.support.harness import JWT_SECRET, Api, DbEnv, World
from tests.support.partners import PartnerApi, partner_client

SET_OVERRIDE = """mutation($d: Date!, $w: Boolean!, $n: String) {
  setCalendarOverride(input: {day: $d, workday: $w, note: $n}) { errors { code } } }"""
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _days(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["date"]: d for d in body["data"]["workingCalendar"]}


def _day(d: str, working: bool, source: str, note: str | None = None) -> dict[str, Any]:
    return {"date": d, "working": working, "source": source, "note": note}


# --------------------------------------------------------------------------- 2027 without any arrangement


async def test_2027_new_year_and_spring_festival_are_days_off_without_any_arrangement(api: Api, world: World) -> None:
    body = await api.gql(world.a, "grid1", Q_CALENDAR, {"f": "2026-12-31", "t": "2027-02-10"})
    days = _days(body)
    assert len(days) == 42
    assert days["2026-12-31"] == _day("2026-12-31", True, "PACKAGE")
    assert days["2027-01-01"] == _day("2027-01-01", False, "STATUTORY", "元旦")
    for d in ("2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"):  # 除夕 (Fri) to 初三 (Mon)
        assert days[d] == _day(d, False, "STATUTORY", "春节")
    assert days["2027-01-02"] == _day("2027-01-02", False, "WEEKEND")
    assert days["2027-01-04"] == _day("2027-01-04", True, "WEEKDAY")
    assert days["2027-02-04"] == _day("2027-02-04", True, "WEEKDAY")
    assert days["2027-02-09"] == _day("2027-02-09", True, "WEEKDAY")
    off = sorted(d for d, v in days.items() if not v["working"])
    assert off == ["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-09", "2027-01-10", "2027-01-16",
                   "2027-01-17", "2027-01-23", "2027-01-24", "2027-01-30", "2027-01-31", "2027-02-05",
                   "2027-02-06", "2027-02-07", "2027-02-08"]


async def test_2027_other_statutory_holidays(api: Api, world: World) -> None:
    body = await api.gql(world.b, "resident", Q_CALENDAR, {"f": "2027-04-01", "t": "2027-10-31"})
    days = _days(body)
    statutory = {d: v["note"] for d, v in days.items() if v["source"] == "STATUTORY"}
    assert statutory == {"2027-04-05": "清明节", "2027-05-01": "劳动节", "2027-05-02": "劳动节",
                         "2027-06-09": "端午节", "2027-09-15": "中秋节", "2027-10-01": "国庆节",
                         "2027-10-02": "国庆节", "2027-10-03": "国庆节"}
    assert all(not days[d]["working"] for d in statutory)


async def test_package_years_show_holidays_and_make_up_days(api: Api, world: World) -> None:
    days = _days(await api.gql(world.a, "admin", Q_CALENDAR, {"f": "2026-02-13", "t": "2026-03-01"}))
    assert days["2026-02-14"] == _day("2026-02-14", True, "PACKAGE", "春节调休上班")
    assert days["2026-02-15"] == _day("2026-02-15", False, "PACKAGE", "春节")
    assert days["2026-02-24"] == _day("2026-02-24", True, "PACKAGE")
    assert days["2026-03-01"] == _day("2026-03-01", False, "PACKAGE")


# --------------------------------------------------------------------------- who reads it, and its limits


async def test_every_role_of_the_tenant_reads_it_and_nobody_else(api: Api, world: World) -> None:
    v = {"f": "2027-01-01", "t": "2027-01-07"}
    for key in ("admin", "secretary", "secretary2", "grid1", "grid3", "chair", "firm", "resident", "resident4"):
        days = (await api.gql(world.a, key, Q_CALENDAR, v))["data"]["workingCalendar"]
        assert len(days) == 7 and days[0]["source"] == "STATUTORY", key
    for key in ("nobody", "expired"):
        body = await api.gql(world.a, key, Q_CALENDAR, v, allow_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", key
        assert body["data"] is None


@pytest.mark.parametrize(
    ("f", "t", "message"),
    [
        ("2027-01-01", "2028-01-02", "366"),  # 367 days (2027 has 365: 2027-01-01..2028-01-01 is 366)
        ("2027-03-02", "2027-03-01", "早于"),  # reversed
        ("1999-12-31", "2000-01-02", "2000"),  # before what the calendar answers
    ],
)
async def test_too_long_reversed_or_far_periods_are_refused(api: Api, world: World, f: str, t: str,
                                                            message: str) -> None:
    r = await api.post(Q_CALENDAR, {"f": f, "t": t}, token=api.token(world.a, "admin"))
    body = r.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == ("from" if f.startswith("1999") else "to")
    assert message in error["message"] and CHINESE.search(error["message"]), error


async def test_366_days_are_answered_with_the_statements_of_7(api: Api, world: World) -> None:
    # Warm the policy cache, in a year of its own: the process keeps a year's days once read (issue #21), so
    # with none kept (other tests read 2027) the week and the year below each load theirs (2027; 2028, 2027
    # kept), with the same statements.
    calendar_module._kept_years.clear()
    await api.gql(world.a, "grid1", Q_CALENDAR, {"f": "2030-01-01", "t": "2030-01-07"})
    week, n_week = await api.counted(world.a, "grid1", Q_CALENDAR, {"f": "2027-01-01", "t": "2027-01-07"})
    year, n_year = await api.counted(world.a, "grid1", Q_CALENDAR, {"f": "2027-06-01", "t": "2028-05-31"})
    assert len(week["data"]["workingCalendar"]) == 7
    assert len(year["data"]["workingCalendar"]) == 366  # 2028 is a leap year
    assert [d["date"] for d in year["data"]["workingCalendar"]][:2] == ["2027-06-01", "2027-06-02"]
    assert n_year == n_week


# --------------------------------------------------------------------------- precedence, from the database

ARRANGEMENT_2041 = arrangement_json(2041, [
    {"name": "元旦", "off": ["2041-01-01"]},
    {"name": "春节", "off": ["2041-01-30/2041-02-06"], "work": ["2041-01-26", "2041-02-09"]},
])


async def test_arrangement_over_statutory_and_tenant_override_over_arrangement(api: Api, db: DbEnv,
                                                                              fresh: World) -> None:
    a, b = fresh.a, fresh.b
    v = {"f": "2041-01-01", "t": "2041-04-30"}
    before = _days(await api.gql(b, "grid1", Q_CALENDAR, v))
    assert before["2041-01-26"] == _day("2041-01-26", False, "WEEKEND")
    assert before["2041-01-30"] == _day("2041-01-30", True, "WEEKDAY")
    async with loaded(db, ARRANGEMENT_2041) as arrangement:
        assert len(arrangement.warnings) == 8  # 清明 … 国庆 (8 days) are not in this short file: loaded anyway
        for d, arranged_working in (("2041-01-26", True), ("2041-01-30", False)):  # tenant a says the opposite
            out = await api.gql(a, "admin", SET_OVERRIDE, {"d": d, "w": not arranged_working, "n": "街道自定"})
            assert out["data"]["setCalendarOverride"]["errors"] == [], out
        days_b = _days(await api.gql(b, "grid1", Q_CALENDAR, v))
        days_a = _days(await api.gql(a, "grid1", Q_CALENDAR, v))
        # tenant b: the platform's arrangement, over the computed statutory days and the weekdays
        assert days_b["2041-01-01"] == _day("2041-01-01", False, "PLATFORM_ARRANGEMENT", "元旦")
        assert days_b["2041-01-26"] == _day("2041-01-26", True, "PLATFORM_ARRANGEMENT", "春节调休上班")  # Sat
        assert days_b["2041-01-30"] == _day("2041-01-30", False, "PLATFORM_ARRANGEMENT", "春节")  # the law's: Wed
        assert days_b["2041-02-06"] == _day("2041-02-06", False, "PLATFORM_ARRANGEMENT", "春节")
        assert days_b["2041-02-07"] == _day("2041-02-07", True, "WEEKDAY")
        assert days_b["2041-04-04"] == _day("2041-04-04", False, "STATUTORY", "清明节")  # not in the file
        # tenant a: its overrides win over the arrangement, the rest is the same
        assert days_a["2041-01-26"] == _day("2041-01-26", False, "TENANT_OVERRIDE", "街道自定")
        assert days_a["2041-01-30"] == _day("2041-01-30", True, "TENANT_OVERRIDE", "街道自定")
        assert {k: x for k, x in days_a.items() if k not in ("2041-01-26", "2041-01-30")} == {
            k: x for k, x in days_b.items() if k not in ("2041-01-26", "2041-01-30")}
        # the due-time calendar of dispatch reads the same, as the app role (RLS on PostgreSQL)
        cal_a, cal_b = await _work_calendar(db, a.tenant_id), await _work_calendar(db, b.tenant_id)
        assert cal_b.is_workday(date(2041, 1, 26)) and not cal_a.is_workday(date(2041, 1, 26))
        assert not cal_b.is_workday(date(2041, 2, 5)) and cal_b.is_workday(date(2041, 2, 9))
    after = _days(await api.gql(b, "grid1", Q_CALENDAR, v))
    assert after == before


async def _work_calendar(db: DbEnv, tenant_id: Any) -> Any:
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            return await work_calendar(cast(RequestContext, SimpleNamespace(db=Db(s))))


async def test_the_app_role_reads_the_platform_calendar_but_cannot_write_it(db: DbEnv, world: World) -> None:
    async with loaded(db, arrangement_json(2044, [{"name": "元旦", "off": ["2044-01-01"]}])):
        async with db.sessionmaker() as s:
            bind_tenant(s, world.a.tenant_id)
            async with s.begin():
                rows = (await s.execute(text("SELECT day FROM platform_calendar_days WHERE year = 2044"))).all()
                assert [r[0] for r in rows] in ([date(2044, 1, 1)], ["2044-01-01"])
        if db.is_pg:
            for sql in ("INSERT INTO platform_calendars (year, title, loaded_at) VALUES (2045, 'x', now())",
                        "DELETE FROM platform_calendar_days WHERE year = 2044"):
                async with db.sessionmaker() as s:
                    with pytest.raises(DBAPIError, match="permission denied"):
                        async with s.begin():
                            await s.execute(text(sql))


# --------------------------------------------------------------------------- a partner unit's API client


async def test_a_partner_units_client_reads_it(db: DbEnv, fresh: World) -> None:
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0)
    app = create_app(settings, engine=db.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        p = PartnerApi(Api(client, settings), app.state.gongzhi)
        unit = await make_unit(p.api, fresh.a, "市三医院", 11)
        _, client_id, secret = await partner_client(p, fresh.a, unit)
        token = await p.access(client_id, secret)
        r = await p.gql(token, Q_CALENDAR, {"f": "2027-02-05", "t": "2027-02-05"})
    assert r.json() == {"data": {"workingCalendar": [_day("2027-02-05", False, "STATUTORY", "春节")]}}


def test_periods_are_counted_inclusively() -> None:
    # the limit's arithmetic: 2027-01-01..2028-01-01 is 366 days (allowed), one more is 367
    assert (date(2028, 1, 1) - date(2027, 1, 1)).days + 1 == 366
    assert (date(2028, 1, 2) - date(2027, 1, 1)).days + 1 == 367
    assert date(2027, 1, 1) + timedelta(days=365) == date(2028, 1, 1)
