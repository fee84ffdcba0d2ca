"""Deliberation's mutation inputs and the payloads its mutations return (typed errors beside the object)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from models import Choice, VoteMatter
from schema.common import UserError

from .types import Meeting, Notice, Topic, TopicStep, Vote


@strawberry.input(description="Propose a topic (提出议题).")
class ProposeTopicInput:
    area_id: strawberry.ID = strawberry.field(description="The area it concerns (usually a compound).")
    title: str = strawberry.field(description="At most 100 characters.")
    description: str = strawberry.field(default="", description="At most 5000 characters.")
    case_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Cases it takes up (≤ 50).")


@strawberry.input(description="A topic transition (accept, start, complete).")
class TopicTransitionInput:
    id: strawberry.ID = strawberry.field(description="The topic.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="A topic transition with text: decline (reason), decide (decision), review.")
class TopicTextInput:
    id: strawberry.ID = strawberry.field(description="The topic.")
    text: str = strawberry.field(description="The reason, decision or review (required).")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Raise a case to a topic (事件转议题).")
class RaiseCaseInput:
    topic_id: strawberry.ID = strawberry.field(description="The topic.")
    case_id: strawberry.ID = strawberry.field(description="The case.")


@strawberry.input(description="Add an implementation step (落实事项).")
class AddTopicStepInput:
    topic_id: strawberry.ID = strawberry.field(description="A decided or implementing topic.")
    description: str = strawberry.field(description="What is to be done.")
    owner_name: str = strawberry.field(description="Who carries it out.")
    due_date: date | None = strawberry.field(default=None, description="By when.")


@strawberry.input(description="Report progress on a step.")
class UpdateTopicStepInput:
    id: strawberry.ID = strawberry.field(description="The step.")
    progress: int = strawberry.field(description="0–100.")
    note: str | None = strawberry.field(default=None, description="Progress note.")


@strawberry.input(description="Put a topic to the owners' vote (发起业主表决).")
class OpenVoteInput:
    topic_id: strawberry.ID = strawberry.field(
        description="An accepted or deliberated topic of one compound (its owners vote) or one building of it "
                    "(that building's owners vote).")
    matter: VoteMatter = strawberry.field(description="What it decides; sets the rule.")
    question: str = strawberry.field(description="The question.")
    closes_at: datetime = strawberry.field(description="Deadline for ballots.")


@strawberry.input(description="Cast or change the ballot of the dwelling you own (投票).")
class CastBallotInput:
    vote_id: strawberry.ID = strawberry.field(description="The vote.")
    choice: Choice = strawberry.field(description="Yes, no or abstain.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns the "
                                  "vote, even once it has closed.")
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="The dwelling you vote for, when you own several in the vote's scope.")


@strawberry.input(description="Record an owner's proxy ballot (委托投票) from the written proxy (staff).")
class RecordProxyBallotInput:
    vote_id: strawberry.ID = strawberry.field(description="The vote.")
    household_id: strawberry.ID = strawberry.field(description="The dwelling of the electorate the owner votes for.")
    choice: Choice = strawberry.field(description="Yes, no or abstain, as the proxy gives it.")
    document_ref: str = strawberry.field(description="The written proxy's reference (委托书编号, ≤ 100 chars).")
    proxy_name: str = strawberry.field(description="Who holds the proxy (受托人, ≤ 50 chars).")


@strawberry.input(description="Record a paper ballot (纸质表决票) handed in by an owner (staff).")
class RecordPaperBallotInput:
    vote_id: strawberry.ID = strawberry.field(description="The vote.")
    household_id: strawberry.ID = strawberry.field(description="The dwelling of the electorate the ballot is for.")
    choice: Choice = strawberry.field(description="Yes, no or abstain, as marked on the paper.")
    document_ref: str = strawberry.field(description="The paper ballot's reference (表决票编号, ≤ 100 chars).")


@strawberry.input(description="A person on the register or an organisation invited to a meeting.")
class AttendeeInput:
    person_id: strawberry.ID | None = strawberry.field(default=None, description="A person you may read.")
    organisation: str | None = strawberry.field(default=None, description="Or an organisation's name.")
    role_note: str | None = strawberry.field(default=None, description="In what capacity.")


@strawberry.input(description="Convene a meeting (召集议事会).")
class ConveneMeetingInput:
    area_id: strawberry.ID = strawberry.field(description="The area it is held for.")
    title: str = strawberry.field(description="Title.")
    starts_at: datetime = strawberry.field(description="When.")
    place: str = strawberry.field(description="Where.")
    topic_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Agenda: accepted topics.")
    attendees: list[AttendeeInput] | None = strawberry.field(default=None, description="Who is invited.")


@strawberry.input(description="The decision a meeting took on an agenda topic.")
class TopicDecisionInput:
    topic_id: strawberry.ID = strawberry.field(description="A topic on the agenda.")
    decision: str = strawberry.field(description="The decision text.")


@strawberry.input(description="Record the minutes and close the meeting record (会议纪要).")
class CloseMeetingInput:
    id: strawberry.ID = strawberry.field(description="The meeting.")
    minutes: str = strawberry.field(description="The minutes.")
    attended: list[strawberry.ID] | None = strawberry.field(default=None, description="Attendee IDs present.")
    decisions: list[TopicDecisionInput] | None = strawberry.field(default=None, description="Topics decided.")


@strawberry.input(description="Publish a notice (发布通知).")
class PublishNoticeInput:
    area_id: strawberry.ID = strawberry.field(description="The area; it reaches everything below it.")
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="Text.")
    expires_at: datetime | None = strawberry.field(default=None, description="Hide from feeds after this.")


@strawberry.type(description="Result of a topic mutation.")
class TopicPayload:
    topic: Topic | None = strawberry.field(description="The topic, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a step mutation.")
class TopicStepPayload:
    step: TopicStep | None = strawberry.field(description="The step, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a vote mutation.")
class VotePayload:
    vote: Vote | None = strawberry.field(description="The vote, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a meeting mutation.")
class MeetingPayload:
    meeting: Meeting | None = strawberry.field(description="The meeting, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of publishNotice.")
class NoticePayload:
    notice: Notice | None = strawberry.field(description="The notice, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")
