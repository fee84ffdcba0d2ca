"""Registered property owners (产权人) of dwellings: who is on a dwelling's title, as staff recorded
it from the title documents. They — not the residents — are the electors of owners' votes
(DESIGN.md §8). An ownership is ended, never deleted: the votes of its time keep their meaning."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from strawberry.dataloader import DataLoader

from models import Household, Person, PropertyOwner, uuid7
from policies.filters import household_predicate, person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.loaders import _loader

from .service import _writable_household


async def register_property_owner(ctx: RequestContext, household_id: uuid.UUID, person_id: uuid.UUID,
                                  certificate_ref: str | None = None) -> PropertyOwner:
    """Put a person of the register on a dwelling's title: staff who may write the household; the
    person must be one the actor may read (an owner may live elsewhere, or nowhere in the tenant's
    register but for this record)."""
    errors = FieldErrors()
    ref = None
    if certificate_ref is not None and certificate_ref.strip():
        with errors.catch():
            ref = v.text(certificate_ref, "certificateRef", max_len=64)
    errors.raise_if_any()
    await _writable_household(ctx, household_id, "household", "householdId")
    person = await ctx.db.scalar(select(Person.id).where(
        Person.id == person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    if await ctx.db.scalar(select(PropertyOwner.id).where(
            PropertyOwner.household_id == household_id, PropertyOwner.person_id == person_id,
            PropertyOwner.ended_at.is_(None))) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该居民已登记为该房屋的产权人",
                                                 "the person is already a registered owner of this dwelling"),
                           "personId")
    row = PropertyOwner(id=uuid7(), household_id=household_id, person_id=person_id, certificate_ref=ref,
                        registered_by_user_id=ctx.actor.user_id, created_at=ctx.now)
    await ctx.db.flush(row)
    ctx.loaders.pop("PropertyOwnersByHouseholdLoader", None)
    return row


async def end_property_ownership(ctx: RequestContext, owner_id: uuid.UUID) -> PropertyOwner:
    """Take a person off a dwelling's title (sold, inherited …): the record stays, with its end."""
    row: PropertyOwner | None = await ctx.db.scalar(select(PropertyOwner).where(
        PropertyOwner.id == owner_id,
        PropertyOwner.household_id.in_(select(Household.id).where(
            household_predicate(ctx.actor.grant("household", "read"), ctx.actor)))))
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("产权登记不存在", "ownership record not found"), "id")
    await _writable_household(ctx, row.household_id, "household", "id")
    done = await ctx.db.execute(update(PropertyOwner).where(PropertyOwner.id == owner_id,
                                                            PropertyOwner.ended_at.is_(None))
                                .values(ended_at=ctx.now).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 1) != 1:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该产权登记已结束", "the ownership has already ended"), "id")
    set_committed_value(row, "ended_at", ctx.now)
    ctx.loaders.pop("PropertyOwnersByHouseholdLoader", None)
    return row


def owners_by_household(ctx: RequestContext) -> DataLoader[uuid.UUID, list[PropertyOwner]]:
    """The current registered owners of each dwelling (the caller reads the household first)."""
    async def load(ids: list[uuid.UUID]) -> list[list[PropertyOwner]]:
        rows = await ctx.db.scalars(select(PropertyOwner).where(
            PropertyOwner.household_id.in_(ids), PropertyOwner.ended_at.is_(None)).order_by(PropertyOwner.id))
        out: dict[uuid.UUID, list[PropertyOwner]] = defaultdict(list)
        for r in rows:
            out[r.household_id].append(r)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "PropertyOwnersByHouseholdLoader", load)
