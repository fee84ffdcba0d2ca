"""The steps of issue #22 beside the closed loop: 退单 (return to the dispatcher), 延期 (an extension the
handler asks for and the dispatcher grants or refuses), 转办 (transfer to another handler), 重办 (rework
after a failed check), 回访 (the call-back after closure) and 解除督办 (lifting supervision).

Each is a move of the case machine (resolvers.cases.machine): checked for reach, grant and state, written
as the conditional UPDATE on the case's version (of two at once exactly one wins), with its timeline entry,
its audit entry and the stage bookkeeping of resolvers.cases.stages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import (
    CallbackResult,
    Case,
    CaseEvent,
    CaseStage,
    CaseStageKind,
    CaseState,
)
from models.cases import aware
from resolvers.cases.handlers import NO_HANDLER, HandlerChoice, current_key, resolve_handler
from resolvers.cases.handling import due_time, sla_for
from resolvers.cases.machine import apply, check_note, load_for, notify_handler, send_notification
from resolvers.cases.stages import open_stage_of, tenant_calendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

__all__ = ["MAX_EXTENSION", "TransferInput", "decide_extension", "lift_supervision", "record_callback",
           "request_extension", "return_case", "rework_case", "transfer_case"]

MAX_EXTENSION = timedelta(days=90)  # an extension moves the due time by at most this much


async def _dispatcher(ctx: RequestContext, case: Case) -> uuid.UUID | None:
    """Who last sent the case to its handler (dispatch, transfer or rework): the one a return or an
    extension request goes to."""
    found: uuid.UUID | None = await ctx.db.scalar(
        select(CaseEvent.actor_user_id).where(CaseEvent.case_id == case.id,
                                              CaseEvent.action.in_(("dispatch", "transfer", "rework")),
                                              CaseEvent.actor_user_id.is_not(None))
        .order_by(CaseEvent.seq.desc()).limit(1))
    return found


async def _handling_stage(ctx: RequestContext, case: Case) -> CaseStage:
    stage = await open_stage_of(ctx.db, case)
    if stage is None or stage.stage is not CaseStageKind.HANDLE:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该事件不在处置环节", "the case is not being handled"), "id")
    return stage


# ---------------------------------------------------------------- 退单


async def return_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    """The handler gives the case back to the dispatcher with a reason: it is accepted again, without a
    handler or a due time, waiting for a new dispatch; ``return_count`` counts it (回退率)."""
    text = check_note(reason, "reason", required=True)
    case = await load_for(ctx, case_id, "return")
    dispatcher = await _dispatcher(ctx, case)
    handler = case.handler_name
    case = await apply(ctx, case, "return", CaseState.ACCEPTED, expected_version=expected_version,
                       values=NO_HANDLER | {"due_at": None, "return_count": case.return_count + 1},
                       note=text, detail={"handler": handler})
    await send_notification(ctx, case, "returned", f"事件 {case.number} 被{handler or '承办单位'}退回：{text}",
                            user_id=dispatcher)
    return case


# ---------------------------------------------------------------- 延期


async def request_extension(ctx: RequestContext, case_id: uuid.UUID, *, due_at: datetime, reason: str,
                            expected_version: int | None) -> Case:
    """The handler asks to move the 处置 stage's due time to ``due_at``; one request at a time."""
    text = check_note(reason, "reason", required=True)
    if due_at.tzinfo is None:
        raise ServiceError(ErrorCode.INVALID, t("请给出带时区的时间", "give a time with its offset"), "dueAt")
    case = await load_for(ctx, case_id, "request_extension")
    stage = await _handling_stage(ctx, case)
    if stage.requested_due_at is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("已有一项待审批的延期申请", "an extension request is already pending"),
                           "id")
    current = aware(case.due_at) if case.due_at is not None else ctx.now
    if due_at <= max(current, ctx.now):
        raise ServiceError(ErrorCode.INVALID, t("申请的时限须晚于当前时限和现在", "ask for a time after the current "
                                                "due time and after now"), "dueAt")
    if due_at > current + MAX_EXTENSION:
        raise ServiceError(ErrorCode.INVALID, t("一次延期最多 90 天", "an extension is at most 90 days"), "dueAt")
    case = await apply(ctx, case, "request_extension", None, expected_version=expected_version, values={},
                       note=text, detail={"due_at": due_at.isoformat(),
                                          "current_due_at": None if case.due_at is None else current.isoformat()})
    stage.requested_due_at = due_at
    await ctx.db.flush(stage)
    await send_notification(ctx, case, "extension_requested",
                            f"事件 {case.number} 申请延期至 {due_at:%Y-%m-%d %H:%M}：{text}",
                            user_id=await _dispatcher(ctx, case))
    return case


async def decide_extension(ctx: RequestContext, case_id: uuid.UUID, *, approve: bool, note: str | None,
                           expected_version: int | None) -> Case:
    """The dispatcher grants the pending request (the stage and the case are due at the new time, and
    an overrun is reported again) or refuses it (with a reason)."""
    text = check_note(note, "note", required=not approve)
    case = await load_for(ctx, case_id, "decide_extension")
    stage = await _handling_stage(ctx, case)
    if stage.requested_due_at is None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("没有待审批的延期申请", "no extension request is pending"),
                           "id")
    requested = aware(stage.requested_due_at)
    case = await apply(ctx, case, "decide_extension", None, expected_version=expected_version,
                       values={"due_at": requested} if approve else {}, note=text,
                       detail={"approved": approve, "due_at": requested.isoformat()})
    stage.requested_due_at = None
    if approve:
        stage.due_at, stage.extensions, stage.overdue_notified_at = requested, stage.extensions + 1, None
    await ctx.db.flush(stage)
    verdict = f"已批准，新时限 {requested:%Y-%m-%d %H:%M}" if approve else "未获批准"
    await notify_handler(ctx, case, "extension_decided",
                         f"事件 {case.number} 延期申请{verdict}" + (f"：{text}" if text else ""))
    return case


# ---------------------------------------------------------------- 转办


@dataclass
class TransferInput(HandlerChoice):
    reason: str = ""
    expected_version: int | None = None


async def _new_due(ctx: RequestContext, case: Case) -> datetime:
    rule = await sla_for(ctx, case.category_code, case.priority)
    return due_time(await tenant_calendar(ctx.db), ctx.now, rule.amount, rule.unit)


async def transfer_case(ctx: RequestContext, case_id: uuid.UUID, data: TransferInput) -> Case:
    """The dispatcher hands a case being handled to another handler (转办): a new 处置 stage, due by the
    SLA rule from now; both handlers are told."""
    text = check_note(data.reason, "reason", required=True)
    case = await load_for(ctx, case_id, "transfer")
    handler = await resolve_handler(ctx, case, data)  # a record, checked as dispatch checks it (issue #22)
    if handler.key() == current_key(case):
        raise ServiceError(ErrorCode.INVALID, t("转办须转给另一个承办单位", "transfer to another handler"),
                           "handlerKind")
    values, notify = dict(handler.values), handler.notify
    old_firm, old_area, old_partner, old_name = (case.handler_firm_id, case.handler_area_id, case.handler_partner_id,
                                                 case.handler_name)
    values |= {"due_at": await _new_due(ctx, case), "dispatched_at": ctx.now}
    case = await apply(ctx, case, "transfer", CaseState.DISPATCHED, expected_version=data.expected_version,
                       values=values, note=text, detail={"from": old_name, "to": values["handler_name"],
                                                         "due_at": values["due_at"].isoformat()})
    await send_notification(ctx, case, "dispatched", f"事件 {case.number} 已转给您办理：{case.title}", **notify)
    await send_notification(ctx, case, "transferred", f"事件 {case.number} 已转办至{case.handler_name}：{text}",
                            firm_id=old_firm, area_id=old_area, partner_unit_id=old_partner)
    return case


# ---------------------------------------------------------------- 重办


async def rework_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    """A resolved case whose check failed goes straight back to its handler (重办): a new 处置 stage, due by
    the SLA rule from now; counted in ``reopen_count`` (重办次数); a closure flag is settled by it."""
    text = check_note(reason, "reason", required=True)
    case = await load_for(ctx, case_id, "rework")
    if case.handler_kind is None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该事件没有承办单位，请重新派遣",
                                                           "the case has no handler; dispatch it"), "id")
    due = await _new_due(ctx, case)
    case = await apply(ctx, case, "rework", CaseState.DISPATCHED, expected_version=expected_version,
                       values={"due_at": due, "dispatched_at": ctx.now, "resolved_at": None,
                               "reopen_count": case.reopen_count + 1, "closure_flagged": False},
                       note=text, detail={"due_at": due.isoformat()})
    await notify_handler(ctx, case, "rework", f"事件 {case.number} 核查未通过，请重办：{text}")
    return case


# ---------------------------------------------------------------- 回访


async def record_callback(ctx: RequestContext, case_id: uuid.UUID, *, result: CallbackResult, note: str | None,
                          expected_version: int | None) -> Case:
    """The call-back after closure (回访), once per closure, with the reporter's answer as staff heard it
    (relayed). NOT_SOLVED reopens the case for a new dispatch and counts in ``reopen_count``; any result
    settles a closure flag."""
    text = check_note(note, "note", required=result is CallbackResult.NOT_SOLVED)
    case = await load_for(ctx, case_id, "callback")
    if case.callback_at is not None and (case.closed_at is None or aware(case.callback_at) >= aware(case.closed_at)):
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该事件本次办结已回访", "the case was already called back"),
                           "id")
    values: dict[str, Any] = {"callback_result": result.value, "callback_at": ctx.now, "closure_flagged": False}
    reopen = result is CallbackResult.NOT_SOLVED
    if reopen:
        values |= {"reopen_count": case.reopen_count + 1, "resolved_at": None, "closed_at": None}
    case = await apply(ctx, case, "callback", CaseState.REOPENED if reopen else CaseState.CLOSED,
                       expected_version=expected_version, values=values, note=text,
                       detail={"result": result.value, "relayed": True})
    if reopen:
        await notify_handler(ctx, case, "reopened", f"事件 {case.number} 回访未解决，已重新打开：{text}")
    return case


# ---------------------------------------------------------------- 解除督办


async def lift_supervision(ctx: RequestContext, case_id: uuid.UUID, *, note: str | None,
                           expected_version: int | None) -> Case:
    """Whoever may supervise lifts the case's 督办 (the grant of ``supervise``)."""
    text = check_note(note)
    case = await load_for(ctx, case_id, "lift_supervision", "supervise")
    if not case.supervised:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该事件未在督办中", "the case is not under supervision"),
                           "id")
    case = await apply(ctx, case, "lift_supervision", None, expected_version=expected_version,
                       values={"supervised": False}, note=text)
    await notify_handler(ctx, case, "supervision_lifted", f"事件 {case.number} 已解除督办")
    return case
