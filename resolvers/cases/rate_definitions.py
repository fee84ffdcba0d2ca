"""Each tenant's own definitions of the case rates (考核口径, issue #22): the response time limit (响应时限)
and the weights of the composite score. Stored on the tenant's case_settings row (null: the defaults
below, whose sources docs/domains/case-rates.md gives); read by staff, changed by the street admin
(policy: case · configure, as the rest of the case configuration)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import CaseSettings, SlaUnit
from resolvers.cases.config import _require_configure as require_configure
from resolvers.cases.config import _require_staff as require_staff
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# The rates, in the order of docs/domains/case-rates.md. NEGATIVE ones are better low: the composite
# takes 1 − rate for them.
RATE_KEYS = ("response", "resolution", "satisfaction", "on_time", "return", "rework", "callback")
NEGATIVE = frozenset({"return", "rework"})
# One county's published scheme (响应率 30 %, 解决率 35 %, 满意率 35 %); the other rates are shown but do
# not enter the composite until a tenant gives them a weight.
DEFAULT_WEIGHTS: dict[str, float] = {"response": 30, "resolution": 35, "satisfaction": 35, "on_time": 0,
                                     "return": 0, "rework": 0, "callback": 0}
# Vendors' stage limit for 受理 (acceptance): 1 working hour.
DEFAULT_RESPONSE = (1.0, SlaUnit.WORKING_HOURS)
_RESPONSE_MAX = {SlaUnit.WORKING_DAYS.value: 10, SlaUnit.WORKING_HOURS.value: 80, SlaUnit.CALENDAR_HOURS.value: 240}


@dataclass(frozen=True)
class Definitions:
    response_amount: float
    response_unit: SlaUnit
    weights: dict[str, float]
    customised: bool  # the tenant set its own (else the defaults)


def definitions_of(row: CaseSettings | None) -> Definitions:
    if row is None:
        return definitions_from(None, None, None)
    return definitions_from(row.response_limit_amount, row.response_limit_unit, row.rate_weights)


def definitions_from(amount: float | None, unit: str | None, weights: dict[str, float] | None) -> Definitions:
    """The definitions from the case_settings row's three columns (all None: no row), as the compiled read
    (compiled/rates.py) also receives them."""
    if amount is None and weights is None:
        return Definitions(DEFAULT_RESPONSE[0], DEFAULT_RESPONSE[1], dict(DEFAULT_WEIGHTS), False)
    limit, limit_unit = DEFAULT_RESPONSE
    if amount is not None and unit is not None:
        limit, limit_unit = amount, SlaUnit(unit)
    return Definitions(limit, limit_unit, {k: float((weights or DEFAULT_WEIGHTS).get(k, 0)) for k in RATE_KEYS},
                       True)


async def load_definitions(ctx: RequestContext) -> Definitions:
    return definitions_of(await ctx.db.scalar(select(CaseSettings)))


async def staff_definitions(ctx: RequestContext) -> Definitions:
    require_staff(ctx)
    return await load_definitions(ctx)


async def set_definitions(ctx: RequestContext, *, response_amount: float, response_unit: SlaUnit,
                          weights: dict[str, float]) -> Definitions:
    """Replace the tenant's definitions; weights of rates not named are 0, and at least one is above 0."""
    require_configure(ctx)
    limit = _RESPONSE_MAX.get(response_unit.value, 10)  # 10: a unit added later (calendar days)
    if not 0 < response_amount <= limit:
        raise ServiceError(ErrorCode.INVALID, t(f"响应时限应大于 0 且不超过 {limit} {response_unit.value}",
                                                f"response limit above 0 and at most {limit} {response_unit.value}"),
                           "responseLimit")
    unknown = sorted(set(weights) - set(RATE_KEYS))
    if unknown:
        raise ServiceError(ErrorCode.INVALID, t(f"未知指标 {unknown}", f"unknown rates {unknown}"), "weights")
    if any(not 0 <= w <= 100 for w in weights.values()):
        raise ServiceError(ErrorCode.INVALID, t("权重应在 0 到 100 之间", "weights between 0 and 100"), "weights")
    if not any(w > 0 for w in weights.values()):
        raise ServiceError(ErrorCode.INVALID, t("至少一项指标的权重大于 0", "at least one weight above 0"), "weights")
    full = {k: float(weights.get(k, 0)) for k in RATE_KEYS}
    row: CaseSettings | None = await ctx.db.scalar(select(CaseSettings))
    if row is None:
        row = CaseSettings(feedback_wait_days=7, created_at=ctx.now)
    row.response_limit_amount, row.response_limit_unit, row.rate_weights = response_amount, response_unit, full
    await ctx.db.flush(row)
    return definitions_of(row)
