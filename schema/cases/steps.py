"""The case steps of issue #22 in GraphQL — 退单, 延期, 转办, 重办, 回访, 解除督办 — and the configuration of
stage limits, workflow settings and category closure rules (street admin; read by staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import CallbackResult, CaseStageKind, HandlerKind, SlaUnit, UrgencyTier
from resolvers.cases import stage_config as cfg
from resolvers.cases import steps as svc
from resolvers.ids import decode_id
from schema.cases.inputs import PARTNER_NAME_DEPRECATED, CasePayload
from schema.cases.stage_types import CaseCategoryRule, CaseStageLimit, CaseWorkflowSettings
from schema.cases.types import Case
from schema.common import (
    Connection,
    UserError,
    connection,
    context,
    field,
    mutate,
    mutation,
    plain_list_reason,
    query_call,
)
from schema.register import AREA_TYPE_NAMES

_VERSION = "Fail with CONFLICT if the case changed (its version)."


@strawberry.input(description="Return a case to the dispatcher (退单).")
class ReturnCaseInput:
    id: strawberry.ID = strawberry.field(description="The case, dispatched or in progress.")
    reason: str = strawberry.field(description="Why the handler gives it back (required).")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Ask the dispatcher for more time (延期申请).")
class RequestCaseExtensionInput:
    id: strawberry.ID = strawberry.field(description="The case being handled.")
    due_at: datetime = strawberry.field(description="The new due time asked for (after the current one, ≤ 90 days).")
    reason: str = strawberry.field(description="Why (required).")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Grant or refuse the pending extension request (延期审批).")
class DecideCaseExtensionInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    approve: bool = strawberry.field(description="True grants it (the due time moves), false refuses it.")
    note: str | None = strawberry.field(default=None, description="Required when refusing.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Hand a case being handled to another handler (转办).")
class TransferCaseInput:
    id: strawberry.ID = strawberry.field(description="The case, dispatched or in progress.")
    handler_kind: HandlerKind = strawberry.field(description="Kind of the new handling unit.")
    reason: str = strawberry.field(description="Why (required).")
    firm_id: strawberry.ID | None = strawberry.field(default=None, description="For PROPERTY_FIRM: the firm.")
    community_id: strawberry.ID | None = strawberry.field(default=None, description="For COMMUNITY: the community.")
    grid_id: strawberry.ID | None = strawberry.field(default=None, description="For GRID: a grid covering the case.")
    partner_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="For PARTNER_UNIT: the partner unit (共建单位), with an agreement in force for the "
                                  "case's community.")
    partner_name: str | None = strawberry.field(
        default=None, description="For PARTNER_UNIT: a free-text name, naming no record (no system sees the case).",
        deprecation_reason=PARTNER_NAME_DEPRECATED)
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Send a resolved case back to its handler after a failed check (重办).")
class ReworkCaseInput:
    id: strawberry.ID = strawberry.field(description="The resolved case.")
    reason: str = strawberry.field(description="What the check found (required).")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Record the call-back after closure (回访).")
class RecordCaseCallbackInput:
    id: strawberry.ID = strawberry.field(description="The closed case.")
    result: CallbackResult = strawberry.field(description="What the reporter said; NOT_SOLVED reopens the case.")
    note: str | None = strawberry.field(default=None, description="Note; required for NOT_SOLVED.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Lift a case's supervision (解除督办).")
class LiftCaseSupervisionInput:
    id: strawberry.ID = strawberry.field(description="The supervised case.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Add or change a stage limit (环节时限).")
class SetCaseStageLimitInput:
    stage: CaseStageKind = strawberry.field(description="ACCEPT, DISPATCH or CALLBACK (HANDLE: setSlaRule).")
    tier: UrgencyTier = strawberry.field(description="Urgency tier.")
    amount: float = strawberry.field(description="How many units (> 0).")
    unit: SlaUnit = strawberry.field(description="Which unit.")
    category: str | None = strawberry.field(default=None, description="Category code; omit for the default.")


@strawberry.input(description="Change the case workflow settings (办理流程设置); omitted fields stay.")
class SetCaseWorkflowSettingsInput:
    auto_supervise_overdue: bool | None = strawberry.field(default=None, description="超时自动督办.")
    min_handling_minutes: int | None = strawberry.field(
        default=None, description="Shortest believable handling time in minutes, 0–10080 (0: flag nothing).")


@strawberry.input(description="Set a category's closure rule (办结要求).")
class SetCaseCategoryRuleInput:
    category: str = strawberry.field(description="Category code.")
    requires_photo: bool = strawberry.field(description="Resolving needs at least one photo of the result.")


@strawberry.type(description="Result of setCaseStageLimit.")
class CaseStageLimitPayload:
    limit: CaseStageLimit | None = strawberry.field(description="The limit, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setCaseWorkflowSettings.")
class CaseWorkflowSettingsPayload:
    settings: CaseWorkflowSettings | None = strawberry.field(description="The settings, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setCaseCategoryRule.")
class CaseCategoryRulePayload:
    rule: CaseCategoryRule | None = strawberry.field(description="The rule, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _limit(r: Any) -> CaseStageLimit:
    return CaseStageLimit(_m=r)


def _settings(r: Any) -> CaseWorkflowSettings:
    return CaseWorkflowSettings(auto_supervise_overdue=r.auto_supervise_overdue,
                                min_handling_minutes=r.min_handling_minutes)


async def _case(info: Info, run: Any) -> CasePayload:
    case, errors = await mutate(info, run)
    return CasePayload(case=None if case is None else Case(_m=case), errors=errors)


@strawberry.type
class CaseStageQuery:
    @field(description="Stage limits (环节时限) of ACCEPT, DISPATCH and CALLBACK; HANDLE's are slaRules. Staff only.",
           deprecation_reason=plain_list_reason("caseStageLimitsConnection"))
    async def case_stage_limits(self, info: Info) -> list[CaseStageLimit]:
        return [_limit(r) for r in await query_call(cfg.stage_limits(context(info)))]

    @field(description="Stage limits (环节时限) of ACCEPT, DISPATCH and CALLBACK; HANDLE's are slaRules. Staff only.")
    async def case_stage_limits_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CaseStageLimit]:
        page = await query_call(cfg.stage_limits_page(context(info), first=first, after=after))
        return connection(page, _limit)  # type: ignore[no-any-return]

    @field(description="Case workflow settings (办理流程设置). Staff only.")
    async def case_workflow_settings(self, info: Info) -> CaseWorkflowSettings:
        return _settings(await query_call(cfg.workflow_settings(context(info))))

    @field(description="Closure rules of the categories that have one (办结要求). Staff only.",
           deprecation_reason=plain_list_reason("caseCategoryRulesConnection"))
    async def case_category_rules(self, info: Info) -> list[CaseCategoryRule]:
        rows = await query_call(cfg.category_rules(context(info)))
        return [CaseCategoryRule(_m=r) for r in rows]

    @field(description="Closure rules of the categories that have one (办结要求). Staff only.")
    async def case_category_rules_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CaseCategoryRule]:
        page = await query_call(cfg.category_rules_page(context(info), first=first, after=after))
        return connection(  # type: ignore[no-any-return]
            page, lambda r: CaseCategoryRule(_m=r))


@strawberry.type
class CaseStepMutation:
    @mutation(description="Return a case to its dispatcher with a reason (退单); it waits for a new dispatch.")
    async def return_case(self, info: Info, input: ReturnCaseInput) -> CasePayload:
        async def run() -> Any:
            return await svc.return_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                         expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Ask for more time for the handling stage (延期申请); the dispatcher decides.")
    async def request_case_extension(self, info: Info, input: RequestCaseExtensionInput) -> CasePayload:
        async def run() -> Any:
            return await svc.request_extension(context(info), decode_id(input.id, "Case", "id"), due_at=input.due_at,
                                               reason=input.reason, expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Grant or refuse the pending extension request (延期审批); granting moves the due time.")
    async def decide_case_extension(self, info: Info, input: DecideCaseExtensionInput) -> CasePayload:
        async def run() -> Any:
            return await svc.decide_extension(context(info), decode_id(input.id, "Case", "id"), approve=input.approve,
                                              note=input.note, expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Hand a case being handled to another handler (转办), due by the SLA rule from now.")
    async def transfer_case(self, info: Info, input: TransferCaseInput) -> CasePayload:
        async def run() -> Any:
            data = svc.TransferInput(
                handler_kind=input.handler_kind, reason=input.reason,
                firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"),
                community_id=decode_id(input.community_id, AREA_TYPE_NAMES, "communityId"),
                grid_id=decode_id(input.grid_id, AREA_TYPE_NAMES, "gridId"),
                partner_unit_id=decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"),
                partner_name=input.partner_name, expected_version=input.expected_version)
            return await svc.transfer_case(context(info), decode_id(input.id, "Case", "id"), data)

        return await _case(info, run)

    @mutation(description="Send a resolved case back to its handler after a failed check (重办).")
    async def rework_case(self, info: Info, input: ReworkCaseInput) -> CasePayload:
        async def run() -> Any:
            return await svc.rework_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                         expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Record the call-back after closure (回访), once per closure; NOT_SOLVED reopens the case.")
    async def record_case_callback(self, info: Info, input: RecordCaseCallbackInput) -> CasePayload:
        async def run() -> Any:
            return await svc.record_callback(context(info), decode_id(input.id, "Case", "id"), result=input.result,
                                             note=input.note, expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Lift a case's supervision (解除督办); notifies the handler.")
    async def lift_case_supervision(self, info: Info, input: LiftCaseSupervisionInput) -> CasePayload:
        async def run() -> Any:
            return await svc.lift_supervision(context(info), decode_id(input.id, "Case", "id"), note=input.note,
                                              expected_version=input.expected_version)

        return await _case(info, run)

    @mutation(description="Add or change a stage limit (street admin); applies to stages opened afterwards.")
    async def set_case_stage_limit(self, info: Info, input: SetCaseStageLimitInput) -> CaseStageLimitPayload:
        async def run() -> Any:
            return await cfg.set_stage_limit(context(info), cfg.StageLimitInput(
                stage=input.stage, tier=input.tier, amount=input.amount, unit=input.unit, category=input.category))

        row, errors = await mutate(info, run)
        return CaseStageLimitPayload(limit=None if row is None else _limit(row), errors=errors)

    @mutation(description="Change the case workflow settings (street admin).")
    async def set_case_workflow_settings(self, info: Info, input: SetCaseWorkflowSettingsInput
                                         ) -> CaseWorkflowSettingsPayload:
        async def run() -> Any:
            return await cfg.set_workflow_settings(context(info), auto_supervise_overdue=input.auto_supervise_overdue,
                                                   min_handling_minutes=input.min_handling_minutes)

        row, errors = await mutate(info, run)
        return CaseWorkflowSettingsPayload(settings=None if row is None else _settings(row), errors=errors)

    @mutation(description="Set a category's closure rule (street admin), e.g. a photo before resolving.")
    async def set_case_category_rule(self, info: Info, input: SetCaseCategoryRuleInput) -> CaseCategoryRulePayload:
        async def run() -> Any:
            return await cfg.set_category_rule(context(info), category=input.category,
                                               requires_photo=input.requires_photo)

        row, errors = await mutate(info, run)
        rule = None if row is None else CaseCategoryRule(_m=row)
        return CaseCategoryRulePayload(rule=rule, errors=errors)
