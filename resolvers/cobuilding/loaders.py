"""Per-request DataLoaders of the co-building module (issue #7): one query per page, not per row."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

from models import AgreementCommunity, Area, AreaKind, PartnerClient, PartnerUnit
from resolvers.cobuilding.units import unit_read_allowed
from resolvers.context import RequestContext
from resolvers.loaders import _loader, by_id


def communities_by_agreement(ctx: RequestContext) -> DataLoader[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """(id, name) of the communities each agreement covers. Callers hold an agreement they may read."""
    async def load(ids: list[uuid.UUID]) -> list[list[tuple[uuid.UUID, str]]]:
        rows = await ctx.db.all(
            select(AgreementCommunity.agreement_id, Area.id, Area.name)
            .join(Area, and_(Area.tenant_id == AgreementCommunity.tenant_id,
                             Area.id == AgreementCommunity.community_id))
            .where(AgreementCommunity.agreement_id.in_(ids)).order_by(Area.name))
        out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {i: [] for i in ids}
        for aid, cid, name in rows:
            out[aid].append((cid, name))
        return [out[i] for i in ids]

    return _loader(ctx, "CommunitiesByAgreementLoader", load)


def partner_unit_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, PartnerUnit | None]:
    """Units reached from an agreement or a member the actor may read."""
    return by_id(ctx, PartnerUnit)


def community_by_area(ctx: RequestContext) -> DataLoader[uuid.UUID, tuple[uuid.UUID, str] | None]:
    """(id, name) of the community an area (building, compound, grid …) lies in."""
    async def load(ids: list[uuid.UUID]) -> list[Any]:
        a = aliased(Area)
        c = aliased(Area)
        rows = await ctx.db.all(
            select(a.id, c.id, c.name).join(c, and_(c.tenant_id == a.tenant_id, a.path.startswith(c.path)))
            .where(a.id.in_(ids), c.kind == AreaKind.COMMUNITY))
        by_id = {aid: (cid, name) for aid, cid, name in rows}
        return [by_id.get(i) for i in ids]

    return _loader(ctx, "CommunityByAreaLoader", load)


def clients_by_partner_unit(ctx: RequestContext) -> DataLoader[uuid.UUID, list[PartnerClient]]:
    """API clients of partner units the actor reads (agreement·read), shown only to those who
    manage agreements (agreement·manage); everyone else sees none."""
    async def load(ids: list[uuid.UUID]) -> list[list[PartnerClient]]:
        out: dict[uuid.UUID, list[PartnerClient]] = {i: [] for i in ids}
        if ctx.actor.grant("agreement", "manage") and unit_read_allowed(ctx):
            rows = await ctx.db.scalars(select(PartnerClient).where(PartnerClient.partner_unit_id.in_(ids))
                                        .order_by(PartnerClient.id))
            for c in rows:
                out[c.partner_unit_id].append(c)
        return [out[i] for i in ids]

    return _loader(ctx, "ClientsByPartnerUnitLoader", load)
