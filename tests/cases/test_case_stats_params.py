"""The review figures' statement is built once per scope and run with each request's period and clock
(issue #21, as the rates: tests/cases/test_case_rates_params.py).

``resolvers.cases.review`` keeps the built statement per (tenant, scope, area) and passes the period's bounds
and the clock as parameters. A period with no case, asked between two asks of the period that holds one,
must count nothing, and the second ask must count the case again; another scope is another statement.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from resolvers.cases import review
from tests.support.cases import area_gid, report
from tests.support.harness import Api, DbEnv, World

CST = timezone(timedelta(hours=8))
STATS = """query($a: ID!, $f: Date!, $t: Date!) { caseStatistics(areaId: $a, from: $f, to: $t) {
  total openOverdue } }"""


def _period(area: str, start: date, end: date) -> dict[str, Any]:
    return {"a": area, "f": start.isoformat(), "t": end.isoformat()}


async def _total(api: Api, world: World, user: str, period: dict[str, Any]) -> int:
    body = await api.gql(world.a, user, STATS, period)
    assert "errors" not in body, body
    return int(body["data"]["caseStatistics"]["total"])


async def test_each_request_counts_its_own_period(api: Api, fresh: World, db: DbEnv) -> None:
    await report(api, fresh.a, "resident", "B1")
    today = datetime.now(CST).date()
    area = area_gid(fresh.a, "C1")
    this_week = _period(area, today - timedelta(days=3), today + timedelta(days=1))
    last_year = _period(area, today - timedelta(days=400), today - timedelta(days=370))
    built = len(review._BUILT)
    assert await _total(api, fresh, "admin", this_week) == 1
    assert await _total(api, fresh, "admin", last_year) == 0
    assert await _total(api, fresh, "admin", this_week) == 1
    if db.is_pg:  # the kept statement is PostgreSQL's aggregate; SQLite counts in Python
        assert len(review._BUILT) <= built + 1, "one statement for the three periods of one scope"
    # another scope, another statement: the grid leader of G1 (B1 is in it) counts the case too
    assert await _total(api, fresh, "grid1", this_week) == 1
    if db.is_pg:
        assert len(review._BUILT) <= built + 2
