"""Deliberation (议事协商) in GraphQL: topics, implementation steps, meetings, owners' votes,
notices, the problem wall (问题墙) and echo wall (回音壁), and the noticeEvents subscription."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import Case as CaseRow
from models import CaseState, Choice, MeetingState, TopicState, VoteMatter, VoteState
from models import Meeting as MeetingRow
from models import Notice as NoticeRow
from models import Topic as TopicRow
from models import TopicStep as TopicStepRow
from models import Vote as VoteRow
from resolvers import deliberation as svc
from resolvers import loaders
from resolvers.context import RequestContext
from resolvers.deliberation.tally import Tally
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_id
from resolvers.register import areas as area_service
from schema.cases import Case
from schema.common import (
    Connection,
    Node,
    PublicError,
    UserError,
    connection,
    context,
    graphql_enum,
    mutate,
    query_call,
)
from schema.register.types import AREA_TYPE_NAMES, AreaNode, User, area_type

graphql_enum(TopicState, name="TopicState", description="State of a topic (议题状态).")
graphql_enum(MeetingState, name="MeetingState", description="State of a meeting record.")
graphql_enum(VoteMatter, name="VoteMatter", description=(
    "What an owners' vote decides; Civil Code art. 278 sets the majority by it (表决事项): "
    "RAISE_MAINTENANCE_FUND, REBUILD, CHANGE_COMMON_PARTS need ≥ 3/4; the others more than 1/2."))
graphql_enum(VoteState, name="VoteState", description="Open or closed (表决状态).")
graphql_enum(Choice, name="BallotChoice", description="A household's ballot (同意/反对/弃权).")


async def _user(info: Info, user_id: uuid.UUID) -> User | None:
    u = await loaders.user_by_id(context(info)).load(user_id)
    return None if u is None else User(username=u.username, display_name=u.display_name)


@strawberry.type(description="An implementation step of a decided topic (落实事项).")
class TopicStep(Node):
    _m: strawberry.Private[TopicStepRow]

    @strawberry.field(description="Order, from 1.")
    def seq(self) -> int:
        return self._m.seq

    @strawberry.field(description="What is to be done.")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="Who carries it out (责任人/单位).")
    def owner_name(self) -> str:
        return self._m.owner_name

    @strawberry.field(description="Due date (完成时限).")
    def due_date(self) -> date | None:
        return self._m.due_date

    @strawberry.field(description="Progress in percent (进度).")
    def progress(self) -> int:
        return self._m.progress

    @strawberry.field(description="Latest progress note.")
    def note(self) -> str | None:
        return self._m.note


@strawberry.type(description="Figures of an owners' vote under Civil Code art. 278 (表决结果): areas are square "
                             "metres of exclusive floor area, exact decimals as strings.")
class VoteResult:
    _t: strawberry.Private[Tally]

    @strawberry.field(description="three_quarters (≥ 3/4) or more_than_half (> 1/2) of those taking part.")
    def rule(self) -> str:
        return self._t.rule

    @strawberry.field(description="Owner households in the electorate (业主总人数).")
    def electorate_owners(self) -> int:
        return self._t.electorate_owners

    @strawberry.field(description="Their total floor area (专有部分总面积).")
    def electorate_area(self) -> str:
        return str(self._t.electorate_area)

    @strawberry.field(description="Households that cast a ballot (参与表决人数).")
    def participating_owners(self) -> int:
        return self._t.participating_owners

    @strawberry.field(description="Their floor area (参与表决面积).")
    def participating_area(self) -> str:
        return str(self._t.participating_area)

    @strawberry.field(description="Households voting yes (同意人数).")
    def yes_owners(self) -> int:
        return self._t.yes_owners

    @strawberry.field(description="Floor area voting yes (同意面积).")
    def yes_area(self) -> str:
        return str(self._t.yes_area)

    @strawberry.field(description="Households voting no.")
    def no_owners(self) -> int:
        return self._t.no_owners

    @strawberry.field(description="Floor area voting no.")
    def no_area(self) -> str:
        return str(self._t.no_area)

    @strawberry.field(description="Households abstaining (they take part, they do not approve).")
    def abstain_owners(self) -> int:
        return self._t.abstain_owners

    @strawberry.field(description="Floor area abstaining.")
    def abstain_area(self) -> str:
        return str(self._t.abstain_area)

    @strawberry.field(description="Participating area ≥ 2/3 of the total.")
    def participation_area_met(self) -> bool:
        return self._t.participation_area_met

    @strawberry.field(description="Participating owners ≥ 2/3 of all owners.")
    def participation_owners_met(self) -> bool:
        return self._t.participation_owners_met

    @strawberry.field(description="Yes area meets the rule among the participating area.")
    def approval_area_met(self) -> bool:
        return self._t.approval_area_met

    @strawberry.field(description="Yes owners meet the rule among the participating owners.")
    def approval_owners_met(self) -> bool:
        return self._t.approval_owners_met

    @strawberry.field(description="All four thresholds met (通过).")
    def passed(self) -> bool:
        return self._t.passed


@strawberry.type(description="Your household's ballot (本户表决票).")
class Ballot:
    choice: Choice | None = strawberry.field(description="Null while not cast.")
    cast_at: datetime | None = strawberry.field(description="When last cast or changed.")


@strawberry.type(description="An owners' vote on a topic (业主表决), one ballot per owner household.")
class Vote(Node):
    _m: strawberry.Private[VoteRow]

    @strawberry.field(description="What it decides; sets the rule.")
    def matter(self) -> VoteMatter:
        return self._m.matter

    @strawberry.field(description="The question put to the owners.")
    def question(self) -> str:
        return self._m.question

    @strawberry.field(description="Open or closed.")
    def state(self) -> VoteState:
        return self._m.state

    @strawberry.field(description="Ballots are accepted until then (截止时间).")
    def closes_at(self) -> datetime:
        return self._m.closes_at

    @strawberry.field(description="When it was closed.")
    def closed_at(self) -> datetime | None:
        return self._m.closed_at

    @strawberry.field(description="The compound whose owners vote.")
    async def compound(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.compound_id))

    @strawberry.field(description="Households that have cast a ballot so far (no choices shown while open).")
    async def ballots_cast(self, info: Info) -> int:
        return (await svc.ballots_cast_by_vote(context(info)).load(self._m.id))[0]

    @strawberry.field(description="Your household's ballot; null when your household is not in the electorate.")
    async def my_ballot(self, info: Info) -> Ballot | None:
        row = await svc.my_ballot_by_vote(context(info)).load(self._m.id)
        return None if row is None else Ballot(choice=row.choice, cast_at=row.cast_at)

    @strawberry.field(description="The result with its figures, once closed.")
    def result(self) -> VoteResult | None:
        t = svc.vote_result(self._m)
        return None if t is None else VoteResult(_t=t)


@strawberry.type(description="A topic (议题): a matter raised in an area, deliberated, decided, carried out and "
                             "reviewed.")
class Topic(Node):
    _m: strawberry.Private[TopicRow]

    @strawberry.field(description="Title (标题).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Description (内容).")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="State (状态).")
    def state(self) -> TopicState:
        return self._m.state

    @strawberry.field(description="The area it concerns.")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="Who proposed it (提议人).")
    async def proposer(self, info: Info) -> User | None:
        return await _user(info, self._m.proposer_user_id)

    @strawberry.field(description="Proposed at.")
    def proposed_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="The decision (决议).")
    def decision(self) -> str | None:
        return self._m.decision

    @strawberry.field(description="Decided at.")
    def decided_at(self) -> datetime | None:
        return self._m.decided_at

    @strawberry.field(description="Why it was declined.")
    def decline_reason(self) -> str | None:
        return self._m.decline_reason

    @strawberry.field(description="The review once done (复盘).")
    def review(self) -> str | None:
        return self._m.review

    @strawberry.field(description="Version for optimistic concurrency.")
    def version(self) -> int:
        return self._m.version

    @strawberry.field(description="Cases raised to this topic that you may read (关联事件).")
    async def cases(self, info: Info) -> list[Case]:
        return [Case(_m=c) for c in await svc.cases_by_topic(context(info)).load(self._m.id)]

    @strawberry.field(description="Implementation steps (落实事项), in order.")
    async def steps(self, info: Info) -> list[TopicStep]:
        return [TopicStep(_m=s) for s in await svc.steps_by_topic(context(info)).load(self._m.id)]

    @strawberry.field(description="The owners' vote on it, if one was opened.")
    async def vote(self, info: Info) -> Vote | None:
        row = await svc.vote_by_topic(context(info)).load(self._m.id)
        return None if row is None else Vote(_m=row)


@strawberry.type(description="A topic on a meeting's agenda.")
class AgendaItem:
    position: int = strawberry.field(description="Order on the agenda.")
    decided: bool = strawberry.field(description="The meeting decided it (closing the record).")
    topic: Topic = strawberry.field(description="The topic.")


@strawberry.type(description="Someone invited to a meeting: a person on the register or an organisation (参会人).")
class MeetingAttendee:
    id: strawberry.ID = strawberry.field(description="ID of the invitation (for closeMeeting.attended).")
    name: str = strawberry.field(description="The person's name or the organisation's.")
    is_organisation: bool = strawberry.field(description="An organisation (单位) rather than a person.")
    role_note: str | None = strawberry.field(description="In what capacity, e.g. 业委会 / 物业 / 楼栋长.")
    attended: bool | None = strawberry.field(description="Attended; null until the record is closed.")


@strawberry.type(description="A deliberation meeting (议事会): time, place, convener, agenda, attendees, minutes.")
class Meeting(Node):
    _m: strawberry.Private[MeetingRow]

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="When (时间).")
    def starts_at(self) -> datetime:
        return self._m.starts_at

    @strawberry.field(description="Where (地点).")
    def place(self) -> str:
        return self._m.place

    @strawberry.field(description="State of the record.")
    def state(self) -> MeetingState:
        return self._m.state

    @strawberry.field(description="The area it is held for.")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="Who convened it (召集人).")
    async def convener(self, info: Info) -> User | None:
        return await _user(info, self._m.convener_user_id)

    @strawberry.field(description="Minutes (会议纪要), once recorded.")
    def minutes(self) -> str | None:
        return self._m.minutes

    @strawberry.field(description="When the record was closed.")
    def closed_at(self) -> datetime | None:
        return self._m.closed_at

    @strawberry.field(description="The agenda (议程): topics you may read, in order.")
    async def agenda(self, info: Info) -> list[AgendaItem]:
        rows = await svc.topics_by_meeting(context(info)).load(self._m.id)
        return [AgendaItem(position=mt.position, decided=mt.decided, topic=Topic(_m=t)) for mt, t in rows]

    @strawberry.field(description="The topics this meeting decided.")
    async def decided_topics(self, info: Info) -> list[Topic]:
        rows = await svc.topics_by_meeting(context(info)).load(self._m.id)
        return [Topic(_m=t) for mt, t in rows if mt.decided]

    @strawberry.field(description="Invited persons and organisations with attendance.")
    async def attendees(self, info: Info) -> list[MeetingAttendee]:
        from resolvers.ids import encode_global_id

        rows = await svc.attendees_by_meeting(context(info)).load(self._m.id)
        return [MeetingAttendee(id=strawberry.ID(encode_global_id("MeetingAttendee", a.id)),
                                name=a.organisation or name or "", is_organisation=a.organisation is not None,
                                role_note=a.role_note, attended=a.attended) for a, name in rows]


@strawberry.type(description="A notice (通知公告) to an area and everything below it.")
class Notice(Node):
    _m: strawberry.Private[NoticeRow]

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Text.")
    def body(self) -> str:
        return self._m.body

    @strawberry.field(description="The area it is addressed to.")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="Who published it.")
    async def publisher(self, info: Info) -> User | None:
        return await _user(info, self._m.publisher_user_id)

    @strawberry.field(description="Published at.")
    def published_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="Not shown in feeds after this moment.")
    def expires_at(self) -> datetime | None:
        return self._m.expires_at


@strawberry.type(description="A case as the public wall shows it (问题墙/回音壁): no reporter, no handlers' names.")
class WallEntry:
    _m: strawberry.Private[CaseRow]

    @strawberry.field(description="Case number.")
    def number(self) -> str:
        return self._m.number

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="What was reported.")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="Category code.")
    def category(self) -> str:
        return self._m.category_code

    @strawberry.field(description="State.")
    def state(self) -> CaseState:
        return self._m.state

    @strawberry.field(description="Where in the compound (building).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="Reported at.")
    def reported_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="The answer given (回音): what was done.")
    def answer(self) -> str | None:
        return self._m.resolution

    @strawberry.field(description="Answered (resolved) at.")
    def answered_at(self) -> datetime | None:
        return self._m.resolved_at


@strawberry.type(description="A page of wall entries.")
class WallConnection:
    nodes: list[WallEntry] = strawberry.field(description="The entries, newest first.")
    has_next_page: bool = strawberry.field(description="More follow.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


def _wall(page: Any) -> WallConnection:
    from resolvers.ids import encode_cursor

    items = list(page.items)
    return WallConnection(nodes=[WallEntry(_m=c) for c in items], has_next_page=page.has_next,
                          end_cursor=encode_cursor(items[-1].id) if items else None)



@strawberry.type
class DeliberationQuery:
    @strawberry.field(description="Topics you may read (议题), newest first.")
    async def topics(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        states: list[TopicState] | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[Topic]:
        page = await query_call(svc.list_topics(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                states=states, first=first, after=after))
        return connection(page, lambda m: Topic(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Meetings you may read (议事会), newest first.")
    async def meetings(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[Meeting]:
        page = await query_call(svc.list_meetings(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                  first=first, after=after))
        return connection(page, lambda m: Meeting(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Notices you may read (通知公告), newest first; your feed when no area is given: "
                                  "your compound's and those of the areas above it (and your scope's).")
    async def notices(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only notices reaching this area (to it, below it or above it).")] = None,
        include_expired: bool = False, first: int | None = 20, after: str | None = None,
    ) -> Connection[Notice]:
        page = await query_call(svc.list_notices(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                 include_expired=include_expired, first=first, after=after))
        return connection(page, lambda m: Notice(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="A compound's problem wall (问题墙): its residents' reports, anonymised.")
    async def problem_wall(self, info: Info, compound_id: strawberry.ID, first: int | None = 20,
                           after: str | None = None) -> WallConnection:
        page = await query_call(svc.wall(context(info), decode_id(compound_id, "Compound", "compoundId"),
                                         echo=False, first=first, after=after))
        return _wall(page)

    @strawberry.field(description="A compound's echo wall (回音壁): wall entries answered, with the answers.")
    async def echo_wall(self, info: Info, compound_id: strawberry.ID, first: int | None = 20,
                        after: str | None = None) -> WallConnection:
        page = await query_call(svc.wall(context(info), decode_id(compound_id, "Compound", "compoundId"),
                                         echo=True, first=first, after=after))
        return _wall(page)


# ---------------------------------------------------------------- mutations


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
    topic_id: strawberry.ID = strawberry.field(description="An accepted or deliberated topic of one compound.")
    matter: VoteMatter = strawberry.field(description="What it decides; sets the rule.")
    question: str = strawberry.field(description="The question.")
    closes_at: datetime = strawberry.field(description="Deadline for ballots.")


@strawberry.input(description="Cast or change your household's ballot (投票).")
class CastBallotInput:
    vote_id: strawberry.ID = strawberry.field(description="The vote.")
    choice: Choice = strawberry.field(description="Yes, no or abstain.")


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
    @strawberry.mutation(description="Propose a topic (提出议题).")
    async def propose_topic(self, info: Info, input: ProposeTopicInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.propose_topic(
                context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), title=input.title,
                description=input.description, case_ids=[decode_id(c, "Case", "caseIds") for c in input.case_ids or []])
        return await _topic(info, run)

    @strawberry.mutation(description="Accept a proposed topic for deliberation (受理议题).")
    async def accept_topic(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "accept", input.id, None, input.expected_version)

    @strawberry.mutation(description="Decline a topic, with a reason (不予采纳).")
    async def decline_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "decline", input.id, input.text, input.expected_version)

    @strawberry.mutation(description="Record the decision on a topic (形成决议); not while its vote is open.")
    async def decide_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "decide", input.id, input.text, input.expected_version)

    @strawberry.mutation(description="Start carrying out a decided topic (监督落实).")
    async def start_topic_implementation(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "start", input.id, None, input.expected_version)

    @strawberry.mutation(description="Mark a topic done; every step must be at 100%.")
    async def complete_topic(self, info: Info, input: TopicTransitionInput) -> TopicPayload:
        return await _transition(info, "complete", input.id, None, input.expected_version)

    @strawberry.mutation(description="Review a done topic (事后复盘).")
    async def review_topic(self, info: Info, input: TopicTextInput) -> TopicPayload:
        return await _transition(info, "review", input.id, input.text, input.expected_version)

    @strawberry.mutation(description="Raise a case to a topic (事件转议题).")
    async def raise_case_to_topic(self, info: Info, input: RaiseCaseInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.raise_case_to_topic(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                                 decode_id(input.case_id, "Case", "caseId"))
        return await _topic(info, run)

    @strawberry.mutation(description="Add an implementation step to a decided topic.")
    async def add_topic_step(self, info: Info, input: AddTopicStepInput) -> TopicStepPayload:
        async def run() -> Any:
            return await svc.add_step(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                      description=input.description, owner_name=input.owner_name,
                                      due_date=input.due_date)
        row, errors = await mutate(info, run)
        return TopicStepPayload(step=None if row is None else TopicStep(_m=row), errors=errors)

    @strawberry.mutation(description="Report progress on an implementation step.")
    async def update_topic_step(self, info: Info, input: UpdateTopicStepInput) -> TopicStepPayload:
        async def run() -> Any:
            return await svc.update_step(context(info), decode_id(input.id, "TopicStep", "id"), progress=input.progress,
                                         note=input.note)
        row, errors = await mutate(info, run)
        return TopicStepPayload(step=None if row is None else TopicStep(_m=row), errors=errors)

    @strawberry.mutation(description="Put a topic to the owners' vote; the electorate is frozen now.")
    async def open_vote(self, info: Info, input: OpenVoteInput) -> VotePayload:
        async def run() -> Any:
            return await svc.open_vote(context(info), decode_id(input.topic_id, "Topic", "topicId"),
                                       matter=input.matter, question=input.question, closes_at=input.closes_at)
        return await _vote(info, run)

    @strawberry.mutation(description="Cast or change your own household's ballot until the vote closes.")
    async def cast_ballot(self, info: Info, input: CastBallotInput) -> VotePayload:
        async def run() -> Any:
            vote_id = decode_id(input.vote_id, "Vote", "voteId")
            await svc.cast_ballot(context(info), vote_id, input.choice)
            return await svc.get_vote(context(info), vote_id)
        return await _vote(info, run)

    @strawberry.mutation(description="Close a vote and record its result (计票).")
    async def close_vote(self, info: Info, input: TopicTransitionInput) -> VotePayload:
        async def run() -> Any:
            return await svc.close_vote(context(info), decode_id(input.id, "Vote", "id"))
        return await _vote(info, run)

    @strawberry.mutation(description="Convene a meeting (召集议事会).")
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

    @strawberry.mutation(description="Record minutes and attendance and close the meeting with its decisions.")
    async def close_meeting(self, info: Info, input: CloseMeetingInput) -> MeetingPayload:
        async def run() -> Any:
            return await svc.close_meeting(
                context(info), decode_id(input.id, "Meeting", "id"), minutes=input.minutes,
                attended=[decode_id(a, "MeetingAttendee", "attended") for a in input.attended or []],
                decisions=[svc.TopicDecision(decode_id(d.topic_id, "Topic", "decisions"), d.decision)
                           for d in input.decisions or []])
        row, errors = await mutate(info, run)
        return MeetingPayload(meeting=None if row is None else Meeting(_m=row), errors=errors)

    @strawberry.mutation(description="Publish a notice to an area and everything below it (发布通知).")
    async def publish_notice(self, info: Info, input: PublishNoticeInput) -> NoticePayload:
        async def run() -> Any:
            return await svc.publish_notice(context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"),
                                            title=input.title, body=input.body, expires_at=input.expires_at)
        row, errors = await mutate(info, run)
        return NoticePayload(notice=None if row is None else Notice(_m=row), errors=errors)


# ---------------------------------------------------------------- subscription


@strawberry.type
class DeliberationSubscription:
    @strawberry.subscription(description="New notices you may read, in an area (or everywhere you may read).")
    async def notice_events(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only notices reaching this area."
                                                                     )] = None,
    ) -> AsyncGenerator[Notice, None]:
        hub = info.context["hub"]
        area_path: str | None = None
        if area_id is not None:
            try:  # a subscription reports a bad argument as a GraphQL error, before its first event
                target = decode_id(area_id, AREA_TYPE_NAMES, "areaId")
            except ServiceError as e:
                raise PublicError(e) from None
            async with hub.request_context() as ctx:
                area = await area_service.get_readable_area(ctx, target)
                area_path = None if area is None else area.path
            if area_path is None:
                raise PublicError(ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId"))
        queue = await hub.subscribe()
        try:
            while True:
                event = await queue.get()
                if event.get("topic") != "notice" or event.get("tenant_id") != str(hub.tenant_id):
                    continue
                path = str(event.get("area_path", ""))
                if area_path is not None and not (path.startswith(area_path) or area_path.startswith(path)):
                    continue
                async with hub.request_context() as ctx:
                    ctx_typed: RequestContext = ctx
                    notice = await svc.get_notice(ctx_typed, uuid.UUID(event["notice_id"]))
                    if notice is None:
                        continue  # not readable by this subscriber
                    info.context["request_context"] = ctx_typed
                    yield Notice(_m=notice)
        finally:
            hub.unsubscribe(queue)


NODE_TYPES = (Topic, TopicStep, Vote, Meeting, Notice)


async def resolve_deliberation_node(ctx: RequestContext, type_name: str, id_: uuid.UUID) -> Any:
    if type_name == "Topic":
        t = await svc.get_topic(ctx, id_)
        return None if t is None else Topic(_m=t)
    if type_name == "Vote":
        vote = await svc.get_vote(ctx, id_)
        return None if vote is None else Vote(_m=vote)
    if type_name == "Meeting":
        m = await svc.get_meeting(ctx, id_)
        return None if m is None else Meeting(_m=m)
    if type_name == "Notice":
        n = await svc.get_notice(ctx, id_)
        return None if n is None else Notice(_m=n)
    if type_name == "TopicStep":
        s = await svc.get_step(ctx, id_)
        return None if s is None else TopicStep(_m=s)
    return None
