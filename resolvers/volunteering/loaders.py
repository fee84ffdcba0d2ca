"""Per-request DataLoaders of the volunteering and evaluation module (``XByYLoader``), so a page of
sign-ups, redemptions or results costs the statements a page of five does. Each applies the read
rule of what it loads (or loads only what the row's own rule already let the actor see)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from models import Activity, EvaluationPeriodItem, EvaluationTarget, PropertyFirm, RewardItem
from resolvers.context import RequestContext
from resolvers.loaders import _loader, by_id, value_by_id
from resolvers.volunteering import activities
from resolvers.volunteering import service as vol


def firm_name_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, str | None]:
    """Firm names, for results the actor may already read (a firm's name is not personal data)."""
    return value_by_id(ctx, PropertyFirm, PropertyFirm.name, name="FirmNameByIdLoader")


PeriodTarget = tuple[uuid.UUID, EvaluationTarget]


def period_items_by_period(ctx: RequestContext) -> DataLoader[PeriodTarget, list[EvaluationPeriodItem]]:
    async def load(keys: list[PeriodTarget]) -> list[list[EvaluationPeriodItem]]:
        t = EvaluationPeriodItem
        rows = await ctx.db.scalars(select(t).where(t.period_id.in_({p for p, _ in keys}))
                                    .order_by(t.weight.desc(), t.code))
        out: dict[PeriodTarget, list[EvaluationPeriodItem]] = defaultdict(list)
        for r in rows:
            out[(r.period_id, r.target)].append(r)
        return [out.get(k, []) for k in keys]

    return _loader(ctx, "PeriodItemsByPeriodLoader", load)


def activity_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, Activity | None]:
    """Activities the actor may read (a sign-up's activity outside the reader's reach is null)."""
    return by_id(ctx, Activity, lambda: activities.activity_read_pred(ctx))


def reward_item_by_id(ctx: RequestContext) -> DataLoader[uuid.UUID, RewardItem | None]:
    """Catalogue items the actor may read (deactivated ones too: a redemption names what it was for)."""
    return by_id(ctx, RewardItem, lambda: vol.item_read_pred(ctx))
