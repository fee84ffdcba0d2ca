"""What partners see (共享视图): a partner actor's own agreements in force, and the activities,
open wishes and aggregate figures an agreement shares with it — never personal data."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from models import Activity, ActivityState, Agreement, Area, AreaKind, Wish, WishState
from policies.actor import Actor, Grant
from policies.cobuilding.filters import agreement_reach, local_date, shared_building_predicate, under
from resolvers import cases as case_service
from resolvers import validation as v
from resolvers.care import WISH
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import transition


def _partner_only(ctx: RequestContext) -> None:
    if ctx.actor.partner_unit_id is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("共享视图仅供共建单位的系统使用",
                                                  "shared views are for partner units' systems"))


async def my_agreements(ctx: RequestContext) -> list[Agreement]:
    """The partner's own agreements in force now (what it is granted, where, until when)."""
    return list(await ctx.db.scalars(_my_agreements(ctx).order_by(Agreement.id)))


async def my_agreements_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[Agreement]:
    return await keyset_page(ctx.db, _my_agreements(ctx), Agreement.id, first=first, after=after)


def _my_agreements(ctx: RequestContext) -> Select[Any]:
    _partner_only(ctx)
    from policies.cobuilding.filters import active_on

    return select(Agreement).where(Agreement.partner_unit_id == ctx.actor.partner_unit_id,
                                   active_on(local_date(ctx.now)))


async def shared_activities(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[Activity]:
    """Published activities in the communities whose agreements share activity·read."""
    _partner_only(ctx)
    paths = agreement_reach(ctx.actor, "activity", "read")
    stmt = select(Activity).where(under(Activity.area_path, paths), Activity.state != ActivityState.CANCELLED)
    return await keyset_page(ctx.db, stmt, Activity.id, first=first, after=after, descending=True)


def shared_wish_predicate(ctx: RequestContext) -> Any:
    """Open wishes in communities sharing wish·read, and those this partner claimed there."""
    paths = agreement_reach(ctx.actor, "wish", "read")
    return and_(shared_building_predicate(Wish.building_id, paths),
                or_(Wish.state == WishState.OPEN, Wish.claimant_user_id == ctx.actor.user_id))


async def shared_wishes(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[Wish]:
    _partner_only(ctx)
    stmt = select(Wish).where(shared_wish_predicate(ctx))
    return await keyset_page(ctx.db, stmt, Wish.id, first=first, after=after, descending=True)


async def claim_shared_wish(ctx: RequestContext, wish_id: uuid.UUID, expected_version: int | None) -> Wish:
    """A partner claims an open wish where an active agreement shares wish·claim (the claimant is
    the client's account; the beneficiary stays hidden from it)."""
    _partner_only(ctx)
    wish: Wish | None = await ctx.db.scalar(select(Wish).where(Wish.id == wish_id, shared_wish_predicate(ctx)))
    if wish is None:
        gone = await ctx.db.scalar(select(Wish.id).where(
            Wish.id == wish_id, shared_building_predicate(Wish.building_id, agreement_reach(ctx.actor, "wish",
                                                                                              "read"))))
        if gone is not None:
            raise ServiceError(ErrorCode.CONFLICT, t("该微心愿已被他人认领",
                                                     "the wish has been claimed by someone else"), "id")
        raise ServiceError(ErrorCode.NOT_FOUND, t("微心愿不存在", "wish not found"), "id")
    if await ctx.db.scalar(select(Wish.id).where(
            Wish.id == wish.id, shared_building_predicate(Wish.building_id,
                                                          agreement_reach(ctx.actor, "wish", "claim")))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("没有生效的共建协议允许您在该处认领微心愿",
                                                  "no active agreement lets you claim wishes there"), "id")
    await transition(ctx, WISH, wish, "claim", expected_version=expected_version,
                     values={"claimant_user_id": ctx.actor.user_id, "claimed_at": ctx.now},
                     stale=("微心愿已有变动（当前版本 {version}），请重新加载",
                            "the wish changed (version {version}); reload"),
                     lost=("该微心愿已被他人认领", "the wish has been claimed by someone else"))
    return wish


async def fulfil_shared_wish(ctx: RequestContext, wish_id: uuid.UUID, note: str | None,
                             expected_version: int | None) -> Wish:
    """The partner that claimed a wish reports it fulfilled (the beneficiary or staff confirm it),
    while an agreement in force still shares wish·claim there."""
    _partner_only(ctx)
    text = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    paths = agreement_reach(ctx.actor, "wish", "fulfil")
    wish: Wish | None = await ctx.db.scalar(select(Wish).where(
        Wish.id == wish_id, Wish.claimant_user_id == ctx.actor.user_id,
        shared_building_predicate(Wish.building_id, paths)))
    if wish is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("您的单位没有认领该编号的微心愿，或它现已不再共享",
                                                  "no wish claimed by your unit with that id is shared now"), "id")
    await transition(ctx, WISH, wish, "fulfil", expected_version=expected_version,
                     values={"fulfilled_at": ctx.now, "fulfil_note": text},
                     stale=("微心愿已有变动（当前版本 {version}），请重新加载",
                            "the wish changed (version {version}); reload"),
                     lost=("微心愿已被他人修改，请重新加载", "the wish was changed by someone else; reload"))
    return wish


@dataclass
class ActivityFigures:
    total: int
    by_state: dict[str, int]
    places: int
    signed_up: int


@dataclass
class SharedStatistics:
    community_id: uuid.UUID
    community_name: str
    cases: case_service.CaseStatistics
    activities: ActivityFigures


def shared_reach(actor: Actor, path: str) -> Actor:
    """The actor the shared figures are computed as: anyone holding statistics·read with the community
    as scope, nothing else; only aggregates leave. (The compiled read passes the path as a SQL expression.)"""
    return dataclasses.replace(actor, assignments=[], _grants={("statistics", "read"): Grant(scope_paths=(path,))})


def shared_activity_counts(path: Any, lo: Any, hi: Any) -> Select[ActivityState, int, int, int]:
    """The community's activities starting in the period, per state: count, places, places taken."""
    return (select(Activity.state.label("state"), func.count().label("n"),
                   func.coalesce(func.sum(Activity.capacity), 0).label("places"),
                   func.coalesce(func.sum(Activity.signed_up), 0).label("signed_up"))
            .where(Activity.area_path.startswith(path), Activity.starts_at >= lo, Activity.starts_at < hi)
            .group_by(Activity.state))


async def shared_statistics(ctx: RequestContext, community_id: uuid.UUID, start: date, end: date
                            ) -> SharedStatistics:
    """Aggregate figures of a covered community where an agreement shares statistics·read: the
    cases' review figures (as resolvers.cases computes them) and the activities held."""
    _partner_only(ctx)
    paths = agreement_reach(ctx.actor, "statistics", "read")
    row = (await ctx.db.all(select(Area.path, Area.name).where(Area.id == community_id,
                                                              Area.kind == AreaKind.COMMUNITY)))
    if not row or row[0].path not in paths:
        raise ServiceError(ErrorCode.FORBIDDEN, t("没有生效的共建协议共享该社区的统计",
                                                  "no active agreement shares this community's statistics"),
                           "communityId")
    path, name = row[0]
    cases = await case_service.statistics(dataclasses.replace(ctx, actor=shared_reach(ctx.actor, path)),
                                          community_id, start, end)
    lo, hi = case_service.local_bounds(start, end)
    acts = await ctx.db.all(shared_activity_counts(path, lo, hi))
    by_state = {s.value: int(n) for s, n, _c, _u in acts}
    return SharedStatistics(
        community_id=community_id, community_name=name, cases=cases,
        activities=ActivityFigures(total=sum(by_state.values()), by_state=by_state,
                                   places=sum(int(c) for _s, _n, c, _u in acts),
                                   signed_up=sum(int(u) for _s, _n, _c, u in acts)),
    )
