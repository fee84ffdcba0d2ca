"""Per-request DataLoaders of the deliberation domain: a topic's cases, steps and vote, a meeting's
agenda and attendees (the ballot loaders live with the votes, which forget them on a ballot)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from strawberry.dataloader import DataLoader

from models import Case, MeetingAttendee, MeetingTopic, Person, Topic, TopicCase, TopicStep, Vote
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.loaders import _loader

from .topics import topic_read_predicate


def _grouped(rows: Sequence[Any], key: str, ids: list[uuid.UUID]) -> list[list[Any]]:
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in rows:
        out[getattr(r, key)].append(r)
    return [out.get(i, []) for i in ids]


def cases_by_topic(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Case]]:
    """A topic's linked cases that the actor may read (others are not shown)."""
    async def load(ids: list[uuid.UUID]) -> list[list[Case]]:
        rows = await ctx.db.all(select(TopicCase.topic_id, Case).join(
            Case, and_(Case.tenant_id == TopicCase.tenant_id, Case.id == TopicCase.case_id))
            .where(TopicCase.topic_id.in_(ids), case_read_predicate(ctx)).order_by(Case.id))
        out: dict[uuid.UUID, list[Case]] = defaultdict(list)
        for tid, case in rows:
            out[tid].append(case)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "CasesByTopicLoader", load)


def steps_by_topic(ctx: RequestContext) -> DataLoader[uuid.UUID, list[TopicStep]]:
    async def load(ids: list[uuid.UUID]) -> list[list[TopicStep]]:
        rows = await ctx.db.scalars(select(TopicStep).where(TopicStep.topic_id.in_(ids)).order_by(TopicStep.seq))
        return _grouped(rows, "topic_id", ids)

    return _loader(ctx, "StepsByTopicLoader", load)


def vote_by_topic(ctx: RequestContext) -> DataLoader[uuid.UUID, Vote | None]:
    async def load(ids: list[uuid.UUID]) -> list[Vote | None]:
        rows = {r.topic_id: r for r in await ctx.db.scalars(select(Vote).where(Vote.topic_id.in_(ids)))}
        return [rows.get(i) for i in ids]

    return _loader(ctx, "VoteByTopicLoader", load)


def topics_by_meeting(ctx: RequestContext) -> DataLoader[uuid.UUID, list[tuple[MeetingTopic, Topic]]]:
    async def load(ids: list[uuid.UUID]) -> list[list[tuple[MeetingTopic, Topic]]]:
        rows = await ctx.db.all(select(MeetingTopic, Topic).join(
            Topic, and_(Topic.tenant_id == MeetingTopic.tenant_id, Topic.id == MeetingTopic.topic_id))
            .where(MeetingTopic.meeting_id.in_(ids), topic_read_predicate(ctx)).order_by(MeetingTopic.position))
        out: dict[uuid.UUID, list[tuple[MeetingTopic, Topic]]] = defaultdict(list)
        for mt, t in rows:
            out[mt.meeting_id].append((mt, t))
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "TopicsByMeetingLoader", load)


def attendees_by_meeting(ctx: RequestContext) -> DataLoader[uuid.UUID, list[tuple[MeetingAttendee, str | None]]]:
    """Attendees with the person's name (a name only: the register's personal data stays behind
    its own permissions)."""
    async def load(ids: list[uuid.UUID]) -> list[list[tuple[MeetingAttendee, str | None]]]:
        rows = await ctx.db.all(select(MeetingAttendee, Person.name).outerjoin(
            Person, and_(Person.tenant_id == MeetingAttendee.tenant_id, Person.id == MeetingAttendee.person_id))
            .where(MeetingAttendee.meeting_id.in_(ids)).order_by(MeetingAttendee.position))
        out: dict[uuid.UUID, list[tuple[MeetingAttendee, str | None]]] = defaultdict(list)
        for a, name in rows:
            out[a.meeting_id].append((a, name))
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "AttendeesByMeetingLoader", load)
