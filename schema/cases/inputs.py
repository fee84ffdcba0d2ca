"""The cases domain's mutation inputs and payloads."""

from __future__ import annotations

from datetime import date

import strawberry

from models import CasePriority, CaseSource, HandlerKind
from schema.cases.types import Case, CaseReview
from schema.common import UserError

PARTNER_NAME_DEPRECATED = "name the partner unit's record with partnerUnitId; since 2026-12-05"


@strawberry.input(description="Report a case (上报事件).")
class ReportCaseInput:
    area_id: strawberry.ID = strawberry.field(description="Where: a building, compound, grid … you may report in.")
    category: str = strawberry.field(description="Category code from caseCategories.")
    title: str = strawberry.field(description="Short title, at most 100 characters.")
    priority: CasePriority = strawberry.field(
        default=CasePriority.NORMAL, description="Priority; decides the SLA with the category.")
    description: str = strawberry.field(default="", description="What is wrong, at most 5000 characters.")
    location_text: str | None = strawberry.field(default=None, description="Where exactly, as told.")
    latitude: float | None = strawberry.field(default=None, description="WGS-84 latitude.")
    longitude: float | None = strawberry.field(default=None, description="WGS-84 longitude.")
    photo_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Your uploads (≤ 9).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Client-made key (≤ 64 chars): a retry with the same key returns the same case.")
    source: CaseSource | None = strawberry.field(
        default=None, description="Source channel (来源渠道); if omitted: RESIDENT_REPORT for a resident, GRID_PATROL "
                                  "for a grid worker, else OTHER.")
    external_ticket_no: str | None = strawberry.field(
        default=None, description="The 12345 work-order number (12345 工单号), ≤ 40 letters, digits, - _ / .; unique "
                                  "in the street office (DUPLICATE_TICKET_NO otherwise).")


@strawberry.input(description="A transition of a case without further fields.")
class CaseTransitionInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    note: str | None = strawberry.field(default=None, description="Note for the timeline.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Withdraw your own report before it is accepted (撤回上报).")
class WithdrawCaseInput:
    id: strawberry.ID = strawberry.field(description="Your case, still REPORTED.")
    reason: str | None = strawberry.field(default=None, description="Why, for the timeline (optional).")
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
    grid_id: strawberry.ID | None = strawberry.field(default=None, description="For GRID: a grid covering the case.")
    partner_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="For PARTNER_UNIT: the partner unit (共建单位), with an agreement in force for the "
                                  "case's community; its systems then see and handle the case.")
    partner_name: str | None = strawberry.field(
        default=None, description="For PARTNER_UNIT: a free-text name, naming no record (no system sees the case).",
        deprecation_reason=PARTNER_NAME_DEPRECATED)
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
    idempotency_key: str | None = strawberry.field(
        default=None, description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns the "
                                  "case, not INVALID_TRANSITION.")


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


@strawberry.type(description="Result of markNotificationsRead.")
class MarkReadPayload:
    marked: int = strawberry.field(description="How many were unread and are now read.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")
