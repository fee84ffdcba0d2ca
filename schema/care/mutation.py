"""The care domain's Mutation fields: care rules, leads, visits, care groups and service lists, wishes."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import care as care_service
from resolvers.ids import decode_id, decode_ids
from schema.care.inputs import (
    AddCareTagKindInput,
    AppointLeadInput,
    CareServicePayload,
    CareServiceRecordPayload,
    CareSettingsPayload,
    CareTagKindPayload,
    CreateCareServiceInput,
    NeighborLeadPayload,
    PostWishInput,
    RecordCareServiceInput,
    RecordVisitInput,
    ReleaseWishInput,
    RetireCareServiceInput,
    SetLeadHouseholdsInput,
    UpdateCareSettingsInput,
    VisitPayload,
    WishPayload,
    WishTransitionInput,
)
from schema.care.types import (
    CareService,
    CareServiceRecord,
    CareSettings,
    NeighborLead,
    Visit,
    Wish,
)
from schema.common import context, given, legacy_argument, mutate, mutation, one_form
from schema.register import AREA_TYPE_NAMES, CareTagKind


async def _wish_step(info: Info, input: WishTransitionInput, action: str) -> WishPayload:
    async def run() -> Any:
        ctx = context(info)
        wid = decode_id(input.id, "Wish", "id")
        if action == "claim":
            return await care_service.claim_wish(ctx, wid, expected_version=input.expected_version)
        if action == "fulfil":
            return await care_service.fulfil_wish(ctx, wid, note=input.note, expected_version=input.expected_version)
        if action == "confirm":
            return await care_service.confirm_wish(ctx, wid, expected_version=input.expected_version)
        if action == "release":
            return await care_service.release_wish(ctx, wid, expected_version=input.expected_version)
        return await care_service.cancel_wish(ctx, wid, expected_version=input.expected_version)

    wish, errors = await mutate(info, run)
    return WishPayload(wish=None if wish is None else Wish(_m=wish), errors=errors)


@strawberry.input(description="End a lead's appointment (邻长卸任).")
class EndNeighborLeadInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the lead assignment to end (邻长ID).")


@strawberry.type
class CareMutation:
    @mutation(description="Change the tenant's care rules (关爱设置; street admin).")
    async def update_care_settings(self, info: Info, input: UpdateCareSettingsInput) -> CareSettingsPayload:
        async def run() -> Any:
            return await care_service.update_care_settings(context(info), care_service.SettingsInput(
                lead_min_households=input.lead_min_households, lead_max_households=input.lead_max_households,
                key_visit_days=input.key_visit_days, routine_visit_days=input.routine_visit_days))

        s, errors = await mutate(info, run)
        return CareSettingsPayload(settings=None if s is None else CareSettings(_m=s), errors=errors)

    @mutation(description="Appoint a neighbourhood lead for households (任命邻长); grants neighbor_lead.")
    async def appoint_neighbor_lead(self, info: Info, input: AppointLeadInput) -> NeighborLeadPayload:
        async def run() -> Any:
            return await care_service.appoint_lead(
                context(info), person_id=decode_id(input.person_id, "Person", "personId"), title=input.title,
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"),
                household_ids=decode_ids(input.household_ids, "Household", "householdIds"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @mutation(description="Replace the households a lead keeps (调整联系户).")
    async def set_neighbor_lead_households(self, info: Info, input: SetLeadHouseholdsInput) -> NeighborLeadPayload:
        async def run() -> Any:
            return await care_service.set_lead_households(
                context(info), decode_id(input.id, "NeighborLead", "id"),
                decode_ids(input.household_ids, "Household", "householdIds"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @mutation(description="End a lead's appointment (卸任); revokes the neighbor_lead role.")
    async def end_neighbor_lead(
        self, info: Info, input: EndNeighborLeadInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("endNeighborLead")] = None,
    ) -> NeighborLeadPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await care_service.end_lead(context(info), decode_id(gid, "NeighborLead", "id"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @mutation(description="Record a home visit (记录走访), optionally raising a case from it.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> VisitPayload:
        async def run() -> Any:
            rc = input.raise_case
            raise_case = None
            if rc is not None:
                raise_case = care_service.RaiseCase(
                    category=rc.category, title=rc.title, description=rc.description,
                    priority=rc.priority)
            return await care_service.record_visit(context(info), care_service.VisitInput(
                household_id=decode_id(input.household_id, "Household", "householdId"), kind=input.kind,
                visited_at=input.visited_at, findings=input.findings, needs=input.needs, raise_case=raise_case,
                idempotency_key=input.idempotency_key))

        visit, errors = await mutate(info, run)
        return VisitPayload(visit=None if visit is None else Visit(_m=visit), errors=errors)

    @mutation(description="Add a care group of the tenant's own (新增重点人群类别; street admin).")
    async def add_care_tag_kind(self, info: Info, input: AddCareTagKindInput) -> CareTagKindPayload:
        async def run() -> Any:
            return await care_service.add_care_tag_kind(context(info), code=input.code, name=input.name)

        kind, errors = await mutate(info, run)
        return CareTagKindPayload(kind=None if kind is None else CareTagKind(_m=kind),
                                  errors=errors)

    @mutation(description="Add an entry to a care group's service list (服务清单).")
    async def create_care_service(self, info: Info, input: CreateCareServiceInput) -> CareServicePayload:
        async def run() -> Any:
            return await care_service.create_care_service(context(info), care_service.ServiceInput(
                tag_code=input.tag_code, area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), name=input.name,
                frequency=input.frequency, provider=input.provider, note=input.note))

        svc, errors = await mutate(info, run)
        return CareServicePayload(service=None if svc is None else CareService(_m=svc), errors=errors)

    @mutation(description="Retire a service-list entry (停止服务项目): no new service records under it; the "
                          "records made before stay.")
    async def retire_care_service(self, info: Info, input: RetireCareServiceInput) -> CareServicePayload:
        async def run() -> Any:
            return await care_service.retire_care_service(context(info), decode_id(input.id, "CareService", "id"))

        svc, errors = await mutate(info, run)
        return CareServicePayload(service=None if svc is None else CareService(_m=svc), errors=errors)

    @mutation(description="Record a service provided to a person (服务记录).")
    async def record_care_service(self, info: Info, input: RecordCareServiceInput) -> CareServiceRecordPayload:
        async def run() -> Any:
            return await care_service.record_care_service(context(info), care_service.ServiceRecordInput(
                service_id=decode_id(input.service_id, "CareService", "serviceId"),
                person_id=decode_id(input.person_id, "Person", "personId"), provided_at=input.provided_at,
                provided_by=input.provided_by, note=input.note))

        rec, errors = await mutate(info, run)
        return CareServiceRecordPayload(record=None if rec is None else CareServiceRecord(_m=rec), errors=errors)

    @mutation(description="Post a need or micro-wish for a resident (发布微心愿).")
    async def post_wish(self, info: Info, input: PostWishInput) -> WishPayload:
        async def run() -> Any:
            return await care_service.post_wish(
                context(info), person_id=decode_id(input.person_id, "Person", "personId"), title=input.title,
                description=input.description)

        wish, errors = await mutate(info, run)
        return WishPayload(wish=None if wish is None else Wish(_m=wish), errors=errors)

    @mutation(description="Claim an open wish (认领); one claimant at a time.")
    async def claim_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "claim")

    @mutation(description="Mark a claimed wish fulfilled (完成).")
    async def fulfil_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "fulfil")

    @mutation(description="Confirm a fulfilled wish (确认), by the beneficiary or the poster.")
    async def confirm_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "confirm")

    @mutation(description="Give a claim back (释放认领): the claimant, or staff in scope; the wish is open "
                          "again.")
    async def release_wish(self, info: Info, input: ReleaseWishInput) -> WishPayload:
        return await _wish_step(info, WishTransitionInput(id=input.id, expected_version=input.expected_version),
                                "release")

    @mutation(description="Cancel an open or claimed wish (撤销), by staff or the poster.")
    async def cancel_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "cancel")
