"""The rates (考核指标) of case handling, as a 12345 platform judges a street office (issue #22): 响应率,
解决率, 满意率, 按时办结率, 回退率, 重办率, 回访率 and a weighted composite score, per area (community),
handling unit, category or in total, for a month, a quarter or a range of local dates; and the ranking
of handling units. Definitions, formulas and defaults: docs/domains/case-rates.md.

Every figure is a count of the cases *reported in the period* that the actor may read in full (the
statistics grant, as the review's figures), and the answer is a fixed number of statements whatever
the number of cases: the tenant's definitions, the calendar (two), the cases (each with its 受理 stage's due
time), their timeline steps that the rates count, and the names of the groups."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from models import Area, Case, CaseCategory, CaseEvent, CaseStage, CaseStageKind, CaseState, SlaUnit, community_id_of
from policies.cases import case_in_area, case_predicate
from policies.filters import area_read_predicate
from resolvers.cases.calendar import work_calendar
from resolvers.cases.rate_definitions import NEGATIVE, RATE_KEYS, Definitions, load_definitions
from resolvers.cases.reads import aware
from resolvers.cases.review import local_bounds
from resolvers.cases.verdicts import counted_verdict
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


@dataclass
class _CaseFacts:
    """What the rates need of one case."""

    case: Case
    accept_due: datetime | None = None  # the due time of the case's first 受理 stage (case_stages)
    responded_at: datetime | None = None
    returned: bool = False
    reworked: bool = False
    closed_in_period: datetime | None = None  # the first step into closed inside the period
    called_back: bool = False  # a 回访 at or after that closure


def _deadline(calendar: WorkCalendar | None, start: datetime, amount: float, unit: SlaUnit) -> datetime:
    if unit.value == "calendar_days":  # a unit the stage work adds (issue #22)
        return start + timedelta(days=amount)
    if unit is SlaUnit.WORKING_DAYS and calendar is not None:
        return calendar.add_working_days(start, max(1, round(amount)))
    if unit is SlaUnit.WORKING_HOURS and calendar is not None:
        return calendar.add_working_hours(start, amount)
    return start + timedelta(hours=amount)


def count_case(row: RateRow, f: _CaseFacts, d: Definitions, calendar: WorkCalendar | None, now: datetime) -> None:
    """Add one case to a group's ratios (the formulas of docs/domains/case-rates.md)."""
    c = f.case
    row.cases += 1
    r = row.ratios
    # The 受理 stage's due time (the tenant's stage limit for the case's category and tier, moved by nothing);
    # a case without one (stored before the stages, or a tier without a limit) is judged by the definitions'
    # response limit after its report.
    deadline = (aware(f.accept_due) if f.accept_due is not None
                else _deadline(calendar, aware(c.created_at), d.response_amount, d.response_unit))
    responded = f.responded_at is not None
    # 响应率: responded (accepted or rejected, completing 受理) by that due time, of those responded or overdue
    r["response"].add(responded or deadline < now, responded and aware(f.responded_at) <= deadline)  # type: ignore[arg-type]
    accepted = c.accepted_at is not None
    done = c.state in (CaseState.RESOLVED, CaseState.CLOSED)
    # 解决率: resolved or closed now, of the accepted cases
    r["resolution"].add(accepted, done)
    # 满意率: residents' verdicts (their own, or relayed at 回访; never a staff self-rating), satisfied of all
    verdict = counted_verdict(c.satisfied, c.reporter_role, c.callback_result, c.callback_at, c.closed_at)
    r["satisfaction"].add(verdict is not None, bool(verdict))
    # 按时办结率: resolved by the due time, of the resolved cases with a due time
    r["on_time"].add(c.resolved_at is not None and c.due_at is not None,
                     c.resolved_at is not None and c.due_at is not None and aware(c.resolved_at) <= aware(c.due_at))
    # 回退率: returned to the dispatcher at least once, of the dispatched cases
    r["return"].add(c.dispatched_at is not None or f.returned, f.returned)
    # 重办率: reopened or reworked at least once, of the cases resolved at least once
    reworked = f.reworked or c.reopen_count > 0
    r["rework"].add(c.resolved_at is not None or reworked, reworked)
    # 回访率: called back (回访) after that closure, of the cases closed in the period (a "not solved" 回访
    # reopens the case: it was closed and called back all the same)
    r["callback"].add(f.closed_in_period is not None, f.called_back)


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


def _group_key(c: Case, group_by: RateGroupBy) -> str | None:
    if group_by is RateGroupBy.TOTAL:
        return "total"
    if group_by is RateGroupBy.CATEGORY:
        return c.category_code
    if group_by is RateGroupBy.COMMUNITY:
        cid = community_id_of(c.area_path)
        return str(cid) if cid is not None else "street"
    if c.handler_kind is None:
        return None  # not dispatched: no handling unit to judge
    unit = c.handler_firm_id or c.handler_area_id or c.handler_partner_id or c.handler_name or ""  # a record (#22)
    return f"{c.handler_kind.value}:{unit}"


async def _labels(ctx: RequestContext, group_by: RateGroupBy, facts: Iterable[_CaseFacts]) -> dict[str, str]:
    """Names of the groups: one statement (categories or communities), or none."""
    if group_by is RateGroupBy.TOTAL:
        return {"total": t("合计", "total")}
    if group_by is RateGroupBy.CATEGORY:
        return {code: name for code, name in await ctx.db.all(select(CaseCategory.code, CaseCategory.name))}
    if group_by is RateGroupBy.COMMUNITY:
        ids = {cid for f in facts if (cid := community_id_of(f.case.area_path)) is not None}
        names = {str(i): n for i, n in await ctx.db.all(select(Area.id, Area.name).where(Area.id.in_(ids)))}
        return {**names, "street": t("街道直属", "street level")}
    out = {}
    for f in facts:  # the handler's name is written on the case at dispatch
        key = _group_key(f.case, group_by)
        if key is not None:
            out[key] = f.case.handler_name or key
    return out


async def case_rates(ctx: RequestContext, *, start: date, end: date, group_by: RateGroupBy,
                     area_id: uuid.UUID | None = None) -> RatesResult:
    """The rates of the cases reported between two local dates (inclusive), grouped."""
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权查看统计", "you may not read statistics"), "areaId")
    lo, hi = local_bounds(start, end)
    where = [Case.created_at >= lo, Case.created_at < hi, Case.state != CaseState.WITHDRAWN,
             case_predicate(grant, ctx.actor, public=False)]
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(
            Area.id == area_id, area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
        where.append(case_in_area(path))
    definitions = await load_definitions(ctx)
    calendar = (await work_calendar(ctx)
                if definitions.response_unit is not SlaUnit.CALENDAR_HOURS else None)
    # the first 受理 stage's due time rides along with each case (no statement of its own)
    accept_due = (select(CaseStage.due_at).where(CaseStage.case_id == Case.id, CaseStage.stage == CaseStageKind.ACCEPT)
                  .order_by(CaseStage.seq).limit(1).correlate(Case).scalar_subquery())
    loaded = await ctx.db.all(select(Case, accept_due).where(*where).order_by(Case.id))
    facts = {c.id: _CaseFacts(c, accept_due=due) for c, due in loaded}
    if facts:
        steps = await ctx.db.all(
            select(CaseEvent.case_id, CaseEvent.action, CaseEvent.from_state, CaseEvent.to_state, CaseEvent.created_at)
            .where(CaseEvent.case_id.in_(select(Case.id).where(*where)),
                   CaseEvent.action.in_(COUNTED_ACTIONS) | CaseEvent.to_state.in_((CaseState.REOPENED.value, _CLOSED)))
            .order_by(CaseEvent.case_id, CaseEvent.seq))
        for case_id, action, from_state, to_state, at in steps:
            f = facts.get(case_id)
            if f is None:
                continue
            if action in RESPONSE_ACTIONS and f.responded_at is None:
                f.responded_at = at
            f.returned |= action in RETURN_ACTIONS
            f.reworked |= action in REWORK_ACTIONS or to_state == CaseState.REOPENED.value
            if to_state == _CLOSED and from_state != _CLOSED and f.closed_in_period is None and lo <= aware(at) < hi:
                f.closed_in_period = aware(at)
            if action in CALLBACK_ACTIONS and f.closed_in_period is not None and aware(at) >= f.closed_in_period:
                f.called_back = True
    labels = await _labels(ctx, group_by, facts.values())
    rows: dict[str, RateRow] = {}
    for f in facts.values():
        key = _group_key(f.case, group_by)
        if key is None:
            continue
        row = rows.setdefault(key, RateRow(key=key, label=labels.get(key, key)))
        count_case(row, f, definitions, calendar, ctx.now)
    if group_by is RateGroupBy.TOTAL and not rows:
        rows["total"] = RateRow(key="total", label=labels["total"])
    for row in rows.values():
        row.score = score(row.ratios, definitions.weights)
    return RatesResult(start, end, group_by, definitions, sorted(rows.values(), key=lambda r: r.key))


def ranked(rows: list[RateRow]) -> list[RateRow]:
    """Handling units best first: by composite score (none last), then by more cases, then by key."""
    return sorted(rows, key=lambda r: (r.score is None, -(r.score or 0.0), -r.cases, r.key))
