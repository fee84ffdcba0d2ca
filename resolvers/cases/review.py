"""Review (复盘): the figures of the cases reported in an area and period, and the recorded reviews
that keep them as they stood."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean, median
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, bindparam, func, select

from models import OPEN_STATES, Area, Case, CaseReview
from policies.actor import Actor, Grant
from policies.cases import case_in_area, case_predicate
from policies.filters import area_reach_predicate
from resolvers import validation as v
from resolvers.cases.reads import aware
from resolvers.cases.verdicts import counted_verdict, counted_verdict_sql
from resolvers.cases.workcalendar import SHANGHAI
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, empty_page, sorted_page


@dataclass
class CaseStatistics:
    total: int
    by_state: dict[str, int]
    by_category: dict[str, int]
    resolved: int
    resolved_on_time: int
    on_time_rate: float | None
    mean_handling_hours: float | None
    median_handling_hours: float | None
    with_feedback: int
    satisfied: int
    satisfaction_rate: float | None
    reopened: int
    open_overdue: int


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = SHANGHAI
    lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return lo, hi


async def statistics(ctx: RequestContext, area_id: uuid.UUID, start: date, end: date, *,
                     field_end: str = "to") -> CaseStatistics:
    """Figures of the cases reported in an area's subtree between two local dates (inclusive)."""
    if end < start or (end - start).days > 366:
        raise ServiceError(ErrorCode.INVALID, t("统计期应从前往后，且最长一年",
                                                "the period runs forward and spans at most a year"), field_end)
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权查看统计", "you may not read statistics"), "areaId")
    lo, hi = local_bounds(start, end)
    if ctx.db.session.get_bind().dialect.name == "postgresql":
        row = (await ctx.db.all(_statement(ctx, grant, path), {_LO.key: lo, _HI.key: hi, _NOW.key: ctx.now}))[0]
        return _from_row(row)
    where = statistics_filters(grant, ctx.actor, path, lo, hi)
    rows = await ctx.db.all(
        select(Case.state, Case.category_code, Case.created_at, Case.due_at, Case.resolved_at, Case.satisfied,
               Case.reopen_count, Case.reporter_role, Case.callback_result, Case.callback_at, Case.closed_at
               ).where(*where)
    )
    by_state: dict[str, int] = {}
    by_category: dict[str, int] = {}
    hours: list[float] = []
    on_time = with_due = feedback = happy = reopened = overdue = 0
    for state, category, created, due, resolved, own, reopens, role, callback, called_at, closed in rows:
        by_state[state.value] = by_state.get(state.value, 0) + 1
        by_category[category] = by_category.get(category, 0) + 1
        if resolved is not None:
            hours.append((aware(resolved) - aware(created)).total_seconds() / 3600)
            if due is not None:
                with_due += 1
                on_time += aware(resolved) <= aware(due)
        elif due is not None and state in OPEN_STATES and aware(due) < ctx.now:
            overdue += 1
        # residents' verdicts only, their own or relayed at 回访 (resolvers.cases.verdicts)
        satisfied = counted_verdict(own, role, callback, called_at, closed)
        if satisfied is not None:
            feedback += 1
            happy += bool(satisfied)
        reopened += reopens > 0
    return CaseStatistics(
        total=len(rows), by_state=by_state, by_category=by_category, resolved=len(hours),
        resolved_on_time=on_time, on_time_rate=on_time / with_due if with_due else None,
        mean_handling_hours=handling_hours(fmean(hours)) if hours else None,
        median_handling_hours=handling_hours(median(hours)) if hours else None,
        with_feedback=feedback, satisfied=happy, satisfaction_rate=happy / feedback if feedback else None,
        reopened=reopened, open_overdue=overdue,
    )


# The period and the clock as parameters, so that one built statement serves every request of the same
# scope (as the rates do, resolvers.cases.rates): building its constructs was most of a request's CPU.
_LO = bindparam("stat_lo", type_=DateTime(timezone=True))
_HI = bindparam("stat_hi", type_=DateTime(timezone=True))
_NOW = bindparam("stat_now", type_=DateTime(timezone=True))
# Built statements by (tenant, what the scope predicate is made of, the area's path), least recently used
# first. The tenant's filter is added at execution (tenants.session), as to any statement.
_BUILT: OrderedDict[tuple[Any, ...], Select[Any]] = OrderedDict()
_BUILT_SIZE = 256


def handling_hours(value: Any) -> float:
    """Hours as the figures show them: the value as a double (PostgreSQL's numeric mean or its text, the
    double median, Python's own mean) rounded by Python's ``round`` to two places — half to even on the
    double, which PostgreSQL's round(numeric) is not. The one rounding rule of both read paths: the
    compiled read (compiled/statistics.py) leaves it to ``compiled.plans.finish``, which calls this."""
    return round(float(value), 2)


def statistics_filters(grant: Grant, actor: Actor, path: str | ColumnElement[str], lo: Any, hi: Any
                       ) -> tuple[ColumnElement[bool], ...]:
    """The cases the figures count: reported in the area's subtree between ``lo`` and ``hi`` and reached by
    the grant in full. ``path`` may be a SQL expression (the compiled read looks it up in its statement)."""
    return (case_in_area(path), Case.created_at >= lo, Case.created_at < hi,
            case_predicate(grant, actor, public=False))


def _statement(ctx: RequestContext, grant: Grant, path: str) -> Select[Any]:
    a = ctx.actor  # what case_predicate reads of the actor (the key of resolvers.cases.rates._statement)
    key = (ctx.tenant.id, grant, a.user_id, a.own_compound_path, a.today, path)
    stmt = _BUILT.get(key)
    if stmt is not None:
        _BUILT.move_to_end(key)
        return stmt
    stmt = _BUILT[key] = statistics_aggregate(statistics_filters(grant, a, path, _LO, _HI), _NOW)
    while len(_BUILT) > _BUILT_SIZE:
        _BUILT.popitem(last=False)
    return stmt


def statistics_aggregate(where: tuple[Any, ...], now: Any, *, name: str = "base") -> Select[Any]:
    """The same figures as the loop above, aggregated by PostgreSQL in one statement (issue #9): a
    month of a busy community is thousands of cases, which need not cross the wire. ``name``: its
    cases' CTE, one of its own per figures where a statement holds several (compiled/statistics.py)."""
    verdict = counted_verdict_sql(Case.satisfied, Case.reporter_role, Case.callback_result, Case.callback_at,
                                  Case.closed_at)
    base = select(Case.state, Case.category_code, Case.created_at, Case.due_at, Case.resolved_at,
                  verdict.label("satisfied"), Case.reopen_count).where(*where).cte(name)
    resolved = base.c.resolved_at.is_not(None)
    hours = func.extract("epoch", base.c.resolved_at - base.c.created_at) / 3600
    open_states = [s.value for s in OPEN_STATES]

    def counts(col: Any) -> Any:
        g = select(col.label("k"), func.count().label("n")).group_by(col).subquery()
        return select(func.json_object_agg(g.c.k, g.c.n)).scalar_subquery()

    return select(
        func.count().label("total"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(and_(resolved, base.c.due_at.is_not(None))).label("with_due"),
        func.count().filter(and_(resolved, base.c.due_at.is_not(None), base.c.resolved_at <= base.c.due_at)
                            ).label("on_time"),
        func.count().filter(and_(~resolved, base.c.due_at.is_not(None), base.c.state.in_(open_states),
                                 base.c.due_at < now)).label("overdue"),
        func.count(base.c.satisfied).label("feedback"),
        func.count().filter(base.c.satisfied.is_(True)).label("happy"),
        func.count().filter(base.c.reopen_count > 0).label("reopened"),
        func.avg(hours).filter(resolved).label("mean_hours"),
        func.percentile_cont(0.5).within_group(hours).filter(resolved).label("median_hours"),
        counts(base.c.state).label("by_state"),
        counts(base.c.category_code).label("by_category"),
    ).select_from(base)


def _from_row(row: Any) -> CaseStatistics:
    total, n_resolved, with_due, on_time, overdue, feedback, happy, reopened, mean_h, median_h, states, cats = row
    return CaseStatistics(
        total=total, by_state=dict(states or {}), by_category=dict(cats or {}), resolved=n_resolved,
        resolved_on_time=on_time, on_time_rate=on_time / with_due if with_due else None,
        mean_handling_hours=handling_hours(mean_h) if mean_h is not None else None,
        median_handling_hours=handling_hours(median_h) if median_h is not None else None,
        with_feedback=feedback, satisfied=happy, satisfaction_rate=happy / feedback if feedback else None,
        reopened=reopened, open_overdue=overdue,
    )


async def create_review(ctx: RequestContext, *, area_id: uuid.UUID, start: date, end: date, summary: str,
                        decisions: str | None) -> CaseReview:
    text = v.text(summary, "summary", max_len=5000)
    dec = None if decisions is None else v.text(decisions, "decisions", max_len=5000, required=False) or None
    grant = ctx.actor.grant("case", "review")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area_id, area_reach_predicate(grant, ctx.actor))
    ) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权为该区域登记评议",
                                                  "you may not record a review for this area"), "areaId")
    stats = await statistics(ctx, area_id, start, end, field_end="periodEnd")
    clash = await ctx.db.scalar(select(CaseReview.id).where(
        CaseReview.area_id == area_id, CaseReview.period_start == start, CaseReview.period_end == end))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该区域在此期间已有评议",
                                                 "this area already has a review for that period"), "periodStart")
    review = CaseReview(area_id=area_id, period_start=start, period_end=end, summary=text, decisions=dec,
                        author_user_id=ctx.actor.user_id, statistics=asdict(stats), created_at=ctx.now)
    await ctx.db.flush(review)
    return review


async def get_review(ctx: RequestContext, review_id: uuid.UUID) -> CaseReview | None:
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        return None
    readable = select(Area.id).where(area_reach_predicate(grant, ctx.actor))
    review: CaseReview | None = await ctx.db.scalar(
        select(CaseReview).where(CaseReview.id == review_id, CaseReview.area_id.in_(readable)))
    return review


# Newest period first; among reviews of the same start, the newest recorded first.
REVIEWS = ListOrder("caseReviews", (Key(CaseReview.period_start, descending=True),
                                    Key(CaseReview.id, descending=True)))


def review_rows(ctx: RequestContext, area_id: uuid.UUID) -> Select[Any] | None:
    """The reviews of an area the actor may read (None: no statistics grant, nothing to read); the
    compiled read (compiled/case_reviews.py) pages this same statement."""
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        return None
    readable = select(Area.id).where(area_reach_predicate(grant, ctx.actor))
    return select(CaseReview).where(CaseReview.area_id == area_id, CaseReview.area_id.in_(readable))


async def list_reviews(ctx: RequestContext, area_id: uuid.UUID) -> list[CaseReview]:
    stmt = review_rows(ctx, area_id)
    return [] if stmt is None else list(await ctx.db.scalars(stmt.order_by(*REVIEWS.order_by())))


async def list_reviews_page(ctx: RequestContext, area_id: uuid.UUID, *, first: int | None,
                            after: str | None) -> Page[CaseReview]:
    stmt = review_rows(ctx, area_id)
    if stmt is None:
        return empty_page(ctx.db, REVIEWS, first=first, after=after)
    return await sorted_page(ctx.db, stmt, REVIEWS, first=first, after=after)
