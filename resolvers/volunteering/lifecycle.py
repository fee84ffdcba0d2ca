"""The whole life of an activity and a catalogue item (issue #23): an activity edited or cancelled
where ``activity · manage`` reaches, its volunteers notified; a reward item retired where
``points · manage_catalogue`` reaches.

A cancelled activity keeps its row and its sign-ups (the ledgers of its time); nobody signs up for
it, checks in or out, or has hours confirmed (no points for a cancelled activity). An activity whose
hours were already confirmed is not cancelled: those points stand in the ledger (a reversal is a
separate, audited act). A retired item is offered for no new redemption; requests made before still
resolve, and the ledger keeps what they spent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import Activity, ActivitySignup, ActivityState, Area, RewardItem, SignupState
from policies.filters import area_reach_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.notify import notify_users
from resolvers.transitions import StateMachine, transition

from .activities import get_activity
from .service import MAX_CAPACITY, get_reward_item

A = ActivityState
ACTIVITY: StateMachine[ActivityState] = StateMachine(
    noun="activity", noun_zh="志愿活动", model=Activity, versioned=False,
    moves={"edit": (frozenset({A.PUBLISHED}), None), "cancel": (frozenset({A.PUBLISHED}), A.CANCELLED)},
    refused=("志愿活动当前为 {state}，不能再修改或取消", "the activity is {state}; it can no longer be changed"),
    lost=("志愿活动已被他人修改，请重新加载", "the activity was changed by someone else; reload"),
)
LOCAL = ZoneInfo("Asia/Shanghai")  # the street offices' time, for the notification's text
# The sign-ups still expecting the activity: told when it changes or is called off.
ACTIVE_SIGNUPS = (SignupState.SIGNED_UP, SignupState.CHECKED_IN, SignupState.CHECKED_OUT)


async def _managed(ctx: RequestContext, activity_id: uuid.UUID) -> Activity:
    act = await get_activity(ctx, activity_id)
    if act is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("志愿活动不存在", "activity not found"), "id")
    grant = ctx.actor.grant("activity", "manage")
    if not grant or await ctx.db.scalar(
            select(Area.id).where(Area.id == act.area_id, area_reach_predicate(grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权修改或取消该志愿活动",
                                                  "you may not change or cancel this activity"), "id")
    return act


async def _volunteers(ctx: RequestContext, act: Activity) -> list[uuid.UUID]:
    return list(await ctx.db.scalars(select(ActivitySignup.user_id).where(
        ActivitySignup.activity_id == act.id, ActivitySignup.state.in_(ACTIVE_SIGNUPS))))


@dataclass
class ActivityChange:
    title: str | None = None
    place: str | None = None
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None


async def update_activity(ctx: RequestContext, activity_id: uuid.UUID, d: ActivityChange) -> Activity:
    """Change what an activity says before it starts; the volunteers signed up are notified."""
    errors = FieldErrors()
    values: dict[str, Any] = {}
    for name, value, limit, required in (("title", d.title, 100, True), ("place", d.place, 200, True),
                                         ("description", d.description, 5000, False)):
        if value is not None:
            with errors.catch():
                values[name] = v.text(value, name, max_len=limit, required=required) or ""
    for name, when in (("startsAt", d.starts_at), ("endsAt", d.ends_at)):
        if when is not None and when.tzinfo is None:
            errors.add(ErrorCode.INVALID, t("时间需带时区", "give times with a timezone"), name)
    if d.capacity is not None and not 0 < d.capacity <= MAX_CAPACITY:
        errors.add(ErrorCode.INVALID, t(f"名额应在 1 到 {MAX_CAPACITY} 之间",
                                        f"capacity must be between 1 and {MAX_CAPACITY}"), "capacity")
    errors.raise_if_any()
    act = await _managed(ctx, activity_id)
    ACTIVITY.check(act, "edit")
    if act.starts_at <= ctx.now:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("活动已开始，不能再修改",
                                                           "the activity has started; it can no longer be changed"),
                           "id")
    starts, ends = d.starts_at or act.starts_at, d.ends_at or act.ends_at
    if ends <= starts:
        errors.add(ErrorCode.INVALID, t("endsAt 应晚于 startsAt", "endsAt must be after startsAt"), "endsAt")
    if d.starts_at is not None and d.starts_at <= ctx.now:
        errors.add(ErrorCode.INVALID, t("startsAt 应为将来的时间", "startsAt must be in the future"), "startsAt")
    if d.capacity is not None and d.capacity < act.signed_up:
        errors.add(ErrorCode.INVALID, t(f"已有 {act.signed_up} 人报名，名额不能少于此数",
                                        f"{act.signed_up} have signed up; capacity cannot be less"), "capacity")
    errors.raise_if_any()
    values |= {"starts_at": d.starts_at, "ends_at": d.ends_at, "capacity": d.capacity}
    changes = {k: val for k, val in values.items() if val is not None and getattr(act, k) != val}
    if not changes:
        return act
    await transition(ctx, ACTIVITY, act, "edit", values=changes)
    if {"starts_at", "ends_at", "place", "title"} & changes.keys():
        at = act.starts_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
        await notify_users(ctx, await _volunteers(ctx, act), "activity_changed",
                           t(f"您报名的志愿活动“{act.title}”有变更：{at}，{act.place}",
                             f"The activity \u201c{act.title}\u201d you signed up for changed: {at}, {act.place}"))
    return act


async def cancel_activity(ctx: RequestContext, activity_id: uuid.UUID, reason: str) -> Activity:
    """Call an activity off (取消活动) with a reason; everyone still signed up is notified."""
    why = v.text(reason, "reason", max_len=500)
    act = await _managed(ctx, activity_id)
    ACTIVITY.check(act, "cancel")
    if await ctx.db.scalar(select(ActivitySignup.id).where(ActivitySignup.activity_id == act.id,
                                                           ActivitySignup.state == SignupState.CONFIRMED)) is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION,
                           t("该活动已有确认的时长（已记积分），不能取消",
                             "hours of this activity were confirmed (points booked); it cannot be cancelled"), "id")
    await transition(ctx, ACTIVITY, act, "cancel",
                     values={"cancelled_at": ctx.now, "cancelled_by": ctx.actor.user_id, "cancel_reason": why})
    await notify_users(ctx, await _volunteers(ctx, act), "activity_cancelled",
                       t(f"您报名的志愿活动“{act.title}”已取消：{why}",
                         f"The activity \u201c{act.title}\u201d you signed up for was cancelled: {why}"))
    return act


async def retire_reward_item(ctx: RequestContext, item_id: uuid.UUID) -> RewardItem:
    """Take an item out of the catalogue (下架): no new redemption; earlier requests still resolve."""
    item = await get_reward_item(ctx, item_id)
    if item is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("物品不存在", "item not found"), "id")
    grant = ctx.actor.grant("points", "manage_catalogue")
    if not (grant.all or any(item.community_path.startswith(p) for p in grant.scope_paths)):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该社区的兑换目录",
                                                  "you may not keep this community's catalogue"), "id")
    if not item.active:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该物品已下架", "the item is already retired"), "id")
    item.active = False
    item.retired_at = ctx.now
    await ctx.db.flush(item)
    return item


__all__ = ["ACTIVITY", "ActivityChange", "cancel_activity", "retire_reward_item",
           "update_activity"]
