"""Cases (事件/诉求): report → accept → dispatch → handle → resolve → close, with rejection,
reopening, supervision (督办), reporter feedback and an immutable timeline. This module holds the
state machine and what every write of a case shares: loading a case for an action, applying a
transition, its timeline entry, notes and notifications.

Every transition is checked three ways: the actor may read the case (else NOT_FOUND), the actor's
grant for the action reaches the case (else FORBIDDEN), and the state machine allows it (else
INVALID_TRANSITION naming the current state). It is then written as
``UPDATE cases … WHERE id = :id AND version = :seen AND state IN (:from)``: of two conflicting
transitions at once exactly one updates a row, the other gets CONFLICT.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect, select

from models import OPEN_STATES, Attachment, Case, CaseEvent, CaseState, Notification
from policies.cases import case_predicate
from policies.roles import Role, rank
from resolvers import validation as v
from resolvers.cases import kept_cases
from resolvers.cases.reads import read_predicate
from resolvers.cases.stages import after_move
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.transitions import Move, Moved, StateMachine, transition

S = CaseState
# action → (states it may start from, state it leads to); None: the state does not change; the
# reporter's feedback closes a resolved case, or reopens it when they are not satisfied.
TRANSITIONS: dict[str, Move[CaseState]] = {
    "accept": (frozenset({S.REPORTED}), S.ACCEPTED),
    "reject": (frozenset({S.REPORTED}), S.REJECTED),
    "withdraw": (frozenset({S.REPORTED}), S.WITHDRAWN),
    "dispatch": (frozenset({S.ACCEPTED, S.REOPENED}), S.DISPATCHED),
    "start": (frozenset({S.DISPATCHED}), S.IN_PROGRESS),
    "resolve": (frozenset({S.IN_PROGRESS}), S.RESOLVED),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
    "reopen": (frozenset({S.RESOLVED}), S.REOPENED),
    "supervise": (OPEN_STATES, None),
    "urge": (OPEN_STATES, None),
    "escalate": (OPEN_STATES, None),
    "feedback": (frozenset({S.RESOLVED}), frozenset({S.CLOSED, S.REOPENED})),
    # the steps of issue #22 (resolvers.cases.steps): 退单 back to the dispatcher, 延期 asked and decided,
    # 转办 to another handler, 重办 after a failed check, 回访 after closure ("not solved" reopens), 解除督办
    "return": (frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.ACCEPTED),
    "request_extension": (frozenset({S.DISPATCHED, S.IN_PROGRESS}), None),
    "decide_extension": (frozenset({S.DISPATCHED, S.IN_PROGRESS}), None),
    "transfer": (frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.DISPATCHED),
    "rework": (frozenset({S.RESOLVED}), S.DISPATCHED),
    "callback": (frozenset({S.CLOSED}), frozenset({S.CLOSED, S.REOPENED})),
    "lift_supervision": (frozenset(CaseState), None),
    # a system step (resolvers.cases.overdue): a stage ran over; maybe 督办 on the tenant's say-so
    "stage_overdue": (frozenset(CaseState), None),
}
MAX_PHOTOS = 9


def acting_role(ctx: RequestContext) -> str:
    roles = ctx.actor.roles
    return roles[0].value if roles else ""


def is_resident_only(ctx: RequestContext) -> bool:
    """The actor holds no role above resident: their reports land on the problem wall."""
    return all(rank(r) <= rank(Role.RESIDENT) for r in ctx.actor.roles)


async def own_unattached_photos(ctx: RequestContext, ids: list[uuid.UUID]) -> list[Attachment]:
    if not ids:
        return []
    rows = await ctx.db.scalars(
        select(Attachment).where(Attachment.id.in_(ids), Attachment.uploader_user_id == ctx.actor.user_id,
                                 Attachment.case_id.is_(None))
    )
    if len(rows) != len(ids):
        raise ServiceError(ErrorCode.INVALID, t("照片须是您本人上传且尚未使用的",
                                                "photos must be your own uploads, not yet used"), "photoIds")
    return list(rows)


async def load_for(ctx: RequestContext, case_id: uuid.UUID, action: str, permission: str | None = None) -> Case:
    # The case as its reader sees it and whether the action's grant reaches it, in one statement (issue
    # #21: one round trip and one ORM statement fewer per step); a case the actor may not read is
    # NOT_FOUND before one they may read but not act on is FORBIDDEN, as with two.
    grant = ctx.actor.grant("case", permission or action)
    found = await ctx.db.all(select(Case, case_predicate(grant, ctx.actor, public=False).label("allowed"))
                             .where(Case.id == case_id, read_predicate(ctx)))
    if not found:
        raise ServiceError(ErrorCode.NOT_FOUND, t("事件不存在", "case not found"), "id")
    case: Case = found[0][0]
    if not found[0][1]:
        raise ServiceError(ErrorCode.FORBIDDEN, t(f"您无权对该事件执行 {action}",
                                                  f"you may not {action} this case"), "id")
    CASE.check(case, action)
    return case


async def apply(
    ctx: RequestContext, case: Case, action: str, to_state: CaseState | None, *, expected_version: int | None,
    values: dict[str, Any], note: str | None, attachments: list[str] | None = None,
    detail: dict[str, Any] | None = None, idempotency_key: str | None = None,
) -> Case:
    kept_cases.forget_case(ctx.tenant.id, case.id)  # the step's fast path reads it afresh (resolvers.cases.kept_cases)
    await transition(ctx, CASE, case, action, expected_version=expected_version, values=values, to_state=to_state,
                     timeline={"note": note, "attachments": attachments or [], "detail": detail or {},
                               "idempotency_key": idempotency_key})
    return case


async def _timeline(ctx: RequestContext, case: Case, moved: Moved[CaseState]) -> None:
    e = moved.entry
    ev = await record_event(ctx, case, moved.action, moved.from_state,
                       None if moved.to_state is moved.from_state else moved.to_state,
                       note=e.get("note"), attachments=e.get("attachments"), detail=e.get("detail"),
                       idempotency_key=e.get("idempotency_key"), flush=False)
    await after_move(ctx.db, case, moved.action, moved.from_state, moved.to_state, ctx.now)
    await notify_concerned(ctx, case, moved.action)
    if inspect(ev).pending:  # not yet written by a stage's or notification's flush above, with theirs
        await ctx.db.flush()


CASE: StateMachine[CaseState] = StateMachine(
    noun="case", noun_zh="事件", model=Case, moves=TRANSITIONS, timeline=_timeline,
    lost=("事件已被他人处理（当前为 {now}），请重新加载后再试",
          "the case was changed by someone else (now {now}); reload and retry"),
)

async def record_event(
    ctx: RequestContext, case: Case, action: str, from_state: CaseState | None, to_state: CaseState | None,
    *, note: str | None, attachments: list[str] | None = None, detail: dict[str, Any] | None = None,
    system: bool = False, idempotency_key: str | None = None, flush: bool = True,
) -> CaseEvent:
    """The case's timeline entry for this step, and its event for subscribers. ``flush=False``: the
    caller's next flush writes it, in one unit of work with its other rows (issue #21: a flush costs more
    Python than its INSERT); that flush must come before the mutation ends, whose audit entry lists what
    its flushes wrote."""
    ev = case_event(ctx, case, action, from_state, to_state, note=note, attachments=attachments, detail=detail,
                    system=system, idempotency_key=idempotency_key)
    if flush:
        await ctx.db.flush(ev)
    else:
        await ctx.db.add(ev)
    ctx.events.append(case_topic_event(case, action))
    return ev


def case_event(
    ctx: RequestContext, case: Case, action: str, from_state: CaseState | None, to_state: CaseState | None,
    *, note: str | None, attachments: list[str] | None = None, detail: dict[str, Any] | None = None,
    system: bool = False, idempotency_key: str | None = None,
) -> CaseEvent:
    """The timeline entry of a step (its row, not yet written)."""
    return CaseEvent(**event_values(ctx, case.id, case.version, case.state, action, from_state, to_state, note=note,
                                    attachments=attachments, detail=detail, system=system,
                                    idempotency_key=idempotency_key))


def event_values(
    ctx: RequestContext, case_id: uuid.UUID, version: int, state: CaseState, action: str,
    from_state: CaseState | None, to_state: CaseState | None, *, note: str | None, attachments: list[str] | None = None,
    detail: dict[str, Any] | None = None, system: bool = False, idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A timeline entry's values (``case_event``'s row; the report's on the driver, resolvers.cases.report_fast)
    for the case at ``version`` in ``state``."""
    return dict(
        case_id=case_id, seq=version, action=action,
        from_state=from_state.value if from_state else None,
        to_state=(to_state or state).value,
        actor_user_id=None if system else ctx.actor.user_id,
        actor_role=None if system else acting_role(ctx),
        note=note, attachments=attachments or [], detail=detail or {}, created_at=ctx.now,
        idempotency_key=idempotency_key,
    )


def case_topic_event(case: Case, action: str) -> dict[str, Any]:
    """A step's event for subscribers, published once the request commits."""
    return topic_event(case.tenant_id, case.id, case.area_path, action, case.state, case.version)


def topic_event(tenant_id: uuid.UUID, case_id: uuid.UUID, area_path: str, action: str, state: CaseState,
                version: int) -> dict[str, Any]:
    return {
        "topic": "case", "tenant_id": str(tenant_id), "case_id": str(case_id), "area_path": area_path,
        "action": action, "state": state.value, "seq": version,
    }


def check_note(value: str | None, field: str = "note", required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ServiceError(ErrorCode.INVALID, t(f"{field} 不能为空", f"{field} must not be empty"), field)
        return None
    return v.text(value, field, max_len=1000, required=required) or None


async def send_notification(ctx: RequestContext, case: Case, kind: str, message: str, *,
                            firm_id: uuid.UUID | None = None, area_id: uuid.UUID | None = None,
                            user_id: uuid.UUID | None = None, partner_unit_id: uuid.UUID | None = None) -> None:
    values = notification_values(ctx, case, kind, message, firm_id=firm_id, area_id=area_id, user_id=user_id,
                                 partner_unit_id=partner_unit_id)
    if values is not None:
        await ctx.db.flush(Notification(**values))


def notification_values(ctx: RequestContext, case: Any, kind: str, message: str, *,
                        firm_id: uuid.UUID | None = None, area_id: uuid.UUID | None = None,
                        user_id: uuid.UUID | None = None, partner_unit_id: uuid.UUID | None = None,
                        ) -> dict[str, Any] | None:
    """A notification's row about ``case`` (None: nobody to tell) and its event for subscribers, queued; the row
    is written by the caller (``send_notification``; a step on the driver, resolvers.cases.steps_fast)."""
    if firm_id is None and area_id is None and user_id is None and partner_unit_id is None:
        return None
    ctx.events.append({"topic": "notification", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                       "kind": kind})
    return dict(user_id=user_id, firm_id=firm_id, area_id=area_id, partner_unit_id=partner_unit_id, case_id=case.id,
                kind=kind, message=message[:500], created_at=ctx.now)


async def notify_handler(ctx: RequestContext, case: Case, kind: str, message: str) -> None:
    await send_notification(ctx, case, kind, message, firm_id=case.handler_firm_id, area_id=case.handler_area_id,
                            partner_unit_id=case.handler_partner_id)


# Everyone concerned hears of a case's progress (issue #22): the reporter of the steps that answer them, the
# supervisor (whoever put the case under 督办 or escalated it) of the handler's steps. The handler hears of
# what is asked of it through notify_handler at each step. Nobody is told of their own step.
_REPORTER_HEARS = {
    "accept": ("已受理", "accepted"), "reject": ("不予受理", "rejected"), "dispatch": ("已派单", "dispatched"),
    "transfer": ("已转办", "transferred"), "resolve": ("已办结，请评价", "resolved; please give your verdict"),
    "close": ("已结案", "closed"), "rework": ("核查未通过，已重办", "sent back for rework"),
}
_SUPERVISOR_HEARS = {
    "start": ("承办单位已开始办理", "the handler started"), "resolve": ("已办结", "resolved"),
    "return": ("被承办单位退回", "returned by the handler"),
    "request_extension": ("承办单位申请延期", "the handler asked for an extension"),
    "transfer": ("已转办", "transferred"),
}


async def _supervisor(ctx: RequestContext, case: Case) -> uuid.UUID | None:
    found: uuid.UUID | None = await ctx.db.scalar(
        select(CaseEvent.actor_user_id).where(CaseEvent.case_id == case.id,
                                              CaseEvent.action.in_(("supervise", "escalate")),
                                              CaseEvent.actor_user_id.is_not(None))
        .order_by(CaseEvent.seq.desc()).limit(1))
    return found


async def notify_concerned(ctx: RequestContext, case: Case, action: str) -> None:
    notice = reporter_notice(ctx, case, action)
    if notice is not None:
        await send_notification(ctx, case, "progress", notice[0], user_id=notice[1])
    if supervisor_hears(case, action):
        notice = supervisor_notice(ctx, case, action, await _supervisor(ctx, case))
        if notice is not None:
            await send_notification(ctx, case, "supervision_update", notice[0], user_id=notice[1])


def reporter_notice(ctx: RequestContext, case: Any, action: str) -> tuple[str, uuid.UUID] | None:
    """What the reporter hears of the step, and who that is (None: nothing, or they took it themselves)."""
    said = _REPORTER_HEARS.get(action)
    if said is None or case.reporter_user_id == ctx.actor.user_id:
        return None
    handler = f"（{case.handler_name}）" if action in ("dispatch", "transfer") and case.handler_name else ""
    return f"您上报的事件 {case.number}「{case.title}」{said[0]}{handler}", case.reporter_user_id


def supervisor_hears(case: Any, action: str) -> bool:
    """Whether the case's supervisor is told of the step (then ``_supervisor`` is asked who that is)."""
    return action in _SUPERVISOR_HEARS and bool(case.supervised)


def supervisor_notice(ctx: RequestContext, case: Any, action: str,
                      supervisor: uuid.UUID | None) -> tuple[str, uuid.UUID] | None:
    """What the supervisor hears of the step (None: nobody, or someone already told: the actor, the reporter)."""
    told = {ctx.actor.user_id}
    if action in _REPORTER_HEARS:
        told.add(case.reporter_user_id)
    if supervisor is None or supervisor in told:
        return None
    return f"督办事件 {case.number}「{case.title}」{_SUPERVISOR_HEARS[action][0]}", supervisor
