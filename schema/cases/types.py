"""Cases (事件/诉求) in GraphQL: the case, its timeline, review figures, and the loop's mutations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import AreaKind, CaseState, HandlerKind, community_id_of
from models import Case as CaseRow
from models import CaseEvent as CaseEventRow
from models import CasePriority as _CasePriority
from models import CaseReview as CaseReviewRow
from models import Notification as NotificationRow
from resolvers import cases as case_service
from resolvers import loaders
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_id, encode_global_id
from schema.cases.config import CaseConfigMutation, CaseConfigQuery, CasePriority
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
from schema.register.types import AREA_TYPE_NAMES, AreaNode, Community, Grid, User, area_type

graphql_enum(CaseState, name="CaseState", description="State of a case in its closed loop (事件状态).")
graphql_enum(HandlerKind, name="HandlerKind",
             description="Kind of unit a case is dispatched to (承办单位类型).")


@strawberry.type(description="A category of the tenant's case catalogue (事件类别).")
class CaseCategory:
    code: str = strawberry.field(description="Stable code, e.g. drainage.")
    name: str = strawberry.field(description="Display name, e.g. 管道堵塞/污水外溢.")


@strawberry.type(description="One immutable step of a case's timeline (处置记录).")
class CaseTimelineEntry:
    _m: strawberry.Private[CaseEventRow]
    _full: strawberry.Private[bool]

    @strawberry.field(description="Position in the timeline, from 1.")
    def seq(self) -> int:
        return self._m.seq

    @strawberry.field(description="What happened: report, accept, reject, dispatch, start, resolve, close, reopen, "
                                  "feedback, supervise, urge, escalate, auto_close.")
    def action(self) -> str:
        return self._m.action

    @strawberry.field(description="State before the step (null for the report).")
    def from_state(self) -> CaseState | None:
        return None if self._m.from_state is None else CaseState(self._m.from_state)

    @strawberry.field(description="State after the step.")
    def to_state(self) -> CaseState | None:
        return None if self._m.to_state is None else CaseState(self._m.to_state)

    @strawberry.field(description="Role the actor acted in; null for system steps or on the public wall.")
    def actor_role(self) -> str | None:
        return self._m.actor_role if self._full else None

    @strawberry.field(description="Who acted (经办人); null for system steps or on the public wall.")
    async def actor(self, info: Info) -> User | None:
        if not self._full or self._m.actor_user_id is None:
            return None
        u = await loaders.user_by_id(context(info)).load(self._m.actor_user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)

    @strawberry.field(description="Note given with the step (说明).")
    def note(self) -> str | None:
        return self._m.note

    @strawberry.field(description="IDs of photos attached to the step; download at /uploads/{id}.")
    def attachment_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(encode_global_id("Attachment", uuid.UUID(a))) for a in self._m.attachments]

    @strawberry.field(description="When (时间).")
    def at(self) -> datetime:
        return self._m.created_at


@strawberry.type(description="A case (事件/诉求): a problem found or reported in an area, and its closed loop. "
                             "On the problem wall (问题墙) residents see it anonymised: no reporter, no actors.")
class Case(Node):
    _m: strawberry.Private[CaseRow]

    async def _full(self, info: Info) -> bool:
        return await loaders.case_full_view(context(info)).load(self._m.id)

    @strawberry.field(description="Human-readable number (事件编号).")
    def number(self) -> str:
        return self._m.number

    @strawberry.field(description="Title (标题).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Description (描述).")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="Category code (类别).")
    def category(self) -> str:
        return self._m.category_code

    @strawberry.field(description="Category display name.")
    async def category_name(self, info: Info) -> str | None:
        return await loaders.category_name_by_code(context(info)).load(self._m.category_code)

    @strawberry.field(description="Priority (紧急程度).")
    def priority(self) -> CasePriority:
        return self._m.priority

    @strawberry.field(description="State (状态).")
    def state(self) -> CaseState:
        return self._m.state

    @strawberry.field(description="Where (所在区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="Community (社区) the case lies in; null for a case at street level or "
                                  "when the community is not yours to see.")
    async def community(self, info: Info) -> Community | None:
        cid = community_id_of(self._m.area_path)
        if cid is None:
            return None
        area = await loaders.area_by_id(context(info)).load(cid)
        return None if area is None or area.kind is not AreaKind.COMMUNITY else Community(_m=area)

    @strawberry.field(description="Grid (网格) of the case: its own area when that is a grid, else the first grid "
                                  "by name covering its building; null when none is yours to see.")
    async def grid(self, info: Info) -> Grid | None:
        ctx = context(info)
        grids = await loaders.grids_by_building(ctx).load(self._m.area_id)
        if grids:
            return Grid(_m=grids[0])
        area = await loaders.area_by_id(ctx).load(self._m.area_id)
        return Grid(_m=area) if area is not None and area.kind is AreaKind.GRID else None

    @strawberry.field(description="Location as told (位置描述).")
    def location_text(self) -> str | None:
        return self._m.location_text

    @strawberry.field(description="Latitude (纬度), if given.")
    def latitude(self) -> float | None:
        return self._m.latitude

    @strawberry.field(description="Longitude (经度), if given.")
    def longitude(self) -> float | None:
        return self._m.longitude

    @strawberry.field(description="Reporter (上报人); null when you see the case only on the public wall.")
    async def reporter(self, info: Info) -> User | None:
        if not await self._full(info):
            return None
        u = await loaders.user_by_id(context(info)).load(self._m.reporter_user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)

    @strawberry.field(description="True when you reported this case.")
    def reported_by_me(self, info: Info) -> bool:
        return self._m.reporter_user_id == context(info).actor.user_id

    @strawberry.field(description="Shown on the compound's problem wall (问题墙).")
    def on_problem_wall(self) -> bool:
        return self._m.on_wall

    @strawberry.field(description="Kind of handling unit (承办单位类型), once dispatched.")
    def handler_kind(self) -> HandlerKind | None:
        return self._m.handler_kind

    @strawberry.field(description="Name of the handling unit (承办单位).")
    def handler_name(self) -> str | None:
        return self._m.handler_name

    @strawberry.field(description="Due time (办结时限) from the tenant's SLA rule, in working time.")
    def due_at(self) -> datetime | None:
        return self._m.due_at

    @strawberry.field(description="Open and past its due time (超期).")
    def overdue(self, info: Info) -> bool:
        return case_service.is_overdue(self._m, context(info).now)

    @strawberry.field(description="Under supervision (督办).")
    def supervised(self) -> bool:
        return self._m.supervised

    @strawberry.field(description="Area the case was escalated to (上报至), if any.")
    async def escalated_to(self, info: Info) -> AreaNode | None:
        if self._m.escalated_to_area_id is None:
            return None
        return area_type(await loaders.area_by_id(context(info)).load(self._m.escalated_to_area_id))

    @strawberry.field(description="What was done (处置结果), once resolved.")
    def resolution(self) -> str | None:
        return self._m.resolution

    @strawberry.field(description="Why it was rejected (不予受理理由).")
    def reject_reason(self) -> str | None:
        return self._m.reject_reason

    @strawberry.field(description="Reporter's verdict (满意度): true satisfied, false not, null none yet.")
    def satisfied(self) -> bool | None:
        return self._m.satisfied

    @strawberry.field(description="Reporter's comment with the verdict.")
    def feedback_comment(self) -> str | None:
        return self._m.feedback_comment

    @strawberry.field(description="Times reopened (重办次数).")
    def reopen_count(self) -> int:
        return self._m.reopen_count

    @strawberry.field(description="Version for optimistic concurrency: pass as expectedVersion to transitions.")
    def version(self) -> int:
        return self._m.version

    @strawberry.field(description="Reported at (上报时间).")
    def reported_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="Resolved at (办结时间).")
    def resolved_at(self) -> datetime | None:
        return self._m.resolved_at

    @strawberry.field(description="Closed at (结案时间).")
    def closed_at(self) -> datetime | None:
        return self._m.closed_at

    @strawberry.field(description="Every step, oldest first (处置时间线).")
    async def timeline(
        self, info: Info,
        last: Annotated[int | None, strawberry.argument(
            description="Only the latest N steps (最近N条), still oldest first; all when omitted.")] = None,
    ) -> list[CaseTimelineEntry]:
        if last is not None and last < 0:
            raise PublicError(ServiceError(ErrorCode.INVALID, "last must not be negative", "last"))
        full = await self._full(info)
        events = await loaders.events_by_case(context(info)).load(self._m.id)
        if last is not None:
            events = events[max(len(events) - last, 0):] if last else []
        return [CaseTimelineEntry(_m=e, _full=full) for e in events]


@strawberry.type(description="Count per key (分项计数).")
class KeyCount:
    key: str = strawberry.field(description="State or category code.")
    count: int = strawberry.field(description="Number of cases.")


@strawberry.type(description="Figures of the cases reported in an area and period (复盘统计).")
class CaseStatistics:
    total: int = strawberry.field(description="Cases reported (事件总数).")
    by_state: list[KeyCount] = strawberry.field(description="Counts by state.")
    by_category: list[KeyCount] = strawberry.field(description="Counts by category.")
    resolved: int = strawberry.field(description="Resolved (incl. closed) cases.")
    resolved_on_time: int = strawberry.field(description="Resolved by their due time.")
    on_time_rate: float | None = strawberry.field(description="resolvedOnTime / resolved with a due time (按时办结率).")
    mean_handling_hours: float | None = strawberry.field(description="Mean hours from report to resolution.")
    median_handling_hours: float | None = strawberry.field(description="Median hours from report to resolution.")
    with_feedback: int = strawberry.field(description="Cases with the reporter's verdict.")
    satisfied: int = strawberry.field(description="Satisfied verdicts.")
    satisfaction_rate: float | None = strawberry.field(description="satisfied / withFeedback (满意率).")
    reopened: int = strawberry.field(description="Cases reopened at least once (重办).")
    open_overdue: int = strawberry.field(description="Still open and overdue (超期未办结).")


def _stats(s: case_service.CaseStatistics) -> CaseStatistics:
    return CaseStatistics(
        total=s.total,
        by_state=[KeyCount(key=k, count=c) for k, c in sorted(s.by_state.items())],
        by_category=[KeyCount(key=k, count=c) for k, c in sorted(s.by_category.items())],
        resolved=s.resolved, resolved_on_time=s.resolved_on_time, on_time_rate=s.on_time_rate,
        mean_handling_hours=s.mean_handling_hours, median_handling_hours=s.median_handling_hours,
        with_feedback=s.with_feedback, satisfied=s.satisfied, satisfaction_rate=s.satisfaction_rate,
        reopened=s.reopened, open_overdue=s.open_overdue,
    )


@strawberry.type(description="The review (复盘) of a period, as the monthly residents' meeting records it.")
class CaseReview(Node):
    _m: strawberry.Private[CaseReviewRow]

    @strawberry.field(description="First day of the period.")
    def period_start(self) -> date:
        return self._m.period_start

    @strawberry.field(description="Last day of the period.")
    def period_end(self) -> date:
        return self._m.period_end

    @strawberry.field(description="Summary (总结).")
    def summary(self) -> str:
        return self._m.summary

    @strawberry.field(description="Decisions taken (决定事项).")
    def decisions(self) -> str | None:
        return self._m.decisions

    @strawberry.field(description="The figures as they stood when the review was recorded.")
    def statistics(self) -> CaseStatistics:
        return _stats(case_service.CaseStatistics(**self._m.statistics))  # type: ignore[arg-type]


@strawberry.type(description="A message for you, your firm or your area (通知): dispatch, 督办, 催办 …")
class Notification(Node):
    _m: strawberry.Private[NotificationRow]

    @strawberry.field(description="What it is about: dispatched, supervised, urged, escalated, reopened.")
    def kind(self) -> str:
        return self._m.kind

    @strawberry.field(description="The message (内容).")
    def message(self) -> str:
        return self._m.message

    @strawberry.field(description="The case it concerns, if you may read it.")
    async def case(self, info: Info) -> Case | None:
        if self._m.case_id is None:
            return None
        found = await loaders.case_by_id(context(info)).load(self._m.case_id)
        return None if found is None else Case(_m=found)

    @strawberry.field(description="When it was sent.")
    def at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="When it was marked read (shared by everyone it is addressed to).")
    def read_at(self) -> datetime | None:
        return self._m.read_at


@strawberry.type
class CaseQuery(CaseConfigQuery):
    @strawberry.field(description="Cases you may read, newest first (事件列表): your scope, your firm's assigned "
                                  "and served cases, your own reports and your compound's problem wall.")
    async def cases(
        self,
        info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        states: list[CaseState] | None = None,
        category: str | None = None,
        supervised: Annotated[bool | None, strawberry.argument(description="督办 cases only (or none).")] = None,
        overdue: Annotated[bool | None, strawberry.argument(description="Open and past due (or not).")] = None,
        reported_by_me: bool | None = None,
        assigned_to_me: Annotated[bool | None, strawberry.argument(
            description="Dispatched to your firm.")] = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Case]:
        f = case_service.CaseFilter(
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            states=states, category=category, supervised=supervised, overdue=overdue,
            reported_by_me=reported_by_me, assigned_to_me=assigned_to_me,
        )
        page = await query_call(case_service.list_cases(context(info), f, first=first, after=after))
        return connection(page, lambda m: Case(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Your notifications (通知), newest first.")
    async def notifications(self, info: Info, unread_only: bool = False, first: int | None = 20,
                            after: str | None = None) -> Connection[Notification]:
        page = await query_call(case_service.list_notifications(context(info), unread_only=unread_only,
                                                                first=first, after=after))
        return connection(page, lambda m: Notification(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="The tenant's case categories (事件类别).")
    async def case_categories(self, info: Info) -> list[CaseCategory]:
        return [CaseCategory(code=c.code, name=c.name) for c in await case_service.categories(context(info))]

    @strawberry.field(description="Review figures (复盘统计) for an area subtree and a period of local dates.")
    async def case_statistics(
        self, info: Info, area_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive).")],
    ) -> CaseStatistics:
        stats = await query_call(case_service.statistics(
            context(info), decode_id(area_id, AREA_TYPE_NAMES, "areaId"), from_, to))
        return _stats(stats)

    @strawberry.field(description="Recorded reviews (复盘记录) of an area, newest period first.")
    async def case_reviews(self, info: Info, area_id: strawberry.ID) -> list[CaseReview]:
        rows = await case_service.list_reviews(context(info), decode_id(area_id, AREA_TYPE_NAMES, "areaId"))
        return [CaseReview(_m=r) for r in rows]


# ---------------------------------------------------------------- mutations


@strawberry.input(description="Report a case (上报事件).")
class ReportCaseInput:
    area_id: strawberry.ID = strawberry.field(description="Where: a building, compound, grid … you may report in.")
    category: str = strawberry.field(description="Category code from caseCategories.")
    title: str = strawberry.field(description="Short title, at most 100 characters.")
    priority: CasePriority = strawberry.field(
        default=_CasePriority.NORMAL, description="Priority; decides the SLA with the category.")
    description: str = strawberry.field(default="", description="What is wrong, at most 5000 characters.")
    location_text: str | None = strawberry.field(default=None, description="Where exactly, as told.")
    latitude: float | None = strawberry.field(default=None, description="WGS-84 latitude.")
    longitude: float | None = strawberry.field(default=None, description="WGS-84 longitude.")
    photo_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Your uploads (≤ 9).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Client-made key (≤ 64 chars): a retry with the same key returns the same case.")


@strawberry.input(description="A transition of a case without further fields.")
class CaseTransitionInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="A transition that needs a reason (reject, reopen, urge).")
class CaseReasonInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    reason: str = strawberry.field(description="Why, for the timeline (required).")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Dispatch a case to a handling unit (派单).")
class DispatchCaseInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    handler_kind: HandlerKind = strawberry.field(description="Kind of unit.")
    firm_id: strawberry.ID | None = strawberry.field(default=None, description="For PROPERTY_FIRM: the firm.")
    community_id: strawberry.ID | None = strawberry.field(default=None, description="For COMMUNITY: the community.")
    partner_name: str | None = strawberry.field(default=None, description="For PARTNER_UNIT: the unit's name.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Resolve a case (办结).")
class ResolveCaseInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    resolution: str = strawberry.field(description="What was done.")
    photo_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Photos of the result.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="The reporter's verdict on a resolved case (评价).")
class CaseFeedbackInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    satisfied: bool = strawberry.field(description="Satisfied closes the case; not satisfied reopens it.")
    comment: str | None = strawberry.field(default=None, description="Required when not satisfied.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Escalate a case to a higher area (上报).")
class EscalateCaseInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    area_id: strawberry.ID = strawberry.field(description="An area above the case's area.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Record the review of a period (复盘).")
class CreateCaseReviewInput:
    area_id: strawberry.ID = strawberry.field(description="The area reviewed.")
    period_start: date = strawberry.field(description="First day.")
    period_end: date = strawberry.field(description="Last day.")
    summary: str = strawberry.field(description="Summary, at most 5000 characters.")
    decisions: str | None = strawberry.field(default=None, description="Decisions taken.")


@strawberry.type(description="Result of a case mutation.")
class CasePayload:
    case: Case | None = strawberry.field(description="The case, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createCaseReview.")
class CaseReviewPayload:
    review: CaseReview | None = strawberry.field(description="The review, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")



async def _case_payload(info: Info, run: Any) -> CasePayload:
    case, errors = await mutate(info, run)
    return CasePayload(case=None if case is None else Case(_m=case), errors=errors)


@strawberry.type(description="Result of markNotificationsRead.")
class MarkReadPayload:
    marked: int = strawberry.field(description="How many were unread and are now read.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class CaseMutation(CaseConfigMutation):
    @strawberry.mutation(description="Mark notifications read (标记已读).")
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID]) -> MarkReadPayload:
        async def run() -> Any:
            return await case_service.mark_notifications_read(
                context(info), [decode_id(i, "Notification", "ids") for i in ids])

        marked, errors = await mutate(info, run)
        return MarkReadPayload(marked=marked or 0, errors=errors)

    @strawberry.mutation(description="Report a case (上报事件); idempotent per idempotencyKey.")
    async def report_case(self, info: Info, input: ReportCaseInput) -> CasePayload:
        async def run() -> Any:
            data = case_service.ReportInput(
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), category=input.category,
                priority=input.priority, title=input.title, description=input.description,
                location_text=input.location_text, latitude=input.latitude, longitude=input.longitude,
                photo_ids=[decode_id(p, "Attachment", "photoIds") for p in input.photo_ids or []],
                idempotency_key=input.idempotency_key,
            )
            return await case_service.report_case(context(info), data)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Accept a reported case (受理).")
    async def accept_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "accept")

    @strawberry.mutation(description="Reject a reported case with a reason (不予受理).")
    async def reject_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.reject_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                                  expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Dispatch to a handling unit with a due time from the SLA (派单).")
    async def dispatch_case(self, info: Info, input: DispatchCaseInput) -> CasePayload:
        async def run() -> Any:
            data = case_service.DispatchInput(
                handler_kind=input.handler_kind, firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"),
                community_id=decode_id(input.community_id, AREA_TYPE_NAMES, "communityId"),
                partner_name=input.partner_name, note=input.note, expected_version=input.expected_version,
            )
            return await case_service.dispatch_case(context(info), decode_id(input.id, "Case", "id"), data)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Start handling a dispatched case (开始办理).")
    async def start_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "start")

    @strawberry.mutation(description="Resolve a case with what was done (办结).")
    async def resolve_case(self, info: Info, input: ResolveCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.resolve_case(
                context(info), decode_id(input.id, "Case", "id"), resolution=input.resolution,
                photo_ids=[decode_id(p, "Attachment", "photoIds") for p in input.photo_ids or []],
                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Close a resolved case after the check (结案).")
    async def close_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "close")

    @strawberry.mutation(description="Reopen a resolved case whose check failed (重新办理).")
    async def reopen_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.reopen_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                                  expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="The reporter's verdict (评价): satisfied closes, not satisfied reopens.")
    async def give_case_feedback(self, info: Info, input: CaseFeedbackInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.give_feedback(
                context(info), decode_id(input.id, "Case", "id"), satisfied=input.satisfied, comment=input.comment,
                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Put an open case under supervision (督办); notifies the handler.")
    async def supervise_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.supervise_case(context(info), decode_id(input.id, "Case", "id"), note=input.note,
                                                     expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Urge the handler with a note (催办).")
    async def urge_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.urge_case(context(info), decode_id(input.id, "Case", "id"), note=input.reason,
                                                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Escalate an open case to a higher area (上报).")
    async def escalate_case(self, info: Info, input: EscalateCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.escalate_case(
                context(info), decode_id(input.id, "Case", "id"),
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), note=input.note,
                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @strawberry.mutation(description="Record the review of a period (复盘) with its figures.")
    async def create_case_review(self, info: Info, input: CreateCaseReviewInput) -> CaseReviewPayload:
        async def run() -> Any:
            return await case_service.create_review(
                context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), start=input.period_start,
                end=input.period_end, summary=input.summary, decisions=input.decisions)

        review, errors = await mutate(info, run)
        return CaseReviewPayload(review=None if review is None else CaseReview(_m=review), errors=errors)


async def _simple(info: Info, input: CaseTransitionInput, action: str) -> CasePayload:
    async def run() -> Any:
        return await case_service.simple_transition(context(info), decode_id(input.id, "Case", "id"), action,
                                                    note=input.note, expected_version=input.expected_version)

    return await _case_payload(info, run)
