"""The case rates (考核指标) in GraphQL (issue #22): caseRates, handlingUnitRanking, the tenant's rate
definitions and setCaseRateDefinitions. Definitions and formulas: docs/domains/case-rates.md."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import SlaUnit
from resolvers.cases import rate_definitions as defs
from resolvers.cases import rates as svc
from resolvers.ids import decode_id
from schema.common import UserError, context, field, graphql_enum, mutate, mutation, query_call
from schema.register import AREA_TYPE_NAMES

graphql_enum(svc.RateGroupBy, name="CaseRateGroupBy",
             description="How case rates are grouped (分组): in total, per community (社区), per handling unit "
                         "(承办单位) or per category (类别).")
graphql_enum(svc.PeriodKind, name="RatePeriodKind", description="A month (月), a quarter (季度) or a range of dates.")


@strawberry.input(description="The period of the rates (统计期): cases reported in it are counted.")
class RatePeriodInput:
    kind: svc.PeriodKind = strawberry.field(description="MONTH, QUARTER or RANGE.")
    year: int | None = strawberry.field(default=None, description="For MONTH and QUARTER: the year.")
    number: int | None = strawberry.field(default=None, description="For MONTH 1–12, for QUARTER 1–4.")
    from_: date | None = strawberry.field(default=None, name="from", description="For RANGE: first day.")
    to: date | None = strawberry.field(default=None, description="For RANGE: last day (≤ 366 days on).")


@strawberry.type(description="One rate (指标): numerator over denominator; rate null when nothing is counted.")
class CaseRate:
    numerator: int = strawberry.field(description="Cases that meet it (分子).")
    denominator: int = strawberry.field(description="Cases it is measured on (分母).")
    rate: float | None = strawberry.field(description="numerator / denominator, 0–1; null for 0 / 0.")


def _rate(r: svc.Ratio) -> CaseRate:
    return CaseRate(numerator=r.numerator, denominator=r.denominator, rate=r.rate)


@strawberry.type(description="The rates of one group of cases (一组考核指标).")
class CaseRateRow:
    _r: strawberry.Private[svc.RateRow]

    @field(description="Stable key: 'total', a community's or handling unit's id, or a category code.")
    def key(self) -> str:
        return self._r.key

    @field(description="Name of the group (名称).")
    def label(self) -> str:
        return self._r.label

    @field(description="Cases reported in the period in the group (事件数).")
    def cases(self) -> int:
        return self._r.cases

    @field(description="响应率: responded (accepted or rejected) by the 受理 stage's due time "
                       "(without a stage due time: the definitions' response limit after the report).")
    def response_rate(self) -> CaseRate:
        return _rate(self._r.ratios["response"])

    @field(description="解决率: resolved or closed, of the accepted cases.")
    def resolution_rate(self) -> CaseRate:
        return _rate(self._r.ratios["resolution"])

    @field(description="满意率: satisfied verdicts of residents — the reporter's own as resident, or relayed by "
                       "staff at 回访 (staff self-ratings excluded).")
    def satisfaction_rate(self) -> CaseRate:
        return _rate(self._r.ratios["satisfaction"])

    @field(description="按时办结率: resolved by the due time, of the resolved cases with one.")
    def on_time_rate(self) -> CaseRate:
        return _rate(self._r.ratios["on_time"])

    @field(description="回退率: returned to the dispatcher (退单) at least once, of the dispatched cases.")
    def return_rate(self) -> CaseRate:
        return _rate(self._r.ratios["return"])

    @field(description="重办率: reopened or reworked at least once, of the cases resolved at least once.")
    def rework_rate(self) -> CaseRate:
        return _rate(self._r.ratios["rework"])

    @field(description="回访率: called back (回访) after closure, of the cases closed in the period.")
    def callback_rate(self) -> CaseRate:
        return _rate(self._r.ratios["callback"])

    @field(description="综合得分 0–100: the weighted mean of the weighted rates (回退率, 重办率 as 1 − rate); "
                       "null when none of them is defined.")
    def score(self) -> float | None:
        return self._r.score


@strawberry.type(description="A rate's weight in the composite score (权重).")
class CaseRateWeight:
    rate: str = strawberry.field(description="response, resolution, satisfaction, on_time, return, rework, callback.")
    weight: float = strawberry.field(description="0–100; 0 leaves the rate out of the composite.")


@strawberry.type(description="The tenant's definitions of the rates (考核口径).")
class CaseRateDefinitions:
    response_limit: float = strawberry.field(description="响应时限: how long acceptance may take where a case has "
                                                        "no 受理 stage due time.")
    response_limit_unit: SlaUnit = strawberry.field(description="Its unit.")
    weights: list[CaseRateWeight] = strawberry.field(description="Weights of the composite (权重).")
    customised: bool = strawberry.field(description="False: the documented defaults.")


def _definitions(d: defs.Definitions) -> CaseRateDefinitions:
    return CaseRateDefinitions(response_limit=d.response_amount, response_limit_unit=d.response_unit,
                               weights=[CaseRateWeight(rate=k, weight=d.weights[k]) for k in defs.RATE_KEYS],
                               customised=d.customised)


@strawberry.type(description="Case rates of a period (考核指标).")
class CaseRates:
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Last day of the period.")
    group_by: svc.RateGroupBy = strawberry.field(description="How the rows are grouped.")
    definitions: CaseRateDefinitions = strawberry.field(description="The definitions used.")
    rows: list[CaseRateRow] = strawberry.field(description="One row per group, by key.")


def _rates(r: svc.RatesResult, rows: list[svc.RateRow]) -> CaseRates:
    return CaseRates(period_start=r.start, period_end=r.end, group_by=r.group_by,
                     definitions=_definitions(r.definitions), rows=[CaseRateRow(_r=x) for x in rows])


def _bounds(period: RatePeriodInput) -> tuple[date, date]:
    return svc.period_bounds(period.kind, year=period.year, number=period.number, start=period.from_,
                             end=period.to)


async def month_rates(info: Info, month: date, group_by: svc.RateGroupBy) -> CaseRates:
    """The rates of a calendar month (the monthly evaluation period's, 月度评比), as caseRates gives them."""
    start, end = svc.period_bounds(svc.PeriodKind.MONTH, year=month.year, number=month.month)
    result = await query_call(svc.case_rates(context(info), start=start, end=end, group_by=group_by))
    rows = svc.ranked(result.rows) if group_by is svc.RateGroupBy.HANDLING_UNIT else result.rows
    return _rates(result, rows)


@strawberry.type
class CaseRatesQuery:
    @field(description="Rates of case handling (考核指标: 响应率, 解决率, 满意率, 按时办结率, 回退率, 重办率, 回访率, "
                       "综合得分) of the cases reported in a period that you may read, grouped.")
    async def case_rates(
        self, info: Info, period: RatePeriodInput, group_by: svc.RateGroupBy = svc.RateGroupBy.TOTAL,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only cases inside this area.")] = None,
    ) -> CaseRates:
        ctx = context(info)

        async def run() -> svc.RatesResult:
            start, end = _bounds(period)
            return await svc.case_rates(ctx, start=start, end=end, group_by=group_by,
                                        area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"))

        result = await query_call(run())
        return _rates(result, result.rows)

    @field(description="Handling units ranked by composite score, best first (承办单位排名).")
    async def handling_unit_ranking(
        self, info: Info, period: RatePeriodInput,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only cases inside this area.")] = None,
    ) -> CaseRates:
        ctx = context(info)

        async def run() -> svc.RatesResult:
            start, end = _bounds(period)
            return await svc.case_rates(ctx, start=start, end=end, group_by=svc.RateGroupBy.HANDLING_UNIT,
                                        area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"))

        result = await query_call(run())
        return _rates(result, svc.ranked(result.rows))

    @field(description="The tenant's definitions of the case rates (考核口径). Staff only.")
    async def case_rate_definitions(self, info: Info) -> CaseRateDefinitions:
        return _definitions(await query_call(defs.staff_definitions(context(info))))


@strawberry.input(description="A rate's weight (权重).")
class CaseRateWeightInput:
    rate: str = strawberry.field(description="response, resolution, satisfaction, on_time, return, rework, callback.")
    weight: float = strawberry.field(description="0–100.")


@strawberry.input(description="Set the tenant's definitions of the case rates (street admin); replaces them.")
class SetCaseRateDefinitionsInput:
    response_limit: float = strawberry.field(description="响应时限 (> 0).")
    response_limit_unit: SlaUnit = strawberry.field(description="Its unit.")
    weights: list[CaseRateWeightInput] = strawberry.field(
        description="The weights; a rate not named weighs 0; at least one above 0.")


@strawberry.type(description="Result of setCaseRateDefinitions.")
class CaseRateDefinitionsPayload:
    definitions: CaseRateDefinitions | None = strawberry.field(description="The definitions, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class CaseRatesMutation:
    @mutation(description="Set the response limit and the composite's weights of the case rates (street admin).")
    async def set_case_rate_definitions(self, info: Info, input: SetCaseRateDefinitionsInput
                                        ) -> CaseRateDefinitionsPayload:
        async def run() -> Any:
            return await defs.set_definitions(context(info), response_amount=input.response_limit,
                                              response_unit=input.response_limit_unit,
                                              weights={w.rate: w.weight for w in input.weights})

        d, errors = await mutate(info, run)
        return CaseRateDefinitionsPayload(definitions=None if d is None else _definitions(d), errors=errors)
