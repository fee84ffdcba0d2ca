"""The rates (考核指标) of case handling, as a 12345 platform judges a street office (issue #22): 响应率,
解决率, 满意率, 按时办结率, 回退率, 重办率, 回访率 and a weighted composite score, per area (community),
handling unit, category or in total, for a month, a quarter or a range of local dates; and the ranking
of handling units. Definitions, formulas and defaults: docs/domains/case-rates.md.

Every figure is a count of the cases *reported in the period* that the actor may read in full (the
statistics grant, as the review's figures). The database counts them (issue #21): one statement groups the
cases of the period — one range scan of ``cases``, what the rates read of a case's 受理 stage and timeline steps
being on its row (migration 0056's triggers keep it) — and returns, per group, each rate's numerator and denominator,
so a request costs a fixed number of statements — the tenant's definitions, the calendar (none when the
process keeps it), the counts, and the names of the groups — and its Python work grows with the number of
groups, not of cases. Only the 响应率 of cases without a 受理 stage due time (stored before the stages, or
of a tier without a limit) needs working-time arithmetic: those come back by report and response time and
are judged in Python (tests/cases/test_case_rates_oracle.py holds the counts to the rule counted case by
case in Python, tests/support/rates_oracle.py)."""

from __future__ import annotations

import enum
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Label,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
)

from models import (
    Area,
    Case,
    CaseCategory,
    CaseEvent,
    CaseState,
    HandlerKind,
    SlaUnit,
    community_id_of,
)
from models.area import COMMUNITY_SEGMENT, PATH_SEP
from models.cases import (
    RATE_ACCEPT_DUE,
    RATE_CALLED_BACK,
    RATE_CLOSED_AT,
    RATE_CLOSES,
    RATE_RESPONDED_AT,
    RATE_RETURNED,
    RATE_REWORKED,
)
from policies.actor import Actor, Grant
from policies.cases import case_in_area, case_predicate
from policies.filters import area_read_predicate
from resolvers.cases.rate_definitions import NEGATIVE, RATE_KEYS, Definitions, load_definitions
from resolvers.cases.reads import aware
from resolvers.cases.review import local_bounds
from resolvers.cases.stages import tenant_calendar
from resolvers.cases.verdicts import counted_verdict_sql
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# The timeline actions each rate reads: RETURN and CALLBACK are the steps of 退单 and 回访, REWORK a
# reopening or 重办; RESPONSE: the first of these is the case's response (签收/受理 or 不予受理), which
# completes its 受理 stage. A closure (回访率's denominator) is any step into ``closed`` from another state
# (close, the reporter's satisfied feedback, auto_close).
RESPONSE_ACTIONS = ("accept", "reject")
RETURN_ACTIONS = ("return",)
REWORK_ACTIONS = ("reopen", "rework")
CALLBACK_ACTIONS = ("callback",)
COUNTED_ACTIONS = (*RESPONSE_ACTIONS, *RETURN_ACTIONS, *REWORK_ACTIONS, *CALLBACK_ACTIONS)
_CLOSED = CaseState.CLOSED.value


class RateGroupBy(enum.StrEnum):
    TOTAL = "total"
    COMMUNITY = "community"
    HANDLING_UNIT = "handling_unit"
    CATEGORY = "category"


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    RANGE = "range"


def period_bounds(kind: PeriodKind, *, year: int | None = None, number: int | None = None,
                  start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The first and last local date of a month (number 1–12), a quarter (1–4) or a range."""
    if kind is PeriodKind.RANGE:
        if start is None or end is None:
            raise ServiceError(ErrorCode.INVALID, t("自定义区间须给出起止日期", "a range needs from and to"), "period")
        if end < start or (end - start).days > 366:
            raise ServiceError(ErrorCode.INVALID, t("统计期应从前往后，且最长一年",
                                                    "the period runs forward and spans at most a year"), "period")
        return start, end
    if year is None or not 2000 <= year <= 2100:
        raise ServiceError(ErrorCode.INVALID, t("年份应在 2000 到 2100 之间", "year between 2000 and 2100"), "period")
    months = 12 if kind is PeriodKind.MONTH else 4
    if number is None or not 1 <= number <= months:
        raise ServiceError(ErrorCode.INVALID, t(f"序号应在 1 到 {months} 之间", f"number between 1 and {months}"),
                           "period")
    first_month = number if kind is PeriodKind.MONTH else 3 * number - 2
    last_month = first_month if kind is PeriodKind.MONTH else first_month + 2
    lo = date(year, first_month, 1)
    hi = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return lo, hi - timedelta(days=1)


@dataclass
class Ratio:
    numerator: int = 0
    denominator: int = 0

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def add(self, counted: bool, hit: bool) -> None:
        if counted:
            self.denominator += 1
            self.numerator += hit


@dataclass
class RateRow:
    """The rates of one group: ``key`` is stable (an id or code), ``label`` its name."""

    key: str
    label: str
    cases: int = 0
    ratios: dict[str, Ratio] = field(default_factory=lambda: {k: Ratio() for k in RATE_KEYS})
    score: float | None = None


@dataclass
class RatesResult:
    start: date
    end: date
    group_by: RateGroupBy
    definitions: Definitions
    rows: list[RateRow]


def deadline(calendar: WorkCalendar | None, start: datetime, amount: float, unit: SlaUnit) -> datetime:
    """The definitions' response limit after ``start`` (``calendar``: None for calendar hours)."""
    if unit.value == "calendar_days":  # a unit the stage work adds (issue #22)
        return start + timedelta(days=amount)
    if unit is SlaUnit.WORKING_DAYS and calendar is not None:
        return calendar.add_working_days(start, max(1, round(amount)))
    if unit is SlaUnit.WORKING_HOURS and calendar is not None:
        return calendar.add_working_hours(start, amount)
    return start + timedelta(hours=amount)


def score(ratios: dict[str, Ratio], weights: dict[str, float]) -> float | None:
    """Composite (综合得分, 0–100): the weighted mean of the defined rates with a weight, a negative rate
    (回退率, 重办率) entering as 1 − rate; None when no weighted rate is defined."""
    total = weight = 0.0
    for k, w in weights.items():
        rate = ratios[k].rate
        if w <= 0 or rate is None:
            continue
        total += w * ((1 - rate) if k in NEGATIVE else rate)
        weight += w
    return round(100 * total / weight, 2) if weight else None


# The community of a case is its path's second segment (models.area.community_id_of); every segment is an
# area id's 32 hex digits and a separator (models.area.path_segment), so the path's first
# 1 + (COMMUNITY_SEGMENT + 1) × 33 characters name the community, and there are as many prefixes as
# communities (+ the street), whatever the number of cases.
_COMMUNITY_PREFIX = len(PATH_SEP) + (COMMUNITY_SEGMENT + 1) * (32 + len(PATH_SEP))


def _group_columns(group_by: RateGroupBy) -> list[Label[Any]]:
    """What the database groups by: few distinct values (categories, communities, handling units); the key
    of docs/domains/case-rates.md is made of them in Python (``_group_key``), which may merge some."""
    if group_by is RateGroupBy.CATEGORY:
        return [Case.category_code.label("g_category")]
    if group_by is RateGroupBy.COMMUNITY:
        return [func.substr(Case.area_path, 1, _COMMUNITY_PREFIX).label("g_path")]
    if group_by is RateGroupBy.HANDLING_UNIT:
        return [Case.handler_kind.label("g_kind"), Case.handler_firm_id.label("g_firm"),
                Case.handler_area_id.label("g_area"), Case.handler_partner_id.label("g_partner"),
                Case.handler_name.label("g_name")]
    return []


# Per grouping, once per process: ``_group_columns`` builds SQLAlchemy constructs (≈ 50 µs), and the rows of
# every request (compiled or not) are read by this width (issue #21: two builds a compiled caseRates request).
_WIDTHS = {g: len(_group_columns(g)) for g in RateGroupBy}


def group_width(group_by: RateGroupBy) -> int:
    """How many of ``rate_aggregate``'s columns name the group (then the report and response times of the
    cases judged by the definitions' limit, the number of cases, each rate's two counts)."""
    return _WIDTHS[group_by]


def _group_key(group_by: RateGroupBy, values: Sequence[Any]) -> str | None:
    if group_by is RateGroupBy.TOTAL:
        return "total"
    if group_by is RateGroupBy.CATEGORY:
        return str(values[0])
    if group_by is RateGroupBy.COMMUNITY:
        cid = community_id_of(values[0])
        return str(cid) if cid is not None else "street"
    kind, firm, area, partner, name = values
    if kind is None:
        return None  # not dispatched: no handling unit to judge
    unit = firm or area or partner or name or ""  # a record, or before 0045 a name (#22)
    return f"{HandlerKind(kind).value}:{unit}"


# The period and the clock as parameters, so that one built statement serves every request of the same scope.
_LO = bindparam("rate_lo", type_=DateTime(timezone=True))
_HI = bindparam("rate_hi", type_=DateTime(timezone=True))
_NOW = bindparam("rate_now", type_=DateTime(timezone=True))
# Built statements by (grouping, tenant, what the scope predicate is made of), least recently used first:
# building the statement's constructs took most of a request's CPU (5-7 ms of 8-13; issue #21), and they
# depend only on these. The tenant's filter is added at execution (tenants.session), as to any statement.
_BUILT: OrderedDict[tuple[Any, ...], Select[Any]] = OrderedDict()
_BUILT_SIZE = 256


def _statement(ctx: RequestContext, group_by: RateGroupBy, grant: Grant, path: str | None) -> Select[Any]:
    a = ctx.actor  # what case_predicate reads of the actor
    key = (group_by, ctx.tenant.id, grant, a.user_id, a.own_compound_path, a.today, path)
    stmt = _BUILT.get(key)
    if stmt is not None:
        _BUILT.move_to_end(key)
        return stmt
    stmt = _BUILT[key] = rate_aggregate(group_by, rate_filters(grant, a, _LO, _HI, path), _LO, _HI, _NOW)
    while len(_BUILT) > _BUILT_SIZE:
        _BUILT.popitem(last=False)
    return stmt


def rate_filters(grant: Grant, actor: Actor, lo: ColumnElement[datetime], hi: ColumnElement[datetime],
                 path: str | ColumnElement[str] | None) -> list[ColumnElement[bool]]:
    """The cases the rates count: reported in [lo, hi), not withdrawn, that the statistics ``grant`` reaches in
    full, inside the area of ``path`` (a SQL expression in the compiled read, compiled/rates.py)."""
    where = [Case.created_at >= lo, Case.created_at < hi, Case.state != CaseState.WITHDRAWN,
             case_predicate(grant, actor, public=False)]
    if path is not None:
        where.append(case_in_area(path))
    return where


def _closure(e: type[CaseEvent] | Any) -> ColumnElement[bool]:
    """A step into closed from another state."""
    return and_(e.to_state == _CLOSED, or_(e.from_state.is_(None), e.from_state != _CLOSED))


def _closed_again(lo: ColumnElement[datetime], hi: ColumnElement[datetime]
                  ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Of a case closed more than once, from its steps: whether one of its closures is in the period, and a 回访 at
    or after the first of those (in time and in the timeline)."""
    own = and_(CaseEvent.tenant_id == Case.tenant_id, CaseEvent.case_id == Case.id)
    in_period = and_(own, _closure(CaseEvent), CaseEvent.created_at >= lo, CaseEvent.created_at < hi)
    seq = select(func.min(CaseEvent.seq)).where(in_period).correlate(Case).scalar_subquery()
    at = (select(CaseEvent.created_at).where(in_period).order_by(CaseEvent.seq).limit(1).correlate(Case)
          .scalar_subquery())
    # (a min(), not EXISTS: PostgreSQL may plan an EXISTS as a hashed scan of every step of the period)
    called = (select(CaseEvent.seq).where(own, CaseEvent.action.in_(CALLBACK_ACTIONS), CaseEvent.seq >= seq,
                                         CaseEvent.created_at >= at).correlate(Case).exists())
    return seq.is_not(None), called


def rate_aggregate(group_by: RateGroupBy, where: list[ColumnElement[bool]], lo: ColumnElement[datetime],
                   hi: ColumnElement[datetime], now: ColumnElement[datetime], *, name: str = "rate") -> Select[Any]:
    """One statement: per group, the number of cases and each rate's numerator and denominator (the formulas
    of docs/domains/case-rates.md, as ``count(*) FILTER``), counted by the database over the cases of the
    period — one range scan of ``cases``: what the rates read of a case's stages and timeline is on its row
    (``models.cases.RATE_*``, kept by migration 0056's triggers), and only a case closed more than once has its
    closure in the period found among its steps. The 响应率 of a case without a 受理 stage due time needs the
    working calendar (the definitions' limit after the report): such cases form groups of their own, by report
    and response time, which Python judges (``_response_by_definitions``). ``name`` prefixes its subquery's name
    (a compiled document may ask for the rates twice)."""
    g_cols = _group_columns(group_by)
    verdict = counted_verdict_sql(Case.satisfied, Case.reporter_role, Case.callback_result, Case.callback_at,
                                  Case.closed_at)
    accept_due, responded_at = RATE_ACCEPT_DUE, RATE_RESPONDED_AT
    closed_again, called_again = _closed_again(lo, hi)
    once = RATE_CLOSES <= 1
    # closed in the period: the one closure's time in it, or (closed more than once) one of its closures in it
    closed = case((once, and_(RATE_CLOSED_AT >= lo, RATE_CLOSED_AT < hi)), else_=closed_again)
    called_back = case((once, RATE_CALLED_BACK), else_=called_again)

    by_stage = accept_due.is_not(None)
    responded = responded_at.is_not(None)
    returned = RATE_RETURNED.is_(True)
    reworked = or_(RATE_REWORKED.is_(True), Case.reopen_count > 0)
    resolved = Case.resolved_at.is_not(None)
    timed_out = and_(resolved, Case.due_at.is_not(None))
    rates: dict[str, tuple[ColumnElement[bool], ColumnElement[bool]]] = {  # rate: (denominator, numerator)
        "response": (and_(by_stage, or_(responded, accept_due < now)),
                     and_(by_stage, responded, responded_at <= accept_due)),
        "resolution": (Case.accepted_at.is_not(None),
                       and_(Case.accepted_at.is_not(None), Case.state.in_((CaseState.RESOLVED, CaseState.CLOSED)))),
        "satisfaction": (verdict.is_not(None), verdict.is_(True)),
        "on_time": (timed_out, and_(timed_out, Case.resolved_at <= Case.due_at)),
        "return": (or_(Case.dispatched_at.is_not(None), returned), returned),
        "rework": (or_(resolved, reworked), reworked),
        "callback": (closed.is_(True), and_(closed.is_(True), called_back.is_(True))),
    }
    # the cases judged by the definitions' response limit: grouped by report and response time
    reported = case((~by_stage, Case.created_at)).label("fallback_reported")
    answered = case((~by_stage, responded_at)).label("fallback_responded")
    last = [func.max(cast(Case.id, String))] if group_by is RateGroupBy.HANDLING_UNIT else []
    counts = [func.count().filter(x) for k in RATE_KEYS for x in rates[k]]
    if group_by is not RateGroupBy.COMMUNITY:
        return (select(*g_cols, reported, answered, func.count(), *counts, *last).where(*where)
                .group_by(*g_cols, reported, answered))
    # By community: the cases are counted per area (their path as a whole), then the areas' counts summed per
    # community — the path's prefix (substr) taken once per area, not per case (≈ a third of the statement's time
    # at 3,600 cases in the window).
    inner = (select(Case.area_path.label("g_area"), reported, answered, func.count().label("n"),
                    *[c.label(f"c{i}") for i, c in enumerate(counts)])
             .where(*where).group_by(Case.area_path, reported, answered).subquery(f"{name}_areas"))
    path = func.substr(inner.c.g_area, 1, _COMMUNITY_PREFIX).label("g_path")
    sums = [cast(func.sum(inner.c[k]), BigInteger) for k in ("n", *(f"c{i}" for i in range(len(counts))))]
    return (select(path, inner.c.fallback_reported, inner.c.fallback_responded, *sums)
            .group_by(path, inner.c.fallback_reported, inner.c.fallback_responded))


def _response_by_definitions(ratio: Ratio, n: int, reported: datetime, responded: datetime | None,
                             d: Definitions, calendar: WorkCalendar | None, now: datetime) -> None:
    """响应率 of ``n`` cases without a 受理 stage due time, reported and responded at the same times: by the
    definitions' response limit after the report (on the working calendar)."""
    due = deadline(calendar, aware(reported), d.response_amount, d.response_unit)
    if responded is not None or due < now:
        ratio.denominator += n
        ratio.numerator += n if responded is not None and aware(responded) <= due else 0


async def _labels(ctx: RequestContext, group_by: RateGroupBy, keys: Iterable[str]) -> dict[str, str]:
    """Names of the groups: one statement (categories or communities), or none (a handling unit's name is
    written on the case at dispatch: ``case_rates`` takes it from the rows)."""
    names: dict[str, str] = {}
    if group_by is RateGroupBy.CATEGORY:
        names = {code: name for code, name in await ctx.db.all(select(CaseCategory.code, CaseCategory.name))}
    elif group_by is RateGroupBy.COMMUNITY:
        ids = {uuid.UUID(k) for k in keys if k != "street"}
        names = {str(i): n for i, n in await ctx.db.all(select(Area.id, Area.name).where(Area.id.in_(ids)))}
    return labels_of(group_by, names)


def labels_of(group_by: RateGroupBy, names: dict[str, str]) -> dict[str, str]:
    """The groups' labels from the names read (categories by code, communities by id)."""
    if group_by is RateGroupBy.TOTAL:
        return {"total": t("合计", "total")}
    if group_by is RateGroupBy.COMMUNITY:
        return {**names, "street": t("街道直属", "street level")}
    return names if group_by is RateGroupBy.CATEGORY else {}


async def case_rates(ctx: RequestContext, *, start: date, end: date, group_by: RateGroupBy,
                     area_id: uuid.UUID | None = None) -> RatesResult:
    """The rates of the cases reported between two local dates (inclusive), grouped."""
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权查看统计", "you may not read statistics"), "areaId")
    lo, hi = local_bounds(start, end)
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(
            Area.id == area_id, area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    definitions = await load_definitions(ctx)
    # the tenant's calendar as the process keeps it per calendar version (no statement when kept)
    calendar = (await tenant_calendar(ctx.db)
                if definitions.response_unit is not SlaUnit.CALENDAR_HOURS else None)
    found = await ctx.db.all(_statement(ctx, group_by, grant, path), {_LO.key: lo, _HI.key: hi, _NOW.key: ctx.now})
    rows, named = rate_rows(group_by, found, definitions, calendar, ctx.now)
    labels = await _labels(ctx, group_by, rows)
    return RatesResult(start, end, group_by, definitions, labelled(group_by, rows, named, labels, definitions))


def rate_rows(group_by: RateGroupBy, found: Iterable[Sequence[Any]], definitions: Definitions,
              calendar: WorkCalendar | None, now: datetime
              ) -> tuple[dict[str, RateRow], dict[str, tuple[str, str | None]]]:
    """The groups' rows from ``rate_aggregate``'s rows (their counts summed per key, the 响应率 of the cases
    without a 受理 stage due time judged here), and per handling unit its latest case's id and name."""
    width = group_width(group_by)
    rows: dict[str, RateRow] = {}
    named: dict[str, tuple[str, str | None]] = {}  # handling unit → (its latest case's id, that case's name)
    for r in found:
        key = _group_key(group_by, r[:width])
        if key is None:
            continue
        reported, responded, n = r[width:width + 3]
        row = rows.setdefault(key, RateRow(key=key, label=key))
        row.cases += n
        counts = r[width + 3:width + 3 + 2 * len(RATE_KEYS)]
        for i, k in enumerate(RATE_KEYS):
            row.ratios[k].denominator += counts[2 * i]
            row.ratios[k].numerator += counts[2 * i + 1]
        if reported is not None:
            _response_by_definitions(row.ratios["response"], n, reported, responded, definitions, calendar, now)
        if group_by is RateGroupBy.HANDLING_UNIT:  # the name on the group's latest case (ids in the db's order)
            latest = r[-1]
            if key not in named or latest > named[key][0]:
                named[key] = (latest, r[width - 1])
    return rows, named


def labelled(group_by: RateGroupBy, rows: dict[str, RateRow], named: dict[str, tuple[str, str | None]],
             labels: dict[str, str], definitions: Definitions) -> list[RateRow]:
    """The rows named, scored (rounded by Python's round: ``score``) and sorted by key."""
    for key, row in rows.items():
        row.label = (named[key][1] or key) if key in named else labels.get(key, key)
    if group_by is RateGroupBy.TOTAL and not rows:
        rows["total"] = RateRow(key="total", label=labels["total"])
    for row in rows.values():
        row.score = score(row.ratios, definitions.weights)
    return sorted(rows.values(), key=lambda r: r.key)


def ranked(rows: list[RateRow]) -> list[RateRow]:
    """Handling units best first: by composite score (none last), then by more cases, then by key."""
    return sorted(rows, key=lambda r: (r.score is None, -(r.score or 0.0), -r.cases, r.key))
