"""Evaluations (评比): monthly periods, weighted items, ratings and rankings.

A rating is one rater's scores (0–100 per item) for one target — a compound's property firm or its
owner committee — in one period; its total is the weighted mean of the scores, fixed when given. One
rating per rater, target and period (a unique key; duplicates get CONFLICT). Ratings are taken while
the period is open and the local date lies in its month or the GRACE_DAYS after it; a closed period
is read-only. Results are the mean total per target with the number of raters, ranked in SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from models import (
    Area,
    AreaKind,
    EvaluationItem,
    EvaluationPeriod,
    EvaluationRating,
    EvaluationTarget,
    PeriodState,
    ServiceContract,
)
from policies.volunteering_filters import compound_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError, ValidationErrors

TZ = ZoneInfo("Asia/Shanghai")
GRACE_DAYS = 7
ACTION = {EvaluationTarget.PROPERTY_FIRM: "rate_firm", EvaluationTarget.OWNER_COMMITTEE: "rate_committee"}


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


async def items(ctx: RequestContext, target: EvaluationTarget) -> list[EvaluationItem]:
    return list(await ctx.db.scalars(
        select(EvaluationItem).where(EvaluationItem.target == target, EvaluationItem.active.is_(True))
        .order_by(EvaluationItem.weight.desc(), EvaluationItem.code)))


async def list_periods(ctx: RequestContext) -> list[EvaluationPeriod]:
    return list(await ctx.db.scalars(select(EvaluationPeriod).order_by(EvaluationPeriod.month.desc())))


async def get_period(ctx: RequestContext, period_id: uuid.UUID) -> EvaluationPeriod | None:
    return await ctx.db.scalar(select(EvaluationPeriod).where(EvaluationPeriod.id == period_id))


def _manager(ctx: RequestContext, field: str) -> None:
    if not ctx.actor.grant("evaluation", "manage").all:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the street office runs evaluation periods", field)


async def open_period(ctx: RequestContext, month: date) -> EvaluationPeriod:
    _manager(ctx, "month")
    first = month.replace(day=1)
    if await ctx.db.scalar(select(EvaluationPeriod.id).where(EvaluationPeriod.month == first)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, f"the period {first:%Y-%m} exists", "month")
    period = EvaluationPeriod(month=first, state=PeriodState.OPEN, created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(period)
    except IntegrityError:
        raise ServiceError(ErrorCode.CONFLICT, f"the period {first:%Y-%m} exists", "month") from None
    return period


async def close_period(ctx: RequestContext, period_id: uuid.UUID) -> EvaluationPeriod:
    period = await get_period(ctx, period_id)
    if period is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "period not found", "id")
    _manager(ctx, "id")
    if period.state is PeriodState.CLOSED:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, "the period is already closed", "id")
    result = await ctx.db.execute(
        update(EvaluationPeriod).where(EvaluationPeriod.id == period.id, EvaluationPeriod.state == PeriodState.OPEN)
        .values(state=PeriodState.CLOSED, closed_at=ctx.now, closed_by=ctx.actor.user_id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ServiceError(ErrorCode.CONFLICT, "the period was closed by someone else", "id")
    async with ctx.db.lock:
        await ctx.db.session.refresh(period)
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
    errors: list[ServiceError] = []
    weights = {i.code: i.weight for i in await items(ctx, data.target)}
    if set(data.scores) != set(weights):
        errors.append(ServiceError(ErrorCode.INVALID, f"give a score for exactly these items: {', '.join(weights)}",
                                   "scores"))
    if any(not 0 <= s <= 100 for s in data.scores.values()):
        errors.append(ServiceError(ErrorCode.INVALID, "scores are between 0 and 100", "scores"))
    comment = None
    if data.comment is not None:
        try:
            comment = v.text(data.comment, "comment", max_len=500, required=False) or None
        except ServiceError as e:
            errors.append(e)
    if errors:
        raise ValidationErrors(errors)
    period = await get_period(ctx, data.period_id)
    if period is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "period not found", "periodId")
    compound = await ctx.db.scalar(select(Area).where(Area.id == data.compound_id, Area.kind == AreaKind.COMPOUND))
    if compound is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "compound not found", "compoundId")
    grant = ctx.actor.grant("evaluation", ACTION[data.target])
    if await ctx.db.scalar(select(Area.id).where(Area.id == compound.id,
                                                 compound_predicate(Area.path, grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, f"you may not rate this compound's {data.target.value}", "compoundId")
    if period.state is PeriodState.CLOSED:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, "the period is closed", "periodId")
    today = ctx.now.astimezone(TZ).date()
    if not period.month <= today <= month_end(period.month) + timedelta(days=GRACE_DAYS):
        raise ServiceError(ErrorCode.INVALID, f"ratings for {period.month:%Y-%m} are taken during that month "
                                              f"and {GRACE_DAYS} days after", "periodId")
    firm_id = None
    if data.target is EvaluationTarget.PROPERTY_FIRM:
        firm_id = await ctx.db.scalar(
            select(ServiceContract.firm_id).where(
                ServiceContract.compound_id == compound.id, ServiceContract.valid_from <= today,
                or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= today))
            .order_by(ServiceContract.valid_from.desc()).limit(1))
        if firm_id is None:
            raise ServiceError(ErrorCode.INVALID, "no property firm serves this compound", "compoundId")
    dup = select(EvaluationRating.id).where(
        EvaluationRating.period_id == period.id, EvaluationRating.target == data.target,
        EvaluationRating.compound_id == compound.id, EvaluationRating.rater_user_id == ctx.actor.user_id)
    if await ctx.db.scalar(dup) is not None:
        raise ServiceError(ErrorCode.CONFLICT, "you have rated this in this period already", "compoundId")
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
        raise ServiceError(ErrorCode.CONFLICT, "you have rated this in this period already", "compoundId") from None
    return rating


@dataclass
class Result:
    compound_id: uuid.UUID
    firm_id: uuid.UUID | None
    raters: int
    score: Decimal
    rank: int


async def results(ctx: RequestContext, period_id: uuid.UUID, target: EvaluationTarget) -> list[Result]:
    """Mean total and raters per target, ranked over the whole tenant, listed where the actor may read."""
    if await get_period(ctx, period_id) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "period not found", "periodId")
    r = EvaluationRating
    mean = func.avg(r.total)
    agg = (
        select(r.compound_id, r.compound_path, r.firm_id, func.count().label("raters"), mean.label("score"),
               func.rank().over(order_by=mean.desc()).label("rank"))
        .where(r.period_id == period_id, r.target == target)
        .group_by(r.compound_id, r.compound_path, r.firm_id)
        .subquery()
    )
    grant = ctx.actor.grant("evaluation", "read")
    rows = await ctx.db.all(
        select(agg.c.compound_id, agg.c.firm_id, agg.c.raters, agg.c.score, agg.c.rank)
        .where(and_(compound_predicate(agg.c.compound_path, grant, ctx.actor)))
        .order_by(agg.c.rank, agg.c.compound_id))
    return [Result(cid, fid, int(n), Decimal(str(s)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), int(k))
            for cid, fid, n, s, k in rows]


async def my_ratings(ctx: RequestContext, period_id: uuid.UUID) -> list[EvaluationRating]:
    return list(await ctx.db.scalars(
        select(EvaluationRating).where(EvaluationRating.period_id == period_id,
                                       EvaluationRating.rater_user_id == ctx.actor.user_id)
        .order_by(EvaluationRating.id)))
