"""Volunteering and points (志愿活动与积分): the ledger, the catalogue, redemptions, activities.

Invariants, and how they hold under concurrency:
- the ledger is append-only (rows are inserted, never updated or deleted);
- a person's ``points_accounts.balance`` is the sum of their entries and never negative: each entry is
  booked by ``UPDATE points_accounts SET balance = balance + :delta WHERE person_id = :p AND balance +
  :delta >= 0`` in the same transaction as its insert — the row lock serialises concurrent bookings of a
  person and the condition refuses an overdraft;
- a reward item's stock is decremented once per approved redemption, by ``UPDATE … WHERE stock >= 1``
  after the redemption moved ``requested → approved`` with ``UPDATE … WHERE state = 'requested'``;
- an activity's places: ``UPDATE activities SET signed_up = signed_up + 1 WHERE signed_up < capacity``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.exc import IntegrityError

from models import (
    Area,
    AreaKind,
    EntryKind,
    Person,
    PointsAccount,
    PointsEntry,
    Redemption,
    RedemptionState,
    RewardItem,
    VolunteerSettings,
)
from policies.filters import area_read_predicate
from policies.volunteering.filters import person_points_predicate
from resolvers import inserts, prepared
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.idempotency import checked_key, keyed_row, once
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

MAX_POINTS = 100_000
MAX_CAPACITY = 10_000


def points_pred(ctx: RequestContext, action: str, col: Any = PointsEntry.person_id) -> ColumnElement[bool]:
    """The ledger entries (or, with ``col``, the persons) ``action`` reaches under the actor's points grant:
    the services' rule, and the compiled ledger's (compiled/volunteering.py)."""
    return person_points_predicate(col, ctx.actor.grant("points", action), ctx.actor)


def _reason(value: str | None, field: str = "reason", required: bool = True) -> str | None:
    if value is None:
        if required:
            raise ServiceError(ErrorCode.INVALID, t(f"{field} 不能为空", f"{field} must not be empty"), field)
        return None
    return v.text(value, field, max_len=500, required=required) or None


async def _refresh(ctx: RequestContext, obj: object) -> None:
    async with ctx.db.lock:
        await ctx.db.session.refresh(obj)


# ---------------------------------------------------------------- ledger


async def _ensure_account(ctx: RequestContext, person_id: uuid.UUID) -> None:
    found = await ctx.db.scalar(select(PointsAccount.id).where(PointsAccount.person_id == person_id))
    if found is not None:
        return
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(PointsAccount(person_id=person_id, balance=0, updated_at=ctx.now, created_at=ctx.now))
    except IntegrityError:
        pass  # opened concurrently by another booking: use that one


async def book(
    ctx: RequestContext, person_id: uuid.UUID, delta: int, kind: EntryKind, *, reason: str | None,
    signup_id: uuid.UUID | None = None, redemption_id: uuid.UUID | None = None,
    reverses_id: uuid.UUID | None = None,
) -> PointsEntry:
    """Append one ledger entry and move the balance with it, or refuse (CONFLICT) an overdraft."""
    await _ensure_account(ctx, person_id)
    result = await ctx.db.execute(
        update(PointsAccount)
        .where(PointsAccount.person_id == person_id, PointsAccount.balance + delta >= 0)
        .values(balance=PointsAccount.balance + delta, updated_at=ctx.now)
        .returning(PointsAccount.balance)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        have = await ctx.db.scalar(select(PointsAccount.balance).where(PointsAccount.person_id == person_id))
        raise ServiceError(ErrorCode.CONFLICT, t(f"积分不足：余额 {have}，需要 {-delta}",
                                                 f"not enough points: the balance is {have}, {-delta} needed"),
                           "points")
    entry = PointsEntry(
        person_id=person_id, delta=delta, kind=kind, reason=reason, signup_id=signup_id,
        redemption_id=redemption_id, reverses_id=reverses_id, actor_user_id=ctx.actor.user_id,
        balance_after=int(row[0]), created_at=ctx.now,
    )
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(entry)
    except IntegrityError:
        if entry in ctx.db.session:
            ctx.db.session.expunge(entry)
        raise ServiceError(ErrorCode.CONFLICT, t("该笔已记过", "this was already booked"), "id") from None
    return entry


async def _person_for(ctx: RequestContext, person_id: uuid.UUID, action: str, what: str) -> None:
    """The person exists where the actor may read points (else NOT_FOUND) and the action reaches them."""
    if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, points_pred(ctx, "read", Person.id))) \
            is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, points_pred(ctx, action, Person.id))) \
            is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t(f"您无权为该居民执行 {what}",
                                                  f"you may not {what} for this person"), "personId")


async def award_points(ctx: RequestContext, person_id: uuid.UUID, points: int, reason: str) -> PointsEntry:
    errors = FieldErrors()
    if not 0 < points <= MAX_POINTS:
        errors.add(ErrorCode.INVALID, t(f"积分应在 1 到 {MAX_POINTS} 之间",
                                        f"points must be between 1 and {MAX_POINTS}"), "points")
    with errors.catch():
        text = _reason(reason)
    errors.raise_if_any()
    await _person_for(ctx, person_id, "award", "award points")
    return await book(ctx, person_id, points, EntryKind.MANUAL, reason=text)


async def reverse_entry(ctx: RequestContext, entry_id: uuid.UUID, reason: str) -> PointsEntry:
    text = _reason(reason)
    entry: PointsEntry | None = await ctx.db.scalar(
        select(PointsEntry).where(PointsEntry.id == entry_id, points_pred(ctx, "read")))
    if entry is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("积分记录不存在", "ledger entry not found"), "entryId")
    if await ctx.db.scalar(select(PointsEntry.id).where(PointsEntry.id == entry_id, points_pred(ctx, "award"))) \
            is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权冲销该居民的积分",
                                                  "you may not reverse points for this person"), "entryId")
    if entry.kind in (EntryKind.REVERSAL, EntryKind.REDEMPTION):
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t(f"{entry.kind.value} 类积分记录不能冲销",
                                                           f"a {entry.kind.value} entry cannot be reversed"), "entryId")
    if await ctx.db.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == entry_id)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该记录已冲销", "this entry is already reversed"), "entryId")
    return await book(ctx, entry.person_id, -entry.delta, EntryKind.REVERSAL, reason=text, reverses_id=entry.id)


def balance_statements(ctx: RequestContext, person_id: uuid.UUID | ColumnElement[uuid.UUID]
                       ) -> tuple[Select[Any], Select[Any]]:
    """The person's id where the actor may read the person's points, and the person's balance (no row: 0):
    ``balance_of``'s two statements, and the compiled balances' (compiled/points.py)."""
    return (select(Person.id).where(Person.id == person_id, points_pred(ctx, "read", Person.id)),
            select(PointsAccount.balance).where(PointsAccount.person_id == person_id))


async def balance_of(ctx: RequestContext, person_id: uuid.UUID) -> int | None:
    """The balance, or None when the actor may not read this person's points."""
    readable, balance = balance_statements(ctx, person_id)
    if await ctx.db.scalar(readable) is None:
        return None
    return int(await ctx.db.scalar(balance) or 0)


async def list_entries(ctx: RequestContext, person_id: uuid.UUID | None, *, first: int | None,
                       after: str | None, booked_from: datetime | None = None,
                       booked_before: datetime | None = None) -> Page[PointsEntry]:
    """Ledger entries newest first; optionally of one person and booked in [booked_from, booked_before)."""
    stmt = select(PointsEntry).where(points_pred(ctx, "read"), *v.period_filter(
        PointsEntry.created_at, booked_from, booked_before, ("bookedFrom", "bookedBefore")))
    if person_id is not None:
        stmt = stmt.where(PointsEntry.person_id == person_id)
    return await keyset_page(ctx.db, stmt, PointsEntry.id, first=first, after=after, descending=True)


async def get_entry(ctx: RequestContext, entry_id: uuid.UUID) -> PointsEntry | None:
    entry: PointsEntry | None = await ctx.db.scalar(
        select(PointsEntry).where(PointsEntry.id == entry_id, points_pred(ctx, "read")))
    return entry


async def points_per_hour(ctx: RequestContext) -> int:
    return int(await ctx.db.scalar(select(VolunteerSettings.points_per_hour)) or 0)


async def set_points_rule(ctx: RequestContext, points_per_hour_: int) -> int:
    if not ctx.actor.grant("points", "manage_catalogue").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道可以设置积分规则",
                                                  "only the street office sets the points rule"), "pointsPerHour")
    if not 0 <= points_per_hour_ <= 1000:
        raise ServiceError(ErrorCode.INVALID, t("pointsPerHour 应在 0 到 1000 之间",
                                                "pointsPerHour must be between 0 and 1000"), "pointsPerHour")
    row: VolunteerSettings | None = await ctx.db.scalar(select(VolunteerSettings))
    if row is None:
        await ctx.db.flush(VolunteerSettings(points_per_hour=points_per_hour_, created_at=ctx.now))
    else:
        row.points_per_hour = points_per_hour_
        await ctx.db.flush(row)
    return points_per_hour_


# ---------------------------------------------------------------- catalogue and redemption


def item_read_pred(ctx: RequestContext) -> ColumnElement[bool]:
    """A catalogue is shown to whoever may read its community (residents: the one they live in)."""
    return RewardItem.community_id.in_(
        select(Area.id).where(area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))


async def list_reward_items(ctx: RequestContext, community_id: uuid.UUID | None,
                            *, first: int | None, after: str | None) -> Page[RewardItem]:
    stmt = select(RewardItem).where(item_read_pred(ctx), RewardItem.active.is_(True))
    if community_id is not None:
        stmt = stmt.where(RewardItem.community_id == community_id)
    return await keyset_page(ctx.db, stmt, RewardItem.id, first=first, after=after)


async def get_reward_item(ctx: RequestContext, item_id: uuid.UUID) -> RewardItem | None:
    item: RewardItem | None = await ctx.db.scalar(
        select(RewardItem).where(RewardItem.id == item_id, item_read_pred(ctx)))
    return item


async def create_reward_item(ctx: RequestContext, community_id: uuid.UUID, name: str, points: int,
                             stock: int) -> RewardItem:
    errors = FieldErrors()
    with errors.catch():
        label = v.text(name, "name", max_len=100)
    if not 0 < points <= MAX_POINTS:
        errors.add(ErrorCode.INVALID, t(f"积分应在 1 到 {MAX_POINTS} 之间",
                                        f"points must be between 1 and {MAX_POINTS}"), "points")
    if not 0 <= stock <= 1_000_000:
        errors.add(ErrorCode.INVALID, t("库存应在 0 到 1000000 之间", "stock must be between 0 and 1000000"), "stock")
    errors.raise_if_any()
    community: Area | None = await ctx.db.scalar(
        select(Area).where(Area.id == community_id, Area.kind == AreaKind.COMMUNITY))
    if community is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("社区不存在", "community not found"), "communityId")
    grant = ctx.actor.grant("points", "manage_catalogue")
    if not (grant.all or any(community.path.startswith(p) for p in grant.scope_paths)):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该社区的兑换目录",
                                                  "you may not keep this community's catalogue"), "communityId")
    if await ctx.db.scalar(select(RewardItem.id).where(RewardItem.community_id == community_id,
                                                       RewardItem.name == label)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("兑换目录中已有同名物品",
                                                 "the catalogue already has an item of this name"), "name")
    item = RewardItem(community_id=community.id, community_path=community.path, name=label, points=points,
                      stock=stock, active=True, created_at=ctx.now)
    await ctx.db.flush(item)
    return item


async def restock_reward_item(ctx: RequestContext, item_id: uuid.UUID, add: int) -> RewardItem:
    if not 0 < add <= 1_000_000:
        raise ServiceError(ErrorCode.INVALID, t("补充数量应在 1 到 1000000 之间",
                                                "add must be between 1 and 1000000"), "add")
    item = await get_reward_item(ctx, item_id)
    if item is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("物品不存在", "item not found"), "id")
    grant = ctx.actor.grant("points", "manage_catalogue")
    if not (grant.all or any(item.community_path.startswith(p) for p in grant.scope_paths)):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该社区的兑换目录",
                                                  "you may not keep this community's catalogue"), "id")
    await ctx.db.execute(update(RewardItem).where(RewardItem.id == item.id)
                         .values(stock=RewardItem.stock + add).execution_options(synchronize_session=False))
    await _refresh(ctx, item)
    return item


def redemption_pred(ctx: RequestContext, action: str = "read") -> ColumnElement[bool]:
    """The redemptions ``action`` reaches (their person under the actor's points grant): the list's and
    get's rule, and the compiled list's (compiled/volunteering.py)."""
    return person_points_predicate(Redemption.person_id, ctx.actor.grant("points", action), ctx.actor)


async def list_redemptions(ctx: RequestContext, states: list[RedemptionState] | None, *, first: int | None,
                           after: str | None, requested_from: datetime | None = None,
                           requested_before: datetime | None = None) -> Page[Redemption]:
    """Redemption requests newest first; optionally in these states and requested in [requested_from,
    requested_before)."""
    stmt = select(Redemption).where(redemption_pred(ctx), *v.period_filter(
        Redemption.created_at, requested_from, requested_before, ("requestedFrom", "requestedBefore")))
    if states:
        stmt = stmt.where(Redemption.state.in_(states))
    return await keyset_page(ctx.db, stmt, Redemption.id, first=first, after=after, descending=True)


async def get_redemption(ctx: RequestContext, rid: uuid.UUID) -> Redemption | None:
    r: Redemption | None = await ctx.db.scalar(select(Redemption).where(Redemption.id == rid, redemption_pred(ctx)))
    return r


def _own_person(ctx: RequestContext, field: str = "id") -> uuid.UUID:
    if ctx.actor.person_id is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您的账号没有关联登记册上的居民",
                                                  "your account is not linked to a person on the register"), field)
    return ctx.actor.person_id


async def request_redemption(ctx: RequestContext, item_id: uuid.UUID, idempotency_key: str | None = None
                             ) -> Redemption:
    """A request to exchange points for an item (decided later). With an idempotency key, a retry
    answers with the request as it is now; the key with another item is IDEMPOTENCY_KEY_REUSED."""
    key = checked_key(idempotency_key)

    async def earlier() -> Redemption | None:
        assert key is not None
        row: Redemption | None = await keyed_row(ctx, Redemption, Redemption.requested_by, key,
                                                 lambda r: r.item_id == item_id, prepared_first=True)
        return row

    return await once(ctx, key, earlier, lambda: _request_redemption(ctx, item_id, key))


def redemption_checks(ctx: RequestContext, p: prepared.Bind) -> Any:
    """One statement (issue #21; it was two): the item (``p(0)``) as the read grant sees it, with the person's
    (``p(1)``) balance (the account, one per person, outer-joined); shared with requestRedemption on the driver
    (resolvers.volunteering.redemption_fast)."""
    return (select(RewardItem.community_path, RewardItem.active, RewardItem.stock, RewardItem.points,
                   PointsAccount.balance)
            .join(PointsAccount, PointsAccount.person_id == p(1, "uuid"), isouter=True)
            .where(RewardItem.id == p(0, "uuid"), item_read_pred(ctx)))


async def _request_redemption(ctx: RequestContext, item_id: uuid.UUID, key: str | None) -> Redemption:
    person_id = _own_person(ctx, "itemId")
    found = await prepared.first(ctx, ("request_redemption",), lambda p: redemption_checks(ctx, p), item_id,
                                 person_id)
    if found is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("物品不存在", "item not found"), "itemId")
    community_path, active, stock, points, balance = found
    grant = ctx.actor.grant("points", "redeem")
    own_path = ctx.actor.own_compound_path
    if not grant.own or own_path is None or not own_path.startswith(community_path):
        raise ServiceError(ErrorCode.FORBIDDEN, t("只能在您居住的社区兑换",
                                                  "you may redeem only in the community you live in"), "itemId")
    if not active:  # retired (下架, issue #23): no new request; earlier ones still resolve
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该物品已下架", "the item was retired"), "itemId")
    if stock < 1:
        raise ServiceError(ErrorCode.CONFLICT, t("库存不足", "out of stock"), "itemId")
    have = int(balance or 0)
    if have < points:
        raise ServiceError(ErrorCode.CONFLICT, t(f"积分不足：余额 {have}，需要 {points}",
                                                 f"not enough points: the balance is {have}, {points} needed"),
                           "itemId")
    r = Redemption(person_id=person_id, item_id=item_id, points=points, state=RedemptionState.REQUESTED,
                   requested_by=ctx.actor.user_id, created_at=ctx.now, idempotency_key=key)
    await inserts.insert(ctx, r)
    return r


R = RedemptionState
REDEMPTION: StateMachine[RedemptionState] = StateMachine(
    noun="redemption", noun_zh="兑换申请", model=Redemption, versioned=False,
    moves={"approve": (frozenset({R.REQUESTED}), R.APPROVED), "reject": (frozenset({R.REQUESTED}), R.REJECTED),
           "cancel": (frozenset({R.REQUESTED}), R.CANCELLED)},
    refused=("兑换申请已是 {state}", "the redemption is already {state}"),
    lost=("兑换申请已由他人处理，请重新加载", "the redemption was decided by someone else; reload"),
)


async def decide_redemption(ctx: RequestContext, rid: uuid.UUID, *, approve: bool, note: str | None) -> Redemption:
    text = _reason(note, "note", required=not approve)
    r = await get_redemption(ctx, rid)
    if r is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("兑换申请不存在", "redemption not found"), "id")
    if await ctx.db.scalar(select(Redemption.id).where(Redemption.id == rid,
                                                        redemption_pred(ctx, "approve_redemption"))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权处理该兑换申请", "you may not decide this redemption"), "id")
    await transition(ctx, REDEMPTION, r, "approve" if approve else "reject",
                     values={"decided_by": ctx.actor.user_id, "decided_at": ctx.now, "note": text})
    if approve:
        taken = await ctx.db.execute(
            update(RewardItem).where(RewardItem.id == r.item_id, RewardItem.stock >= 1)
            .values(stock=RewardItem.stock - 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise ServiceError(ErrorCode.CONFLICT, t("库存不足", "out of stock"), "id")
        item_name = await ctx.db.scalar(select(RewardItem.name).where(RewardItem.id == r.item_id))
        await book(ctx, r.person_id, -r.points, EntryKind.REDEMPTION, reason=f"兑换 {item_name}",
                   redemption_id=r.id)
    await _refresh(ctx, r)
    return r


async def cancel_redemption(ctx: RequestContext, rid: uuid.UUID) -> Redemption:
    r = await get_redemption(ctx, rid)
    if r is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("兑换申请不存在", "redemption not found"), "id")
    if r.requested_by != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有申请人可以取消", "only the requester may cancel"), "id")
    await transition(ctx, REDEMPTION, r, "cancel",
                     values={"decided_by": ctx.actor.user_id, "decided_at": ctx.now, "note": None})
    return r
