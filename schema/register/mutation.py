"""Root mutation fields. Each returns a payload with the object and typed errors; an error means
nothing was written (each mutation runs in its own savepoint, see schema.common.mutate)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import strawberry
from strawberry.types import Info

from models import Area as AreaRow
from models import AreaKind, Gender, PropertyManagement, Tenure
from models import Household as HouseholdRow
from models import Person as PersonRow
from models import RoleAssignment as RoleAssignmentRow
from policies.roles import Role
from resolvers import access as access_service
from resolvers import register as area_service
from resolvers import register as register_service
from resolvers.ids import decode_id
from schema.common import UserError, context, mutate, mutation
from schema.register.types import (
    AREA_TYPE_NAMES,
    AreaNode,
    Grid,
    Household,
    Person,
    RoleAssignment,
    area_type,
)

UNSET = strawberry.UNSET
T = TypeVar("T")


def _opt(value: T) -> T | None:
    """An input field left out (UNSET) reads as None: "no change"."""
    return None if value is UNSET else value


# ---------------------------------------------------------------- inputs


@strawberry.input(description="A new area under a parent you manage (新建区域).")
class CreateAreaInput:
    kind: AreaKind = strawberry.field(description="Level of the new area.")
    parent_id: strawberry.ID = strawberry.field(description="Parent area.")
    name: str = strawberry.field(description="Name, at most 100 characters.")
    code: str | None = strawberry.field(default=None, description="Official code, at most 32 characters.")
    description: str | None = strawberry.field(default=None, description="At most 1000 characters.")
    property_management: PropertyManagement | None = strawberry.field(
        default=None, description="Compounds only.")
    floors: int | None = strawberry.field(default=None, description="Buildings only.")
    unit_count: int | None = strawberry.field(default=None, description="Buildings only.")


@strawberry.input(description="Changes to an area you manage (修改区域); omitted fields stay.")
class UpdateAreaInput:
    id: strawberry.ID = strawberry.field(description="The area.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT if it changed since (乐观锁).")
    name: str | None = strawberry.field(default=None, description="New name.")
    code: str | None = strawberry.field(default=None, description="New code.")
    description: str | None = strawberry.field(default=None, description="New description.")
    property_management: PropertyManagement | None = strawberry.field(
        default=None, description="Compounds only.")
    floors: int | None = strawberry.field(default=None, description="Buildings only.")
    unit_count: int | None = strawberry.field(default=None, description="Buildings only.")


@strawberry.input(description="The buildings a grid covers, replacing the previous set (网格覆盖楼栋).")
class SetGridBuildingsInput:
    grid_id: strawberry.ID = strawberry.field(description="The grid.")
    building_ids: list[strawberry.ID] = strawberry.field(description="Buildings of the grid's community.")


@strawberry.input(description="A new household in a building (新增住户).")
class CreateHouseholdInput:
    building_id: strawberry.ID = strawberry.field(description="The building.")
    room: str = strawberry.field(description="Room number (门牌号), at most 16 characters.")
    unit: str | None = strawberry.field(default=None, description="Unit number (单元).")
    floor_area: Decimal | None = strawberry.field(default=None, description="Floor area in m² (建筑面积).")
    tenure: Tenure | None = strawberry.field(default=None, description="Owner or renter.")
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input(description="Changes to a household (修改住户); omitted fields stay.")
class UpdateHouseholdInput:
    id: strawberry.ID = strawberry.field(description="The household.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT if it changed since (乐观锁).")
    room: str | None = strawberry.field(default=None, description="Room number.")
    unit: str | None = strawberry.field(default=None, description="Unit number.")
    floor_area: Decimal | None = strawberry.field(default=None, description="Floor area in m².")
    tenure: Tenure | None = strawberry.field(default=None, description="Owner or renter.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="A new person in a household (新增居民).")
class CreatePersonInput:
    household_id: strawberry.ID = strawberry.field(description="The household.")
    name: str = strawberry.field(description="Name, at most 50 characters.")
    gender: Gender | None = strawberry.field(default=None, description="Gender.")
    id_card_no: str | None = strawberry.field(default=None, description="18-character resident ID (checked).")
    phone: str | None = strawberry.field(default=None, description="Mobile or landline.")
    relation_to_head: str | None = strawberry.field(default=None, description="Relation to the head (与户主关系).")
    party_member: bool | None = strawberry.field(default=None, description="Party member.")
    in_service_party_member: bool | None = strawberry.field(default=None, description="在职党员双报到.")
    care_tags: list[str] | None = strawberry.field(default=None, description="Care group codes.")


@strawberry.input(description="Changes to a person (修改居民); omitted fields stay, null clears ID number or "
                              "phone. A resident may change only the phone of their own household's members.")
class UpdatePersonInput:
    id: strawberry.ID = strawberry.field(description="The person.")
    expected_version: int | None = strawberry.field(
        default=UNSET, description="Fail with CONFLICT if it changed since (乐观锁).")
    name: str | None = strawberry.field(default=UNSET, description="Name.")
    gender: Gender | None = strawberry.field(default=UNSET, description="Gender.")
    id_card_no: str | None = strawberry.field(default=UNSET, description="Resident ID; null clears.")
    phone: str | None = strawberry.field(default=UNSET, description="Phone; null clears.")
    relation_to_head: str | None = strawberry.field(default=UNSET, description="Relation to the head.")
    party_member: bool | None = strawberry.field(default=UNSET, description="Party member.")
    in_service_party_member: bool | None = strawberry.field(default=UNSET, description="在职党员双报到.")
    care_tags: list[str] | None = strawberry.field(default=UNSET, description="Care group codes (replaces).")


@strawberry.input(description="Grant a role over a scope (授予角色): only roles below your own, inside your scope.")
class GrantRoleInput:
    username: str = strawberry.field(description="The user's login name.")
    role: Role = strawberry.field(description="Role to grant.")
    scope_area_id: strawberry.ID = strawberry.field(description="Scope area.")
    display_name: str | None = strawberry.field(default=None, description="Creates the account if it is new.")
    firm_id: strawberry.ID | None = strawberry.field(default=None, description="Property firm (property_firm only).")
    person_id: strawberry.ID | None = strawberry.field(default=None, description="Link the user to their own "
                                                                                 "register entry (for 'own').")
    valid_from: datetime | None = strawberry.field(default=None, description="Start; now when omitted.")
    valid_until: datetime | None = strawberry.field(default=None, description="End; open when omitted.")


@strawberry.input(description="Revoke a role assignment (撤销角色).")
class RevokeRoleInput:
    id: strawberry.ID = strawberry.field(description="The role assignment.")


# ---------------------------------------------------------------- payloads


@strawberry.type(description="Result of an area mutation.")
class AreaPayload:
    area: AreaNode | None = strawberry.field(description="The area, when the mutation succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setGridBuildings.")
class GridPayload:
    grid: Grid | None = strawberry.field(description="The grid, when the mutation succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a household mutation.")
class HouseholdPayload:
    household: Household | None = strawberry.field(description="The household, when the mutation succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a person mutation.")
class PersonPayload:
    person: Person | None = strawberry.field(description="The person, when the mutation succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a role mutation.")
class RoleAssignmentPayload:
    role_assignment: RoleAssignment | None = strawberry.field(description="The assignment, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _area_fields(i: CreateAreaInput | UpdateAreaInput) -> area_service.AreaFields:
    return area_service.AreaFields(
        name=i.name, code=i.code, description=i.description, property_management=i.property_management,
        floors=i.floors, unit_count=i.unit_count, expected_version=getattr(i, "expected_version", None),
    )



def _household_fields(i: CreateHouseholdInput | UpdateHouseholdInput) -> register_service.HouseholdFields:
    return register_service.HouseholdFields(
        unit=i.unit, room=i.room, floor_area=None if i.floor_area is None else str(i.floor_area),
        tenure=i.tenure, note=i.note, expected_version=getattr(i, "expected_version", None),
    )


@strawberry.type
class Mutation:
    @mutation(description="Create an area under one you manage (新建区域).")
    async def create_area(self, info: Info, input: CreateAreaInput) -> AreaPayload:
        async def run() -> AreaRow:
            return await area_service.create_area(
                context(info), kind=input.kind, parent_id=decode_id(input.parent_id, AREA_TYPE_NAMES, "parentId"),
                fields=_area_fields(input))

        area, errors = await mutate(info, run)
        return AreaPayload(area=area_type(area), errors=errors)

    @mutation(description="Change an area you manage (修改区域).")
    async def update_area(self, info: Info, input: UpdateAreaInput) -> AreaPayload:
        async def run() -> AreaRow:
            return await area_service.update_area(
                context(info), decode_id(input.id, AREA_TYPE_NAMES, "id"), _area_fields(input))

        area, errors = await mutate(info, run)
        return AreaPayload(area=area_type(area), errors=errors)

    @mutation(description="Set the buildings a grid covers (网格覆盖楼栋).")
    async def set_grid_buildings(self, info: Info, input: SetGridBuildingsInput) -> GridPayload:
        async def run() -> AreaRow:
            ids = [decode_id(b, "Building", "buildingIds") for b in input.building_ids]
            return await area_service.set_grid_buildings(context(info), decode_id(input.grid_id, "Grid", "gridId"), ids)

        grid, errors = await mutate(info, run)
        return GridPayload(grid=None if grid is None else Grid(_m=grid), errors=errors)

    @mutation(description="Register a household (新增住户).")
    async def create_household(self, info: Info, input: CreateHouseholdInput) -> HouseholdPayload:
        async def run() -> HouseholdRow:
            return await register_service.create_household(
                context(info), building_id=decode_id(input.building_id, "Building", "buildingId"),
                fields=_household_fields(input))

        h, errors = await mutate(info, run)
        return HouseholdPayload(household=None if h is None else Household(_m=h), errors=errors)

    @mutation(description="Change a household (修改住户).")
    async def update_household(self, info: Info, input: UpdateHouseholdInput) -> HouseholdPayload:
        async def run() -> HouseholdRow:
            return await register_service.update_household(
                context(info), decode_id(input.id, "Household", "id"), _household_fields(input))

        h, errors = await mutate(info, run)
        return HouseholdPayload(household=None if h is None else Household(_m=h), errors=errors)

    @mutation(description="Register a person in a household (新增居民).")
    async def create_person(self, info: Info, input: CreatePersonInput) -> PersonPayload:
        async def run() -> PersonRow:
            fields = register_service.PersonFields(
                name=input.name, gender=input.gender, id_card_no=input.id_card_no, phone=input.phone,
                relation_to_head=input.relation_to_head, party_member=input.party_member,
                in_service_party_member=input.in_service_party_member, care_tags=input.care_tags,
            )
            return await register_service.create_person(
                context(info), household_id=decode_id(input.household_id, "Household", "householdId"), fields=fields)

        p, errors = await mutate(info, run)
        return PersonPayload(person=None if p is None else Person(_m=p), errors=errors)

    @mutation(description="Change a person (修改居民).")
    async def update_person(self, info: Info, input: UpdatePersonInput) -> PersonPayload:
        async def run() -> PersonRow:
            fields = register_service.PersonFields(
                name=_opt(input.name), gender=_opt(input.gender),
                relation_to_head=_opt(input.relation_to_head), party_member=_opt(input.party_member),
                in_service_party_member=_opt(input.in_service_party_member),
                care_tags=_opt(input.care_tags),
                expected_version=_opt(input.expected_version),
            )
            if input.id_card_no is not UNSET:
                fields.id_card_no = input.id_card_no
            if input.phone is not UNSET:
                fields.phone = input.phone
            return await register_service.update_person(context(info), decode_id(input.id, "Person", "id"), fields)

        p, errors = await mutate(info, run)
        return PersonPayload(person=None if p is None else Person(_m=p), errors=errors)

    @mutation(description="Grant a role (授予角色).")
    async def grant_role(self, info: Info, input: GrantRoleInput) -> RoleAssignmentPayload:
        ctx = context(info)

        async def run() -> RoleAssignmentRow:
            return await access_service.grant_role(
                ctx, username=input.username, display_name=input.display_name, role=input.role,
                scope_area_id=decode_id(input.scope_area_id, AREA_TYPE_NAMES, "scopeAreaId"),
                firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"),
                person_id=decode_id(input.person_id, "Person", "personId"),
                valid_from=input.valid_from, valid_until=input.valid_until,
            )

        ra, errors = await mutate(info, run)
        return RoleAssignmentPayload(
            role_assignment=None if ra is None else RoleAssignment(_m=ra, _now=ctx.now), errors=errors)

    @mutation(description="Revoke a role assignment (撤销角色).")
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> RoleAssignmentPayload:
        ctx = context(info)

        async def run() -> RoleAssignmentRow:
            return await access_service.revoke_role(ctx, decode_id(input.id, "RoleAssignment", "id"))

        ra, errors = await mutate(info, run)
        return RoleAssignmentPayload(
            role_assignment=None if ra is None else RoleAssignment(_m=ra, _now=ctx.now), errors=errors)


