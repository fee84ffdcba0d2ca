"""Handling a case after its report: accept, reject, dispatch with its SLA deadline, start, resolve,
close, reopen, supervision (督办), urging, escalation, the reporter's feedback, and the closing of
cases whose waiting period for feedback ran out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import (
    Area,
    Case,
    CaseEvent,
    CasePriority,
    CaseSettings,
    CaseStageKind,
    CaseState,
    SlaRule,
    SlaUnit,
)
from resolvers import validation as v
from resolvers.cases.closure import closure_check
from resolvers.cases.handlers import HandlerChoice, resolve_handler
from resolvers.cases.machine import (
    CASE,
    MAX_PHOTOS,
    apply,
    check_note,
    load_for,
    notify_handler,
    own_unattached_photos,
    send_notification,
)
from resolvers.cases.reads import get_case
from resolvers.cases.stages import open_stage, tenant_calendar
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import Db, RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.idempotency import checked_key, keyed_row, once
from resolvers.transitions import system_move


async def simple_transition(ctx: RequestContext, case_id: uuid.UUID, action: str, *, note: str | None,
                            expected_version: int | None) -> Case:
    """accept, start, close — no extra fields."""
    text = check_note(note)
    case = await load_for(ctx, case_id, action)
    now_field = {"accept": "accepted_at", "close": "closed_at"}.get(action)
    values: dict[str, Any] = {now_field: ctx.now} if now_field else {}
    if action == "close":  # closed after the check: a fast closure's flag is settled (issue #22)
        values["closure_flagged"] = False
    return await apply(ctx, case, action, None, expected_version=expected_version, values=values, note=text)


async def reject_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    text = check_note(reason, "reason", required=True)
    case = await load_for(ctx, case_id, "reject")
    return await apply(ctx, case, "reject", CaseState.REJECTED, expected_version=expected_version,
                       values={"reject_reason": text, "closed_at": ctx.now}, note=text)


async def withdraw_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str | None,
                        expected_version: int | None) -> Case:
    """The reporter takes back a report nobody has accepted yet (撤回, issue #23): final, kept in
    the timeline and the ledgers, counted nowhere as handled. Of a withdrawal and an acceptance at
    the same moment exactly one wins (the conditional UPDATE of every transition)."""
    text = check_note(reason, "reason")
    case = await load_for(ctx, case_id, "withdraw")
    return await apply(ctx, case, "withdraw", CaseState.WITHDRAWN, expected_version=expected_version,
                       values={"closed_at": ctx.now}, note=text)


async def reopen_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    text = check_note(reason, "reason", required=True)
    case = await load_for(ctx, case_id, "reopen")
    return await apply(ctx, case, "reopen", CaseState.REOPENED, expected_version=expected_version,
                       values={"reopen_count": case.reopen_count + 1, "resolved_at": None}, note=text)


async def resolve_case(ctx: RequestContext, case_id: uuid.UUID, *, resolution: str, photo_ids: list[uuid.UUID],
                       expected_version: int | None) -> Case:
    text = v.text(resolution, "resolution", max_len=2000)
    photos = list(dict.fromkeys(photo_ids))
    if len(photos) > MAX_PHOTOS:
        raise ServiceError(ErrorCode.INVALID, t(f"最多 {MAX_PHOTOS} 张照片",
                                                f"at most {MAX_PHOTOS} photos"), "photoIds")
    case = await load_for(ctx, case_id, "resolve")
    attachments = await own_unattached_photos(ctx, photos)
    honest, detail = await closure_check(ctx.db, case, len(attachments), ctx.now)  # issue #22
    for a in attachments:
        a.case_id = case.id
    if attachments:
        await ctx.db.flush(*attachments)
    return await apply(ctx, case, "resolve", CaseState.RESOLVED, expected_version=expected_version,
                       values={"resolved_at": ctx.now, "resolution": text, **honest}, note=text,
                       attachments=[str(a.id) for a in attachments], detail=detail)


# ---------------------------------------------------------------- dispatch and deadlines


async def sla_for(ctx: RequestContext, category: str, priority: CasePriority) -> SlaRule:
    rules: Sequence[SlaRule] = await ctx.db.scalars(
        select(SlaRule).where(SlaRule.priority == priority,
                              (SlaRule.category_code == category) | SlaRule.category_code.is_(None))
    )
    specific = [r for r in rules if r.category_code == category]
    rule = next(iter(specific or [r for r in rules if r.category_code is None]), None)
    if rule is None:
        raise ServiceError(ErrorCode.INVALID, t(f"本街道没有 {category}/{priority.value} 的办理时限规则",
                                                f"the tenant has no SLA rule for {category}/{priority.value}"),
                           "priority")
    return rule


def due_time(calendar: WorkCalendar, start: datetime, amount: float, unit: SlaUnit) -> datetime:
    if unit is SlaUnit.WORKING_DAYS:
        return calendar.add_working_days(start, max(1, round(amount)))
    if unit is SlaUnit.WORKING_HOURS:
        return calendar.add_working_hours(start, amount)
    if unit is SlaUnit.CALENDAR_DAYS:
        return start + timedelta(days=amount)
    return start + timedelta(hours=amount)


@dataclass
class DispatchInput(HandlerChoice):
    note: str | None = None
    expected_version: int | None = None


async def dispatch_case(ctx: RequestContext, case_id: uuid.UUID, data: DispatchInput) -> Case:
    text = check_note(data.note)
    case = await load_for(ctx, case_id, "dispatch")
    handler = await resolve_handler(ctx, case, data)  # a record of this tenant (issues #22, #24)
    values = dict(handler.values)
    rule = await sla_for(ctx, case.category_code, case.priority)
    # The calendar kept per (tenant, calendar version), as every stage's due time reads it (issue #21: two
    # statements fewer per dispatch).
    values["due_at"] = due_time(await tenant_calendar(ctx.db), ctx.now, rule.amount, rule.unit)
    values["dispatched_at"] = ctx.now
    detail = {"handler": values["handler_name"], "due_at": values["due_at"].isoformat(),
              "sla": f"{rule.amount:g} {rule.unit.value}"}
    case = await apply(ctx, case, "dispatch", CaseState.DISPATCHED, expected_version=data.expected_version,
                       values=values, note=text, detail=detail)
    await send_notification(ctx, case, "dispatched", f"事件 {case.number} 已派给您办理：{case.title}",
                            **handler.notify)
    return case


# ---------------------------------------------------------------- supervision (督办)


async def supervise_case(ctx: RequestContext, case_id: uuid.UUID, *, note: str | None,
                         expected_version: int | None) -> Case:
    text = check_note(note)
    case = await load_for(ctx, case_id, "supervise")
    if case.supervised:
        raise ServiceError(ErrorCode.CONFLICT, t("该事件已在督办中", "the case is already under supervision"), "id")
    case = await apply(ctx, case, "supervise", None, expected_version=expected_version,
                       values={"supervised": True, "supervised_at": ctx.now}, note=text)
    await notify_handler(ctx, case, "supervised", f"事件 {case.number} 已列入督办：{case.title}")
    return case


async def urge_case(ctx: RequestContext, case_id: uuid.UUID, *, note: str, expected_version: int | None) -> Case:
    text = check_note(note, "reason", required=True)
    case = await load_for(ctx, case_id, "urge", "supervise")
    case = await apply(ctx, case, "urge", None, expected_version=expected_version, values={}, note=text)
    await notify_handler(ctx, case, "urged", f"催办 {case.number}：{text}")
    return case


async def escalate_case(ctx: RequestContext, case_id: uuid.UUID, *, area_id: uuid.UUID, note: str | None,
                        expected_version: int | None) -> Case:
    text = check_note(note)
    case = await load_for(ctx, case_id, "escalate", "supervise")
    target = await ctx.db.scalar(select(Area).where(Area.id == area_id))
    if target is None or not case.area_path.startswith(target.path) or target.path == case.area_path:
        raise ServiceError(ErrorCode.INVALID, t("只能上报到事件所在区域的上级区域",
                                                "escalate to an area above the case's area"), "areaId")
    case = await apply(ctx, case, "escalate", None, expected_version=expected_version,
                       values={"escalated_to_area_id": target.id, "supervised": True,
                                "supervised_at": case.supervised_at or ctx.now},
                       note=text, detail={"to": target.name})
    await send_notification(ctx, case, "escalated", f"事件 {case.number} 上报至{target.name}：{case.title}",
                            area_id=target.id)
    await notify_handler(ctx, case, "escalated", f"事件 {case.number} 已上报至{target.name}")
    return case


# ---------------------------------------------------------------- feedback and closing


async def give_feedback(ctx: RequestContext, case_id: uuid.UUID, *, satisfied: bool, comment: str | None,
                        expected_version: int | None, idempotency_key: str | None = None) -> Case:
    """The reporter's verdict. With an idempotency key, a retry answers with the case as it is now
    (the feedback entry of the timeline carries the key); the key with another case or verdict is
    IDEMPOTENCY_KEY_REUSED."""
    text = None if comment is None else v.text(comment, "comment", max_len=500, required=False) or None
    if not satisfied and not text:
        raise ServiceError(ErrorCode.INVALID, t("请说明仍有哪些问题", "say what is still wrong"), "comment")
    key = checked_key(idempotency_key)

    async def earlier() -> Case | None:
        assert key is not None
        entry = await keyed_row(ctx, CaseEvent, CaseEvent.actor_user_id, key, lambda e: (
            e.case_id == case_id and e.action == "feedback" and e.detail.get("satisfied") == satisfied
            and e.note == text))
        return None if entry is None else await get_case(ctx, case_id)

    return await once(ctx, key, earlier, lambda: _feedback(ctx, case_id, satisfied, text, expected_version, key))


async def _feedback(ctx: RequestContext, case_id: uuid.UUID, satisfied: bool, text: str | None,
                    expected_version: int | None, key: str | None) -> Case:
    case = await load_for(ctx, case_id, "feedback")
    if case.reporter_user_id != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有报告人可以反馈", "only the reporter gives feedback"), "id")
    if satisfied:
        return await apply(ctx, case, "feedback", CaseState.CLOSED, expected_version=expected_version,
                           values={"satisfied": True, "feedback_comment": text, "closed_at": ctx.now}, note=text,
                           detail={"satisfied": True}, idempotency_key=key)
    case = await apply(ctx, case, "feedback", CaseState.REOPENED, expected_version=expected_version,
                       values={"satisfied": False, "feedback_comment": text, "reopen_count": case.reopen_count + 1,
                                "resolved_at": None},
                       note=text, detail={"satisfied": False}, idempotency_key=key)
    await notify_handler(ctx, case, "reopened", f"事件 {case.number} 群众不满意，已重新打开：{text}")
    return case


# ---------------------------------------------------------------- waiting period (lazy job)


async def close_waiting_cases(db: Db, *, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Close resolved cases whose reporter gave no feedback within the tenant's waiting period.

    Returns the events to publish. Runs in a session bound to one tenant: by
    ``gongzhi close-waiting-cases`` (cron) and by the server's periodic task. Each close is a
    conditional update plus a system timeline entry, so a reporter's feedback arriving at the same
    moment wins or loses cleanly.
    """
    days = await db.scalar(select(CaseSettings.feedback_wait_days))
    cutoff = now - timedelta(days=7 if days is None else int(days))
    due = await db.scalars(
        select(Case).where(Case.state == CaseState.RESOLVED, Case.resolved_at.is_not(None),
                           Case.resolved_at <= cutoff).order_by(Case.id).limit(limit)
    )
    closed: list[dict[str, Any]] = []
    for case in due:
        # The case machine's close, by the system: audited with its fields before → after.
        if await system_move(db, CASE, case, "close", now=now, audit_action="system.closeWaitingCase",
                             values={"closed_at": now}, area_path=case.area_path) is None:
            continue
        await db.flush(CaseEvent(case_id=case.id, seq=case.version, action="auto_close",
                                 from_state=CaseState.RESOLVED.value, to_state=CaseState.CLOSED.value,
                                 actor_user_id=None, actor_role=None,
                                 note="no feedback within the waiting period", attachments=[], detail={},
                                 created_at=now))
        await open_stage(db, case, CaseStageKind.CALLBACK, now)  # 回访 is due from the closure (issue #22)
        closed.append({"topic": "case", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                       "area_path": case.area_path, "action": "auto_close", "state": CaseState.CLOSED.value,
                       "seq": case.version})
    return closed
