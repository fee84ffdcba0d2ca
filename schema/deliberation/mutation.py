"""Deliberation's Mutation fields: each decodes its input, calls one service function, and returns
its payload."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import BallotMethod
from resolvers import deliberation as svc
from resolvers.ids import decode_id
from schema.common import context, mutate, mutation
from schema.register import AREA_TYPE_NAMES

from .inputs import (
    AddTopicStepInput,
    CastBallotInput,
    CloseMeetingInput,
    ConveneMeetingInput,
    MeetingPayload,
    NoticePayload,
    OpenVoteInput,
    ProposeTopicInput,
    PublishNoticeInput,
    RaiseCaseInput,
    RecordPaperBallotInput,
    RecordProxyBallotInput,
    TopicPayload,
    TopicStepPayload,
    TopicTextInput,
    TopicTransitionInput,
    UpdateTopicStepInput,
    VotePayload,
)
from .types import Meeting, Notice, Topic, TopicStep, Vote


async def _topic(info: Info, run: Any) -> TopicPayload:
    row, errors = await mutate(info, run)
    return TopicPayload(topic=None if row is None else Topic(_m=row), errors=errors)


async def _vote(info: Info, run: Any) -> VotePayload:
    row, errors = await mutate(info, run)
    return VotePayload(vote=None if row is None else Vote(_m=row), errors=errors)


async def _transition(info: Info, action: str, gid: strawberry.ID, text: str | None,
                      expected: int | None) -> TopicPayload:
    async def run() -> Any:
        return await svc.transition_topic(context(info), decode_id(gid, "Topic", "id"), action, text=text,
                                          expected_version=expected)
    return await _topic(info, run)


@strawberry.type
class DeliberationMutation:
    @mutation(description="Propose a topic (提出议题).")
    async def propose_topic(self, info: Info, input: ProposeTopicInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.propose_topic(
                context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), title=input.title,
                description=input.description, case_ids=[decode_id(c, "Case", "caseIds") for c in input.case_ids or []])
        return await _topic(info, run)

    @mutation(description="Accept a proposed topic for deliberation (受理议题).")
    async def accept_topic(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "accept", input.id, None, input.expected_version)

    @mutation(description="Decline a topic, with a reason (不予采纳).")
    async def decline_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "decline", input.id, input.text, input.expected_version)

    @mutation(description="Record the decision on a topic (形成决议); not while its vote is open.")
    async def decide_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "decide", input.id, input.text, input.expected_version)

    @mutation(description="Start carrying out a decided topic (监督落实).")
    async def start_topic_implementation(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "start", input.id, None, input.expected_version)

    @mutation(description="Mark a topic done; every step must be at 100%.")
    async def complete_topic(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "complete", input.id, None, input.expected_version)

    @mutation(description="Review a done topic (事后复盘).")
    async def review_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "review", input.id, input.text, input.expected_version)

    @mutation(description="Raise a case to a topic (事件转议题).")
    async def raise_case_to_topic(self, info: Info, input: RaiseCaseInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.raise_case_to_topic(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                                 decode_id(input.case_id, "Case", "caseId"))
        return await _topic(info, run)

    @mutation(description="Add an implementation step to a decided topic.")
    async def add_topic_step(self, info: Info, input: AddTopicStepInput) -> TopicStepPayload:
        async def run() -> Any:
            return await svc.add_step(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                      description=input.description, owner_name=input.owner_name,
                                      due_date=input.due_date)
        row, errors = await mutate(info, run)
        return TopicStepPayload(step=None if row is None else TopicStep(_m=row), errors=errors)

    @mutation(description="Report progress on an implementation step.")
    async def update_topic_step(self, info: Info, input: UpdateTopicStepInput) -> TopicStepPayload:
        async def run() -> Any:
            return await svc.update_step(context(info), decode_id(input.id, "TopicStep", "id"), progress=input.progress,
                                         note=input.note)
        row, errors = await mutate(info, run)
        return TopicStepPayload(step=None if row is None else TopicStep(_m=row), errors=errors)

    @mutation(description="Put a topic to the owners' vote; the electorate is frozen now.")
    async def open_vote(self, info: Info, input: OpenVoteInput) -> VotePayload:
        async def run() -> Any:
            return await svc.open_vote(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                       matter=input.matter, question=input.question, closes_at=input.closes_at)
        return await _vote(info, run)

    @mutation(description="Cast or change your own household's ballot until the vote closes.")
    async def cast_ballot(self, info: Info, input: CastBallotInput) -> VotePayload:
        async def run() -> Any:
            vote_id = decode_id(input.vote_id, "Vote", "voteId")
            household = None if input.household_id is None else decode_id(input.household_id, "Household",
                                                                            "householdId")
            return await svc.cast_ballot(context(info), vote_id, input.choice, input.idempotency_key, household)
        return await _vote(info, run)

    @mutation(description="Record an owner's proxy ballot (委托投票) with the written proxy's reference (staff); "
                          "final, counted once per dwelling, audited.")
    async def record_proxy_ballot(self, info: Info, input: RecordProxyBallotInput) -> VotePayload:
        async def run() -> Any:
            vote_id = decode_id(input.vote_id, "Vote", "voteId")
            await svc.record_ballot(context(info), vote_id, decode_id(input.household_id, "Household", "householdId"),
                                    input.choice, method=BallotMethod.PROXY, document_ref=input.document_ref,
                                    proxy_name=input.proxy_name)
            return await svc.get_vote(context(info), vote_id)
        return await _vote(info, run)

    @mutation(description="Record a paper ballot (纸质表决票) with its reference (staff); final, counted once per "
                          "dwelling, audited.")
    async def record_paper_ballot(self, info: Info, input: RecordPaperBallotInput) -> VotePayload:
        async def run() -> Any:
            vote_id = decode_id(input.vote_id, "Vote", "voteId")
            await svc.record_ballot(context(info), vote_id, decode_id(input.household_id, "Household", "householdId"),
                                    input.choice, method=BallotMethod.PAPER, document_ref=input.document_ref)
            return await svc.get_vote(context(info), vote_id)
        return await _vote(info, run)

    @mutation(description="Close a vote and record its result (计票).")
    async def close_vote(self, info: Info, input: TopicTransitionInput) -> VotePayload:
        async def run() -> Any:
            return await svc.close_vote(context(info), decode_id(input.id, "Vote", "id"))
        return await _vote(info, run)

    @mutation(description="Convene a meeting (召集议事会).")
    async def convene_meeting(self, info: Info, input: ConveneMeetingInput) -> MeetingPayload:
        async def run() -> Any:
            attendees = [svc.AttendeeInput(
                person_id=decode_id(a.person_id, "Person", "attendees"),
                organisation=a.organisation, role_note=a.role_note) for a in input.attendees or []]
            return await svc.convene_meeting(
                context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), title=input.title,
                starts_at=input.starts_at, place=input.place,
                topic_ids=[decode_id(t, "Topic", "topicIds") for t in input.topic_ids or []], attendees=attendees)
        row, errors = await mutate(info, run)
        return MeetingPayload(meeting=None if row is None else Meeting(_m=row), errors=errors)

    @mutation(description="Record minutes and attendance and close the meeting with its decisions.")
    async def close_meeting(self, info: Info, input: CloseMeetingInput) -> MeetingPayload:
        async def run() -> Any:
            return await svc.close_meeting(
                context(info), decode_id(input.id, "Meeting", "id"), minutes=input.minutes,
                attended=[decode_id(a, "MeetingAttendee", "attended") for a in input.attended or []],
                decisions=[svc.TopicDecision(decode_id(d.topic_id, "Topic", "decisions"), d.decision)
                           for d in input.decisions or []])
        row, errors = await mutate(info, run)
        return MeetingPayload(meeting=None if row is None else Meeting(_m=row), errors=errors)

    @mutation(description="Publish a notice to an area and everything below it (发布通知).")
    async def publish_notice(self, info: Info, input: PublishNoticeInput) -> NoticePayload:
        async def run() -> Any:
            return await svc.publish_notice(context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"),
                                            title=input.title, body=input.body, expires_at=input.expires_at)
        row, errors = await mutate(info, run)
        return NoticePayload(notice=None if row is None else Notice(_m=row), errors=errors)
