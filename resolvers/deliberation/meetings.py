"""Deliberation meetings (议事会): convening one with its agenda and attendees, and closing the record
with the minutes, attendance and the topics it decided."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update

from models import Area, Meeting, MeetingAttendee, MeetingState, MeetingTopic, Person, Topic, TopicState, uuid7
from policies.deliberation.filters import area_rows_predicate
from policies.filters import person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

from .checks import area_for_action, fail
from .topics import apply_topic_transition, topic_read_predicate, transition_topic

MEETING: StateMachine[MeetingState] = StateMachine(
    noun="meeting", noun_zh="议事会", model=Meeting,
    moves={"close": (frozenset({MeetingState.CONVENED}), MeetingState.CLOSED)},
    refused=("议事会纪要已归档", "the meeting record is already closed"))
MAX_ATTENDEES = 200
MAX_AGENDA = 30


def meeting_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    return area_rows_predicate(Meeting.area_path, Meeting.area_id, ctx.actor.grant("meeting", "read"), ctx.actor,
                               ancestors=True)


async def get_meeting(ctx: RequestContext, meeting_id: uuid.UUID) -> Meeting | None:
    meeting: Meeting | None = await ctx.db.scalar(
        select(Meeting).where(Meeting.id == meeting_id, meeting_read_predicate(ctx)))
    return meeting


def meeting_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None,
                         states: Sequence[Any] | None, starts_from: datetime | ColumnElement[datetime] | None,
                         starts_before: datetime | ColumnElement[datetime] | None) -> list[ColumnElement[bool]]:
    """The meetings list's rows (newest first by id): readable, starting in the period (its bounds
    checked beforehand by ``v.period_filter``), in the states asked, inside the area's path when one is
    given. The compiled read (compiled/meetings.py) filters with this too, with the path read by a
    subquery, the states as literals and the bounds as parameters."""
    filters = [meeting_read_predicate(ctx), *v.period_bounds(Meeting.starts_at, starts_from, starts_before)]
    if states:
        filters.append(Meeting.state.in_(states))
    if area_path is not None:
        filters.append(Meeting.area_path.startswith(area_path))
    return filters


async def list_meetings(ctx: RequestContext, *, area_id: uuid.UUID | None, first: int | None,
                        after: str | None, states: list[MeetingState] | None = None,
                        starts_from: datetime | None = None, starts_before: datetime | None = None) -> Page[Meeting]:
    v.period_filter(Meeting.starts_at, starts_from, starts_before)  # a bad period is INVALID before anything else
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise fail(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(Meeting).where(*meeting_list_filters(ctx, area_path=path, states=states, starts_from=starts_from,
                                                       starts_before=starts_before))
    return await keyset_page(ctx.db, stmt, Meeting.id, first=first, after=after, descending=True)


@dataclass
class AttendeeInput:
    person_id: uuid.UUID | None = None
    organisation: str | None = None
    role_note: str | None = None


async def convene_meeting(ctx: RequestContext, *, area_id: uuid.UUID, title: str, starts_at: datetime, place: str,
                          topic_ids: Sequence[uuid.UUID], attendees: Sequence[AttendeeInput]) -> Meeting:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit in (("title", title, 100), ("place", place, 200)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit)
    if starts_at.tzinfo is None:
        errors.add(ErrorCode.INVALID, t("startsAt 需带时区", "startsAt needs a timezone"), "startsAt")
    topic_ids = list(dict.fromkeys(topic_ids))
    if len(topic_ids) > MAX_AGENDA:
        errors.add(ErrorCode.INVALID, t(f"一次会议最多 {MAX_AGENDA} 个议题",
                                        f"at most {MAX_AGENDA} topics on an agenda"), "topicIds")
    if len(attendees) > MAX_ATTENDEES:
        errors.add(ErrorCode.INVALID, t(f"参会者最多 {MAX_ATTENDEES} 个",
                                        f"at most {MAX_ATTENDEES} attendees"), "attendees")
    orgs: list[str | None] = []
    for a in attendees:
        if (a.person_id is None) == (a.organisation is None):
            errors.add(ErrorCode.INVALID, t("参会者应为居民或组织",
                                            "an attendee is a person or an organisation"), "attendees")
            orgs.append(None)
            continue
        orgs.append(None if a.organisation is None else errors.check(v.text, a.organisation, "attendees", max_len=100))
    errors.raise_if_any()
    area = await area_for_action(ctx, area_id, "meeting", "convene", "convene meetings")
    if topic_ids:
        found = list(await ctx.db.scalars(select(Topic).where(Topic.id.in_(topic_ids), topic_read_predicate(ctx))))
        if len(found) != len(topic_ids):
            raise fail(ErrorCode.NOT_FOUND, t("议题不存在", "topic not found"), "topicIds")
        for topic in found:
            if not topic.area_path.startswith(area.path):
                raise fail(ErrorCode.INVALID, t(f"议题 {topic.title!r} 属于其他区域",
                                                f"topic {topic.title!r} belongs to another area"), "topicIds")
            if topic.state not in (TopicState.ACCEPTED, TopicState.DELIBERATED):
                raise fail(ErrorCode.INVALID_TRANSITION,
                           t(f"议题 {topic.title!r} 当前为 {topic.state.value}；议程只收已受理的议题",
                             f"topic {topic.title!r} is {topic.state.value}; an agenda takes accepted topics"),
                           "topicIds")
    persons = [a.person_id for a in attendees if a.person_id is not None]
    if persons:
        readable = set(await ctx.db.scalars(select(Person.id).where(
            Person.id.in_(persons), person_predicate(ctx.actor.grant("person", "read"), ctx.actor))))
        if readable != set(persons):
            raise fail(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "attendees")
    meeting = Meeting(id=uuid7(), area_id=area.id, area_path=area.path, title=clean["title"], starts_at=starts_at,
                      place=clean["place"], convener_user_id=ctx.actor.user_id, state=MeetingState.CONVENED,
                      version=1, updated_at=ctx.now, created_at=ctx.now)
    await ctx.db.flush(meeting)
    rows: list[object] = [MeetingTopic(meeting_id=meeting.id, topic_id=t, position=i, decided=False,
                                       created_at=ctx.now) for i, t in enumerate(topic_ids, start=1)]
    rows += [MeetingAttendee(meeting_id=meeting.id, position=i, person_id=a.person_id, organisation=org,
                             role_note=(a.role_note or "").strip()[:100] or None, created_at=ctx.now)
             for i, (a, org) in enumerate(zip(attendees, orgs, strict=True), start=1)]
    if rows:
        await ctx.db.flush(*rows)
    return meeting


@dataclass
class TopicDecision:
    topic_id: uuid.UUID
    decision: str


async def close_meeting(ctx: RequestContext, meeting_id: uuid.UUID, *, minutes: str,
                        attended: Sequence[uuid.UUID], decisions: Sequence[TopicDecision]) -> Meeting:
    """Record the minutes and attendance, and close the record with the topics it decided; the other
    accepted topics of the agenda become deliberated."""
    clean = v.text(minutes, "minutes", max_len=20000)
    meeting = await get_meeting(ctx, meeting_id)
    if meeting is None:
        raise fail(ErrorCode.NOT_FOUND, t("议事会不存在", "meeting not found"), "id")
    grant = ctx.actor.grant("meeting", "record_minutes")
    if await ctx.db.scalar(select(Meeting.id).where(Meeting.id == meeting_id, area_rows_predicate(
            Meeting.area_path, Meeting.area_id, grant, ctx.actor, ancestors=False))) is None:
        raise fail(ErrorCode.FORBIDDEN, t("您无权记录该议事会的纪要",
                                          "you may not record the minutes of this meeting"), "id")
    MEETING.check(meeting, "close")
    agenda = {mt.topic_id: mt for mt in await ctx.db.scalars(
        select(MeetingTopic).where(MeetingTopic.meeting_id == meeting_id))}
    attendee_ids = set(await ctx.db.scalars(select(MeetingAttendee.id).where(MeetingAttendee.meeting_id == meeting_id)))
    if not set(attended) <= attendee_ids:
        raise fail(ErrorCode.INVALID, t("出席名单中有未受邀的人",
                                        "attended lists someone who was not invited"), "attended")
    decided: set[uuid.UUID] = set()
    for d in decisions:
        if d.topic_id not in agenda:
            raise fail(ErrorCode.INVALID, t("作出决定的议题须在议程上",
                                            "a decided topic must be on the agenda"), "decisions")
        await transition_topic(ctx, d.topic_id, "decide", text=d.decision)
        decided.add(d.topic_id)
    for tid in agenda:
        if tid not in decided:
            topic = await ctx.db.scalar(select(Topic).where(Topic.id == tid))
            if topic is not None and topic.state is TopicState.ACCEPTED:
                await apply_topic_transition(ctx, topic, "deliberate", {})
    await transition(ctx, MEETING, meeting, "close", values={"minutes": clean, "closed_at": ctx.now})
    if decided:
        await ctx.db.execute(update(MeetingTopic).where(MeetingTopic.meeting_id == meeting_id,
                                                        MeetingTopic.topic_id.in_(decided))
                             .values(decided=True).execution_options(synchronize_session=False))
    await ctx.db.execute(update(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id).values(
        attended=MeetingAttendee.id.in_(list(attended)) if attended else False)
        .execution_options(synchronize_session=False))
    return meeting
