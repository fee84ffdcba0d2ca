"""Per-request DataLoaders of the care module (``XByYLoader``), kept beside the module so the
shared loaders file stays the register's and the cases'."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from models import LeadHousehold, Person, Wish
from resolvers.care import identity_predicate
from resolvers.context import RequestContext
from resolvers.loaders import _loader


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

    async def load(ids: list[uuid.UUID]) -> list[bool]:
        visible = set(await ctx.db.scalars(select(Wish.id).where(Wish.id.in_(ids), identity_predicate(ctx))))
        return [i in visible for i in ids]

    return _loader(ctx, "WishIdentityVisibleLoader", load)


def person_name_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, str | None]:
    """Names only, for objects whose own rule already decided the actor may know the person."""

    async def load(ids: list[uuid.UUID]) -> list[str | None]:
        names = dict(await ctx.db.all(select(Person.id, Person.name).where(Person.id.in_(ids))))
        return [names.get(i) for i in ids]

    return _loader(ctx, "PersonNameByIdLoader", load)
