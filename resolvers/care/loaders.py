"""Per-request DataLoaders of the care module (``XByYLoader``), kept beside the module so the
shared loaders file stays the register's and the cases'."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from models import CareService, LeadHousehold, NeighborLead, Person, Wish
from policies.care import care_service_predicate
from resolvers.care.leads import lead_read_predicate
from resolvers.care.wishes import identity_predicate
from resolvers.context import RequestContext
from resolvers.loaders import _loader, by_id, value_by_id, visible_by_id


def households_by_lead(ctx: RequestContext) -> DataLoader[uuid.UUID, list[uuid.UUID]]:
    async def load(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
        rows = await ctx.db.all(select(LeadHousehold.lead_id, LeadHousehold.household_id)
                                .where(LeadHousehold.lead_id.in_(ids)).order_by(LeadHousehold.household_id))
        out: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for lid, hid in rows:
            out[lid].append(hid)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "HouseholdsByLeadLoader", load)


def wish_identity_visible(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Whether the actor may know a wish's beneficiary (staff in reach, the household, the poster,
    the claimant) — not a party member browsing open wishes."""
    return visible_by_id(ctx, Wish, lambda: identity_predicate(ctx), name="WishIdentityVisibleLoader")


def person_name_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, str | None]:
    """Names only, for objects whose own rule already decided the actor may know the person."""
    return value_by_id(ctx, Person, Person.name, name="PersonNameByIdLoader")


def lead_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, NeighborLead | None]:
    """Neighbourhood leads through the lead list's read predicate (visit·read reach, or one's own)."""
    return by_id(ctx, NeighborLead, lambda: lead_read_predicate(ctx), name="LeadByIdLoader")


def care_service_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, CareService | None]:
    """Care services through the service list's read predicate (care_service·read)."""
    return by_id(ctx, CareService, lambda: care_service_predicate(ctx.actor.grant("care_service", "read")))
