"""The rates statement is built once per scope and run with each request's period (issue #21).

``resolvers.cases.rates`` keeps the built statement per (grouping, tenant, scope) and passes the period's
bounds and the clock as parameters. A period with no case, asked between two asks of the period that
holds one, must count nothing, and the second ask of that period must count it again: nothing of one
request's period stays in the kept statement. A grid leader's scope is another statement than the street's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from resolvers.cases import rates
from tests.support.cases import report
from tests.support.harness import Api, World

CST = timezone(timedelta(hours=8))
TOTAL = """query($p: RatePeriodInput!) { caseRates(period: $p, groupBy: TOTAL) {
  rows { key cases resolutionRate { numerator denominator } } } }"""


def _range(start: date, end: date) -> dict[str, Any]:
    return {"p": {"kind": "RANGE", "from": start.isoformat(), "to": end.isoformat()}}


async def _cases(api: Api, world: World, user: str, period: dict[str, Any]) -> int:
    rows = (await api.gql(world.a, user, TOTAL, period))["data"]["caseRates"]["rows"]
    return sum(r["cases"] for r in rows)


async def test_each_request_counts_its_own_period(api: Api, fresh: World) -> None:
    await report(api, fresh.a, "resident", "B1")
    today = datetime.now(CST).date()
    this_week = _range(today - timedelta(days=3), today + timedelta(days=1))
    last_year = _range(today - timedelta(days=400), today - timedelta(days=370))
    built = len(rates._BUILT)
    assert await _cases(api, fresh, "admin", this_week) == 1
    assert await _cases(api, fresh, "admin", last_year) == 0
    assert await _cases(api, fresh, "admin", this_week) == 1
    assert len(rates._BUILT) <= built + 1, "one statement for the three periods of one scope"
    # another scope, another statement: the grid leader of G1 (B1 is in it) counts the case too
    assert await _cases(api, fresh, "grid1", this_week) == 1
