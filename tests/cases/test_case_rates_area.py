"""caseRates(areaId:) answers NOT_FOUND for an area the reader cannot read, as the walls and lists do —
not an empty table that tells the area exists."""

from __future__ import annotations

from tests.support.deliberation import area
from tests.support.harness import Api, World

Q = """query($a: ID) { caseRates(period: {kind: MONTH, year: 2026, number: 11}, areaId: $a) { rows { cases } } }"""


async def test_case_rates_of_an_unreadable_area_are_not_found(api: Api, fresh: World) -> None:
    a = fresh.a
    assert "errors" not in await api.gql(a, "chair", Q, {"a": area(a, "P1")}, allow_errors=True)
    denied = await api.gql(a, "chair", Q, {"a": area(a, "P3")}, allow_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND", denied
    assert "errors" not in await api.gql(a, "admin", Q, {"a": area(a, "P3")}, allow_errors=True)
