"""The compiled ``workingCalendar(from:, to:)`` (compiled/calendar.py, issue #21) answers exactly what the
resolvers answer, for every world user: a day, a month over 春节, a year across two years, a leap year —
with the tenant's overrides (notes with quotes and a backslash). The days come from the years the
process keeps per calendar version: a request whose years are not kept at the version it read is
answered by the resolvers (which keep them), the next one is compiled, one statement whatever the
period; a change of the calendar is in the next answer. A period the resolvers refuse is their error,
on a new plan and on a reused one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.compiled import around, both, module_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
NO_ROLE = frozenset({"expired", "nobody"})  # no live role: calendar · read refused (FORBIDDEN)

CALENDAR = """query Cal($from: Date!, $to: Date!) {
  workingCalendar(from: $from, to: $to) { __typename date working source note d: date } }"""
# As bench/mix_ops.py sends it; and beside another compiled field.
BENCH = """query Cal($from: Date!, $to: Date!) { workingCalendar(from: $from, to: $to) { date working source note } }"""
MIXED = """query Mixed($from: Date!, $to: Date!) { pointsPerHour
  a: workingCalendar(from: $from, to: $to) { date note } b: workingCalendar(from: $to, to: $to) { working } }"""
EQUIVALENCE_DOCUMENTS = (CALENDAR, BENCH, MIXED)

PERIODS = ({"from": "2033-03-01", "to": "2033-03-01"}, {"from": "2033-01-20", "to": "2033-02-28"},
           {"from": "2033-09-15", "to": "2034-09-14"}, {"from": "2032-01-01", "to": "2032-12-31"})
SET = """mutation($d: Date!, $w: Boolean!, $n: String) {
  setCalendarOverride(input: {day: $d, workday: $w, note: $n}) { errors { code } } }"""


@pytest.fixture(scope="module")
async def calendar_tenant(api: Api, db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    for day, working, note in (("2033-03-01", False, '"停电"\\检修'), ("2033-02-05", True, "补班"),
                               ("2034-01-02", False, None), ("2032-02-29", False, "闰日")):
        r = await api.gql(tw, "admin", SET, {"d": day, "w": working, "n": note})
        assert r["data"]["setCalendarOverride"] == {"errors": []}, r
    return tw


async def _twice(api: Api, tw: TenantWorld, user: str, document: str, variables: dict[str, Any]) -> bytes:
    """The first request may find its years not kept (the resolvers answer and keep them); the second is
    compiled for a reader. Both equal to the resolvers' answer."""
    compiled, resolved, _ = await both(api, tw, user, document, variables)
    assert compiled == resolved, (user, variables, around(compiled, resolved))
    compiled, resolved, taken = await both(api, tw, user, document, variables)
    assert compiled == resolved, (user, variables, around(compiled, resolved))
    assert taken == (user not in NO_ROLE), (user, variables, compiled[:300])
    return compiled


async def test_the_calendar_compiles_to_the_resolvers_answer_for_every_user(api: Api, calendar_tenant: Any) -> None:
    tw = calendar_tenant
    for user in USERS:
        for variables in PERIODS:
            for document in (CALENDAR, BENCH, MIXED):
                await _twice(api, tw, user, document, variables)
    year = orjson.loads(await _twice(api, tw, "admin", BENCH, PERIODS[3]))["data"]["workingCalendar"]
    assert len(year) == 366 and year[59] == {"date": "2032-02-29", "working": False, "source": "TENANT_OVERRIDE",
                                             "note": "闰日"}, year[59]
    spring = orjson.loads(await _twice(api, tw, "resident", CALENDAR, PERIODS[1]))["data"]["workingCalendar"]
    assert any(d["source"] == "STATUTORY" for d in spring) and spring[0]["d"] == "2033-01-20"
    # a change of the calendar (a new version): in the next answer, compiled again the request after
    r = await api.gql(tw, "admin", SET, {"d": "2033-03-01", "w": True, "n": "改为上班"})
    assert r["data"]["setCalendarOverride"] == {"errors": []}, r
    day = orjson.loads(await _twice(api, tw, "grid1", BENCH, PERIODS[0]))["data"]["workingCalendar"]
    assert day == [{"date": "2033-03-01", "working": True, "source": "TENANT_OVERRIDE", "note": "改为上班"}]


async def test_a_refused_period_is_the_resolvers_error_on_a_new_and_a_reused_plan(api: Api, calendar_tenant: Any
                                                                                  ) -> None:
    tw = calendar_tenant
    bad = ({"from": "2033-03-02", "to": "2033-03-01"}, {"from": "2033-01-01", "to": "2034-01-02"},
           {"from": "1999-12-31", "to": "2000-01-01"}, {"from": "2100-12-31", "to": "2101-01-01"})
    for user in ("admin", "resident", "nobody"):
        await _twice(api, tw, user, BENCH, PERIODS[0])  # a plan of the document is cached (not for nobody)
        for variables in bad:
            compiled, resolved, taken = await both(api, tw, user, BENCH, variables)
            assert not taken and compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_compiled_calendar_is_one_statement_whatever_the_period(api: Api, calendar_tenant: Any) -> None:
    tw = calendar_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    for variables in PERIODS:
        await _twice(api, tw, "secretary", MIXED, variables)  # the years kept
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy cached)
        await api.counted(tw, "secretary", "query { __typename }")
        _, baseline = await api.counted(tw, "secretary", "query { __typename }")
        _, resolved = await api.counted(tw, "secretary", MIXED, PERIODS[2])
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "secretary", MIXED, variables))[1] for variables in PERIODS]
    # the resolvers: pointsPerHour's statement, the days from the years kept (none of their own)
    assert counts == [baseline + 1] * len(PERIODS) and resolved == baseline + 1, (counts, baseline, resolved)
