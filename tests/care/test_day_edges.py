"""A day at the calendar's edge (9999-12-31, 0001-01-01) in the care reads' day arguments is bad input: a
typed INVALID on the argument, in Chinese, on both read paths and whatever data the tenant holds — not
INTERNAL (its local day's end is past datetime's range; found by a helper's fuzzing in issue #21)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import Api, World

OVERDUE = "query($d: Date!) { overdueVisits(asOf: $d) { householdId } }"
OVERDUE_PAGE = "query($d: Date!) { overdueVisitsConnection(asOf: $d, first: 5) { totalCount } }"
COVERAGE = "query($f: Date!, $t: Date!) { visitCoverage(from: $f, to: $t) { households } }"
VISITS = "query($f: Date, $t: Date) { visits(from: $f, to: $t, first: 5) { totalCount } }"


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None or not any(body["data"].values()), body
    (error,) = body["errors"]
    return error


@pytest.mark.parametrize(("query", "variables", "field"), [
    (OVERDUE, {"d": "9999-12-31"}, "asOf"),
    (OVERDUE_PAGE, {"d": "9999-12-31"}, "asOf"),
    (COVERAGE, {"f": "9999-12-01", "t": "9999-12-31"}, "to"),
    (COVERAGE, {"f": "0001-01-01", "t": "0001-01-31"}, "from"),
    (VISITS, {"f": "0001-01-01", "t": None}, "from"),
])
async def test_a_day_at_the_calendars_edge_is_invalid_not_internal(api: Api, world: World, query: str,
                                                                   variables: dict[str, Any], field: str) -> None:
    for who in ("admin", "grid1"):
        error = _error(await api.gql(world.a, who, query, variables, allow_errors=True))
        assert error["extensions"]["code"] == "INVALID", error
        assert error["extensions"].get("field") == field, error
        assert "日期超出可处理的范围" in error["message"], error


async def test_the_last_ordinary_days_still_answer(api: Api, world: World) -> None:
    body = await api.gql(world.a, "admin", OVERDUE, {"d": "9999-12-30"})
    assert isinstance(body["data"]["overdueVisits"], list), body
    body = await api.gql(world.a, "admin", VISITS, {"f": "0001-01-02", "t": "9999-12-30"})
    assert body["data"]["visits"]["totalCount"] >= 0, body
