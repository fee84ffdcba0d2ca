"""Inputs and payloads of the care mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import CasePriority, LeadTitle, VisitKind
from models import CasePriority as _CasePriority
from schema.care.types import (
    CareService,
    CareServiceRecord,
    CareSettings,
    NeighborLead,
    Visit,
    Wish,
)
from schema.common import UserError
from schema.register import CareTagKind


@strawberry.input(description="Change the tenant's care rules (street admin).")
class UpdateCareSettingsInput:
    lead_min_households: int | None = strawberry.field(default=None, description="Fewest households per lead.")
    lead_max_households: int | None = strawberry.field(default=None, description="Most households per lead.")
    key_visit_days: int | None = strawberry.field(default=None, description="Days between key-household visits.")
    routine_visit_days: int | None = strawberry.field(default=None, description="Days between other visits.")


@strawberry.input(description="Appoint a resident as neighbourhood lead (任命邻长).")
class AppointLeadInput:
    person_id: strawberry.ID = strawberry.field(description="The resident (must have a user account).")
    title: LeadTitle = strawberry.field(description="邻长, 楼栋长 or 单元长.")
    area_id: strawberry.ID = strawberry.field(description="The building, compound, zone or grid served.")
    household_ids: list[strawberry.ID] = strawberry.field(description="The households kept (the tenant's range).")


@strawberry.input(description="Replace the households a lead keeps.")
class SetLeadHouseholdsInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    household_ids: list[strawberry.ID] = strawberry.field(description="The households kept.")


@strawberry.input(description="A case to raise from a visit (走访发现问题上报).")
class VisitCaseInput:
    category: str = strawberry.field(description="Case category code.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(default="", description="What is wrong.")
    priority: CasePriority = strawberry.field(
        default=_CasePriority.NORMAL, description="Priority (紧急程度).")


@strawberry.input(description="Record a home visit (记录走访).")
class RecordVisitInput:
    household_id: strawberry.ID = strawberry.field(description="The household visited.")
    kind: VisitKind = strawberry.field(description="Kind of visit.")
    visited_at: datetime = strawberry.field(description="When, with a timezone; not in the future.")
    findings: str = strawberry.field(description="What was found (≤ 5000 characters).")
    needs: str | None = strawberry.field(default=None, description="Needs found (≤ 2000 characters).")
    raise_case: VisitCaseInput | None = strawberry.field(default=None, description="Raise a case from the visit.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns the "
                                  "same visit (and raises no second case).")


@strawberry.input(description="Add a care group of the tenant's own (新增重点人群类别).")
class AddCareTagKindInput:
    code: str = strawberry.field(description="Stable code: lowercase letters, digits, _.")
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="Add an entry to a care group's service list (新增服务项目).")
class CreateCareServiceInput:
    tag_code: str = strawberry.field(description="Care group code.")
    area_id: strawberry.ID = strawberry.field(description="Whose list: a community or the street.")
    name: str = strawberry.field(description="What is provided.")
    frequency: str = strawberry.field(description="How often.")
    provider: str = strawberry.field(description="By whom.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="Record a service provided to a person (服务记录).")
class RecordCareServiceInput:
    service_id: strawberry.ID = strawberry.field(description="The service-list entry.")
    person_id: strawberry.ID = strawberry.field(description="The person served (in the entry's care group).")
    provided_at: datetime = strawberry.field(description="When, with a timezone.")
    provided_by: str = strawberry.field(description="By whom.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="Post a need or micro-wish for a resident (发布微心愿).")
class PostWishInput:
    person_id: strawberry.ID = strawberry.field(description="The beneficiary: yourself or a resident in your scope.")
    title: str = strawberry.field(description="The wish (≤ 100 characters).")
    description: str = strawberry.field(default="", description="Details (≤ 2000 characters).")


@strawberry.input(description="A step of a wish: claim, fulfil, confirm or cancel.")
class WishTransitionInput:
    id: strawberry.ID = strawberry.field(description="The wish.")
    note: str | None = strawberry.field(default=None, description="What was done (fulfil).")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.input(description="Retire an entry of a service list (停止服务项目).")
class RetireCareServiceInput:
    id: strawberry.ID = strawberry.field(description="The service-list entry.")


@strawberry.input(description="Give a claim on a wish back (释放认领).")
class ReleaseWishInput:
    id: strawberry.ID = strawberry.field(description="The claimed wish.")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.type(description="Result of updateCareSettings.")
class CareSettingsPayload:
    settings: CareSettings | None = strawberry.field(description="The rules, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a lead mutation.")
class NeighborLeadPayload:
    lead: NeighborLead | None = strawberry.field(description="The lead, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of recordVisit.")
class VisitPayload:
    visit: Visit | None = strawberry.field(description="The visit, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of addCareTagKind.")
class CareTagKindPayload:
    kind: CareTagKind | None = strawberry.field(description="The care group, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createCareService.")
class CareServicePayload:
    service: CareService | None = strawberry.field(description="The entry, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of recordCareService.")
class CareServiceRecordPayload:
    record: CareServiceRecord | None = strawberry.field(description="The record, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a wish mutation.")
class WishPayload:
    wish: Wish | None = strawberry.field(description="The wish, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")
