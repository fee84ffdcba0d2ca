"""Compiled reads of the points ledger and catalogue (积分, issue #21): the ``redemptions``, ``pointsLedger``
and ``rewardItems`` root fields as ``resolvers.volunteering`` answers them — its own row predicates
(``redemption_pred`` and ``points_pred``: the person under the actor's points grant; ``item_read_pred``:
the catalogue's community readable), the same filters with the same checks, the same order (redemptions
and entries newest first, items by id), cursors and totalCount. A redemption's person is read as the
person loader reads it (person·read, masked as the actor may), its item as the item loader (the item's
read rule, retired items too). An argument the resolvers would refuse raises Unsupported: the general
path answers with its typed error.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS`` (``extend``): the root fields and the types they reach."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection
from compiled.sql import gid, lit
from models import Person, PointsEntry, Redemption, RedemptionState, RewardItem
from policies.filters import person_predicate
from resolvers import validation as v
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from resolvers.volunteering import item_read_pred, points_pred, redemption_pred
from schema.volunteering import PointsEntry as PointsEntryType
from schema.volunteering import Redemption as RedemptionType
from schema.volunteering import RewardItem as RewardItemType


def _period(names: tuple[str, str]) -> Callable[[dict[str, Any]], tuple[datetime | None, datetime | None]]:
    """The period arguments as the resolvers check them (zones, order); a bad one is theirs to refuse."""
    def read(a: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
        start, end = a.get(names[0]), a.get(names[1])
        try:
            v.period_filter(Redemption.created_at, start, end, names)
        except ServiceError:
            raise Unsupported("bad period") from None
        return start, end
    return read


def _in_period(cx: Compiler, sel: Sel, col: Any, names: tuple[str, str]) -> list[ColumnElement[bool]]:
    period = _period(names)
    start, end = cx.shape(sel, lambda a: tuple(x is not None for x in period(a)))
    return v.period_bounds(col, cx.param(sel, lambda a: period(a)[0], "timestamptz") if start else None,
                           cx.param(sel, lambda a: period(a)[1], "timestamptz") if end else None)


def redemptions(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.volunteering.list_redemptions in SQL."""
    filters = [Redemption.tenant_id == cx.tenant_id, redemption_pred(cx.ctx),
               *_in_period(cx, sel, Redemption.created_at, ("requestedFrom", "requestedBefore"))]
    states = cx.shape(sel, lambda a: tuple(RedemptionState(x).value for x in a.get("states") or ()))
    if states:
        filters.append(Redemption.state.in_([lit(x) for x in states]))
    stmt = select(Redemption.__table__).where(*filters)
    return connection(cx, sel, stmt, Redemption.id, descending=True, node_type="Redemption")


def _person_uuid(a: dict[str, Any]) -> uuid.UUID | None:
    """personId as schema.common.decode_id reads it: a Person's ID, else the resolvers' error."""
    if a.get("personId") is None:
        return None
    try:
        kind, pid = decode_global_id(str(a["personId"]))
    except ServiceError:
        raise Unsupported("bad id") from None
    if kind != "Person":
        raise Unsupported("not a person's id")
    return pid


def points_ledger(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.volunteering.list_entries in SQL."""
    filters = [PointsEntry.tenant_id == cx.tenant_id, points_pred(cx.ctx, "read"),
               *_in_period(cx, sel, PointsEntry.created_at, ("bookedFrom", "bookedBefore"))]
    if cx.shape(sel, lambda a: _person_uuid(a) is not None):
        filters.append(PointsEntry.person_id == cx.param(sel, _person_uuid, "uuid"))
    stmt = select(PointsEntry.__table__).where(*filters)
    return connection(cx, sel, stmt, PointsEntry.id, descending=True, node_type="PointsEntry")


def _community_uuid(a: dict[str, Any]) -> uuid.UUID | None:
    if a.get("communityId") is None:
        return None
    try:
        kind, cid = decode_global_id(str(a["communityId"]))
    except ServiceError:
        raise Unsupported("bad id") from None
    if kind != "Community":
        raise Unsupported("not a community's id")
    return cid


def reward_items(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.volunteering.list_reward_items in SQL (the offered items, by id)."""
    filters = [RewardItem.tenant_id == cx.tenant_id, item_read_pred(cx.ctx), RewardItem.active.is_(true())]
    if cx.shape(sel, lambda a: _community_uuid(a) is not None):
        filters.append(RewardItem.community_id == cx.param(sel, _community_uuid, "uuid"))
    stmt = select(RewardItem.__table__).where(*filters)
    return connection(cx, sel, stmt, RewardItem.id, descending=False, node_type="RewardItem")


def person_by_id(cx: Compiler, row: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id: the person if the actor may read them (person·read), masked as they may."""
    pa = aliased(Person, name="vp")
    p = sa_inspect(pa).selectable
    return (select(cx.sub("Person", s, p)).select_from(p)
            .where(p.c.tenant_id == cx.tenant_id, p.c.id == row.c.person_id,
                   person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
            .correlate_except(p).scalar_subquery())


def _item(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """volunteering loaders.reward_item_by_id: the item under its read rule (retired ones too)."""
    i = RewardItem.__table__
    return (select(cx.sub("RewardItem", s, i)).select_from(i)
            .where(i.c.tenant_id == cx.tenant_id, i.c.id == r.c.item_id, item_read_pred(cx.ctx))
            .correlate_except(i).scalar_subquery())


REDEMPTION: FieldTable = {
    "id": lambda _cx, r, _s: gid("Redemption", r.c.id),
    **columns_of(RedemptionType),  # points, state, note, requestedAt, decidedAt
    "person": person_by_id,
    "item": _item,
}

POINTS_ENTRY: FieldTable = {
    "id": lambda _cx, e, _s: gid("PointsEntry", e.c.id),
    **columns_of(PointsEntryType),  # delta, kind, reason, balanceAfter, at
    "person": person_by_id,
}

REWARD_ITEM: FieldTable = {
    "id": lambda _cx, i, _s: gid("RewardItem", i.c.id),
    **columns_of(RewardItemType),  # name, points, stock, retiredAt
    "community": lambda cx, i, s: area_by_id(cx, s, i.c.community_id),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"redemptions": redemptions, "pointsLedger": points_ledger, "rewardItems": reward_items},
    "Redemption": REDEMPTION, "RedemptionConnection": CONNECTION, "RedemptionEdge": EDGE,
    "PointsEntry": POINTS_ENTRY, "PointsEntryConnection": CONNECTION, "PointsEntryEdge": EDGE,
    "RewardItem": REWARD_ITEM, "RewardItemConnection": CONNECTION, "RewardItemEdge": EDGE,
}
