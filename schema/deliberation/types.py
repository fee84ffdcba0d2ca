"""Deliberation (议事协商) in GraphQL, its object types: topics, implementation steps, owners' votes
and their results, meetings, notices, and the problem wall (问题墙) / echo wall (回音壁) entries; the
domain's enums are declared here, before any type uses them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from models import BallotMethod, CaseState, Choice, MeetingState, TopicState, VoteMatter, VoteState
from models import Case as CaseRow
from models import Meeting as MeetingRow
from models import Notice as NoticeRow
from models import Topic as TopicRow
from models import TopicStep as TopicStepRow
from models import Vote as VoteRow
from resolvers import deliberation as svc
from resolvers import loaders
from resolvers.deliberation.tally import Tally
from schema.cases import Case
from schema.columns import column_field
from schema.common import Node, context, field, graphql_enum
from schema.register import AreaNode, User, area_type

graphql_enum(TopicState, name="TopicState", description="State of a topic (议题状态).")
graphql_enum(MeetingState, name="MeetingState", description="State of a meeting record.")
graphql_enum(VoteMatter, name="VoteMatter", description=(
    "What an owners' vote decides; Civil Code art. 278 sets the majority by it (表决事项): "
    "RAISE_MAINTENANCE_FUND, REBUILD, CHANGE_COMMON_PARTS need ≥ 3/4; the others more than 1/2."))
graphql_enum(VoteState, name="VoteState", description="Open or closed (表决状态).")
graphql_enum(Choice, name="BallotChoice", description="A household's ballot (同意/反对/弃权).")
graphql_enum(BallotMethod, name="BallotMethod", description=(
    "How a ballot was given: ONLINE by a registered owner, PROXY (委托) or PAPER (纸质表决票) recorded by staff "
    "with the document's reference."))


async def _user(info: Info, user_id: uuid.UUID) -> User | None:
    u = await loaders.user_by_id(context(info)).load(user_id)
    return None if u is None else User(username=u.username, display_name=u.display_name)


@strawberry.type(description="An implementation step of a decided topic (落实事项).")
class TopicStep(Node):
    _m: strawberry.Private[TopicStepRow]

    @field(description="Order, from 1.")
    def seq(self) -> int:
        return self._m.seq

    @field(description="What is to be done.")
    def description(self) -> str:
        return self._m.description

    @field(description="Who carries it out (责任人/单位).")
    def owner_name(self) -> str:
        return self._m.owner_name

    @field(description="Due date (完成时限).")
    def due_date(self) -> date | None:
        return self._m.due_date

    @field(description="Progress in percent (进度).")
    def progress(self) -> int:
        return self._m.progress

    @field(description="Latest progress note.")
    def note(self) -> str | None:
        return self._m.note


@strawberry.type(description="Figures of an owners' vote under Civil Code art. 278 (表决结果): areas are square "
                             "metres of exclusive floor area, exact decimals as strings.")
class VoteResult:
    _t: strawberry.Private[Tally]

    @field(description="three_quarters (≥ 3/4) or more_than_half (> 1/2) of those taking part.")
    def rule(self) -> str:
        return self._t.rule

    @field(description="Owner households in the electorate (业主总人数).")
    def electorate_owners(self) -> int:
        return self._t.electorate_owners

    @field(description="Their total floor area (专有部分总面积).")
    def electorate_area(self) -> str:
        return str(self._t.electorate_area)

    @field(description="Households that cast a ballot (参与表决人数).")
    def participating_owners(self) -> int:
        return self._t.participating_owners

    @field(description="Their floor area (参与表决面积).")
    def participating_area(self) -> str:
        return str(self._t.participating_area)

    @field(description="Households voting yes (同意人数).")
    def yes_owners(self) -> int:
        return self._t.yes_owners

    @field(description="Floor area voting yes (同意面积).")
    def yes_area(self) -> str:
        return str(self._t.yes_area)

    @field(description="Households voting no.")
    def no_owners(self) -> int:
        return self._t.no_owners

    @field(description="Floor area voting no.")
    def no_area(self) -> str:
        return str(self._t.no_area)

    @field(description="Households abstaining (they take part, they do not approve).")
    def abstain_owners(self) -> int:
        return self._t.abstain_owners

    @field(description="Floor area abstaining.")
    def abstain_area(self) -> str:
        return str(self._t.abstain_area)

    @field(description="Participating area ≥ 2/3 of the total.")
    def participation_area_met(self) -> bool:
        return self._t.participation_area_met

    @field(description="Participating owners ≥ 2/3 of all owners.")
    def participation_owners_met(self) -> bool:
        return self._t.participation_owners_met

    @field(description="Yes area meets the rule among the participating area.")
    def approval_area_met(self) -> bool:
        return self._t.approval_area_met

    @field(description="Yes owners meet the rule among the participating owners.")
    def approval_owners_met(self) -> bool:
        return self._t.approval_owners_met

    @field(description="All four thresholds met (通过).")
    def passed(self) -> bool:
        return self._t.passed


@strawberry.type(description="The ballot of the dwelling you own (本户表决票).")
class Ballot:
    choice: Choice | None = strawberry.field(description="Null while not cast.")
    cast_at: datetime | None = strawberry.field(description="When last cast or changed.")
    method: BallotMethod | None = strawberry.field(
        default=None, description="How it was given (null while not cast); a PROXY or PAPER ballot is final.")


@strawberry.type(description="An owners' vote on a topic (业主表决) in a compound or one of its buildings: one "
                             "ballot per dwelling with a registered property owner (产权人), weighted by floor area.")
class Vote(Node):
    _m: strawberry.Private[VoteRow]

    matter = column_field("matter", VoteMatter, description="What it decides; sets the rule.")
    question = column_field("question", str, description="The question put to the owners.")
    state = column_field("state", VoteState, description="Open or closed.")
    closes_at = column_field("closes_at", datetime, description="Ballots are accepted until then (截止时间).")
    closed_at = column_field("closed_at", datetime | None, description="When it was closed.")

    @field(description="The compound whose owners vote.")
    async def compound(self, info: Info) -> AreaNode | None:
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.compound_id))
        return area

    @field(description="The building whose owners vote, for a building's vote (e.g. its elevator); null: the "
                       "whole compound.")
    async def building(self, info: Info) -> AreaNode | None:
        if self._m.building_id is None:
            return None
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.building_id))
        return area

    @field(description="Households that have cast a ballot so far (no choices shown while open).")
    async def ballots_cast(self, info: Info) -> int:
        return (await svc.ballots_cast_by_vote(context(info)).load(self._m.id))[0]

    @field(description="The ballot of the dwelling you own in its scope; null when you own none there.")
    async def my_ballot(self, info: Info) -> Ballot | None:
        row = await svc.my_ballot_by_vote(context(info)).load(self._m.id)
        return None if row is None else Ballot(choice=row.choice, cast_at=row.cast_at, method=row.method)

    @field(description="The result with its figures, once closed.")
    def result(self) -> VoteResult | None:
        t = svc.vote_result(self._m)
        return None if t is None else VoteResult(_t=t)


@strawberry.type(description="A topic (议题): a matter raised in an area, deliberated, decided, carried out and "
                             "reviewed.")
class Topic(Node):
    _m: strawberry.Private[TopicRow]

    title = column_field("title", str, description="Title (标题).")
    description = column_field("description", str, description="Description (内容).")
    state = column_field("state", TopicState, description="State (状态).")

    @field(description="The area it concerns.")
    async def area(self, info: Info) -> AreaNode | None:
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))
        return area

    @field(description="Who proposed it (提议人).")
    async def proposer(self, info: Info) -> User | None:
        return await _user(info, self._m.proposer_user_id)

    proposed_at = column_field("created_at", datetime, description="Proposed at.")
    decision = column_field("decision", str | None, description="The decision (决议).")
    decided_at = column_field("decided_at", datetime | None, description="Decided at.")
    decline_reason = column_field("decline_reason", str | None, description="Why it was declined.")
    cancel_reason = column_field("cancel_reason", str | None,
                                 description="Why it was cancelled or withdrawn (取消原因); null unless CANCELLED.")
    review = column_field("review", str | None, description="The review once done (复盘).")
    version = column_field("version", int, description="Version for optimistic concurrency.")

    @field(description="Cases raised to this topic that you may read (关联事件).")
    async def cases(self, info: Info) -> list[Case]:
        return [Case(_m=c) for c in await svc.cases_by_topic(context(info)).load(self._m.id)]

    @field(description="Implementation steps (落实事项), in order.")
    async def steps(self, info: Info) -> list[TopicStep]:
        return [TopicStep(_m=s) for s in await svc.steps_by_topic(context(info)).load(self._m.id)]

    @field(description="The owners' vote on it, if one was opened.")
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

    # Column fields (schema.columns): the compiled meetings list (compiled/meetings.py) reads the same declarations.
    title = column_field("title", str, description="Title.")
    starts_at = column_field("starts_at", datetime, description="When (时间).")
    place = column_field("place", str, description="Where (地点).")
    state = column_field("state", MeetingState, description="State of the record.")

    @field(description="The area it is held for.")
    async def area(self, info: Info) -> AreaNode | None:
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))
        return area

    @field(description="Who convened it (召集人).")
    async def convener(self, info: Info) -> User | None:
        return await _user(info, self._m.convener_user_id)

    minutes = column_field("minutes", str | None, description="Minutes (会议纪要), once recorded.")
    cancel_reason = column_field("cancel_reason", str | None,
                                 description="Why it was called off (取消原因); null unless CANCELLED.")
    version = column_field("version", int, description="Version for optimistic concurrency (expectedVersion of "
                                                        "updateMeeting, cancelMeeting).")
    closed_at = column_field("closed_at", datetime | None, description="When the record was closed.")

    @field(description="The agenda (议程): topics you may read, in order.")
    async def agenda(self, info: Info) -> list[AgendaItem]:
        rows = await svc.topics_by_meeting(context(info)).load(self._m.id)
        return [AgendaItem(position=mt.position, decided=mt.decided, topic=Topic(_m=t)) for mt, t in rows]

    @field(description="The topics this meeting decided.")
    async def decided_topics(self, info: Info) -> list[Topic]:
        rows = await svc.topics_by_meeting(context(info)).load(self._m.id)
        return [Topic(_m=t) for mt, t in rows if mt.decided]

    @field(description="Invited persons and organisations with attendance.")
    async def attendees(self, info: Info) -> list[MeetingAttendee]:
        from resolvers.ids import encode_global_id

        rows = await svc.attendees_by_meeting(context(info)).load(self._m.id)
        return [MeetingAttendee(id=strawberry.ID(encode_global_id("MeetingAttendee", a.id)),
                                name=a.organisation or name or "", is_organisation=a.organisation is not None,
                                role_note=a.role_note, attended=a.attended) for a, name in rows]


@strawberry.type(description="A notice (通知公告) to an area and everything below it.")
class Notice(Node):
    _m: strawberry.Private[NoticeRow]

    # Column fields (schema.columns): the compiled notices list (compiled/notices.py) reads the same declarations.
    title = column_field("title", str, description="Title.")
    body = column_field("body", str, description="Text.")

    @field(description="The area it is addressed to.")
    async def area(self, info: Info) -> AreaNode | None:
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))
        return area

    @field(description="Who published it.")
    async def publisher(self, info: Info) -> User | None:
        return await _user(info, self._m.publisher_user_id)

    published_at = column_field("created_at", datetime, description="Published at.")
    expires_at = column_field("expires_at", datetime | None, description="Not shown in feeds after this moment.")
    withdrawn_at = column_field("withdrawn_at", datetime | None, description=(
        "When it was withdrawn (撤回): readers no longer see it; null while it stands."))


@strawberry.type(description="A case as the public wall shows it (问题墙/回音壁): no reporter, no handlers' names.")
class WallEntry:
    _m: strawberry.Private[CaseRow]

    @field(description="Case number.")
    def number(self) -> str:
        return self._m.number

    @field(description="Title.")
    def title(self) -> str:
        return self._m.title

    @field(description="What was reported.")
    def description(self) -> str:
        return self._m.description

    @field(description="Category code.")
    def category(self) -> str:
        return self._m.category_code

    @field(description="State.")
    def state(self) -> CaseState:
        return self._m.state

    @field(description="Where in the compound (building).")
    async def area(self, info: Info) -> AreaNode | None:
        area: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))
        return area

    @field(description="Reported at.")
    def reported_at(self) -> datetime:
        return self._m.created_at

    @field(description="The answer given (回音): what was done.")
    def answer(self) -> str | None:
        return self._m.resolution

    @field(description="Answered (resolved) at.")
    def answered_at(self) -> datetime | None:
        return self._m.resolved_at


@strawberry.type(description="A page of wall entries.")
class WallConnection:
    nodes: list[WallEntry] = strawberry.field(description="The entries, newest first.")
    has_next_page: bool = strawberry.field(description="More follow.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
