"""Evaluations (评比) in GraphQL: periods, items and weights, ratings, ranked results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import EvaluationPeriod as EvaluationPeriodRow
from models import EvaluationRating as EvaluationRatingRow
from models import EvaluationTarget, PeriodState
from resolvers import evaluations as svc
from resolvers import loaders
from resolvers import volunteering as vl
from resolvers.cases import RateGroupBy
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_id
from schema.cases import CaseRates, month_rates
from schema.columns import column_field
from schema.common import (
    Connection,
    Node,
    UserError,
    connection,
    context,
    field,
    given,
    graphql_enum,
    legacy_argument,
    mutate,
    mutation,
    one_form,
    plain_list_reason,
    query_call,
)
from schema.register import AreaNode, area_type

graphql_enum(EvaluationTarget, name="EvaluationTarget",
             description="What is rated (评比对象): a compound's firm or owner committee.")
graphql_enum(PeriodState, name="EvaluationPeriodState",
             description="State of a period (评比周期状态): open, or closed and read-only.")


@strawberry.type(description="A rating item and its weight (评比项目与权重).")
class EvaluationItem:
    _m: strawberry.Private[Any]  # an item, or a period's copy of one (which has no flag: active)
    _active: strawberry.Private[bool]
    code = column_field("code", str, description="Stable code, e.g. cleanliness.")
    name = column_field("name", str, description="Display name, e.g. 环境卫生.")
    weight = column_field("weight", int, description="Weight; the total is sum(score × weight) / sum(weight).")

    @field(description="Whether periods opened from now on are rated by it (启用).")
    def active(self) -> bool:
        return self._active


def _item(i: Any, active: bool = True) -> EvaluationItem:
    return EvaluationItem(_m=i, _active=active)


@strawberry.type(description="A monthly evaluation period (月度评比).")
class EvaluationPeriod(Node):
    _m: strawberry.Private[EvaluationPeriodRow]

    month = column_field("month", date, description="The month (its first day).")
    state = column_field("state", PeriodState, description="State (状态).")
    closed_at = column_field("closed_at", datetime | None, description="Closed at (关闭时间).")

    @field(description="The month's case rates (本月事件考核指标, issue #22): caseRates for this month, grouped; "
                       "per handling unit they are ranked as handlingUnitRanking. Computed per period selected.")
    async def case_rates(self, info: Info, group_by: RateGroupBy = RateGroupBy.HANDLING_UNIT) -> CaseRates:
        return await month_rates(info, self._m.month, group_by)

    @field(description="The items and weights this period is rated by, fixed when it opened (本期评比项目).")
    async def items(self, info: Info, target: EvaluationTarget) -> list[EvaluationItem]:
        return [_item(i) for i in await vl.period_items_by_period(context(info)).load((self._m.id, target))]


@strawberry.type(description="An item's score in a rating.")
class ItemScore:
    item: str = strawberry.field(description="Item code.")
    score: int = strawberry.field(description="Score 0–100.")


@strawberry.type(description="Your rating of a target in a period (评分).")
class EvaluationRating:
    _m: strawberry.Private[EvaluationRatingRow]

    @field(description="What was rated.")
    def target(self) -> EvaluationTarget:
        return self._m.target

    @field(description="The compound (小区) whose firm or committee was rated.")
    async def compound(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.compound_id))

    @field(description="Scores per item.")
    def scores(self) -> list[ItemScore]:
        return [ItemScore(item=k, score=v) for k, v in sorted(self._m.scores.items())]

    @field(description="Weighted total 0–100 (加权得分).")
    def total(self) -> float:
        return float(self._m.total)

    @field(description="Comment (评语).")
    def comment(self) -> str | None:
        return self._m.comment


@strawberry.type(description="The mean score of one item in a target's result (单项平均分).")
class ItemAverage:
    code: str = strawberry.field(description="Item code.")
    name: str = strawberry.field(description="Item name, e.g. 环境卫生.")
    weight: int = strawberry.field(description="The item's weight in this period.")
    average: float = strawberry.field(description="Mean of the raters' scores for the item, two decimals (平均分).")


@strawberry.type(description="A target's result in a period (评比结果): mean of the raters' totals, ranked.")
class EvaluationResult:
    _r: strawberry.Private[svc.Result]

    @field(description="The compound (小区).")
    async def compound(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._r.compound_id))

    @field(description="The property firm rated (物业公司), for firm results.")
    async def firm_name(self, info: Info) -> str | None:
        if self._r.firm_id is None:
            return None
        return await vl.firm_name_by_id(context(info)).load(self._r.firm_id)

    @field(description="Number of raters (参评人数).")
    def raters(self) -> int:
        return self._r.raters

    @field(description="Mean weighted total, two decimals (平均得分).")
    def score(self) -> float:
        return float(self._r.score)

    @field(description="Rank in the tenant, 1 best; ties share a rank (排名).")
    def rank(self) -> int:
        return self._r.rank

    @field(description="Mean score per item of the period, in the period's item order (单项平均分).")
    def items(self) -> list[ItemAverage]:
        return [ItemAverage(code=i.code, name=i.name, weight=i.weight, average=float(i.average))
                for i in self._r.items]


@strawberry.type
class EvaluationQuery:
    @field(description="The tenant's rating items and weights for a target (评比项目), which periods "
                       "opened from now on are rated by.",
           deprecation_reason=plain_list_reason("evaluationItemsConnection"))
    async def evaluation_items(
        self, info: Info, target: EvaluationTarget,
        include_inactive: Annotated[bool, strawberry.argument(description="Also list deactivated items.")] = False,
    ) -> list[EvaluationItem]:
        if include_inactive:
            return [_item(i, i.active) for i in await svc.all_items(context(info), target)]
        return [_item(i) for i in await svc.items(context(info), target)]

    @field(description="The tenant's rating items and weights for a target (评比项目), which periods "
                       "opened from now on are rated by.")
    async def evaluation_items_connection(
        self, info: Info, target: EvaluationTarget,
        include_inactive: Annotated[bool, strawberry.argument(description="Also list deactivated items.")] = False,
        first: int | None = None, after: str | None = None,
    ) -> Connection[EvaluationItem]:
        page = await query_call(svc.items_page(context(info), target, include_inactive=include_inactive,
                                               first=first, after=after))
        return connection(  # type: ignore[no-any-return]
            page, (lambda i: _item(i, i.active)) if include_inactive else _item)

    @field(description="Evaluation periods, newest first (评比周期).",
           deprecation_reason=plain_list_reason("evaluationPeriodsConnection"))
    async def evaluation_periods(self, info: Info) -> list[EvaluationPeriod]:
        return [EvaluationPeriod(_m=p) for p in await svc.list_periods(context(info))]

    @field(description="Evaluation periods, newest first (评比周期).")
    async def evaluation_periods_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[EvaluationPeriod]:
        page = await query_call(svc.periods_page(context(info), first=first, after=after))
        return connection(page, lambda p: EvaluationPeriod(_m=p))  # type: ignore[no-any-return]

    @field(description="Results and ranking of a period (评比排名), where you may read them.",
           deprecation_reason=plain_list_reason("evaluationResultsConnection"))
    async def evaluation_results(
        self, info: Info, period_id: strawberry.ID, target: EvaluationTarget,
    ) -> list[EvaluationResult]:
        rows = await query_call(svc.results(context(info), decode_id(period_id, "EvaluationPeriod", "periodId"),
                                            target))
        return [EvaluationResult(_r=r) for r in rows]

    @field(description="Results and ranking of a period (评比排名), where you may read them; best first.")
    async def evaluation_results_connection(
        self, info: Info, period_id: strawberry.ID, target: EvaluationTarget,
        first: int | None = None, after: str | None = None,
    ) -> Connection[EvaluationResult]:
        page = await query_call(svc.results_page(
            context(info), decode_id(period_id, "EvaluationPeriod", "periodId"), target, first=first, after=after))
        return connection(page, lambda r: EvaluationResult(_r=r))  # type: ignore[no-any-return]

    @field(description="Your own ratings in a period (我的评分).",
           deprecation_reason=plain_list_reason("myEvaluationRatingsConnection"))
    async def my_evaluation_ratings(self, info: Info, period_id: strawberry.ID) -> list[EvaluationRating]:
        rows = await svc.my_ratings(context(info), decode_id(period_id, "EvaluationPeriod", "periodId"))
        return [EvaluationRating(_m=r) for r in rows]

    @field(description="Your own ratings in a period (我的评分).")
    async def my_evaluation_ratings_connection(
        self, info: Info, period_id: strawberry.ID, first: int | None = None, after: str | None = None,
    ) -> Connection[EvaluationRating]:
        page = await query_call(svc.my_ratings_page(
            context(info), decode_id(period_id, "EvaluationPeriod", "periodId"), first=first, after=after))
        return connection(page, lambda r: EvaluationRating(_m=r))  # type: ignore[no-any-return]


@strawberry.input(description="An item's score.")
class ItemScoreInput:
    item: str = strawberry.field(description="Item code from evaluationItems.")
    score: int = strawberry.field(description="Score 0–100.")


@strawberry.input(description="Rate a compound's property firm or owner committee in a period (评分).")
class RateInput:
    period_id: strawberry.ID = strawberry.field(description="The open period.")
    target: EvaluationTarget = strawberry.field(description="What is rated.")
    compound_id: strawberry.ID = strawberry.field(description="The compound.")
    scores: list[ItemScoreInput] = strawberry.field(description="One score per active item of the target.")
    comment: str | None = strawberry.field(default=None, description="Comment, at most 500 characters.")


@strawberry.input(description="An item and its weight (评比项目与权重).")
class EvaluationItemInput:
    code: str = strawberry.field(description="Stable code: lower-case letters, digits and _, at most 32.")
    name: str = strawberry.field(description="Display name, at most 50 characters, e.g. 环境卫生.")
    weight: int = strawberry.field(description="Weight, positive; a target's weights total 100.")


@strawberry.input(description="The items and weights of a target for the periods opened from now on (设置评比项目).")
class SetEvaluationItemsInput:
    target: EvaluationTarget = strawberry.field(description="What is rated.")
    items: list[EvaluationItemInput] = strawberry.field(
        description="The complete list of active items: items not listed are deactivated; weights total 100.")


@strawberry.type(description="Result of setEvaluationItems.")
class EvaluationItemsPayload:
    items: list[EvaluationItem] | None = strawberry.field(description="The target's active items, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a period mutation.")
class EvaluationPeriodPayload:
    period: EvaluationPeriod | None = strawberry.field(description="The period, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of rate.")
class EvaluationRatingPayload:
    rating: EvaluationRating | None = strawberry.field(description="The rating, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")



@strawberry.input(description="Open the evaluation period of a month (开启月度评比).")
class OpenEvaluationPeriodInput:
    month: date = strawberry.field(description="Any day of the month to rate (评比月份); the period is that month.")


@strawberry.input(description="Close an evaluation period (关闭评比).")
class CloseEvaluationPeriodInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the period to close (评比周期ID).")


@strawberry.type
class EvaluationMutation:
    @mutation(description="Open the evaluation period of a month (开启月度评比); street admin.")
    async def open_evaluation_period(
        self, info: Info, input: OpenEvaluationPeriodInput | None = None,
        month: Annotated[date | None, legacy_argument("openEvaluationPeriod")] = None,
    ) -> EvaluationPeriodPayload:
        async def run() -> Any:
            one_form(input, [month])
            return await svc.open_period(context(info), input.month if input is not None else given(month))

        row, errors = await mutate(info, run)
        return EvaluationPeriodPayload(period=None if row is None else EvaluationPeriod(_m=row), errors=errors)

    @mutation(description="Set a target's items and weights for the periods opened from now on "
                          "(设置评比项目与权重); street admin. Open periods keep their own items.")
    async def set_evaluation_items(self, info: Info, input: SetEvaluationItemsInput) -> EvaluationItemsPayload:
        async def run() -> Any:
            specs = [svc.ItemSpec(code=i.code, name=i.name, weight=i.weight) for i in input.items]
            return await svc.set_items(context(info), input.target, specs)

        rows, errors = await mutate(info, run)
        return EvaluationItemsPayload(items=None if rows is None else [_item(i) for i in rows], errors=errors)

    @mutation(description="Close a period (关闭评比): read-only afterwards.")
    async def close_evaluation_period(
        self, info: Info, input: CloseEvaluationPeriodInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("closeEvaluationPeriod")] = None,
    ) -> EvaluationPeriodPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.close_period(context(info), decode_id(gid, "EvaluationPeriod", "id"))

        row, errors = await mutate(info, run)
        return EvaluationPeriodPayload(period=None if row is None else EvaluationPeriod(_m=row), errors=errors)

    @mutation(description="Rate a compound's property firm or owner committee (评分); once per period.")
    async def rate_evaluation(self, info: Info, input: RateInput) -> EvaluationRatingPayload:
        async def run() -> Any:
            scores: dict[str, int] = {}
            for s in input.scores:
                if s.item in scores:
                    raise ServiceError(ErrorCode.INVALID, t(f"评比项 {s.item!r} 重复打分",
                                                            f"item {s.item!r} scored twice"), "scores")
                scores[s.item] = s.score
            data = svc.RateInput(
                period_id=decode_id(input.period_id, "EvaluationPeriod", "periodId"), target=input.target,
                compound_id=decode_id(input.compound_id, "Compound", "compoundId"), scores=scores,
                comment=input.comment)
            return await svc.rate(context(info), data)

        row, errors = await mutate(info, run)
        return EvaluationRatingPayload(rating=None if row is None else EvaluationRating(_m=row), errors=errors)


async def resolve_evaluation_node(info: Info, id_: Any) -> Any:
    p = await svc.get_period(context(info), id_)
    return None if p is None else EvaluationPeriod(_m=p)
