"""Cases (事件/诉求): report → accept → dispatch → handle → resolve → close, with rejection,
reopening, supervision (督办), reporter feedback and an immutable timeline.

Every transition is checked three ways: the actor may read the case (else NOT_FOUND), the actor's
grant for the action reaches the case (else FORBIDDEN), and the state machine allows it (else
INVALID_TRANSITION naming the current state). It is then written as
``UPDATE cases … WHERE id = :id AND version = :seen AND state IN (:from)``: of two conflicting
transitions at once exactly one updates a row, the other gets CONFLICT.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean, median
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from models import (
    OPEN_STATES,
    Area,
    AreaKind,
    Attachment,
    CalendarOverride,
    Case,
    CaseCategory,
    CaseEvent,
    CasePriority,
    CaseReview,
    CaseSettings,
    CaseState,
    HandlerKind,
    Notification,
    PropertyFirm,
    SlaRule,
    SlaUnit,
    uuid7,
)
from policies.filters import area_reach_predicate, case_in_area, case_predicate
from policies.roles import Role, rank
from resolvers import validation as v
from resolvers.cases.workcalendar import WorkCalendar
from resolvers.context import Db, RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import Move, Moved, StateMachine, transition, write_if

S = CaseState
# action → (states it may start from, state it leads to); None: the state does not change; the
# reporter's feedback closes a resolved case, or reopens it when they are not satisfied.
TRANSITIONS: dict[str, Move[CaseState]] = {
    "accept": (frozenset({S.REPORTED}), S.ACCEPTED),
    "reject": (frozenset({S.REPORTED}), S.REJECTED),
    "dispatch": (frozenset({S.ACCEPTED, S.REOPENED}), S.DISPATCHED),
    "start": (frozenset({S.DISPATCHED}), S.IN_PROGRESS),
    "resolve": (frozenset({S.IN_PROGRESS}), S.RESOLVED),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
    "reopen": (frozenset({S.RESOLVED}), S.REOPENED),
    "supervise": (OPEN_STATES, None),
    "urge": (OPEN_STATES, None),
    "escalate": (OPEN_STATES, None),
    "feedback": (frozenset({S.RESOLVED}), frozenset({S.CLOSED, S.REOPENED})),
}
MAX_PHOTOS = 9


def read_predicate(ctx: RequestContext, *, public: bool = True):  # type: ignore[no-untyped-def]
    return case_predicate(ctx.actor.grant("case", "read"), ctx.actor, public=public)


def _acting_role(ctx: RequestContext) -> str:
    roles = ctx.actor.roles
    return roles[0].value if roles else ""


def is_resident_only(ctx: RequestContext) -> bool:
    """The actor holds no role above resident: their reports land on the problem wall."""
    return all(rank(r) <= rank(Role.RESIDENT) for r in ctx.actor.roles)


# ---------------------------------------------------------------- reads


@dataclass
class CaseFilter:
    area_id: uuid.UUID | None = None
    states: list[CaseState] | None = None
    category: str | None = None
    supervised: bool | None = None
    overdue: bool | None = None
    reported_by_me: bool | None = None
    assigned_to_me: bool | None = None


async def list_cases(ctx: RequestContext, f: CaseFilter, *, first: int | None, after: str | None) -> Page[Case]:
    stmt = select(Case).where(read_predicate(ctx))
    if f.area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == f.area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(case_in_area(path))
    if f.states:
        stmt = stmt.where(Case.state.in_(f.states))
    if f.category:
        stmt = stmt.where(Case.category_code == f.category)
    if f.supervised is not None:
        stmt = stmt.where(Case.supervised.is_(f.supervised))
    if f.overdue is not None:
        late = and_(Case.state.in_(OPEN_STATES), Case.due_at.is_not(None), Case.due_at < ctx.now)
        stmt = stmt.where(late if f.overdue else ~late)
    if f.reported_by_me:
        stmt = stmt.where(Case.reporter_user_id == ctx.actor.user_id)
    if f.assigned_to_me:
        firms = [a.firm_id for a in ctx.actor.assignments if a.firm_id is not None]
        stmt = stmt.where(Case.handler_firm_id.in_(firms))
    # Newest first: keyset on the id (UUIDv7), descending.
    return await keyset_page(ctx.db, stmt, Case.id, first=first, after=after, descending=True)


async def get_case(ctx: RequestContext, case_id: uuid.UUID) -> Case | None:
    return await ctx.db.scalar(select(Case).where(Case.id == case_id, read_predicate(ctx)))


def is_overdue(case: Case, now: datetime) -> bool:
    due = case.due_at
    if due is None or case.state not in OPEN_STATES:
        return False
    return _aware(due) < now


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


async def categories(ctx: RequestContext) -> list[CaseCategory]:
    return list(await ctx.db.scalars(select(CaseCategory).where(CaseCategory.active.is_(True))
                                     .order_by(CaseCategory.code)))


# ---------------------------------------------------------------- report


@dataclass
class ReportInput:
    area_id: uuid.UUID
    category: str
    priority: CasePriority
    title: str
    description: str = ""
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_ids: list[uuid.UUID] | None = None
    idempotency_key: str | None = None


_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _case_number(now: datetime) -> str:
    """Local date and 8 random base32 characters (40 bits): a collision among a day's reports is
    negligible, and one is retried anyway."""
    local = now.astimezone(WorkCalendar().tz)
    bits = int.from_bytes(os.urandom(5), "big")
    suffix = "".join(_NUMBER_ALPHABET[(bits >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"{local:%Y%m%d}-{suffix}"


async def report_case(ctx: RequestContext, data: ReportInput) -> Case:
    actor = ctx.actor
    key = None
    if data.idempotency_key is not None:
        key = v.text(data.idempotency_key, "idempotencyKey", max_len=64)
        existing = await ctx.db.scalar(
            select(Case).where(Case.reporter_user_id == actor.user_id, Case.idempotency_key == key)
        )
        if existing is not None:
            return existing  # a retry of a request that already succeeded: the same case
    errors = FieldErrors()
    title = errors.check(v.text, data.title, "title", max_len=100)
    description = errors.check(v.text, data.description, "description", max_len=5000, required=False)
    location = None
    if data.location_text is not None:
        location = errors.check(lambda x: v.text(x, "locationText", max_len=200, required=False) or None,
                                data.location_text)
    if (data.latitude is None) != (data.longitude is None):
        errors.add(ErrorCode.INVALID, "give both latitude and longitude, or neither", "latitude")
    elif data.latitude is not None and data.longitude is not None:
        if not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
            errors.add(ErrorCode.INVALID, "coordinates out of range", "latitude")
    category = await ctx.db.scalar(
        select(CaseCategory).where(CaseCategory.code == data.category, CaseCategory.active.is_(True))
    )
    if category is None:
        errors.add(ErrorCode.INVALID, f"unknown case category {data.category!r}", "category")
    photos = list(dict.fromkeys(data.photo_ids or []))
    if len(photos) > MAX_PHOTOS:
        errors.add(ErrorCode.INVALID, f"at most {MAX_PHOTOS} photos", "photoIds")
    errors.raise_if_any()
    area = await ctx.db.scalar(select(Area).where(Area.id == data.area_id))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
    grant = actor.grant("case", "report")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area.id, area_reach_predicate(grant, actor))
    ) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not report cases in this area", "areaId")
    attachments = await _own_unattached_photos(ctx, photos)
    case: Case | None = None
    for _attempt in range(3):
        case = Case(
            id=uuid7(), number=_case_number(ctx.now), area_id=area.id, area_path=area.path,
            category_code=data.category, priority=data.priority, title=title, description=description or "",
            location_text=location, latitude=data.latitude, longitude=data.longitude, state=CaseState.REPORTED,
            reporter_user_id=actor.user_id, reporter_role=_acting_role(ctx), on_wall=is_resident_only(ctx),
            idempotency_key=key, supervised=False, reopen_count=0, version=1, updated_at=ctx.now,
            created_at=ctx.now,
        )
        try:
            async with ctx.db.savepoint():
                await ctx.db.flush(case)
            break
        except IntegrityError:
            # Either a concurrent retry with the same idempotency key committed first (answer with
            # its case), or the random case number collided (draw another).
            if key is not None:
                existing = await ctx.db.scalar(
                    select(Case).where(Case.reporter_user_id == actor.user_id, Case.idempotency_key == key)
                )
                if existing is not None:
                    return existing
    else:
        raise ServiceError(ErrorCode.CONFLICT, "could not allocate a case number; retry", "title")
    assert case is not None
    for a in attachments:
        a.case_id = case.id
    if attachments:
        await ctx.db.flush(*attachments)
    await _event(ctx, case, "report", None, CaseState.REPORTED, note=None,
                 attachments=[str(a.id) for a in attachments])
    return case


async def _own_unattached_photos(ctx: RequestContext, ids: list[uuid.UUID]) -> list[Attachment]:
    if not ids:
        return []
    rows = await ctx.db.scalars(
        select(Attachment).where(Attachment.id.in_(ids), Attachment.uploader_user_id == ctx.actor.user_id,
                                 Attachment.case_id.is_(None))
    )
    if len(rows) != len(ids):
        raise ServiceError(ErrorCode.INVALID, "photos must be your own uploads, not yet used", "photoIds")
    return list(rows)


# ---------------------------------------------------------------- transitions


async def _load_for(ctx: RequestContext, case_id: uuid.UUID, action: str, permission: str | None = None) -> Case:
    case = await get_case(ctx, case_id)
    if case is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "case not found", "id")
    grant = ctx.actor.grant("case", permission or action)
    allowed = await ctx.db.scalar(
        select(Case.id).where(Case.id == case_id, case_predicate(grant, ctx.actor, public=False))
    )
    if allowed is None:
        raise ServiceError(ErrorCode.FORBIDDEN, f"you may not {action} this case", "id")
    CASE.check(case, action)
    return case


async def _apply(
    ctx: RequestContext, case: Case, action: str, to_state: CaseState | None, *, expected_version: int | None,
    values: dict[str, Any], note: str | None, attachments: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> Case:
    await transition(ctx, CASE, case, action, expected_version=expected_version, values=values, to_state=to_state,
                     timeline={"note": note, "attachments": attachments or [], "detail": detail or {}})
    return case


async def _timeline(ctx: RequestContext, case: Case, moved: Moved[CaseState]) -> None:
    e = moved.entry
    await _event(ctx, case, moved.action, moved.from_state,
                 None if moved.to_state is moved.from_state else moved.to_state,
                 note=e.get("note"), attachments=e.get("attachments"), detail=e.get("detail"))


CASE: StateMachine[CaseState] = StateMachine(
    noun="case", model=Case, moves=TRANSITIONS, timeline=_timeline,
    lost="the case was changed by someone else (now {now}); reload and retry",
)

async def _event(
    ctx: RequestContext, case: Case, action: str, from_state: CaseState | None, to_state: CaseState | None,
    *, note: str | None, attachments: list[str] | None = None, detail: dict[str, Any] | None = None,
    system: bool = False,
) -> CaseEvent:
    ev = CaseEvent(
        case_id=case.id, seq=case.version, action=action,
        from_state=from_state.value if from_state else None,
        to_state=(to_state or case.state).value,
        actor_user_id=None if system else ctx.actor.user_id,
        actor_role=None if system else _acting_role(ctx),
        note=note, attachments=attachments or [], detail=detail or {}, created_at=ctx.now,
    )
    await ctx.db.flush(ev)
    ctx.events.append({
        "topic": "case", "tenant_id": str(case.tenant_id), "case_id": str(case.id), "area_path": case.area_path,
        "action": action, "state": case.state.value, "seq": case.version,
    })
    return ev


def _note(value: str | None, field: str = "note", required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ServiceError(ErrorCode.INVALID, f"{field} must not be empty", field)
        return None
    return v.text(value, field, max_len=1000, required=required) or None


async def simple_transition(ctx: RequestContext, case_id: uuid.UUID, action: str, *, note: str | None,
                            expected_version: int | None) -> Case:
    """accept, start, close — no extra fields."""
    text = _note(note)
    case = await _load_for(ctx, case_id, action)
    now_field = {"accept": "accepted_at", "close": "closed_at"}.get(action)
    values: dict[str, Any] = {now_field: ctx.now} if now_field else {}
    return await _apply(ctx, case, action, None, expected_version=expected_version, values=values, note=text)


async def reject_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    text = _note(reason, "reason", required=True)
    case = await _load_for(ctx, case_id, "reject")
    return await _apply(ctx, case, "reject", CaseState.REJECTED, expected_version=expected_version,
                        values={"reject_reason": text, "closed_at": ctx.now}, note=text)


async def reopen_case(ctx: RequestContext, case_id: uuid.UUID, *, reason: str, expected_version: int | None) -> Case:
    text = _note(reason, "reason", required=True)
    case = await _load_for(ctx, case_id, "reopen")
    return await _apply(ctx, case, "reopen", CaseState.REOPENED, expected_version=expected_version,
                        values={"reopen_count": case.reopen_count + 1, "resolved_at": None}, note=text)


async def resolve_case(ctx: RequestContext, case_id: uuid.UUID, *, resolution: str, photo_ids: list[uuid.UUID],
                       expected_version: int | None) -> Case:
    text = v.text(resolution, "resolution", max_len=2000)
    photos = list(dict.fromkeys(photo_ids))
    if len(photos) > MAX_PHOTOS:
        raise ServiceError(ErrorCode.INVALID, f"at most {MAX_PHOTOS} photos", "photoIds")
    case = await _load_for(ctx, case_id, "resolve")
    attachments = await _own_unattached_photos(ctx, photos)
    for a in attachments:
        a.case_id = case.id
    if attachments:
        await ctx.db.flush(*attachments)
    return await _apply(ctx, case, "resolve", CaseState.RESOLVED, expected_version=expected_version,
                        values={"resolved_at": ctx.now, "resolution": text}, note=text,
                        attachments=[str(a.id) for a in attachments])


# ---------------------------------------------------------------- dispatch and deadlines


async def work_calendar(ctx: RequestContext) -> WorkCalendar:
    rows = await ctx.db.all(select(CalendarOverride.day, CalendarOverride.workday))
    return WorkCalendar(overrides={d: w for d, w in rows})


async def sla_for(ctx: RequestContext, category: str, priority: CasePriority) -> SlaRule:
    rules = await ctx.db.scalars(
        select(SlaRule).where(SlaRule.priority == priority,
                              (SlaRule.category_code == category) | SlaRule.category_code.is_(None))
    )
    specific = [r for r in rules if r.category_code == category]
    rule = (specific or [r for r in rules if r.category_code is None] or [None])[0]
    if rule is None:
        raise ServiceError(ErrorCode.INVALID, f"the tenant has no SLA rule for {category}/{priority.value}",
                           "priority")
    return rule


def due_time(calendar: WorkCalendar, start: datetime, amount: float, unit: SlaUnit) -> datetime:
    if unit is SlaUnit.WORKING_DAYS:
        return calendar.add_working_days(start, max(1, round(amount)))
    if unit is SlaUnit.WORKING_HOURS:
        return calendar.add_working_hours(start, amount)
    return start + timedelta(hours=amount)


@dataclass
class DispatchInput:
    handler_kind: HandlerKind
    firm_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    partner_name: str | None = None
    note: str | None = None
    expected_version: int | None = None


async def dispatch_case(ctx: RequestContext, case_id: uuid.UUID, data: DispatchInput) -> Case:
    text = _note(data.note)
    case = await _load_for(ctx, case_id, "dispatch")
    values: dict[str, Any] = {"handler_kind": data.handler_kind, "handler_firm_id": None, "handler_area_id": None}
    notify: dict[str, Any] = {}
    if data.handler_kind is HandlerKind.PROPERTY_FIRM:
        firm = None if data.firm_id is None else await ctx.db.scalar(
            select(PropertyFirm).where(PropertyFirm.id == data.firm_id))
        if firm is None:
            raise ServiceError(ErrorCode.INVALID, "name the property firm that handles the case", "firmId")
        values |= {"handler_firm_id": firm.id, "handler_name": firm.name}
        notify = {"firm_id": firm.id}
    elif data.handler_kind is HandlerKind.COMMUNITY:
        community = None if data.community_id is None else await ctx.db.scalar(
            select(Area).where(Area.id == data.community_id, Area.kind == AreaKind.COMMUNITY))
        if community is None or not case.area_path.startswith(community.path):
            raise ServiceError(ErrorCode.INVALID, "name the community the case lies in", "communityId")
        values |= {"handler_area_id": community.id, "handler_name": community.name}
        notify = {"area_id": community.id}
    else:
        name = v.text(data.partner_name or "", "partnerName", max_len=100)
        values |= {"handler_name": name}
    rule = await sla_for(ctx, case.category_code, case.priority)
    values["due_at"] = due_time(await work_calendar(ctx), ctx.now, rule.amount, rule.unit)
    values["dispatched_at"] = ctx.now
    detail = {"handler": values["handler_name"], "due_at": values["due_at"].isoformat(),
              "sla": f"{rule.amount:g} {rule.unit.value}"}
    case = await _apply(ctx, case, "dispatch", CaseState.DISPATCHED, expected_version=data.expected_version,
                        values=values, note=text, detail=detail)
    await _notify(ctx, case, "dispatched", f"事件 {case.number} 已派给您办理：{case.title}", **notify)
    return case


async def _notify(ctx: RequestContext, case: Case, kind: str, message: str, *, firm_id: uuid.UUID | None = None,
                  area_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None) -> None:
    if firm_id is None and area_id is None and user_id is None:
        return
    await ctx.db.flush(Notification(user_id=user_id, firm_id=firm_id, area_id=area_id, case_id=case.id, kind=kind,
                                    message=message[:500], created_at=ctx.now))
    ctx.events.append({"topic": "notification", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                       "kind": kind})


async def _notify_handler(ctx: RequestContext, case: Case, kind: str, message: str) -> None:
    await _notify(ctx, case, kind, message, firm_id=case.handler_firm_id, area_id=case.handler_area_id)


# ---------------------------------------------------------------- supervision (督办)


async def supervise_case(ctx: RequestContext, case_id: uuid.UUID, *, note: str | None,
                         expected_version: int | None) -> Case:
    text = _note(note)
    case = await _load_for(ctx, case_id, "supervise")
    if case.supervised:
        raise ServiceError(ErrorCode.CONFLICT, "the case is already under supervision", "id")
    case = await _apply(ctx, case, "supervise", None, expected_version=expected_version,
                        values={"supervised": True, "supervised_at": ctx.now}, note=text)
    await _notify_handler(ctx, case, "supervised", f"事件 {case.number} 已列入督办：{case.title}")
    return case


async def urge_case(ctx: RequestContext, case_id: uuid.UUID, *, note: str, expected_version: int | None) -> Case:
    text = _note(note, "reason", required=True)
    case = await _load_for(ctx, case_id, "urge", "supervise")
    case = await _apply(ctx, case, "urge", None, expected_version=expected_version, values={}, note=text)
    await _notify_handler(ctx, case, "urged", f"催办 {case.number}：{text}")
    return case


async def escalate_case(ctx: RequestContext, case_id: uuid.UUID, *, area_id: uuid.UUID, note: str | None,
                        expected_version: int | None) -> Case:
    text = _note(note)
    case = await _load_for(ctx, case_id, "escalate", "supervise")
    target = await ctx.db.scalar(select(Area).where(Area.id == area_id))
    if target is None or not case.area_path.startswith(target.path) or target.path == case.area_path:
        raise ServiceError(ErrorCode.INVALID, "escalate to an area above the case's area", "areaId")
    case = await _apply(ctx, case, "escalate", None, expected_version=expected_version,
                        values={"escalated_to_area_id": target.id, "supervised": True,
                                "supervised_at": case.supervised_at or ctx.now},
                        note=text, detail={"to": target.name})
    await _notify(ctx, case, "escalated", f"事件 {case.number} 上报至{target.name}：{case.title}", area_id=target.id)
    await _notify_handler(ctx, case, "escalated", f"事件 {case.number} 已上报至{target.name}")
    return case


# ---------------------------------------------------------------- feedback and closing


async def give_feedback(ctx: RequestContext, case_id: uuid.UUID, *, satisfied: bool, comment: str | None,
                        expected_version: int | None) -> Case:
    text = None if comment is None else v.text(comment, "comment", max_len=500, required=False) or None
    if not satisfied and not text:
        raise ServiceError(ErrorCode.INVALID, "say what is still wrong", "comment")
    case = await _load_for(ctx, case_id, "feedback")
    if case.reporter_user_id != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the reporter gives feedback", "id")
    if satisfied:
        return await _apply(ctx, case, "feedback", CaseState.CLOSED, expected_version=expected_version,
                            values={"satisfied": True, "feedback_comment": text, "closed_at": ctx.now}, note=text,
                            detail={"satisfied": True})
    case = await _apply(ctx, case, "feedback", CaseState.REOPENED, expected_version=expected_version,
                        values={"satisfied": False, "feedback_comment": text, "reopen_count": case.reopen_count + 1,
                                "resolved_at": None},
                        note=text, detail={"satisfied": False})
    await _notify_handler(ctx, case, "reopened", f"事件 {case.number} 群众不满意，已重新打开：{text}")
    return case


# ---------------------------------------------------------------- timeline


async def timeline(ctx: RequestContext, case_id: uuid.UUID) -> list[CaseEvent]:
    return list(await ctx.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))



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
        if not await write_if(db, Case, case.id, column="state", from_state=CaseState.RESOLVED,
                              seen_version=case.version,
                              values={"state": CaseState.CLOSED, "closed_at": now, "version": case.version + 1,
                                      "updated_at": now}):
            continue
        await db.flush(CaseEvent(case_id=case.id, seq=case.version + 1, action="auto_close",
                                 from_state=CaseState.RESOLVED.value, to_state=CaseState.CLOSED.value,
                                 actor_user_id=None, actor_role=None,
                                 note="no feedback within the waiting period", attachments=[], detail={},
                                 created_at=now))
        closed.append({"topic": "case", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                       "area_path": case.area_path, "action": "auto_close", "state": CaseState.CLOSED.value,
                       "seq": case.version + 1})
    return closed


# ---------------------------------------------------------------- review (复盘)


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
    tz = WorkCalendar().tz
    lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return lo, hi


async def statistics(ctx: RequestContext, area_id: uuid.UUID, start: date, end: date, *,
                     field_end: str = "to") -> CaseStatistics:
    """Figures of the cases reported in an area's subtree between two local dates (inclusive)."""
    if end < start or (end - start).days > 366:
        raise ServiceError(ErrorCode.INVALID, "the period runs forward and spans at most a year", field_end)
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not read statistics", "areaId")
    lo, hi = local_bounds(start, end)
    where = (case_in_area(path), Case.created_at >= lo, Case.created_at < hi,
             case_predicate(grant, ctx.actor, public=False))
    if ctx.db.session.get_bind().dialect.name == "postgresql":
        return await _statistics_in_sql(ctx, where)
    rows = await ctx.db.all(
        select(Case.state, Case.category_code, Case.created_at, Case.due_at, Case.resolved_at, Case.satisfied,
               Case.reopen_count).where(*where)
    )
    by_state: dict[str, int] = {}
    by_category: dict[str, int] = {}
    hours: list[float] = []
    on_time = with_due = feedback = happy = reopened = overdue = 0
    for state, category, created, due, resolved, satisfied, reopens in rows:
        by_state[state.value] = by_state.get(state.value, 0) + 1
        by_category[category] = by_category.get(category, 0) + 1
        if resolved is not None:
            hours.append((_aware(resolved) - _aware(created)).total_seconds() / 3600)
            if due is not None:
                with_due += 1
                on_time += _aware(resolved) <= _aware(due)
        elif due is not None and state in OPEN_STATES and _aware(due) < ctx.now:
            overdue += 1
        if satisfied is not None:
            feedback += 1
            happy += bool(satisfied)
        reopened += reopens > 0
    return CaseStatistics(
        total=len(rows), by_state=by_state, by_category=by_category, resolved=len(hours),
        resolved_on_time=on_time, on_time_rate=on_time / with_due if with_due else None,
        mean_handling_hours=round(fmean(hours), 2) if hours else None,
        median_handling_hours=round(median(hours), 2) if hours else None,
        with_feedback=feedback, satisfied=happy, satisfaction_rate=happy / feedback if feedback else None,
        reopened=reopened, open_overdue=overdue,
    )


async def _statistics_in_sql(ctx: RequestContext, where: tuple[Any, ...]) -> CaseStatistics:
    """The same figures as the loop above, aggregated by PostgreSQL in one statement (issue #9): a
    month of a busy community is thousands of cases, which need not cross the wire."""
    base = select(Case.state, Case.category_code, Case.created_at, Case.due_at, Case.resolved_at,
                  Case.satisfied, Case.reopen_count).where(*where).cte("base")
    resolved = base.c.resolved_at.is_not(None)
    hours = func.extract("epoch", base.c.resolved_at - base.c.created_at) / 3600
    open_states = [s.value for s in OPEN_STATES]

    def counts(col: Any) -> Any:
        g = select(col.label("k"), func.count().label("n")).group_by(col).subquery()
        return select(func.json_object_agg(g.c.k, g.c.n)).scalar_subquery()

    row = (await ctx.db.all(select(
        func.count(),
        func.count().filter(resolved),
        func.count().filter(and_(resolved, base.c.due_at.is_not(None))),
        func.count().filter(and_(resolved, base.c.due_at.is_not(None), base.c.resolved_at <= base.c.due_at)),
        func.count().filter(and_(~resolved, base.c.due_at.is_not(None), base.c.state.in_(open_states),
                                 base.c.due_at < ctx.now)),
        func.count(base.c.satisfied),
        func.count().filter(base.c.satisfied.is_(True)),
        func.count().filter(base.c.reopen_count > 0),
        func.avg(hours).filter(resolved),
        func.percentile_cont(0.5).within_group(hours).filter(resolved),
        counts(base.c.state),
        counts(base.c.category_code),
    ).select_from(base)))[0]
    total, n_resolved, with_due, on_time, overdue, feedback, happy, reopened, mean_h, median_h, states, cats = row
    return CaseStatistics(
        total=total, by_state=dict(states or {}), by_category=dict(cats or {}), resolved=n_resolved,
        resolved_on_time=on_time, on_time_rate=on_time / with_due if with_due else None,
        mean_handling_hours=round(float(mean_h), 2) if mean_h is not None else None,
        median_handling_hours=round(float(median_h), 2) if median_h is not None else None,
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
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not record a review for this area", "areaId")
    stats = await statistics(ctx, area_id, start, end, field_end="periodEnd")
    clash = await ctx.db.scalar(select(CaseReview.id).where(
        CaseReview.area_id == area_id, CaseReview.period_start == start, CaseReview.period_end == end))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, "this area already has a review for that period", "periodStart")
    review = CaseReview(area_id=area_id, period_start=start, period_end=end, summary=text, decisions=dec,
                        author_user_id=ctx.actor.user_id, statistics=asdict(stats), created_at=ctx.now)
    await ctx.db.flush(review)
    return review


async def get_review(ctx: RequestContext, review_id: uuid.UUID) -> CaseReview | None:
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        return None
    readable = select(Area.id).where(area_reach_predicate(grant, ctx.actor))
    return await ctx.db.scalar(select(CaseReview).where(CaseReview.id == review_id, CaseReview.area_id.in_(readable)))


async def list_reviews(ctx: RequestContext, area_id: uuid.UUID) -> list[CaseReview]:
    grant = ctx.actor.grant("statistics", "read")
    if not grant:
        return []
    readable = select(Area.id).where(area_reach_predicate(grant, ctx.actor))
    return list(await ctx.db.scalars(
        select(CaseReview).where(CaseReview.area_id == area_id, CaseReview.area_id.in_(readable))
        .order_by(CaseReview.period_start.desc())
    ))


# ---------------------------------------------------------------- notifications


def _notification_predicate(ctx: RequestContext):  # type: ignore[no-untyped-def]
    """Addressed to the actor, to a firm the actor acts for, or to an area inside the actor's scope."""
    actor = ctx.actor
    parts = [Notification.user_id == actor.user_id]
    firms = [a.firm_id for a in actor.assignments if a.firm_id is not None]
    if firms:
        parts.append(Notification.firm_id.in_(firms))
    paths = [a.scope_path for a in actor.assignments if a.role is not Role.RESIDENT]
    if paths:
        parts.append(Notification.area_id.in_(select(Area.id).where(or_(*(Area.path.startswith(p) for p in paths)))))
    return or_(*parts)


async def list_notifications(ctx: RequestContext, *, unread_only: bool, first: int | None, after: str | None
                             ) -> Page[Notification]:
    stmt = select(Notification).where(_notification_predicate(ctx))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return await keyset_page(ctx.db, stmt, Notification.id, first=first, after=after, descending=True)


async def mark_notifications_read(ctx: RequestContext, ids: list[uuid.UUID]) -> int:
    if len(ids) > 100:
        raise ServiceError(ErrorCode.INVALID, "at most 100 notifications at once", "ids")
    result = await ctx.db.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.read_at.is_(None), _notification_predicate(ctx))
        .values(read_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
