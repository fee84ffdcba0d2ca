"""The case rates counted the way ``resolvers/cases/rates.py`` counted them before issue #21: every case of
the period loaded as an ORM object with its timeline steps, each rate counted in Python. Kept as the
reference the aggregate in SQL is held to (tests/cases/test_case_rates_oracle.py); the formulas are
docs/domains/case-rates.md's. Not used by the application."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from models import Area, Case, CaseCategory, CaseEvent, CaseStage, CaseStageKind, CaseState, SlaUnit, community_id_of
from policies.cases import case_in_area, case_predicate
from policies.filters import area_read_predicate
from resolvers.cases.calendar import work_calendar
from resolvers.cases.rate_definitions import Definitions, load_definitions
from resolvers.cases.rates import (
    CALLBACK_ACTIONS,
    COUNTED_ACTIONS,
    RESPONSE_ACTIONS,
    RETURN_ACTIONS,
    REWORK_ACTIONS,
    RateGroupBy,
    RateRow,
    RatesResult,
    deadline,
    score,
)
from resolvers.cases.reads import aware
from resolvers.cases.review import local_bounds
from resolvers.cases.verdicts import counted_verdict
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

_CLOSED = CaseState.CLOSED.value


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


def count_case(row: RateRow, f: _CaseFacts, d: Definitions, calendar: WorkCalendar | None, now: datetime) -> None:
    """Add one case to a group's ratios (the formulas of docs/domains/case-rates.md)."""
    c = f.case
    row.cases += 1
    r = row.ratios
    due = (aware(f.accept_due) if f.accept_due is not None
           else deadline(calendar, aware(c.created_at), d.response_amount, d.response_unit))
    responded = f.responded_at is not None
    r["response"].add(responded or due < now, responded and aware(f.responded_at) <= due)  # type: ignore[arg-type]
    accepted = c.accepted_at is not None
    done = c.state in (CaseState.RESOLVED, CaseState.CLOSED)
    r["resolution"].add(accepted, done)
    verdict = counted_verdict(c.satisfied, c.reporter_role, c.callback_result, c.callback_at, c.closed_at)
    r["satisfaction"].add(verdict is not None, bool(verdict))
    r["on_time"].add(c.resolved_at is not None and c.due_at is not None,
                     c.resolved_at is not None and c.due_at is not None and aware(c.resolved_at) <= aware(c.due_at))
    r["return"].add(c.dispatched_at is not None or f.returned, f.returned)
    reworked = f.reworked or c.reopen_count > 0
    r["rework"].add(c.resolved_at is not None or reworked, reworked)
    r["callback"].add(f.closed_in_period is not None, f.called_back)


def _group_key(c: Case, group_by: RateGroupBy) -> str | None:
    if group_by is RateGroupBy.TOTAL:
        return "total"
    if group_by is RateGroupBy.CATEGORY:
        return c.category_code
    if group_by is RateGroupBy.COMMUNITY:
        cid = community_id_of(c.area_path)
        return str(cid) if cid is not None else "street"
    if c.handler_kind is None:
        return None
    unit = c.handler_firm_id or c.handler_area_id or c.handler_partner_id or c.handler_name or ""
    return f"{c.handler_kind.value}:{unit}"


async def _labels(ctx: RequestContext, group_by: RateGroupBy, facts: Iterable[_CaseFacts]) -> dict[str, str]:
    if group_by is RateGroupBy.TOTAL:
        return {"total": t("合计", "total")}
    if group_by is RateGroupBy.CATEGORY:
        return {code: name for code, name in await ctx.db.all(select(CaseCategory.code, CaseCategory.name))}
    if group_by is RateGroupBy.COMMUNITY:
        ids = {cid for f in facts if (cid := community_id_of(f.case.area_path)) is not None}
        names = {str(i): n for i, n in await ctx.db.all(select(Area.id, Area.name).where(Area.id.in_(ids)))}
        return {**names, "street": t("街道直属", "street level")}
    out = {}
    for f in facts:
        key = _group_key(f.case, group_by)
        if key is not None:
            out[key] = f.case.handler_name or key
    return out


async def oracle_case_rates(ctx: RequestContext, *, start: date, end: date, group_by: RateGroupBy,
                            area_id: uuid.UUID | None = None) -> RatesResult:
    """The rates of the cases reported between two local dates (inclusive), grouped: the old loop."""
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
