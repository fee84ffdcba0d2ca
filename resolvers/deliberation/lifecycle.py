"""The whole life of a meeting, a notice and a topic (issue #23).

- A meeting is edited (title, place, time) or cancelled while it is CONVENED, where ``meeting ·
  manage`` reaches; its invitees on the register are notified.
- A notice is edited or withdrawn (撤回) where ``notice · manage`` reaches; an edit that changes it is
  notified to those it was sent to (the accounts of the people living in its area). A withdrawn notice
  leaves every wall, list and feed; its row stays for the ledgers and the audit log.
- A topic is edited while PROPOSED or ACCEPTED, and cancelled before it is decided, where ``topic ·
  manage`` reaches; its proposer edits and withdraws their own while it is PROPOSED. A topic with an
  open vote is not cancelled (close the vote first). The proposer is told when staff cancel it.

Checks in the house order (checks.py): input, NOT_FOUND, FORBIDDEN, INVALID_TRANSITION, the write;
meetings and topics are versioned (``expectedVersion``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import (
    Household,
    Meeting,
    MeetingAttendee,
    MeetingState,
    Member,
    Notice,
    Person,
    PersonStatus,
    Topic,
    TopicState,
    Vote,
    VoteState,
)
from policies.deliberation.filters import area_rows_predicate
from policies.filters import buildings_in_scope
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.notify import notify_users, users_of_persons
from resolvers.transitions import StateMachine, transition

from .checks import fail
from .meetings import get_meeting
from .notices import notice_reach_predicate
from .topics import get_topic

_LOCAL = ZoneInfo("Asia/Shanghai")  # the street offices' time, for the notification's text
M = MeetingState
MEETING_LIFE: StateMachine[MeetingState] = StateMachine(
    noun="meeting", noun_zh="议事会", model=Meeting,
    moves={"edit": (frozenset({M.CONVENED}), None), "cancel": (frozenset({M.CONVENED}), M.CANCELLED)},
    refused=("议事会当前为 {state}，不能再修改或取消", "the meeting is {state}; it can no longer be changed"))
T = TopicState
TOPIC_LIFE: StateMachine[TopicState] = StateMachine(
    noun="topic", noun_zh="议题", model=Topic,
    moves={"edit": (frozenset({T.PROPOSED, T.ACCEPTED}), None),
           "cancel": (frozenset({T.PROPOSED, T.ACCEPTED, T.DELIBERATED}), T.CANCELLED)},
    refused=("议题当前为 {state}，不能执行 {action}", "cannot {action} a topic that is {state}"))


def _texts(pairs: tuple[tuple[str, str | None, int, bool], ...], errors: FieldErrors) -> dict[str, Any]:
    """The given texts of an edit, checked (name → clean value); the ones left out are absent."""
    out: dict[str, Any] = {}
    for name, value, limit, required in pairs:
        if value is not None:
            with errors.catch():
                out[name] = v.text(value, name, max_len=limit, required=required)
    return out


def _changed(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in values.items() if getattr(row, k) != val}


async def _may(ctx: RequestContext, model: Any, row_id: uuid.UUID, resource: str) -> bool:
    grant = ctx.actor.grant(resource, "manage")
    return bool(grant) and await ctx.db.scalar(select(model.id).where(model.id == row_id, area_rows_predicate(
        model.area_path, model.area_id, grant, ctx.actor, ancestors=False))) is not None


# ================================================================= meetings


async def _managed_meeting(ctx: RequestContext, meeting_id: uuid.UUID) -> Meeting:
    meeting = await get_meeting(ctx, meeting_id)
    if meeting is None:
        raise fail(ErrorCode.NOT_FOUND, t("议事会不存在", "meeting not found"), "id")
    if not await _may(ctx, Meeting, meeting.id, "meeting"):
        raise fail(ErrorCode.FORBIDDEN, t("您无权修改或取消该议事会", "you may not change or cancel this meeting"),
                   "id")
    return meeting


async def _invitees(ctx: RequestContext, meeting: Meeting) -> list[uuid.UUID]:
    persons = await ctx.db.scalars(select(MeetingAttendee.person_id).where(
        MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.person_id.is_not(None)))
    return await users_of_persons(ctx, [p for p in persons if p is not None])


async def update_meeting(ctx: RequestContext, meeting_id: uuid.UUID, *, title: str | None, place: str | None,
                         starts_at: datetime | None, expected_version: int | None) -> Meeting:
    errors = FieldErrors()
    values = _texts((("title", title, 100, True), ("place", place, 200, True)), errors)
    if starts_at is not None:
        if starts_at.tzinfo is None:
            errors.add(ErrorCode.INVALID, t("startsAt 需带时区", "startsAt needs a timezone"), "startsAt")
        values["starts_at"] = starts_at
    errors.raise_if_any()
    meeting = await _managed_meeting(ctx, meeting_id)
    MEETING_LIFE.check(meeting, "edit")
    changes = _changed(meeting, values)
    await transition(ctx, MEETING_LIFE, meeting, "edit", expected_version=expected_version, values=changes)
    if changes:
        at = meeting.starts_at.astimezone(_LOCAL).strftime("%Y-%m-%d %H:%M")
        await notify_users(ctx, await _invitees(ctx, meeting), "meeting_changed",
                           t(f"议事会“{meeting.title}”有变更：{at}，{meeting.place}",
                             f"The meeting \u201c{meeting.title}\u201d changed: {at}, {meeting.place}"))
    return meeting


async def cancel_meeting(ctx: RequestContext, meeting_id: uuid.UUID, *, reason: str,
                         expected_version: int | None) -> Meeting:
    why = v.text(reason, "reason", max_len=500)
    meeting = await _managed_meeting(ctx, meeting_id)
    await transition(ctx, MEETING_LIFE, meeting, "cancel", expected_version=expected_version,
                     values={"cancel_reason": why})
    await notify_users(ctx, await _invitees(ctx, meeting), "meeting_cancelled",
                       t(f"议事会“{meeting.title}”已取消：{why}",
                         f"The meeting \u201c{meeting.title}\u201d was cancelled: {why}"))
    return meeting


# ================================================================= notices


async def _managed_notice(ctx: RequestContext, notice_id: uuid.UUID) -> Notice:
    notice: Notice | None = await ctx.db.scalar(
        select(Notice).where(Notice.id == notice_id, notice_reach_predicate(ctx)))
    if notice is None:
        raise fail(ErrorCode.NOT_FOUND, t("通知公告不存在", "notice not found"), "id")
    if not await _may(ctx, Notice, notice.id, "notice"):
        raise fail(ErrorCode.FORBIDDEN, t("您无权修改或撤回该通知公告",
                                          "you may not change or withdraw this notice"), "id")
    if notice.withdrawn_at is not None:
        raise fail(ErrorCode.INVALID_TRANSITION, t("该通知公告已撤回", "the notice was withdrawn"), "id")
    return notice


async def update_notice(ctx: RequestContext, notice_id: uuid.UUID, *, title: str | None, body: str | None,
                        expires_at: datetime | None, clear_expiry: bool) -> Notice:
    errors = FieldErrors()
    values = _texts((("title", title, 100, True), ("body", body, 10000, True)), errors)
    if expires_at is not None and clear_expiry:
        errors.add(ErrorCode.INVALID, t("expiresAt 与 clearExpiry 只能给一个",
                                        "give expiresAt or clearExpiry, not both"), "clearExpiry")
    elif expires_at is not None:
        if expires_at.tzinfo is None or expires_at <= ctx.now:
            errors.add(ErrorCode.INVALID, t("expiresAt 应为将来的时间",
                                            "expiresAt must be a moment in the future"), "expiresAt")
        values["expires_at"] = expires_at
    elif clear_expiry:
        values["expires_at"] = None
    errors.raise_if_any()
    notice = await _managed_notice(ctx, notice_id)
    changes = _changed(notice, values)
    for k, val in changes.items():
        setattr(notice, k, val)  # the unit of work audits the change, before → after
    await ctx.db.flush(notice)
    if changes:
        await notify_users(ctx, await _audience(ctx, notice), "notice_changed",
                           t(f"通知公告“{notice.title}”有更新，请查看",
                             f"The notice \u201c{notice.title}\u201d was updated"))
    return notice


async def _audience(ctx: RequestContext, notice: Notice) -> list[uuid.UUID]:
    """Those a notice was sent to: the accounts of the people on the register living in its area (at or
    below it, and in the buildings a grid there covers), as cancelActivity tells its volunteers."""
    living = (select(Person.id).join(Household, (Household.tenant_id == Person.tenant_id)
                                     & (Household.id == Person.household_id))
              .where(Household.building_id.in_(buildings_in_scope((notice.area_path,))),
                     Person.status == PersonStatus.ACTIVE))
    return list(await ctx.db.scalars(select(Member.user_id).where(Member.person_id.in_(living))))


async def withdraw_notice(ctx: RequestContext, notice_id: uuid.UUID, *, reason: str | None) -> Notice:
    why = None if reason is None else (v.text(reason, "reason", max_len=500, required=False) or None)
    notice = await _managed_notice(ctx, notice_id)
    notice.withdrawn_at = ctx.now
    notice.withdrawn_by = ctx.actor.user_id
    notice.withdraw_reason = why
    await ctx.db.flush(notice)
    return notice


# ================================================================= topics


async def _topic_for(ctx: RequestContext, topic_id: uuid.UUID, action: str) -> Topic:
    """The topic, when staff may manage it, or it is the actor's own and still PROPOSED."""
    topic = await get_topic(ctx, topic_id)
    if topic is None:
        raise fail(ErrorCode.NOT_FOUND, t("议题不存在", "topic not found"), "id")
    if await _may(ctx, Topic, topic.id, "topic"):
        return topic
    if topic.proposer_user_id == ctx.actor.user_id:
        if topic.state is not TopicState.PROPOSED:
            raise fail(ErrorCode.INVALID_TRANSITION, t("议题已受理，提出人不能再修改或撤回",
                                                       "the topic was accepted; its proposer can no longer "
                                                       "change or withdraw it"), "id")
        return topic
    raise fail(ErrorCode.FORBIDDEN, t(f"您无权对该议题执行 {action}", f"you may not {action} this topic"), "id")


async def update_topic(ctx: RequestContext, topic_id: uuid.UUID, *, title: str | None, description: str | None,
                       expected_version: int | None) -> Topic:
    errors = FieldErrors()
    values = _texts((("title", title, 100, True), ("description", description, 5000, False)), errors)
    errors.raise_if_any()
    topic = await _topic_for(ctx, topic_id, "edit")
    await transition(ctx, TOPIC_LIFE, topic, "edit", expected_version=expected_version,
                     values=_changed(topic, values))
    return topic


async def cancel_topic(ctx: RequestContext, topic_id: uuid.UUID, *, reason: str,
                       expected_version: int | None) -> Topic:
    why = v.text(reason, "reason", max_len=500)
    topic = await _topic_for(ctx, topic_id, "cancel")
    TOPIC_LIFE.check(topic, "cancel")
    if await ctx.db.scalar(select(Vote.id).where(Vote.topic_id == topic.id, Vote.state == VoteState.OPEN)):
        raise fail(ErrorCode.INVALID_TRANSITION, t("该议题的表决尚未结束，不能取消",
                                                   "the topic's vote is still open; it cannot be cancelled"), "id")
    await transition(ctx, TOPIC_LIFE, topic, "cancel", expected_version=expected_version,
                     values={"cancel_reason": why})
    await notify_users(ctx, [topic.proposer_user_id], "topic_cancelled",
                       t(f"您提出的议题“{topic.title}”已取消：{why}",
                         f"The topic \u201c{topic.title}\u201d you proposed was cancelled: {why}"))
    return topic
