"""Evaluations (评比): monthly periods, weighted items, ratings and rankings.

A rating is one rater's scores (0–100 per item) for one target — a compound's property firm or its
owner committee — in one period; its total is the weighted mean of the scores, fixed when given. One
rating per rater, target and period (a unique key; duplicates get CONFLICT). Ratings are taken while
the period is open and the local date lies in its month or the GRACE_DAYS after it; a closed period
is read-only. Results are the mean total per target with the number of raters and the mean of each
item, ranked in SQL.

Items and weights are the tenant's, kept by the street admin (``set_items``: weights positive and
totalling 100 per target). A period snapshots the active items when it opens and is rated against
that snapshot, so a change applies to the periods opened after it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Subquery

from models import (
    Area,
    AreaKind,
    EvaluationItem,
    EvaluationPeriod,
    EvaluationPeriodItem,
    EvaluationRating,
    EvaluationTarget,
    PeriodState,
    ServiceContract,
)
from policies.volunteering import compound_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, keyset_page, sorted_page
from resolvers.transitions import StateMachine, transition

TZ = ZoneInfo("Asia/Shanghai")
GRACE_DAYS = 7
ACTION = {EvaluationTarget.PROPERTY_FIRM: "rate_firm", EvaluationTarget.OWNER_COMMITTEE: "rate_committee"}


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


# evaluationItems (issue #25): active items first (the includeInactive form), heaviest first, then by code.
# (The flag as 1/0: SQL compares a number with a bound value; SQLAlchemy refuses `active < true`.)
ITEMS = ListOrder("evaluationItems", (Key(case((EvaluationItem.active.is_(True), 1), else_=0), descending=True),
                                      Key(EvaluationItem.weight, descending=True), Key(EvaluationItem.code),
                                      Key(EvaluationItem.id)))


def item_rows(target: EvaluationTarget, include_inactive: bool) -> Select[Any]:
    """The items of the list and its connection (and of the compiled read, compiled/settings.py)."""
    stmt = select(EvaluationItem).where(EvaluationItem.target == target)
    return stmt if include_inactive else stmt.where(EvaluationItem.active.is_(True))


async def items(ctx: RequestContext, target: EvaluationTarget) -> list[EvaluationItem]:
    return list(await ctx.db.scalars(item_rows(target, False).order_by(*ITEMS.order_by())))


async def all_items(ctx: RequestContext, target: EvaluationTarget) -> list[EvaluationItem]:
    """Active items first (by weight), then the deactivated ones."""
    return list(await ctx.db.scalars(item_rows(target, True).order_by(*ITEMS.order_by())))


async def items_page(ctx: RequestContext, target: EvaluationTarget, *, include_inactive: bool, first: int | None,
                     after: str | None) -> Page[EvaluationItem]:
    return await sorted_page(ctx.db, item_rows(target, include_inactive), ITEMS, first=first, after=after)


async def period_items(ctx: RequestContext, period_id: uuid.UUID,
                       target: EvaluationTarget) -> list[EvaluationPeriodItem]:
    """The items and weights a period opened with."""
    return list(await ctx.db.scalars(
        select(EvaluationPeriodItem).where(EvaluationPeriodItem.period_id == period_id,
                                           EvaluationPeriodItem.target == target)
        .order_by(EvaluationPeriodItem.weight.desc(), EvaluationPeriodItem.code)))


WEIGHT_TOTAL = 100
CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass
class ItemSpec:
    code: str
    name: str
    weight: int


async def set_items(ctx: RequestContext, target: EvaluationTarget, specs: list[ItemSpec]) -> list[EvaluationItem]:
    """Make ``specs`` the target's active items for the periods opened from now on: listed codes are
    created or changed (and reactivated), active items not listed are deactivated (kept, so that
    older periods and ratings still name them). Weights are positive and total 100."""
    _manager(ctx, "items")
    errors = FieldErrors()
    if not specs:
        errors.add(ErrorCode.INVALID, t("请至少给出一个评比项", "give at least one item"), "items")
    seen: set[str] = set()
    names: dict[str, str] = {}
    for i, spec in enumerate(specs):
        if not CODE.fullmatch(spec.code):
            errors.add(ErrorCode.INVALID, t(
                f"评比项代码 {spec.code!r}：以字母开头的小写字母、数字和下划线，最多 32 位",
                                            f"item code {spec.code!r}: lower-case letters, digits and "
                                            "_, starting with a letter, at most 32"), f"items.{i}.code")
        elif spec.code in seen:
            errors.add(ErrorCode.INVALID, t(f"评比项代码 {spec.code!r} 重复",
                                            f"item code {spec.code!r} given twice"), f"items.{i}.code")
        seen.add(spec.code)
        with errors.catch():
            names[spec.code] = v.text(spec.name, f"items.{i}.name", max_len=50)
        if spec.weight <= 0:
            errors.add(ErrorCode.INVALID, t("权重应为正数", "weights are positive"), f"items.{i}.weight")
    if specs and all(s.weight > 0 for s in specs) and sum(s.weight for s in specs) != WEIGHT_TOTAL:
        errors.add(ErrorCode.INVALID, t(f"权重合计为 {sum(s.weight for s in specs)}，" f"应为 {WEIGHT_TOTAL}",
                                        f"the weights total {sum(s.weight for s in specs)}, "
                                        f"not {WEIGHT_TOTAL}"), "items")
    errors.raise_if_any()
    existing = {i.code: i for i in await all_items(ctx, target)}
    wanted = {s.code: s for s in specs}
    for code, row in existing.items():
        keep = wanted.get(code)
        if keep is None:
            row.active = False
        else:
            row.active, row.name, row.weight = True, names[code], keep.weight
    added = [EvaluationItem(target=target, code=code, name=names[code], weight=w.weight, active=True,
                            created_at=ctx.now) for code, w in wanted.items() if code not in existing]
    await ctx.db.flush(*existing.values(), *added)
    return await items(ctx, target)


PERIODS = ListOrder("evaluationPeriods", (Key(EvaluationPeriod.month, descending=True),
                                          Key(EvaluationPeriod.id, descending=True)))


def period_rows() -> Select[Any]:
    """The periods of the list and its connection (and of the compiled read): every one, to everyone."""
    return select(EvaluationPeriod)


async def list_periods(ctx: RequestContext) -> list[EvaluationPeriod]:
    return list(await ctx.db.scalars(period_rows().order_by(*PERIODS.order_by())))


async def periods_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[EvaluationPeriod]:
    return await sorted_page(ctx.db, period_rows(), PERIODS, first=first, after=after)


async def get_period(ctx: RequestContext, period_id: uuid.UUID) -> EvaluationPeriod | None:
    period: EvaluationPeriod | None = await ctx.db.scalar(
        select(EvaluationPeriod).where(EvaluationPeriod.id == period_id))
    return period


def _manager(ctx: RequestContext, field: str) -> None:
    if not ctx.actor.grant("evaluation", "manage").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道可以开展评比",
                                                  "only the street office runs evaluation periods"), field)


async def open_period(ctx: RequestContext, month: date) -> EvaluationPeriod:
    _manager(ctx, "month")
    first = month.replace(day=1)
    if await ctx.db.scalar(select(EvaluationPeriod.id).where(EvaluationPeriod.month == first)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t(f"{first:%Y-%m} 的评比期已存在",
                                                 f"the period {first:%Y-%m} exists"), "month")
    period = EvaluationPeriod(month=first, state=PeriodState.OPEN, created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(period)
    except IntegrityError:
        raise ServiceError(ErrorCode.CONFLICT, t(f"{first:%Y-%m} 的评比期已存在",
                                                 f"the period {first:%Y-%m} exists"), "month") from None
    for target in EvaluationTarget:  # the items it is rated by, whatever changes later
        for item in await items(ctx, target):
            await ctx.db.flush(EvaluationPeriodItem(period_id=period.id, target=target, code=item.code,
                                                    name=item.name, weight=item.weight, created_at=ctx.now))
    return period


PERIOD: StateMachine[PeriodState] = StateMachine(
    noun="period", noun_zh="评比期", model=EvaluationPeriod, versioned=False,
    moves={"close": (frozenset({PeriodState.OPEN}), PeriodState.CLOSED)},
    refused=("评比期已结束", "the period is already closed"),
    lost=("评比期已被他人结束", "the period was closed by someone else"),
)


async def close_period(ctx: RequestContext, period_id: uuid.UUID) -> EvaluationPeriod:
    period = await get_period(ctx, period_id)
    if period is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("评比期不存在", "period not found"), "id")
    _manager(ctx, "id")
    await transition(ctx, PERIOD, period, "close", values={"closed_at": ctx.now, "closed_by": ctx.actor.user_id})
    return period


@dataclass
class RateInput:
    period_id: uuid.UUID
    target: EvaluationTarget
    compound_id: uuid.UUID
    scores: dict[str, int]
    comment: str | None = None


def _weighted(scores: dict[str, int], weights: dict[str, int]) -> Decimal:
    total = sum((Decimal(scores[c]) * w for c, w in weights.items()), Decimal(0)) / Decimal(sum(weights.values()))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def rate(ctx: RequestContext, data: RateInput) -> EvaluationRating:
    errors = FieldErrors()
    if any(not 0 <= s <= 100 for s in data.scores.values()):
        errors.add(ErrorCode.INVALID, t("分数应在 0 到 100 之间", "scores are between 0 and 100"), "scores")
    comment = None
    if data.comment is not None:
        with errors.catch():
            comment = v.text(data.comment, "comment", max_len=500, required=False) or None
    errors.raise_if_any()
    period = await get_period(ctx, data.period_id)
    if period is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("评比期不存在", "period not found"), "periodId")
    weights = {i.code: i.weight for i in await period_items(ctx, period.id, data.target)}
    if set(data.scores) != set(weights):
        raise ServiceError(ErrorCode.INVALID, t(f"请为且只为这些评比项打分：{'、'.join(weights)}",
                                                f"give a score for exactly these items: {', '.join(weights)}"),
                           "scores")
    compound: Area | None = await ctx.db.scalar(
        select(Area).where(Area.id == data.compound_id, Area.kind == AreaKind.COMPOUND))
    if compound is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("小区不存在", "compound not found"), "compoundId")
    grant = ctx.actor.grant("evaluation", ACTION[data.target])
    if await ctx.db.scalar(select(Area.id).where(Area.id == compound.id,
                                                 compound_predicate(Area.path, grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t(f"您无权评价该小区的 {data.target.value}",
                                                  f"you may not rate this compound's {data.target.value}"),
                           "compoundId")
    if period.state is PeriodState.CLOSED:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("评比期已结束", "the period is closed"), "periodId")
    today = ctx.now.astimezone(TZ).date()
    if not period.month <= today <= month_end(period.month) + timedelta(days=GRACE_DAYS):
        raise ServiceError(ErrorCode.INVALID, t(f"{period.month:%Y-%m} 的评价在当月及之后 " f"{GRACE_DAYS} 天内进行",
                                                f"ratings for {period.month:%Y-%m} are taken during that month "
                                                f"and {GRACE_DAYS} days after"), "periodId")
    firm_id = None
    if data.target is EvaluationTarget.PROPERTY_FIRM:
        firm_id = await ctx.db.scalar(
            select(ServiceContract.firm_id).where(
                ServiceContract.compound_id == compound.id, ServiceContract.valid_from <= today,
                or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= today))
            .order_by(ServiceContract.valid_from.desc()).limit(1))
        if firm_id is None:
            raise ServiceError(ErrorCode.INVALID, t("没有物业公司服务该小区",
                                                    "no property firm serves this compound"), "compoundId")
    dup = select(EvaluationRating.id).where(
        EvaluationRating.period_id == period.id, EvaluationRating.target == data.target,
        EvaluationRating.compound_id == compound.id, EvaluationRating.rater_user_id == ctx.actor.user_id)
    if await ctx.db.scalar(dup) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("您本期已评价过",
                                                 "you have rated this in this period already"), "compoundId")
    roles = ctx.actor.roles
    rating = EvaluationRating(
        period_id=period.id, target=data.target, compound_id=compound.id, compound_path=compound.path,
        firm_id=firm_id, rater_user_id=ctx.actor.user_id, rater_role=roles[0].value if roles else "",
        scores=dict(data.scores), total=_weighted(data.scores, weights), comment=comment, created_at=ctx.now,
    )
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(rating)
    except IntegrityError:
        raise ServiceError(ErrorCode.CONFLICT, t("您本期已评价过",
                                                 "you have rated this in this period already"), "compoundId") from None
    return rating


@dataclass
class ItemAverage:
    code: str
    name: str
    weight: int
    average: Decimal


@dataclass
class Result:
    compound_id: uuid.UUID
    firm_id: uuid.UUID | None
    raters: int
    score: Decimal
    rank: int
    items: list[ItemAverage] = field(default_factory=list)


def _two(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class _Ranking:
    stmt: Select[Any]
    order: ListOrder
    snapshot: list[EvaluationPeriodItem]

    def result(self, row: Any) -> Result:
        cid, fid, n, s, k, *avgs = row
        return Result(cid, fid, int(n), _two(s), int(k), [ItemAverage(i.code, i.name, i.weight, _two(a))
                                                            for i, a in zip(self.snapshot, avgs, strict=True)])


async def results(ctx: RequestContext, period_id: uuid.UUID, target: EvaluationTarget) -> list[Result]:
    """Mean total, raters and the mean of each of the period's items per target, ranked over the whole
    tenant by mean total, listed where the actor may read."""
    r = await _ranking(ctx, period_id, target)
    return [r.result(row) for row in await ctx.db.all(r.stmt.order_by(*r.order.order_by()))]


async def results_page(ctx: RequestContext, period_id: uuid.UUID, target: EvaluationTarget, *, first: int | None,
                       after: str | None) -> Page[Result]:
    """``results`` a page at a time: the ranking's keyset (rank, compound) over the same statement."""
    r = await _ranking(ctx, period_id, target)
    page = await sorted_page(ctx.db, r.stmt, r.order, first=first, after=after)
    page.items = [r.result(row) for row in page.items]
    return page


async def _ranking(ctx: RequestContext, period_id: uuid.UUID, target: EvaluationTarget) -> _Ranking:
    if await get_period(ctx, period_id) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("评比期不存在", "period not found"), "periodId")
    snapshot = await period_items(ctx, period_id, target)
    rows = ranking_rows(ctx, period_id, target, [i.code for i in snapshot])
    return _Ranking(rows.stmt, rows.order, snapshot)


@dataclass
class RankingRows:
    """The ranking's statement: per group (compound, its path, firm) of the period's ratings of the target
    ``agg``'s compound_id, compound_path, firm_id, raters, score (the mean total), rank (over the whole
    tenant) and item_0 … (the mean of each code given); ``stmt`` selects compound_id, firm_id, raters,
    score, rank, item_0 … where the actor may read; ``order`` is its order (the connection's keyset)."""

    agg: Subquery
    stmt: Select[Any]
    order: ListOrder


def ranking_rows(ctx: RequestContext, period_id: uuid.UUID | ColumnElement[uuid.UUID], target: EvaluationTarget,
                 codes: Sequence[str]) -> RankingRows:
    """The ranking of the period's results for ``target`` with the mean of each item in ``codes``: the
    resolvers' (with the period's snapshot) and the compiled read's (compiled/evaluations.py, no codes:
    it reads the items per group itself)."""
    r = EvaluationRating
    mean = func.avg(r.total)
    per_item = [func.avg(r.scores[code].as_integer()).label(f"item_{n}") for n, code in enumerate(codes)]
    agg = (
        select(r.compound_id, r.compound_path, r.firm_id, func.count().label("raters"), mean.label("score"),
               func.rank().over(order_by=mean.desc()).label("rank"), *per_item)
        .where(r.period_id == period_id, r.target == target)
        .group_by(r.compound_id, r.compound_path, r.firm_id)
        .subquery()
    )
    grant = ctx.actor.grant("evaluation", "read")
    stmt = (select(agg.c.compound_id, agg.c.firm_id, agg.c.raters, agg.c.score, agg.c.rank,
                   *(agg.c[f"item_{n}"] for n in range(len(codes))))
            .where(and_(compound_predicate(agg.c.compound_path, grant, ctx.actor))))
    # Best first; the compound among equal ranks (the subquery is built per request, so is its order).
    order = ListOrder("evaluationResults", (Key(agg.c.rank), Key(agg.c.compound_id)))
    return RankingRows(agg, stmt, order)


def my_ratings_filters(ctx: RequestContext, period_id: uuid.UUID | ColumnElement[uuid.UUID]
                       ) -> list[ColumnElement[bool]]:
    """The actor's own ratings of a period (by id): the compiled read's rows too (compiled/evaluations.py)."""
    return [EvaluationRating.period_id == period_id, EvaluationRating.rater_user_id == ctx.actor.user_id]


def _my_ratings(ctx: RequestContext, period_id: uuid.UUID) -> Select[Any]:
    return select(EvaluationRating).where(*my_ratings_filters(ctx, period_id))


async def my_ratings(ctx: RequestContext, period_id: uuid.UUID) -> list[EvaluationRating]:
    return list(await ctx.db.scalars(_my_ratings(ctx, period_id).order_by(EvaluationRating.id)))


async def my_ratings_page(ctx: RequestContext, period_id: uuid.UUID, *, first: int | None,
                          after: str | None) -> Page[EvaluationRating]:
    return await keyset_page(ctx.db, _my_ratings(ctx, period_id), EvaluationRating.id, first=first, after=after)
