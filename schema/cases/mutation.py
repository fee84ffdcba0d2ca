"""The cases domain's Mutation fields: the closed loop's transitions, the review, marking notifications read."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import cases as case_service
from resolvers.ids import decode_id
from schema.cases.config import CaseConfigMutation
from schema.cases.inputs import (
    CaseFeedbackInput,
    CasePayload,
    CaseReasonInput,
    CaseReviewPayload,
    CaseTransitionInput,
    CreateCaseReviewInput,
    DispatchCaseInput,
    EscalateCaseInput,
    MarkReadPayload,
    ReportCaseInput,
    ResolveCaseInput,
    WithdrawCaseInput,
)
from schema.cases.rates import CaseRatesMutation
from schema.cases.steps import CaseStepMutation
from schema.cases.types import Case, CaseReview
from schema.common import context, given, legacy_argument, mutate, mutation, one_form
from schema.register import AREA_TYPE_NAMES


async def _case_payload(info: Info, run: Any) -> CasePayload:
    case, errors = await mutate(info, run)
    return CasePayload(case=None if case is None else Case(_m=case), errors=errors)


@strawberry.input(description="Mark notifications read (标记已读).")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="Global IDs of your notifications to mark read (通知ID).")


@strawberry.type
class CaseMutation(CaseConfigMutation, CaseStepMutation, CaseRatesMutation):
    @mutation(description="Mark notifications read (标记已读).")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput | None = None,
        ids: Annotated[list[strawberry.ID] | None, legacy_argument("markNotificationsRead")] = None,
    ) -> MarkReadPayload:
        async def run() -> Any:
            one_form(input, [ids])
            chosen = input.ids if input is not None else given(ids)
            return await case_service.mark_notifications_read(
                context(info), [decode_id(i, "Notification", "ids") for i in chosen])

        marked, errors = await mutate(info, run)
        return MarkReadPayload(marked=marked or 0, errors=errors)

    @mutation(description="Report a case (上报事件); idempotent per idempotencyKey.")
    async def report_case(self, info: Info, input: ReportCaseInput) -> CasePayload:
        async def run() -> Any:
            data = case_service.ReportInput(
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), category=input.category,
                priority=input.priority, title=input.title, description=input.description,
                location_text=input.location_text, latitude=input.latitude, longitude=input.longitude,
                photo_ids=[decode_id(p, "Attachment", "photoIds") for p in input.photo_ids or []],
                idempotency_key=input.idempotency_key, source=input.source,
                external_ticket_no=input.external_ticket_no,
            )
            return await case_service.report_case(context(info), data)

        return await _case_payload(info, run)

    @mutation(description="Accept a reported case (受理).")
    async def accept_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "accept")

    @mutation(description="Reject a reported case with a reason (不予受理).")
    async def reject_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.reject_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                                  expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Withdraw your own report before anyone accepted it (撤回上报); final.")
    async def withdraw_case(self, info: Info, input: WithdrawCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.withdraw_case(context(info), decode_id(input.id, "Case", "id"),
                                                    reason=input.reason, expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Dispatch to a handling unit with a due time from the SLA (派单).")
    async def dispatch_case(self, info: Info, input: DispatchCaseInput) -> CasePayload:
        async def run() -> Any:
            data = case_service.DispatchInput(
                handler_kind=input.handler_kind, firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"),
                community_id=decode_id(input.community_id, AREA_TYPE_NAMES, "communityId"),
                grid_id=decode_id(input.grid_id, AREA_TYPE_NAMES, "gridId"),
                partner_unit_id=decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"),
                partner_name=input.partner_name, note=input.note, expected_version=input.expected_version,
            )
            return await case_service.dispatch_case(context(info), decode_id(input.id, "Case", "id"), data)

        return await _case_payload(info, run)

    @mutation(description="Start handling a dispatched case (开始办理).")
    async def start_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "start")

    @mutation(description="Resolve a case with what was done (办结).")
    async def resolve_case(self, info: Info, input: ResolveCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.resolve_case(
                context(info), decode_id(input.id, "Case", "id"), resolution=input.resolution,
                photo_ids=[decode_id(p, "Attachment", "photoIds") for p in input.photo_ids or []],
                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Close a resolved case after the check (结案).")
    async def close_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        return await _simple(info, input, "close")

    @mutation(description="Reopen a resolved case whose check failed (重新办理).")
    async def reopen_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.reopen_case(context(info), decode_id(input.id, "Case", "id"), reason=input.reason,
                                                  expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="The reporter's verdict (评价): satisfied closes, not satisfied reopens.")
    async def give_case_feedback(self, info: Info, input: CaseFeedbackInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.give_feedback(
                context(info), decode_id(input.id, "Case", "id"), satisfied=input.satisfied, comment=input.comment,
                expected_version=input.expected_version, idempotency_key=input.idempotency_key)

        return await _case_payload(info, run)

    @mutation(description="Put an open case under supervision (督办); notifies the handler.")
    async def supervise_case(self, info: Info, input: CaseTransitionInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.supervise_case(context(info), decode_id(input.id, "Case", "id"), note=input.note,
                                                     expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Urge the handler with a note (催办).")
    async def urge_case(self, info: Info, input: CaseReasonInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.urge_case(context(info), decode_id(input.id, "Case", "id"), note=input.reason,
                                                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Escalate an open case to a higher area (上报).")
    async def escalate_case(self, info: Info, input: EscalateCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.escalate_case(
                context(info), decode_id(input.id, "Case", "id"),
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), note=input.note,
                expected_version=input.expected_version)

        return await _case_payload(info, run)

    @mutation(description="Record the review of a period (复盘) with its figures.")
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
