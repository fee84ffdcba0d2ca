"""Deliberation (议事协商: 提出议题 → 协商议题 → 监督落实 → 事后复盘): topics, implementation steps,
meetings, owners' votes (Civil Code art. 278), notices, and the problem wall / echo wall.

Checks run in the house order: input, then the object through the *read* predicate (NOT_FOUND), then
the action's grant on it (FORBIDDEN), then its state (INVALID_TRANSITION), then the write. Topic and
meeting transitions are ``UPDATE … WHERE version = :seen``: of two at once exactly one wins.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from strawberry.dataloader import DataLoader

from models import (
    Area,
    AreaKind,
    Case,
    CaseState,
    Choice,
    Household,
    Meeting,
    MeetingAttendee,
    MeetingState,
    MeetingTopic,
    Notice,
    Person,
    Tenure,
    Topic,
    TopicCase,
    TopicState,
    TopicStep,
    Vote,
    VoteElector,
    VoteMatter,
    VoteState,
    uuid7,
)
from policies.deliberation.filters import area_rows_predicate
from policies.filters import area_reach_predicate, area_read_predicate, person_predicate
from resolvers import validation as v
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.deliberation.tally import Tally, tally
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.loaders import _loader
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

T = TopicState
# action → (states it may start from, state it leads to, the permission it needs)
TOPIC_TRANSITIONS: dict[str, tuple[frozenset[TopicState], TopicState, str]] = {
    "accept": (frozenset({T.PROPOSED}), T.ACCEPTED, "accept"),
    "decline": (frozenset({T.PROPOSED, T.ACCEPTED, T.DELIBERATED}), T.DECLINED, "accept"),
    "deliberate": (frozenset({T.ACCEPTED}), T.DELIBERATED, "decide"),
    "decide": (frozenset({T.ACCEPTED, T.DELIBERATED}), T.DECIDED, "decide"),
    "start": (frozenset({T.DECIDED}), T.IMPLEMENTING, "decide"),
    "complete": (frozenset({T.IMPLEMENTING}), T.DONE, "decide"),
    "review": (frozenset({T.DONE}), T.REVIEWED, "review"),
}
TOPIC: StateMachine[TopicState] = StateMachine(
    noun="topic", model=Topic, moves={a: (frm, to) for a, (frm, to, _) in TOPIC_TRANSITIONS.items()})
VOTE: StateMachine[VoteState] = StateMachine(
    noun="vote", model=Vote, moves={"close": (frozenset({VoteState.OPEN}), VoteState.CLOSED)}, versioned=False,
    refused="the vote is already closed", lost="the vote is already closed", lost_code=ErrorCode.INVALID_TRANSITION)
MEETING: StateMachine[MeetingState] = StateMachine(
    noun="meeting", model=Meeting, moves={"close": (frozenset({MeetingState.CONVENED}), MeetingState.CLOSED)},
    refused="the meeting record is already closed")
MAX_ATTENDEES = 200
MAX_AGENDA = 30


def _fail(code: ErrorCode, message: str, field: str | None = None) -> ServiceError:
    return ServiceError(code, message, field)


async def _area(ctx: RequestContext, area_id: uuid.UUID, resource: str, action: str, verb: str) -> Area:
    """The area, when the actor may read it (else NOT_FOUND) and the action's grant reaches it (else FORBIDDEN)."""
    area = await ctx.db.scalar(select(Area).where(
        Area.id == area_id, area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
    if area is None:
        raise _fail(ErrorCode.NOT_FOUND, "area not found", "areaId")
    grant = ctx.actor.grant(resource, action)
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area_id, area_reach_predicate(grant, ctx.actor))
    ) is None:
        raise _fail(ErrorCode.FORBIDDEN, f"you may not {verb} in this area", "areaId")
    return area


# ================================================================= topics


def topic_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    grant = ctx.actor.grant("topic", "read")
    return or_(area_rows_predicate(Topic.area_path, Topic.area_id, grant, ctx.actor, ancestors=True),
               Topic.proposer_user_id == ctx.actor.user_id)


def _topic_action_predicate(ctx: RequestContext, action: str) -> ColumnElement[bool]:
    return area_rows_predicate(Topic.area_path, Topic.area_id, ctx.actor.grant("topic", action), ctx.actor,
                               ancestors=False)


async def get_topic(ctx: RequestContext, topic_id: uuid.UUID) -> Topic | None:
    return await ctx.db.scalar(select(Topic).where(Topic.id == topic_id, topic_read_predicate(ctx)))


async def list_topics(ctx: RequestContext, *, area_id: uuid.UUID | None, states: list[TopicState] | None,
                      first: int | None, after: str | None) -> Page[Topic]:
    stmt = select(Topic).where(topic_read_predicate(ctx))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise _fail(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(Topic.area_path.startswith(path))
    if states:
        stmt = stmt.where(Topic.state.in_(states))
    return await keyset_page(ctx.db, stmt, Topic.id, first=first, after=after, descending=True)


async def _readable_cases(ctx: RequestContext, ids: Sequence[uuid.UUID], field: str) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(ids))
    if len(ids) > 50:
        raise _fail(ErrorCode.INVALID, "at most 50 cases", field)
    if not ids:
        return []
    found = set(await ctx.db.scalars(select(Case.id).where(Case.id.in_(ids), case_read_predicate(ctx))))
    if len(found) != len(ids):
        raise _fail(ErrorCode.NOT_FOUND, "case not found", field)
    return ids


async def propose_topic(ctx: RequestContext, *, area_id: uuid.UUID, title: str, description: str,
                        case_ids: Sequence[uuid.UUID]) -> Topic:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit, required in (("title", title, 100, True), ("description", description, 5000, False)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit, required=required)
    errors.raise_if_any()
    area = await _area(ctx, area_id, "topic", "propose", "propose topics")
    cases = await _readable_cases(ctx, case_ids, "caseIds")
    topic = Topic(id=uuid7(), area_id=area.id, area_path=area.path, title=clean["title"],
                  description=clean["description"], proposer_user_id=ctx.actor.user_id, state=TopicState.PROPOSED,
                  version=1, updated_at=ctx.now, created_at=ctx.now)
    await ctx.db.flush(topic)
    if cases:
        await ctx.db.flush(*(TopicCase(topic_id=topic.id, case_id=c, linked_by_user_id=ctx.actor.user_id,
                                       created_at=ctx.now) for c in cases))
    return topic


async def _topic_for(ctx: RequestContext, topic_id: uuid.UUID, permission: str, verb: str) -> Topic:
    topic = await get_topic(ctx, topic_id)
    if topic is None:
        raise _fail(ErrorCode.NOT_FOUND, "topic not found", "id")
    if await ctx.db.scalar(select(Topic.id).where(Topic.id == topic_id,
                                                  _topic_action_predicate(ctx, permission))) is None:
        raise _fail(ErrorCode.FORBIDDEN, f"you may not {verb} this topic", "id")
    return topic


async def _apply(ctx: RequestContext, topic: Topic, action: str, values: dict[str, Any],
                 expected_version: int | None = None) -> Topic:
    await transition(ctx, TOPIC, topic, action, expected_version=expected_version, values=values)
    return topic


async def transition_topic(ctx: RequestContext, topic_id: uuid.UUID, action: str, *, text: str | None = None,
                           expected_version: int | None = None) -> Topic:
    """accept, decline (reason), decide (decision), start, complete, review (review text)."""
    field = {"decline": "reason", "decide": "decision", "review": "review"}.get(action)
    clean = None
    if field is not None:
        clean = v.text(text or "", field, max_len=5000)
    _, _, permission = TOPIC_TRANSITIONS[action]
    topic = await _topic_for(ctx, topic_id, permission, action)
    values: dict[str, Any] = {}
    if action == "decline":
        values["decline_reason"] = clean
    elif action == "decide":
        await _check_no_open_vote(ctx, topic)
        values.update(decision=clean, decided_at=ctx.now)
    elif action == "review":
        values.update(review=clean, reviewed_at=ctx.now)
    elif action == "complete":
        unfinished = await ctx.db.scalar(select(func.count()).select_from(TopicStep).where(
            TopicStep.topic_id == topic.id, TopicStep.progress < 100))
        if unfinished:
            raise _fail(ErrorCode.INVALID_TRANSITION, f"{unfinished} implementation step(s) not at 100%", "id")
    return await _apply(ctx, topic, action, values, expected_version)


async def _check_no_open_vote(ctx: RequestContext, topic: Topic) -> None:
    state = await ctx.db.scalar(select(Vote.state).where(Vote.topic_id == topic.id))
    if state is VoteState.OPEN:
        raise _fail(ErrorCode.INVALID_TRANSITION, "the owners' vote on this topic is still open", "id")


async def raise_case_to_topic(ctx: RequestContext, topic_id: uuid.UUID, case_id: uuid.UUID) -> Topic:
    """Link a case to a topic (事件转议题): the actor reads the case and may accept the topic."""
    topic = await _topic_for(ctx, topic_id, "accept", "link cases to")
    await _readable_cases(ctx, [case_id], "caseId")
    if topic.state in (TopicState.REVIEWED, TopicState.DECLINED):
        raise _fail(ErrorCode.INVALID_TRANSITION, f"cannot link cases to a topic that is {topic.state.value}", "id")
    if await ctx.db.scalar(select(TopicCase.id).where(TopicCase.topic_id == topic_id,
                                                      TopicCase.case_id == case_id)) is None:
        await ctx.db.flush(TopicCase(topic_id=topic_id, case_id=case_id, linked_by_user_id=ctx.actor.user_id,
                                     created_at=ctx.now))
    return topic


# ---------------------------------------------------------------- implementation steps


async def add_step(ctx: RequestContext, topic_id: uuid.UUID, *, description: str, owner_name: str,
                   due_date: date | None) -> TopicStep:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit in (("description", description, 500), ("ownerName", owner_name, 100)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit)
    errors.raise_if_any()
    topic = await _topic_for(ctx, topic_id, "decide", "plan the implementation of")
    if topic.state not in (TopicState.DECIDED, TopicState.IMPLEMENTING):
        raise _fail(ErrorCode.INVALID_TRANSITION, f"steps follow a decision; the topic is {topic.state.value}", "id")
    seq = int(await ctx.db.scalar(select(func.coalesce(func.max(TopicStep.seq), 0))
                                  .where(TopicStep.topic_id == topic_id)) or 0) + 1
    step = TopicStep(topic_id=topic_id, seq=seq, description=clean["description"], owner_name=clean["ownerName"],
                     due_date=due_date, progress=0, updated_at=ctx.now, created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(step)
    except IntegrityError:
        raise _fail(ErrorCode.CONFLICT, "another step was added at the same time; retry", "id") from None
    return step


async def update_step(ctx: RequestContext, step_id: uuid.UUID, *, progress: int, note: str | None) -> TopicStep:
    if not 0 <= progress <= 100:
        raise _fail(ErrorCode.INVALID, "progress must be between 0 and 100", "progress")
    clean = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    step = await ctx.db.scalar(select(TopicStep).where(TopicStep.id == step_id))
    if step is None or await get_topic(ctx, step.topic_id) is None:
        raise _fail(ErrorCode.NOT_FOUND, "step not found", "id")
    topic = await _topic_for(ctx, step.topic_id, "decide", "report progress on")
    if topic.state is not TopicState.IMPLEMENTING:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"progress is reported while implementing; the topic is "
                    f"{topic.state.value}", "id")
    step.progress = progress
    step.note = clean if clean is not None else step.note
    step.updated_at = ctx.now
    await ctx.db.flush(step)
    return step


# ================================================================= votes


async def get_vote(ctx: RequestContext, vote_id: uuid.UUID) -> Vote | None:
    readable = select(Topic.id).where(topic_read_predicate(ctx))
    return await ctx.db.scalar(select(Vote).where(Vote.id == vote_id, Vote.topic_id.in_(readable)))


async def _compound_of(ctx: RequestContext, area: Area) -> Area | None:
    ids = [uuid.UUID(hex=seg) for seg in area.path.strip("/").split("/") if seg]
    return await ctx.db.scalar(select(Area).where(Area.id.in_(ids), Area.kind == AreaKind.COMPOUND))


async def open_vote(ctx: RequestContext, topic_id: uuid.UUID, *, matter: VoteMatter, question: str,
                    closes_at: datetime) -> Vote:
    """Put a topic to the owners (业主表决); the electorate is frozen now: the owner households of the
    topic's compound with their floor area."""
    errors = FieldErrors()
    with errors.catch():
        clean = v.text(question, "question", max_len=500)
    if closes_at.tzinfo is None or closes_at <= ctx.now:
        errors.add(ErrorCode.INVALID, "closesAt must be a moment in the future", "closesAt")
    errors.raise_if_any()
    topic = await _topic_for(ctx, topic_id, "decide", "put to a vote")
    if topic.state not in (TopicState.ACCEPTED, TopicState.DELIBERATED):
        raise _fail(ErrorCode.INVALID_TRANSITION, f"cannot put a topic that is {topic.state.value} to a vote", "id")
    area = await ctx.db.scalar(select(Area).where(Area.id == topic.area_id))
    compound = None if area is None else await _compound_of(ctx, area)
    if compound is None or area is None or area.path != compound.path:
        raise _fail(ErrorCode.INVALID, "an owners' vote is held on a topic of one compound", "id")
    in_compound = select(Area.id).where(Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING)
    electors = (await ctx.db.all(select(Household.id, Household.floor_area).where(
        Household.building_id.in_(in_compound), Household.tenure == Tenure.OWNER).order_by(Household.id)))
    if not electors:
        raise _fail(ErrorCode.INVALID, "the compound has no owner households on the register", "id")
    missing = sum(1 for _, a in electors if a is None or a <= 0)
    if missing:
        raise _fail(ErrorCode.INVALID, f"{missing} owner household(s) have no floor area on the register; "
                    "record it before the vote", "id")
    if await ctx.db.scalar(select(Vote.id).where(Vote.topic_id == topic_id)) is not None:
        raise _fail(ErrorCode.CONFLICT, "this topic already has a vote", "id")
    vote = Vote(id=uuid7(), topic_id=topic_id, compound_id=compound.id, compound_path=compound.path, matter=matter,
                question=clean, state=VoteState.OPEN, opened_by_user_id=ctx.actor.user_id, closes_at=closes_at,
                created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(vote)
    except IntegrityError:
        raise _fail(ErrorCode.CONFLICT, "this topic already has a vote", "id") from None
    await ctx.db.flush(*(VoteElector(vote_id=vote.id, household_id=h, floor_area=a, created_at=ctx.now)
                         for h, a in electors))
    return vote


async def cast_ballot(ctx: RequestContext, vote_id: uuid.UUID, choice: Choice) -> VoteElector:
    """The actor's household's one ballot; casting again replaces it until the vote closes."""
    vote = await get_vote(ctx, vote_id)
    if vote is None:
        raise _fail(ErrorCode.NOT_FOUND, "vote not found", "voteId")
    grant = ctx.actor.grant("vote", "cast")
    household = ctx.actor.household_id
    elector = None
    if grant.own and household is not None:
        elector = await ctx.db.scalar(select(VoteElector).where(VoteElector.vote_id == vote_id,
                                                                VoteElector.household_id == household))
    if elector is None:
        raise _fail(ErrorCode.FORBIDDEN, "only an owner household of the compound votes, for its own household",
                    "voteId")
    # FOR SHARE: a close (UPDATE of the vote row) waits for ballots in flight, and a ballot arriving
    # after a close sees the vote closed. SQLite serialises writers, which gives the same order.
    state = await ctx.db.scalar(select(Vote.state).where(Vote.id == vote_id).with_for_update(read=True))
    if state is not VoteState.OPEN or ctx.now >= vote.closes_at:
        raise _fail(ErrorCode.INVALID_TRANSITION, "the vote is closed", "voteId")
    await ctx.db.execute(
        update(VoteElector).where(VoteElector.id == elector.id)
        .values(choice=choice, cast_by_user_id=ctx.actor.user_id, cast_at=ctx.now)
        .execution_options(synchronize_session=False))
    for k, val in (("choice", choice), ("cast_by_user_id", ctx.actor.user_id), ("cast_at", ctx.now)):
        set_committed_value(elector, k, val)
    _forget_ballots(ctx)
    return elector


async def close_vote(ctx: RequestContext, vote_id: uuid.UUID) -> Vote:
    """End the vote (at or before its deadline) and record the tally; the figures are frozen with it."""
    vote = await get_vote(ctx, vote_id)
    if vote is None:
        raise _fail(ErrorCode.NOT_FOUND, "vote not found", "id")
    await _topic_for(ctx, vote.topic_id, "decide", "close the vote on")
    await transition(ctx, VOTE, vote, "close", values={"closed_at": ctx.now})
    # Tallied once closed: the close waits for ballots in flight (cast_ballot's FOR SHARE).
    t = await current_tally(ctx, vote)
    await ctx.db.execute(update(Vote).where(Vote.id == vote_id).values(result=t.to_json(), passed=t.passed)
                         .execution_options(synchronize_session=False))
    for k, val in (("result", t.to_json()), ("passed", t.passed)):
        set_committed_value(vote, k, val)
    return vote


async def current_tally(ctx: RequestContext, vote: Vote) -> Tally:
    rows = await ctx.db.all(select(VoteElector.floor_area, VoteElector.choice).where(VoteElector.vote_id == vote.id))
    return tally(vote.matter, [(a, c) for a, c in rows])


def vote_result(vote: Vote) -> Tally | None:
    return None if vote.result is None else Tally.from_json(vote.result)


def my_ballot_by_vote(ctx: RequestContext) -> DataLoader[uuid.UUID, VoteElector | None]:
    """The actor's household's ballot per vote (None outside the electorate): one query per page of votes."""
    async def load(ids: list[uuid.UUID]) -> list[VoteElector | None]:
        if ctx.actor.household_id is None:
            return [None] * len(ids)
        rows = {r.vote_id: r for r in await ctx.db.scalars(select(VoteElector).where(
            VoteElector.vote_id.in_(ids), VoteElector.household_id == ctx.actor.household_id))}
        return [rows.get(i) for i in ids]

    return _loader(ctx, "MyBallotByVoteLoader", load)


def ballots_cast_by_vote(ctx: RequestContext) -> DataLoader[uuid.UUID, tuple[int, int]]:
    """(households that cast a ballot, households in the electorate) per vote — counts only, no choices."""
    async def load(ids: list[uuid.UUID]) -> list[tuple[int, int]]:
        rows = await ctx.db.all(select(VoteElector.vote_id, func.count(VoteElector.choice), func.count())
                                .where(VoteElector.vote_id.in_(ids)).group_by(VoteElector.vote_id))
        counts = {vid: (int(cast), int(total)) for vid, cast, total in rows}
        return [counts.get(i, (0, 0)) for i in ids]

    return _loader(ctx, "BallotsCastByVoteLoader", load)


def _forget_ballots(ctx: RequestContext) -> None:
    """A ballot was cast: later fields of this request must not see the counts loaded before it."""
    for name in ("MyBallotByVoteLoader", "BallotsCastByVoteLoader"):
        ctx.loaders.pop(name, None)


# ================================================================= meetings


def meeting_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    return area_rows_predicate(Meeting.area_path, Meeting.area_id, ctx.actor.grant("meeting", "read"), ctx.actor,
                               ancestors=True)


async def get_meeting(ctx: RequestContext, meeting_id: uuid.UUID) -> Meeting | None:
    return await ctx.db.scalar(select(Meeting).where(Meeting.id == meeting_id, meeting_read_predicate(ctx)))


async def list_meetings(ctx: RequestContext, *, area_id: uuid.UUID | None, first: int | None,
                        after: str | None) -> Page[Meeting]:
    stmt = select(Meeting).where(meeting_read_predicate(ctx))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise _fail(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(Meeting.area_path.startswith(path))
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
        errors.add(ErrorCode.INVALID, "startsAt needs a timezone", "startsAt")
    topic_ids = list(dict.fromkeys(topic_ids))
    if len(topic_ids) > MAX_AGENDA:
        errors.add(ErrorCode.INVALID, f"at most {MAX_AGENDA} topics on an agenda", "topicIds")
    if len(attendees) > MAX_ATTENDEES:
        errors.add(ErrorCode.INVALID, f"at most {MAX_ATTENDEES} attendees", "attendees")
    orgs: list[str | None] = []
    for a in attendees:
        if (a.person_id is None) == (a.organisation is None):
            errors.add(ErrorCode.INVALID, "an attendee is a person or an organisation", "attendees")
            orgs.append(None)
            continue
        orgs.append(None if a.organisation is None else errors.check(v.text, a.organisation, "attendees", max_len=100))
    errors.raise_if_any()
    area = await _area(ctx, area_id, "meeting", "convene", "convene meetings")
    if topic_ids:
        found = list(await ctx.db.scalars(select(Topic).where(Topic.id.in_(topic_ids), topic_read_predicate(ctx))))
        if len(found) != len(topic_ids):
            raise _fail(ErrorCode.NOT_FOUND, "topic not found", "topicIds")
        for t in found:
            if not t.area_path.startswith(area.path):
                raise _fail(ErrorCode.INVALID, f"topic {t.title!r} belongs to another area", "topicIds")
            if t.state not in (TopicState.ACCEPTED, TopicState.DELIBERATED):
                raise _fail(ErrorCode.INVALID_TRANSITION,
                            f"topic {t.title!r} is {t.state.value}; an agenda takes accepted topics", "topicIds")
    persons = [a.person_id for a in attendees if a.person_id is not None]
    if persons:
        readable = set(await ctx.db.scalars(select(Person.id).where(
            Person.id.in_(persons), person_predicate(ctx.actor.grant("person", "read"), ctx.actor))))
        if readable != set(persons):
            raise _fail(ErrorCode.NOT_FOUND, "person not found", "attendees")
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
        raise _fail(ErrorCode.NOT_FOUND, "meeting not found", "id")
    grant = ctx.actor.grant("meeting", "record_minutes")
    if await ctx.db.scalar(select(Meeting.id).where(Meeting.id == meeting_id, area_rows_predicate(
            Meeting.area_path, Meeting.area_id, grant, ctx.actor, ancestors=False))) is None:
        raise _fail(ErrorCode.FORBIDDEN, "you may not record the minutes of this meeting", "id")
    MEETING.check(meeting, "close")
    agenda = {mt.topic_id: mt for mt in await ctx.db.scalars(
        select(MeetingTopic).where(MeetingTopic.meeting_id == meeting_id))}
    attendee_ids = set(await ctx.db.scalars(select(MeetingAttendee.id).where(MeetingAttendee.meeting_id == meeting_id)))
    if not set(attended) <= attendee_ids:
        raise _fail(ErrorCode.INVALID, "attended lists someone who was not invited", "attended")
    decided: set[uuid.UUID] = set()
    for d in decisions:
        if d.topic_id not in agenda:
            raise _fail(ErrorCode.INVALID, "a decided topic must be on the agenda", "decisions")
        await transition_topic(ctx, d.topic_id, "decide", text=d.decision)
        decided.add(d.topic_id)
    for tid in agenda:
        if tid not in decided:
            topic = await ctx.db.scalar(select(Topic).where(Topic.id == tid))
            if topic is not None and topic.state is TopicState.ACCEPTED:
                await _apply(ctx, topic, "deliberate", {})
    await transition(ctx, MEETING, meeting, "close", values={"minutes": clean, "closed_at": ctx.now})
    if decided:
        await ctx.db.execute(update(MeetingTopic).where(MeetingTopic.meeting_id == meeting_id,
                                                        MeetingTopic.topic_id.in_(decided))
                             .values(decided=True).execution_options(synchronize_session=False))
    await ctx.db.execute(update(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id).values(
        attended=MeetingAttendee.id.in_(list(attended)) if attended else False)
        .execution_options(synchronize_session=False))
    return meeting


# ================================================================= notices


def notice_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    return area_rows_predicate(Notice.area_path, Notice.area_id, ctx.actor.grant("notice", "read"), ctx.actor,
                               ancestors=True)


async def get_notice(ctx: RequestContext, notice_id: uuid.UUID) -> Notice | None:
    return await ctx.db.scalar(select(Notice).where(Notice.id == notice_id, notice_read_predicate(ctx)))


async def list_notices(ctx: RequestContext, *, area_id: uuid.UUID | None, include_expired: bool,
                       first: int | None, after: str | None) -> Page[Notice]:
    """Notices you may read; with an area, those reaching it (to it, below it, or to an area above it)."""
    stmt = select(Notice).where(notice_read_predicate(ctx))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise _fail(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(or_(Notice.area_path.startswith(path), literal(path).startswith(Notice.area_path)))
    if not include_expired:
        stmt = stmt.where(or_(Notice.expires_at.is_(None), Notice.expires_at > ctx.now))
    return await keyset_page(ctx.db, stmt, Notice.id, first=first, after=after, descending=True)


async def publish_notice(ctx: RequestContext, *, area_id: uuid.UUID, title: str, body: str,
                         expires_at: datetime | None) -> Notice:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit in (("title", title, 100), ("body", body, 10000)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= ctx.now):
        errors.add(ErrorCode.INVALID, "expiresAt must be a moment in the future", "expiresAt")
    errors.raise_if_any()
    area = await _area(ctx, area_id, "notice", "publish", "publish notices")
    notice = Notice(id=uuid7(), area_id=area.id, area_path=area.path, title=clean["title"], body=clean["body"],
                    publisher_user_id=ctx.actor.user_id, expires_at=expires_at, created_at=ctx.now)
    await ctx.db.flush(notice)
    ctx.events.append({"topic": "notice", "tenant_id": str(ctx.tenant.id), "notice_id": str(notice.id),
                       "area_path": notice.area_path})
    return notice


# ================================================================= problem wall / echo wall


async def wall(ctx: RequestContext, compound_id: uuid.UUID, *, echo: bool, first: int | None,
               after: str | None) -> Page[Case]:
    """A compound's problem-wall cases (问题墙), or those answered (回音壁), that the actor may read:
    residents of the compound, staff in scope. The caller shows them anonymised."""
    compound = await ctx.db.scalar(select(Area).where(
        Area.id == compound_id, Area.kind == AreaKind.COMPOUND,
        area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
    if compound is None:
        raise _fail(ErrorCode.NOT_FOUND, "compound not found", "compoundId")
    stmt = select(Case).where(Case.on_wall.is_(True), Case.area_path.startswith(compound.path),
                              case_read_predicate(ctx))
    if echo:
        stmt = stmt.where(Case.resolution.is_not(None), Case.state.in_([CaseState.RESOLVED, CaseState.CLOSED]))
    return await keyset_page(ctx.db, stmt, Case.id, first=first, after=after, descending=True)


# ================================================================= loaders (per request)


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



async def get_step(ctx: RequestContext, step_id: uuid.UUID) -> TopicStep | None:
    readable = select(Topic.id).where(topic_read_predicate(ctx))
    return await ctx.db.scalar(select(TopicStep).where(TopicStep.id == step_id, TopicStep.topic_id.in_(readable)))
