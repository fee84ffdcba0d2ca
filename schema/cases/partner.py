"""The handler's desk for cases dispatched to a unit, as a partner unit's system uses it (issue #22,
DESIGN.md §8 "Handlers"): its cases, its notifications, and the four steps a partner unit may take —
start, resolve, return (退单) and ask for an extension (延期). The types show what handling needs
(what, where as told, when due) and nothing of the reporter or of anyone's identity: a partner
system reaches no personal data (tests/cobuilding/test_cobuilding_partner.py's allowlist).

The same fields answer a property firm's staff about their firm's cases; a partner's system reaches
only these (gongzhi/modules/cases.py ``partner``), and the policy lines (``partner_unit``, condition
``assigned``) keep each step to the cases dispatched to its unit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import Case as CaseRow
from models import CasePriority, CaseState
from models import Notification as NotificationRow
from resolvers import cases as case_service
from resolvers import loaders
from resolvers.cases import steps as svc
from resolvers.ids import decode_id, encode_global_id
from schema.cases.types import NotificationKind, notification_kind
from schema.common import Connection, UserError, connection, context, field, mutate, mutation, query_call

_VERSION = "Fail with CONFLICT if the case changed (its version)."


@strawberry.type(description="A case dispatched to your unit (派给本单位的事件), as its handler sees it: no reporter, "
                             "no one's identity.")
class AssignedCase:
    _m: strawberry.Private[CaseRow]

    @field(description="Global ID of the case (the id its dispatcher sees).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Case", self._m.id))

    @field(description="Human-readable number (事件编号).")
    def number(self) -> str:
        return self._m.number

    @field(description="Title (标题).")
    def title(self) -> str:
        return self._m.title

    @field(description="Description (描述).")
    def description(self) -> str:
        return self._m.description

    @field(description="Category code (类别).")
    def category(self) -> str:
        return self._m.category_code

    @field(description="Category display name.")
    async def category_name(self, info: Info) -> str | None:
        return await loaders.category_name_by_code(context(info)).load(self._m.category_code)

    @field(description="Priority (紧急程度).")
    def priority(self) -> CasePriority:
        return self._m.priority

    @field(description="State (状态).")
    def state(self) -> CaseState:
        return self._m.state

    @field(description="Where, as told (位置描述): the place to go to.")
    def location_text(self) -> str | None:
        return self._m.location_text

    @field(description="Reported at (上报时间).")
    def reported_at(self) -> datetime:
        return self._m.created_at

    @field(description="Dispatched to your unit at (派单时间).")
    def dispatched_at(self) -> datetime | None:
        return self._m.dispatched_at

    @field(description="Due time (办结时限) on the street office's working calendar.")
    def due_at(self) -> datetime | None:
        return self._m.due_at

    @field(description="Open and past its due time (超期).")
    def overdue(self, info: Info) -> bool:
        return case_service.is_overdue(self._m, context(info).now)

    @field(description="The due time your pending extension request asks for (延期申请); null: none pending.")
    async def requested_due_at(self, info: Info) -> datetime | None:
        stages = await loaders.stages_by_case(context(info)).load(self._m.id)
        open_ = [s for s in stages if s.completed_at is None]
        return open_[-1].requested_due_at if open_ else None

    @field(description="What was done (处置结果), once resolved.")
    def resolution(self) -> str | None:
        return self._m.resolution

    @field(description="Resolved at (办结时间).")
    def resolved_at(self) -> datetime | None:
        return self._m.resolved_at

    @field(description="Version for optimistic concurrency: pass as expectedVersion.")
    def version(self) -> int:
        return self._m.version


@strawberry.type(description="A notification to your unit (通知): a case dispatched to it, 督办, 催办, an extension "
                             "decided …")
class UnitNotification:
    _m: strawberry.Private[NotificationRow]

    @field(description="Global ID of the notification (for markNotificationsRead).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Notification", self._m.id))

    @field(description="What it is about (通知类型); null only for a stored kind not known.")
    def kind(self) -> NotificationKind | None:
        return notification_kind(self._m.kind)

    @field(description="The message (内容).")
    def message(self) -> str:
        return self._m.message

    @field(description="Global ID of the case it concerns (see assignedCases), if any.")
    def case_id(self) -> strawberry.ID | None:
        return None if self._m.case_id is None else strawberry.ID(encode_global_id("Case", self._m.case_id))

    @field(description="When it was sent.")
    def at(self) -> datetime:
        return self._m.created_at

    @field(description="When your client marked it read; null while unread (read state is per account).")
    def read_at(self) -> datetime | None:
        return self._m.read_by_me_at


@strawberry.input(description="Start handling a case dispatched to your unit (开始办理).")
class StartAssignedCaseInput:
    id: strawberry.ID = strawberry.field(description="The case, dispatched to your unit.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Resolve a case dispatched to your unit (办结).")
class ResolveAssignedCaseInput:
    id: strawberry.ID = strawberry.field(description="The case, in progress.")
    resolution: str = strawberry.field(description="What was done.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Return a case dispatched to your unit to its dispatcher (退单).")
class ReturnAssignedCaseInput:
    id: strawberry.ID = strawberry.field(description="The case, dispatched or in progress.")
    reason: str = strawberry.field(description="Why your unit gives it back (required).")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Ask the dispatcher for more time (延期申请).")
class RequestAssignedCaseExtensionInput:
    id: strawberry.ID = strawberry.field(description="The case being handled.")
    due_at: datetime = strawberry.field(description="The new due time asked for (after the current one, ≤ 90 days).")
    reason: str = strawberry.field(description="Why (required).")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.type(description="Result of a step on a case dispatched to your unit.")
class AssignedCasePayload:
    case: AssignedCase | None = strawberry.field(description="The case, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


async def _payload(info: Info, run: Any) -> AssignedCasePayload:
    case, errors = await mutate(info, run)
    return AssignedCasePayload(case=None if case is None else AssignedCase(_m=case), errors=errors)


@strawberry.type
class AssignedCaseQuery:
    @field(description="Cases dispatched to your unit, newest first (本单位承办的事件): a partner unit's system sees "
                       "its unit's, a firm's staff their firm's.")
    async def assigned_cases(
        self, info: Info,
        states: Annotated[list[CaseState] | None, strawberry.argument(description="Only in these states.")] = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[AssignedCase]:
        page = await query_call(case_service.list_assigned_cases(context(info), states=states, first=first,
                                                                 after=after))
        return connection(page, lambda m: AssignedCase(_m=m))  # type: ignore[no-any-return]

    @field(description="Notifications to your unit (本单位的通知): a partner unit's, or your firm's; newest first, "
                       "with your own read state.")
    async def unit_notifications(self, info: Info, unread_only: bool = False, first: int | None = 20,
                                 after: str | None = None) -> Connection[UnitNotification]:
        page = await query_call(case_service.list_notifications(context(info), unread_only=unread_only, first=first,
                                                                after=after, unit_only=True))
        return connection(page, lambda m: UnitNotification(_m=m))  # type: ignore[no-any-return]


@strawberry.type
class AssignedCaseMutation:
    @mutation(description="Start handling a case dispatched to your unit (开始办理).")
    async def start_assigned_case(self, info: Info, input: StartAssignedCaseInput) -> AssignedCasePayload:
        async def run() -> Any:
            return await case_service.simple_transition(context(info), decode_id(input.id, "Case", "id"), "start",
                                                        note=input.note, expected_version=input.expected_version)

        return await _payload(info, run)

    @mutation(description="Resolve a case dispatched to your unit with what was done (办结).")
    async def resolve_assigned_case(self, info: Info, input: ResolveAssignedCaseInput) -> AssignedCasePayload:
        async def run() -> Any:
            return await case_service.resolve_case(context(info), decode_id(input.id, "Case", "id"),
                                                   resolution=input.resolution, photo_ids=[],
                                                   expected_version=input.expected_version)

        return await _payload(info, run)

    @mutation(description="Return a case dispatched to your unit to its dispatcher with a reason (退单).")
    async def return_assigned_case(self, info: Info, input: ReturnAssignedCaseInput) -> AssignedCasePayload:
        async def run() -> Any:
            return await svc.return_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                         expected_version=input.expected_version)

        return await _payload(info, run)

    @mutation(description="Ask the dispatcher for more time for a case dispatched to your unit (延期申请).")
    async def request_assigned_case_extension(self, info: Info, input: RequestAssignedCaseExtensionInput
                                              ) -> AssignedCasePayload:
        async def run() -> Any:
            return await svc.request_extension(context(info), decode_id(input.id, "Case", "id"), due_at=input.due_at,
                                               reason=input.reason, expected_version=input.expected_version)

        return await _payload(info, run)
