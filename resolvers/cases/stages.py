"""The stages of a case (办理环节, issue #22): which stage each state belongs to, opening a stage with its
due time and completing it, kept in ``case_stages`` (models.case_stages).

Every move of the case machine calls :func:`after_move` (resolvers.cases.machine's timeline hook), the
report opens 受理, the system's closing of a case opens 回访. Due times are computed once, when a stage
opens, on the tenant's working calendar (loaded once per transaction, ``_calendar``); reads and the
overdue job only compare them with the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, union_all, update

from models import (
    CalendarOverride,
    Case,
    CaseStage,
    CaseStageKind,
    CaseStageLimit,
    CaseState,
    PlatformCalendarDay,
    SlaUnit,
    tier_of,
)
from models.bounded import keep
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import CALENDAR_VERSION, Db

__all__ = ["STAGE_OF", "after_move", "calendar_changed", "close_stage", "due_after", "kept_calendar", "open_stage",
           "stage_limit", "stage_row", "stage_values", "tenant_calendar"]

S = CaseState
K = CaseStageKind
# The stage a case is in while in a state; none while resolved (waiting for the verdict) or finished.
STAGE_OF: dict[CaseState, CaseStageKind] = {
    S.REPORTED: K.ACCEPT,
    S.ACCEPTED: K.DISPATCH,
    S.REOPENED: K.DISPATCH,
    S.DISPATCHED: K.HANDLE,
    S.IN_PROGRESS: K.HANDLE,
    S.CLOSED: K.CALLBACK,
}
# Steps that start the stage afresh although the stage stays the same (a new handler, a new due time).
_RESTART = frozenset({"transfer"})
_CALENDAR_KEY = "gongzhi.work_calendar"
_PLAIN = WorkCalendar()  # for calendar hours and days, which no working day changes


# The working calendar per tenant, kept by the process with the tenant's ``calendar_version`` it was loaded
# at (issue #21). Every change of a tenant's calendar bumps the version in the same transaction, and every
# request's first statement reads it (``CALENDAR_VERSION`` in the session's info), so a change made by any
# process is seen by this one on its next request; a request of an older version never reads a newer entry.
_kept: dict[Any, tuple[int, WorkCalendar]] = {}
_KEPT_MAX = 4096


async def tenant_calendar(db: Db) -> WorkCalendar:
    """The tenant's working calendar (overrides over the platform's arrangements over the package), loaded
    once per session, and once per calendar version in a process (no statement when it is kept)."""
    known = kept_calendar(db)
    if known is not None:
        return known
    info = db.session.info
    tenant_id, version = info.get("tenant_id"), info.get(CALENDAR_VERSION)
    kept = _kept.get(tenant_id) if tenant_id is not None and version is not None else None
    # The tenant's overrides and the platform's loaded days in one statement (issue #21: a round trip
    # fewer for each transaction that opens a stage on working time).
    rows = await db.all(union_all(
        select(CalendarOverride.day, CalendarOverride.workday, literal(True).label("own")),
        select(PlatformCalendarDay.day, PlatformCalendarDay.workday, literal(False).label("own")),
    ))
    calendar = WorkCalendar(overrides={d: w for d, w, own in rows if own},
                            arrangement={d: w for d, w, own in rows if not own})
    info[_CALENDAR_KEY] = calendar
    if tenant_id is not None and version is not None and (kept is None or kept[0] < version):
        keep(_kept, tenant_id, (version, calendar), _KEPT_MAX)
    return calendar


def kept_calendar(db: Db) -> WorkCalendar | None:
    """The tenant's working calendar when this session or this process has it for the version the request's
    first statement read (no statement); None: ``tenant_calendar`` must load it."""
    info = db.session.info
    cached = info.get(_CALENDAR_KEY)
    if isinstance(cached, WorkCalendar):
        return cached
    tenant_id, version = info.get("tenant_id"), info.get(CALENDAR_VERSION)
    kept = _kept.get(tenant_id) if tenant_id is not None and version is not None else None
    if kept is not None and kept[0] == version:
        info[_CALENDAR_KEY] = kept[1]
        return kept[1]
    return None


def calendar_changed(db: Db) -> None:
    """This transaction changed the tenant's calendar (and bumped its version): the rest of it reads the
    calendar afresh, and keeps nothing under the version its first statement read."""
    db.session.info.pop(_CALENDAR_KEY, None)
    db.session.info.pop(CALENDAR_VERSION, None)


def due_after(calendar: WorkCalendar, start: datetime, amount: float, unit: SlaUnit) -> datetime:
    """``start`` plus a limit: working hours or days on the calendar, calendar hours or days as such."""
    if unit is SlaUnit.WORKING_DAYS:
        return calendar.add_working_days(start, max(1, round(amount)))
    if unit is SlaUnit.WORKING_HOURS:
        return calendar.add_working_hours(start, amount)
    if unit is SlaUnit.CALENDAR_DAYS:
        return start + timedelta(days=amount)
    return start + timedelta(hours=amount)


async def stage_limit(db: Db, stage: CaseStageKind, case: Case) -> CaseStageLimit | None:
    """The limit of a stage for the case's category and tier: the category's own, else the default."""
    rows = await db.scalars(select(CaseStageLimit).where(
        CaseStageLimit.stage == stage, CaseStageLimit.tier == tier_of(case.priority),
        (CaseStageLimit.category_code == case.category_code) | CaseStageLimit.category_code.is_(None)))
    specific = [r for r in rows if r.category_code == case.category_code]
    return next(iter(specific or [r for r in rows if r.category_code is None]), None)


async def open_stage(db: Db, case: Case, stage: CaseStageKind, now: datetime, *, first: bool = False,
                     last_seq: int | None = None) -> CaseStage:
    """Open ``stage`` for the case from ``now``: 处置 is due at the case's due time (the SLA rule that
    dispatch applied), the others after the tenant's stage limit (none: no due time). ``first``: the case's
    first stage (its report), numbered 1 without asking; ``last_seq``: the case's highest stage number,
    known from ``close_stage`` (not asked again)."""
    if stage is K.HANDLE:
        due = case.due_at
    else:
        limit = await stage_limit(db, stage, case)
        if limit is None:
            due = None
        else:  # the calendar only for working time (two statements, once per transaction)
            working = limit.unit in (SlaUnit.WORKING_HOURS, SlaUnit.WORKING_DAYS)
            calendar = await tenant_calendar(db) if working else _PLAIN
            due = due_after(calendar, now, limit.amount, limit.unit)
    seq = 0 if first else last_seq if last_seq is not None else await db.scalar(
        select(func.coalesce(func.max(CaseStage.seq), 0)).where(CaseStage.case_id == case.id))
    row = stage_row(case, int(seq or 0) + 1, stage, now, due)
    await db.flush(row)
    return row


def stage_row(case: Case, seq: int, stage: CaseStageKind, now: datetime, due: datetime | None) -> CaseStage:
    """A stage of the case opened at ``now`` (its row, not yet written)."""
    return CaseStage(**stage_values(case.id, seq, stage, now, due))


def stage_values(case_id: Any, seq: int, stage: CaseStageKind, now: datetime, due: datetime | None) -> dict[str, Any]:
    """A stage's values (``stage_row``'s row; the report's on the driver, resolvers.cases.report_fast)."""
    return dict(case_id=case_id, seq=seq, stage=stage, started_at=now, due_at=due, extensions=0, created_at=now)


async def close_stage(db: Db, case: Case, outcome: str, now: datetime) -> int | None:
    """Complete the case's open stage (if any) by the step ``outcome``. Returns the highest number of the
    stages it closed, which is the case's highest stage number (None: none was open): every stage is numbered
    after the highest when opened, and stages are completed only here, all open ones at once, so while any
    is open the newest is (issue #21: ``open_stage`` then asks no ``max(seq)``)."""
    closed = await db.all(update(CaseStage).where(CaseStage.case_id == case.id, CaseStage.completed_at.is_(None))
                          .values(completed_at=now, outcome=outcome, requested_due_at=None)
                          .returning(CaseStage.seq).execution_options(synchronize_session=False))
    return max((int(r[0]) for r in closed), default=None)


async def open_stage_of(db: Db, case: Case) -> CaseStage | None:
    row: CaseStage | None = await db.scalar(
        select(CaseStage).where(CaseStage.case_id == case.id, CaseStage.completed_at.is_(None))
        .order_by(CaseStage.seq.desc()).limit(1))
    return row


async def after_move(db: Db, case: Case, action: str, from_state: CaseState, to_state: CaseState,
                     now: datetime) -> None:
    """Keep the stages in step with a move of the case (the machine's timeline hook calls it)."""
    if action == "callback":  # the 回访 done: it completes 回访; "not solved" reopens, back to 派遣
        last = await close_stage(db, case, action, now)
        if to_state is S.REOPENED:
            await open_stage(db, case, K.DISPATCH, now, last_seq=last)
        return
    before, after = STAGE_OF.get(from_state), STAGE_OF.get(to_state)
    if before is after and action not in _RESTART:
        return
    last = await close_stage(db, case, action, now)
    if after is not None:
        await open_stage(db, case, after, now, last_seq=last)
