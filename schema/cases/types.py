"""Cases (事件/诉求) in GraphQL: the case, its timeline, notifications, and review figures."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import (
    AreaKind,
    CallbackResult,
    CasePriority,
    CaseSource,
    CaseState,
    HandlerKind,
    UrgencyTier,
    community_id_of,
    tier_of,
)
from models import Case as CaseRow
from models import CaseEvent as CaseEventRow
from models import CaseReview as CaseReviewRow
from models import Notification as NotificationRow
from policies.roles import Role
from resolvers import cases as case_service
from resolvers import loaders
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import encode_global_id
from schema.cases.photos import Photo, photos_of
from schema.cases.stage_types import CaseStage, CaseStep, case_step
from schema.columns import column_field
from schema.common import Node, PublicError, context, field, graphql_enum, legacy_string_reason
from schema.register import AreaNode, Community, Grid, User, area_type


class NotificationKind(enum.Enum):
    """What a notification is about: every kind resolvers send (cases, and the lifecycle of activities,
    meetings, notices and topics)."""

    DISPATCHED = "dispatched"
    SUPERVISED = "supervised"
    SUPERVISION_LIFTED = "supervision_lifted"
    URGED = "urged"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    REWORK = "rework"
    RETURNED = "returned"
    TRANSFERRED = "transferred"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_DECIDED = "extension_decided"
    STAGE_OVERDUE = "stage_overdue"
    PROGRESS = "progress"
    SUPERVISION_UPDATE = "supervision_update"
    ACTIVITY_CHANGED = "activity_changed"
    ACTIVITY_CANCELLED = "activity_cancelled"
    MEETING_CHANGED = "meeting_changed"
    MEETING_CANCELLED = "meeting_cancelled"
    NOTICE_CHANGED = "notice_changed"
    TOPIC_CANCELLED = "topic_cancelled"


def notification_kind(value: str) -> NotificationKind | None:
    """A stored notification kind as the enum; null for one not known (never an error on a read)."""
    try:
        return NotificationKind(value)
    except ValueError:
        return None


def role_of(value: str | None) -> Role | None:
    """A recorded role name as the Role enum; null for none (a system step) or one not known."""
    try:
        return None if not value else Role(value)
    except ValueError:
        return None


def _state(key: str) -> CaseState | None:
    try:
        return CaseState(key)
    except ValueError:
        return None

graphql_enum(CaseState, name="CaseState", description="State of a case in its closed loop (事件状态).")
graphql_enum(NotificationKind, name="NotificationKind", description="What a notification is about (通知类型).")
graphql_enum(CaseSource, name="CaseSource",
             description="Where a case came from (来源渠道): 网格巡查, 居民上报, 12345 热线, 小程序, 来访, 其他.")
graphql_enum(HandlerKind, name="HandlerKind",
             description="Kind of unit a case is dispatched to (承办单位类型).")


@strawberry.type(description="A category of the tenant's case catalogue (事件类别).")
class CaseCategory:
    _m: strawberry.Private[Any]
    code = column_field("code", str, description="Stable code, e.g. drainage.")
    name = column_field("name", str, description="Display name, e.g. 管道堵塞/污水外溢.")


@strawberry.type(description="One immutable step of a case's timeline (处置记录).")
class CaseTimelineEntry:
    _m: strawberry.Private[CaseEventRow]
    _full: strawberry.Private[bool]

    @field(description="Position in the timeline, from 1.")
    def seq(self) -> int:
        return self._m.seq

    @field(description="What happened: report, accept, reject, dispatch, start, resolve, close, reopen, "
                       "feedback, supervise, urge, escalate, auto_close.",
           deprecation_reason=legacy_string_reason("step"))
    def action(self) -> str:
        return self._m.action

    @field(description="What happened (处置环节).")
    def step(self) -> CaseStep | None:
        return case_step(self._m.action)

    @field(description="State before the step (null for the report).")
    def from_state(self) -> CaseState | None:
        return None if self._m.from_state is None else CaseState(self._m.from_state)

    @field(description="State after the step.")
    def to_state(self) -> CaseState | None:
        return None if self._m.to_state is None else CaseState(self._m.to_state)

    @field(description="Role the actor acted in; null for system steps or on the public wall.",
           deprecation_reason=legacy_string_reason("actingRole"))
    def actor_role(self) -> str | None:
        return self._m.actor_role if self._full else None

    @field(description="Role the actor acted in (经办角色); null for system steps or on the public wall.")
    def acting_role(self) -> Role | None:
        return role_of(self._m.actor_role) if self._full else None

    @field(description="Who acted (经办人); null for system steps or on the public wall.")
    async def actor(self, info: Info) -> User | None:
        if not self._full or self._m.actor_user_id is None:
            return None
        u = await loaders.user_by_id(context(info)).load(self._m.actor_user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)

    @field(description="Note given with the step (说明).")
    def note(self) -> str | None:
        return self._m.note

    @field(description="IDs of photos attached to the step (with a token: /uploads/{id}); empty on the "
                       "public wall. For URLs an <image> tag can load, select photos.")
    def attachment_ids(self) -> list[strawberry.ID]:
        if not self._full:
            return []
        return [strawberry.ID(encode_global_id("Attachment", uuid.UUID(a))) for a in self._m.attachments]

    @field(description="Photos attached to the step (照片), with signed URLs; empty on the public wall.")
    async def photos(self, info: Info) -> list[Photo]:
        if not self._full:
            return []
        return await photos_of(context(info), self._m.case_id, self._m.attachments)

    @field(description="When (时间).")
    def at(self) -> datetime:
        return self._m.created_at


@strawberry.type(description="A case (事件/诉求): a problem found or reported in an area, and its closed loop. "
                             "On the problem wall (问题墙) residents see it anonymised: no reporter, no actors.")
class Case(Node):
    _m: strawberry.Private[CaseRow]

    async def _full(self, info: Info) -> bool:
        return await loaders.case_full_view(context(info)).load(self._m.id)

    number = column_field("number", str, description="Human-readable number (事件编号).")

    title = column_field("title", str, description="Title (标题).")

    description = column_field("description", str, description="Description (描述).")

    category = column_field("category_code", str, description="Category code (类别).")

    @field(description="Category display name.")
    async def category_name(self, info: Info) -> str | None:
        return await loaders.category_name_by_code(context(info)).load(self._m.category_code)

    priority = column_field("priority", CasePriority, description="Priority (紧急程度).")

    state = column_field("state", CaseState, description="State (状态).")

    @field(description="Where (所在区域).")
    async def area(self, info: Info) -> AreaNode | None:
        node: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))
        return node

    @field(description="Community (社区) the case lies in; null for a case at street level or "
                                  "when the community is not yours to see.")
    async def community(self, info: Info) -> Community | None:
        cid = community_id_of(self._m.area_path)
        if cid is None:
            return None
        area = await loaders.area_by_id(context(info)).load(cid)
        return None if area is None or area.kind is not AreaKind.COMMUNITY else Community(_m=area)

    @field(description="Grid (网格) of the case: its own area when that is a grid, else the first grid "
                                  "by name covering its building; null when none is yours to see.")
    async def grid(self, info: Info) -> Grid | None:
        grid = await loaders.grid_of_case(context(info), self._m.area_id)
        return None if grid is None else Grid(_m=grid)

    location_text = column_field("location_text", str | None, description="Location as told (位置描述).")

    latitude = column_field("latitude", float | None, description="Latitude (纬度), if given.")

    longitude = column_field("longitude", float | None, description="Longitude (经度), if given.")

    @field(description="Reporter (上报人); null when you see the case only on the public wall.")
    async def reporter(self, info: Info) -> User | None:
        if not await self._full(info):
            return None
        u = await loaders.user_by_id(context(info)).load(self._m.reporter_user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)

    @field(description="Source channel (来源渠道); null when you see the case only on the public wall.")
    async def source(self, info: Info) -> CaseSource | None:
        return self._m.source if await self._full(info) else None

    @field(description="The 12345 hotline's work-order number (12345 工单号), unique in the street office; null "
                       "when there is none or you see the case only on the public wall.")
    async def external_ticket_no(self, info: Info) -> str | None:
        return self._m.external_ticket_no if await self._full(info) else None

    @field(description="True when you reported this case.")
    def reported_by_me(self, info: Info) -> bool:
        return self._m.reporter_user_id == context(info).actor.user_id

    on_problem_wall = column_field("on_wall", bool, description="Shown on the compound's problem wall (问题墙).")

    handler_kind = column_field("handler_kind", HandlerKind | None,
                       description="Kind of handling unit (承办单位类型), once dispatched.")

    handler_name = column_field("handler_name", str | None, description="Name of the handling unit (承办单位).")

    @field(description="Global ID of the handling unit's record (承办单位): a PropertyFirm, Community, Grid or "
                       "PartnerUnit; null before dispatch, and for a partner unit named by free text (before 2026-12).")
    def handler_id(self) -> strawberry.ID | None:
        m = self._m
        for type_name, id_ in (("PropertyFirm", m.handler_firm_id), ("PartnerUnit", m.handler_partner_id),
                               ("Grid" if m.handler_kind is HandlerKind.GRID else "Community", m.handler_area_id)):
            if id_ is not None:
                return strawberry.ID(encode_global_id(type_name, id_))
        return None

    due_at = column_field("due_at", datetime | None,
                       description="Due time (办结时限) from the tenant's SLA rule, in working time.")

    @field(description="Open and past its due time (超期).")
    def overdue(self, info: Info) -> bool:
        return case_service.is_overdue(self._m, context(info).now)

    supervised = column_field("supervised", bool, description="Under supervision (督办).")

    @field(description="Area the case was escalated to (上报至), if any.")
    async def escalated_to(self, info: Info) -> AreaNode | None:
        if self._m.escalated_to_area_id is None:
            return None
        node: AreaNode | None = area_type(
            await loaders.area_by_id(context(info)).load(self._m.escalated_to_area_id))
        return node

    resolution = column_field("resolution", str | None, description="What was done (处置结果), once resolved.")

    reject_reason = column_field("reject_reason", str | None, description="Why it was rejected (不予受理理由).")

    satisfied = column_field("satisfied", bool | None,
                       description="Reporter's verdict (满意度): true satisfied, false not, null none yet.")

    feedback_comment = column_field("feedback_comment", str | None, description="Reporter's comment with the verdict.")

    reopen_count = column_field("reopen_count", int, description="Times reopened (重办次数).")

    # ---- stages and honest closure (issue #22; schema.cases.stage_types)
    @field(description="Urgency tier of the stage limits (紧急程度分级), from the priority.")
    def urgency_tier(self) -> UrgencyTier:
        return tier_of(self._m.priority)

    @field(description="Every stage the case entered, oldest first (办理环节), with due times on the working "
                       "calendar; empty on the public wall.")
    async def stages(self, info: Info) -> list[CaseStage]:
        if not await self._full(info):
            return []
        ctx = context(info)
        return [CaseStage(_m=s, _now=ctx.now) for s in await loaders.stages_by_case(ctx).load(self._m.id)]

    @field(description="The stage the case is in now (当前环节), with its due time and overdue state; null when none "
                       "is open (resolved and waiting for the verdict, or finished) or on the public wall.")
    async def current_stage(self, info: Info) -> CaseStage | None:
        if not await self._full(info):
            return None
        ctx = context(info)
        open_ = [s for s in await loaders.stages_by_case(ctx).load(self._m.id) if s.completed_at is None]
        return CaseStage(_m=open_[-1], _now=ctx.now) if open_ else None

    closure_flagged = column_field("closure_flagged", bool, description=(
        "Resolved faster than the tenant's minimum handling time: waits for a reviewer (待核查) until closed "
        "after the check, sent back for rework or called back."))

    return_count = column_field("return_count", int, description="Times returned to the dispatcher (退单次数).")

    @field(description="Result of the call-back after the last closure (回访结果); null before it.")
    async def callback_result(self, info: Info) -> CallbackResult | None:
        if self._m.callback_result is None or not await self._full(info):
            return None
        return CallbackResult(self._m.callback_result)

    @field(description="When the reporter was called back (回访时间); null before it.")
    async def callback_at(self, info: Info) -> datetime | None:
        return self._m.callback_at if await self._full(info) else None

    version = column_field("version", int,
                       description="Version for optimistic concurrency: pass as expectedVersion to transitions.")

    reported_at = column_field("created_at", datetime, description="Reported at (上报时间).")

    resolved_at = column_field("resolved_at", datetime | None, description="Resolved at (办结时间).")

    closed_at = column_field("closed_at", datetime | None, description="Closed at (结案时间).")

    @field(description="Every step, oldest first (处置时间线).")
    async def timeline(
        self, info: Info,
        last: Annotated[int | None, strawberry.argument(
            description="Only the latest N steps (最近N条), still oldest first; all when omitted.")] = None,
    ) -> list[CaseTimelineEntry]:
        if last is not None and last < 0:
            raise PublicError(ServiceError(ErrorCode.INVALID, t("last 不能为负数",
                                                                "last must not be negative"), "last"))
        full = await self._full(info)
        events = await loaders.events_by_case(context(info)).load(self._m.id)
        if last is not None:
            events = events[max(len(events) - last, 0):] if last else []
        return [CaseTimelineEntry(_m=e, _full=full) for e in events]


    @field(description="Every photo of the case, oldest first: the reporter's and the handler's (照片), with "
                       "signed URLs an <image> tag loads without a header; empty on the public wall.")
    async def photos(self, info: Info) -> list[Photo]:
        if not await self._full(info):
            return []
        ctx = context(info)
        events = await loaders.events_by_case(ctx).load(self._m.id)
        return await photos_of(ctx, self._m.id, [a for e in events for a in e.attachments])


@strawberry.type(description="Count per key (分项计数).")
class KeyCount:
    key: str = strawberry.field(description="State or category code.")
    count: int = strawberry.field(description="Number of cases.")
    state: CaseState | None = strawberry.field(
        default=None, description="The state counted (状态), on a byState row; null on a byCategory row.")


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
    with_feedback: int = strawberry.field(description="Cases with a resident's verdict: the reporter's own where "
                                                      "they reported as resident, or relayed by staff at 回访; "
                                                      "staff self-ratings are left out (DESIGN.md §8).")
    satisfied: int = strawberry.field(description="Satisfied verdicts of those (满意, 基本满意).")
    satisfaction_rate: float | None = strawberry.field(description="satisfied / withFeedback (满意率).")
    reopened: int = strawberry.field(description="Cases reopened at least once (重办).")
    open_overdue: int = strawberry.field(description="Still open and overdue (超期未办结).")


def statistics_from(s: case_service.CaseStatistics) -> CaseStatistics:
    return CaseStatistics(
        total=s.total,
        by_state=[KeyCount(key=k, count=c, state=_state(k)) for k, c in sorted(s.by_state.items())],
        by_category=[KeyCount(key=k, count=c) for k, c in sorted(s.by_category.items())],
        resolved=s.resolved, resolved_on_time=s.resolved_on_time, on_time_rate=s.on_time_rate,
        mean_handling_hours=s.mean_handling_hours, median_handling_hours=s.median_handling_hours,
        with_feedback=s.with_feedback, satisfied=s.satisfied, satisfaction_rate=s.satisfaction_rate,
        reopened=s.reopened, open_overdue=s.open_overdue,
    )


@strawberry.type(description="The review (复盘) of a period, as the monthly residents' meeting records it.")
class CaseReview(Node):
    _m: strawberry.Private[CaseReviewRow]

    @field(description="First day of the period.")
    def period_start(self) -> date:
        return self._m.period_start

    @field(description="Last day of the period.")
    def period_end(self) -> date:
        return self._m.period_end

    @field(description="Summary (总结).")
    def summary(self) -> str:
        return self._m.summary

    @field(description="Decisions taken (决定事项).")
    def decisions(self) -> str | None:
        return self._m.decisions

    @field(description="The figures as they stood when the review was recorded.")
    def statistics(self) -> CaseStatistics:
        return statistics_from(case_service.CaseStatistics(**self._m.statistics))  # type: ignore[arg-type]


@strawberry.type(description="A message for you, your firm or your area (通知): dispatch, 督办, 催办 …")
class Notification(Node):
    _m: strawberry.Private[NotificationRow]

    @field(description="What it is about: dispatched, supervised, urged, escalated, reopened, returned, "
                       "extension_requested, extension_decided, transferred, rework, progress (to the reporter), "
                       "supervision_update (to the supervisor) …",
           deprecation_reason=legacy_string_reason("reason"))
    def kind(self) -> str:
        return self._m.kind

    @field(description="What it is about (通知类型).")
    def reason(self) -> NotificationKind | None:
        return notification_kind(self._m.kind)

    @field(description="The message (内容).")
    def message(self) -> str:
        return self._m.message

    @field(description="The case it concerns, if you may read it.")
    async def case(self, info: Info) -> Case | None:
        if self._m.case_id is None:
            return None
        found = await loaders.case_by_id(context(info)).load(self._m.case_id)
        return None if found is None else Case(_m=found)

    @field(description="When it was sent.")
    def at(self) -> datetime:
        return self._m.created_at

    @field(description="When you marked it read (已读); null while unread for you. Read state is per user: "
                       "someone else of your firm or area reading it leaves it unread for you.")
    def read_at(self) -> datetime | None:
        return self._m.read_by_me_at
