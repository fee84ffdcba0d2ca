"""Helpers of the evaluation tests (评比): the mutation documents, the months, opening a period and a rating's
input, run as world users (tests/support/world.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.harness import Api
from tests.support.volunteering import ERR, area, run
from tests.support.world import TenantWorld

OPEN = f"""mutation($m: Date!) {{ openEvaluationPeriod(month: $m) {{ period {{ id month state }} {ERR} }} }}"""
CLOSE = f"""mutation($id: ID!) {{ closeEvaluationPeriod(id: $id) {{ period {{ id state }} {ERR} }} }}"""
RATE = f"""mutation($in: RateInput!) {{ rateEvaluation(input: $in) {{ rating {{ total target }} {ERR} }} }}"""
RESULTS = """query($p: ID!, $t: EvaluationTarget!) { evaluationResults(periodId: $p, target: $t) {
  compound { id name } firmName raters score rank } }"""

FIRM_ITEMS = ("cleanliness", "security", "repairs", "attitude")
COMMITTEE_ITEMS = ("duties", "transparency", "liaison")


def this_month() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().replace(day=1)


def shift(month: date, n: int) -> date:
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return date(y, m + 1, 1)


async def open_period(api: Api, tw: TenantWorld, month: date | None = None) -> str:
    p = await run(api, tw, "admin", OPEN, {"m": (month or this_month()).isoformat()})
    assert p["errors"] == [], p
    return p["period"]["id"]  # type: ignore[no-any-return]


def rate_input(tw: TenantWorld, period: str, compound: str, target: str, *scores: int) -> dict[str, Any]:
    codes_ = FIRM_ITEMS if target == "PROPERTY_FIRM" else COMMITTEE_ITEMS
    return {"in": {"periodId": period, "target": target, "compoundId": area(tw, compound, "Compound"),
                   "scores": [{"item": c, "score": s} for c, s in zip(codes_, scores, strict=True)]}}
