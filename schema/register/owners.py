"""Registered property owners (产权人) in GraphQL: registering a person on a dwelling's title and
ending it, and node(id:) for an ownership record."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from models import Household as HouseholdRow
from models import PropertyOwner as PropertyOwnerRow
from policies.filters import household_predicate
from resolvers import register as register_service
from resolvers.ids import decode_id
from schema.common import UserError, context, mutate, mutation
from schema.register.types import PropertyOwnership


@strawberry.input(description="Put a person of the register on a dwelling's title (登记产权人).")
class RegisterPropertyOwnerInput:
    household_id: strawberry.ID = strawberry.field(description="The dwelling (房屋).")
    person_id: strawberry.ID = strawberry.field(description="The owner, a person of the register (居民).")
    certificate_ref: str | None = strawberry.field(
        default=None, description="Reference of the title document (不动产权证号, ≤ 64 chars).")


@strawberry.input(description="Take a person off a dwelling's title (注销产权登记); the record stays, ended.")
class EndPropertyOwnershipInput:
    id: strawberry.ID = strawberry.field(description="The ownership record (PropertyOwnership).")


@strawberry.type(description="Result of a property-owner mutation.")
class PropertyOwnershipPayload:
    ownership: PropertyOwnership | None = strawberry.field(description="The record, when the mutation succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class OwnersMutation:
    @mutation(description="Register a property owner (产权人) of a dwelling: the electors of owners' votes.")
    async def register_property_owner(self, info: Info, input: RegisterPropertyOwnerInput) -> PropertyOwnershipPayload:
        async def run() -> PropertyOwnerRow:
            return await register_service.register_property_owner(
                context(info), decode_id(input.household_id, "Household", "householdId"),
                decode_id(input.person_id, "Person", "personId"), input.certificate_ref)

        row, errors = await mutate(info, run)
        return PropertyOwnershipPayload(ownership=None if row is None else PropertyOwnership(_m=row), errors=errors)

    @mutation(description="End a property ownership (sold, inherited …): no longer an elector from now on.")
    async def end_property_ownership(self, info: Info, input: EndPropertyOwnershipInput) -> PropertyOwnershipPayload:
        async def run() -> PropertyOwnerRow:
            return await register_service.end_property_ownership(
                context(info), decode_id(input.id, "PropertyOwnership", "id"))

        row, errors = await mutate(info, run)
        return PropertyOwnershipPayload(ownership=None if row is None else PropertyOwnership(_m=row), errors=errors)


async def ownership_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    ctx = context(info)
    readable = select(HouseholdRow.id).where(household_predicate(ctx.actor.grant("household", "read"), ctx.actor))
    row = await ctx.db.scalar(select(PropertyOwnerRow).where(PropertyOwnerRow.id == id_,
                                                            PropertyOwnerRow.household_id.in_(readable)))
    return None if row is None else PropertyOwnership(_m=row)
