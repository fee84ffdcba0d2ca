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

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from models import (
    Activity,
    ActivitySignup,
    ActivityState,
    Area,
    AreaKind,
    EntryKind,
    OrganiserKind,
    PartyOrg,
    Person,
    PointsAccount,
    PointsEntry,
    PropertyFirm,
    Redemption,
    RedemptionState,
    RewardItem,
    SignupState,
    VolunteerSettings,
)
from policies.filters import area_reach_predicate, area_read_predicate
from policies.volunteering.filters import activity_signup_predicate, person_points_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

MAX_POINTS = 100_000
MAX_CAPACITY = 10_000


def _points_pred(ctx: RequestContext, action: str, col: Any = PointsEntry.person_id) -> ColumnElement[bool]:
    return person_points_predicate(col, ctx.actor.grant("points", action), ctx.actor)


def _reason(value: str | None, field: str = "reason", required: bool = True) -> str | None:
    if value is None:
        if required:
            raise ServiceError(ErrorCode.INVALID, f"{field} must not be empty", field)
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
        raise ServiceError(ErrorCode.CONFLICT, f"not enough points: the balance is {have}, {-delta} needed", "points")
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
        raise ServiceError(ErrorCode.CONFLICT, "this was already booked", "id") from None
    return entry


async def _person_for(ctx: RequestContext, person_id: uuid.UUID, action: str, what: str) -> None:
    """The person exists where the actor may read points (else NOT_FOUND) and the action reaches them."""
    if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, _points_pred(ctx, "read", Person.id))) \
            is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "person not found", "personId")
    if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, _points_pred(ctx, action, Person.id))) \
            is None:
        raise ServiceError(ErrorCode.FORBIDDEN, f"you may not {what} for this person", "personId")


async def award_points(ctx: RequestContext, person_id: uuid.UUID, points: int, reason: str) -> PointsEntry:
    errors = FieldErrors()
    if not 0 < points <= MAX_POINTS:
        errors.add(ErrorCode.INVALID, f"points must be between 1 and {MAX_POINTS}", "points")
    with errors.catch():
        text = _reason(reason)
    errors.raise_if_any()
    await _person_for(ctx, person_id, "award", "award points")
    return await book(ctx, person_id, points, EntryKind.MANUAL, reason=text)


async def reverse_entry(ctx: RequestContext, entry_id: uuid.UUID, reason: str) -> PointsEntry:
    text = _reason(reason)
    entry: PointsEntry | None = await ctx.db.scalar(
        select(PointsEntry).where(PointsEntry.id == entry_id, _points_pred(ctx, "read")))
    if entry is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "ledger entry not found", "entryId")
    if await ctx.db.scalar(select(PointsEntry.id).where(PointsEntry.id == entry_id, _points_pred(ctx, "award"))) \
            is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not reverse points for this person", "entryId")
    if entry.kind in (EntryKind.REVERSAL, EntryKind.REDEMPTION):
        raise ServiceError(ErrorCode.INVALID_TRANSITION, f"a {entry.kind.value} entry cannot be reversed", "entryId")
    if await ctx.db.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == entry_id)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, "this entry is already reversed", "entryId")
    return await book(ctx, entry.person_id, -entry.delta, EntryKind.REVERSAL, reason=text, reverses_id=entry.id)


async def balance_of(ctx: RequestContext, person_id: uuid.UUID) -> int | None:
    """The balance, or None when the actor may not read this person's points."""
    if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, _points_pred(ctx, "read", Person.id))) \
            is None:
        return None
    return int(await ctx.db.scalar(select(PointsAccount.balance).where(PointsAccount.person_id == person_id)) or 0)


async def list_entries(ctx: RequestContext, person_id: uuid.UUID | None, *, first: int | None,
                       after: str | None) -> Page[PointsEntry]:
    stmt = select(PointsEntry).where(_points_pred(ctx, "read"))
    if person_id is not None:
        stmt = stmt.where(PointsEntry.person_id == person_id)
    return await keyset_page(ctx.db, stmt, PointsEntry.id, first=first, after=after, descending=True)


async def get_entry(ctx: RequestContext, entry_id: uuid.UUID) -> PointsEntry | None:
    entry: PointsEntry | None = await ctx.db.scalar(
        select(PointsEntry).where(PointsEntry.id == entry_id, _points_pred(ctx, "read")))
    return entry


async def points_per_hour(ctx: RequestContext) -> int:
    return int(await ctx.db.scalar(select(VolunteerSettings.points_per_hour)) or 0)


async def set_points_rule(ctx: RequestContext, points_per_hour_: int) -> int:
    if not ctx.actor.grant("points", "manage_catalogue").all:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the street office sets the points rule", "pointsPerHour")
    if not 0 <= points_per_hour_ <= 1000:
        raise ServiceError(ErrorCode.INVALID, "pointsPerHour must be between 0 and 1000", "pointsPerHour")
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
        errors.add(ErrorCode.INVALID, f"points must be between 1 and {MAX_POINTS}", "points")
    if not 0 <= stock <= 1_000_000:
        errors.add(ErrorCode.INVALID, "stock must be between 0 and 1000000", "stock")
    errors.raise_if_any()
    community: Area | None = await ctx.db.scalar(
        select(Area).where(Area.id == community_id, Area.kind == AreaKind.COMMUNITY))
    if community is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "community not found", "communityId")
    grant = ctx.actor.grant("points", "manage_catalogue")
    if not (grant.all or any(community.path.startswith(p) for p in grant.scope_paths)):
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not keep this community's catalogue", "communityId")
    if await ctx.db.scalar(select(RewardItem.id).where(RewardItem.community_id == community_id,
                                                       RewardItem.name == label)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, "the catalogue already has an item of this name", "name")
    item = RewardItem(community_id=community.id, community_path=community.path, name=label, points=points,
                      stock=stock, active=True, created_at=ctx.now)
    await ctx.db.flush(item)
    return item


async def restock_reward_item(ctx: RequestContext, item_id: uuid.UUID, add: int) -> RewardItem:
    if not 0 < add <= 1_000_000:
        raise ServiceError(ErrorCode.INVALID, "add must be between 1 and 1000000", "add")
    item = await get_reward_item(ctx, item_id)
    if item is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "item not found", "id")
    grant = ctx.actor.grant("points", "manage_catalogue")
    if not (grant.all or any(item.community_path.startswith(p) for p in grant.scope_paths)):
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not keep this community's catalogue", "id")
    await ctx.db.execute(update(RewardItem).where(RewardItem.id == item.id)
                         .values(stock=RewardItem.stock + add).execution_options(synchronize_session=False))
    await _refresh(ctx, item)
    return item


def _redemption_pred(ctx: RequestContext, action: str = "read") -> ColumnElement[bool]:
    return person_points_predicate(Redemption.person_id, ctx.actor.grant("points", action), ctx.actor)


async def list_redemptions(ctx: RequestContext, states: list[RedemptionState] | None, *, first: int | None,
                           after: str | None) -> Page[Redemption]:
    stmt = select(Redemption).where(_redemption_pred(ctx))
    if states:
        stmt = stmt.where(Redemption.state.in_(states))
    return await keyset_page(ctx.db, stmt, Redemption.id, first=first, after=after, descending=True)


async def get_redemption(ctx: RequestContext, rid: uuid.UUID) -> Redemption | None:
    r: Redemption | None = await ctx.db.scalar(select(Redemption).where(Redemption.id == rid, _redemption_pred(ctx)))
    return r


def _own_person(ctx: RequestContext, field: str = "id") -> uuid.UUID:
    if ctx.actor.person_id is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "your account is not linked to a person on the register", field)
    return ctx.actor.person_id


async def request_redemption(ctx: RequestContext, item_id: uuid.UUID) -> Redemption:
    person_id = _own_person(ctx, "itemId")
    item = await get_reward_item(ctx, item_id)
    if item is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "item not found", "itemId")
    grant = ctx.actor.grant("points", "redeem")
    own_path = ctx.actor.own_compound_path
    if not grant.own or own_path is None or not own_path.startswith(item.community_path):
        raise ServiceError(ErrorCode.FORBIDDEN, "you may redeem only in the community you live in", "itemId")
    if item.stock < 1:
        raise ServiceError(ErrorCode.CONFLICT, "out of stock", "itemId")
    have = int(await ctx.db.scalar(select(PointsAccount.balance).where(PointsAccount.person_id == person_id)) or 0)
    if have < item.points:
        raise ServiceError(ErrorCode.CONFLICT, f"not enough points: the balance is {have}, {item.points} needed",
                           "itemId")
    r = Redemption(person_id=person_id, item_id=item.id, points=item.points, state=RedemptionState.REQUESTED,
                   requested_by=ctx.actor.user_id, created_at=ctx.now)
    await ctx.db.flush(r)
    return r


R = RedemptionState
REDEMPTION: StateMachine[RedemptionState] = StateMachine(
    noun="redemption", model=Redemption, versioned=False,
    moves={"approve": (frozenset({R.REQUESTED}), R.APPROVED), "reject": (frozenset({R.REQUESTED}), R.REJECTED),
           "cancel": (frozenset({R.REQUESTED}), R.CANCELLED)},
    refused="the redemption is already {state}", lost="the redemption was decided by someone else; reload",
)


async def decide_redemption(ctx: RequestContext, rid: uuid.UUID, *, approve: bool, note: str | None) -> Redemption:
    text = _reason(note, "note", required=not approve)
    r = await get_redemption(ctx, rid)
    if r is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "redemption not found", "id")
    if await ctx.db.scalar(select(Redemption.id).where(Redemption.id == rid,
                                                        _redemption_pred(ctx, "approve_redemption"))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not decide this redemption", "id")
    await transition(ctx, REDEMPTION, r, "approve" if approve else "reject",
                     values={"decided_by": ctx.actor.user_id, "decided_at": ctx.now, "note": text})
    if approve:
        taken = await ctx.db.execute(
            update(RewardItem).where(RewardItem.id == r.item_id, RewardItem.stock >= 1)
            .values(stock=RewardItem.stock - 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise ServiceError(ErrorCode.CONFLICT, "out of stock", "id")
        item_name = await ctx.db.scalar(select(RewardItem.name).where(RewardItem.id == r.item_id))
        await book(ctx, r.person_id, -r.points, EntryKind.REDEMPTION, reason=f"兑换 {item_name}",
                   redemption_id=r.id)
    await _refresh(ctx, r)
    return r


async def cancel_redemption(ctx: RequestContext, rid: uuid.UUID) -> Redemption:
    r = await get_redemption(ctx, rid)
    if r is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "redemption not found", "id")
    if r.requested_by != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the requester may cancel", "id")
    await transition(ctx, REDEMPTION, r, "cancel",
                     values={"decided_by": ctx.actor.user_id, "decided_at": ctx.now, "note": None})
    return r


# ---------------------------------------------------------------- activities


def activity_read_pred(ctx: RequestContext) -> ColumnElement[bool]:
    return Activity.area_id.in_(
        select(Area.id).where(area_read_predicate(ctx.actor.grant("activity", "read"), ctx.actor)))


async def list_activities(ctx: RequestContext, area_id: uuid.UUID | None, upcoming: bool | None,
                          *, first: int | None, after: str | None) -> Page[Activity]:
    stmt = select(Activity).where(activity_read_pred(ctx))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
        stmt = stmt.where(Activity.area_path.startswith(path))
    if upcoming is not None:
        stmt = stmt.where(Activity.starts_at > ctx.now if upcoming else Activity.starts_at <= ctx.now)
    return await keyset_page(ctx.db, stmt, Activity.id, first=first, after=after, descending=True)


async def get_activity(ctx: RequestContext, activity_id: uuid.UUID) -> Activity | None:
    act: Activity | None = await ctx.db.scalar(
        select(Activity).where(Activity.id == activity_id, activity_read_pred(ctx)))
    return act


@dataclass
class ActivityInput:
    title: str
    area_id: uuid.UUID
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    organiser_kind: OrganiserKind
    description: str = ""
    party_org_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    compound_id: uuid.UUID | None = None
    firm_id: uuid.UUID | None = None
    partner_name: str | None = None


async def _organiser(ctx: RequestContext, d: ActivityInput) -> tuple[dict[str, Any], str]:
    k = d.organiser_kind
    if k is OrganiserKind.PARTY_ORG:
        org = None if d.party_org_id is None else await ctx.db.scalar(select(PartyOrg).where(PartyOrg.id ==
                                                                                             d.party_org_id))
        if org is None:
            raise ServiceError(ErrorCode.INVALID, "give the organising party organisation", "partyOrgId")
        return {"organiser_party_org_id": org.id}, org.name
    if k in (OrganiserKind.COMMUNITY, OrganiserKind.OWNER_COMMITTEE):
        kind, ref, fld = ((AreaKind.COMMUNITY, d.community_id, "communityId") if k is OrganiserKind.COMMUNITY
                          else (AreaKind.COMPOUND, d.compound_id, "compoundId"))
        area = None if ref is None else await ctx.db.scalar(select(Area).where(Area.id == ref, Area.kind == kind))
        if area is None:
            raise ServiceError(ErrorCode.INVALID, f"give the organising {kind.value}", fld)
        return {"organiser_area_id": area.id}, area.name if k is OrganiserKind.COMMUNITY else f"{area.name}业委会"
    if k is OrganiserKind.PROPERTY_FIRM:
        firm = None if d.firm_id is None else await ctx.db.scalar(select(PropertyFirm).where(PropertyFirm.id ==
                                                                                             d.firm_id))
        if firm is None:
            raise ServiceError(ErrorCode.INVALID, "give the organising property firm", "firmId")
        return {"organiser_firm_id": firm.id}, firm.name
    if d.partner_name is None:
        raise ServiceError(ErrorCode.INVALID, "give the partner unit's name", "partnerName")
    return {}, v.text(d.partner_name, "partnerName", max_len=100)


async def publish_activity(ctx: RequestContext, d: ActivityInput) -> Activity:
    errors = FieldErrors()
    title = errors.check(v.text, d.title, "title", max_len=100)
    place = errors.check(v.text, d.place, "place", max_len=200)
    description = errors.check(v.text, d.description, "description", max_len=5000, required=False)
    if not 0 < d.capacity <= MAX_CAPACITY:
        errors.add(ErrorCode.INVALID, f"capacity must be between 1 and {MAX_CAPACITY}", "capacity")
    if d.starts_at.tzinfo is None or d.ends_at.tzinfo is None:
        errors.add(ErrorCode.INVALID, "give times with a timezone", "startsAt")
    elif d.ends_at <= d.starts_at:
        errors.add(ErrorCode.INVALID, "endsAt must be after startsAt", "endsAt")
    elif d.starts_at <= ctx.now:
        errors.add(ErrorCode.INVALID, "startsAt must be in the future", "startsAt")
    with errors.catch():
        refs, organiser_name = await _organiser(ctx, d)
    errors.raise_if_any()
    area: Area | None = await ctx.db.scalar(select(Area).where(Area.id == d.area_id))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId")
    grant = ctx.actor.grant("activity", "publish")
    if not grant or await ctx.db.scalar(
            select(Area.id).where(Area.id == area.id, area_reach_predicate(grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not publish activities in this area", "areaId")
    act = Activity(
        title=title, description=description or "", area_id=area.id, area_path=area.path, place=place,
        starts_at=d.starts_at, ends_at=d.ends_at, capacity=d.capacity, signed_up=0,
        organiser_kind=d.organiser_kind, organiser_name=organiser_name, state=ActivityState.PUBLISHED,
        published_by=ctx.actor.user_id, created_at=ctx.now, **refs,
    )
    await ctx.db.flush(act)
    return act


async def _organises(ctx: RequestContext, act: Activity) -> bool:
    """The actor's publish grant reaches the activity's area: they organise it (check-ins, hours)."""
    grant = ctx.actor.grant("activity", "publish")
    if not grant:
        return False
    return await ctx.db.scalar(
        select(Area.id).where(Area.id == act.area_id, area_reach_predicate(grant, ctx.actor))) is not None


async def sign_up(ctx: RequestContext, activity_id: uuid.UUID) -> ActivitySignup:
    person_id = _own_person(ctx, "activityId")
    act = await get_activity(ctx, activity_id)
    if act is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "activity not found", "activityId")
    pred = activity_signup_predicate(Activity.area_path, ctx.actor.grant("activity", "sign_up"), ctx.actor)
    if await ctx.db.scalar(select(Activity.id).where(Activity.id == act.id, pred)) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may sign up only for activities of your own compound",
                           "activityId")
    if act.state is not ActivityState.PUBLISHED or act.starts_at <= ctx.now:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, "the activity is no longer open for sign-up", "activityId")
    existing: ActivitySignup | None = await ctx.db.scalar(select(ActivitySignup).where(
        ActivitySignup.activity_id == act.id, ActivitySignup.person_id == person_id))
    if existing is not None and existing.state is not SignupState.CANCELLED:
        raise ServiceError(ErrorCode.CONFLICT, "you are already signed up", "activityId")
    taken = await ctx.db.execute(
        update(Activity)
        .where(Activity.id == act.id, Activity.signed_up < Activity.capacity, Activity.state == ActivityState.PUBLISHED)
        .values(signed_up=Activity.signed_up + 1).execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise ServiceError(ErrorCode.CONFLICT, "the activity is full", "activityId")
    if existing is not None:
        await transition(ctx, SIGNUP, existing, "sign_up_again", lost="you are already signed up",
                         field="activityId")
        return existing
    s = ActivitySignup(activity_id=act.id, person_id=person_id, user_id=ctx.actor.user_id,
                       state=SignupState.SIGNED_UP, version=1, updated_at=ctx.now, created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(s)
    except IntegrityError:
        if s in ctx.db.session:
            ctx.db.session.expunge(s)
        raise ServiceError(ErrorCode.CONFLICT, "you are already signed up", "activityId") from None
    return s


async def _signup_for(ctx: RequestContext, signup_id: uuid.UUID) -> tuple[ActivitySignup, Activity]:
    s: ActivitySignup | None = await ctx.db.scalar(select(ActivitySignup).where(ActivitySignup.id == signup_id))
    act = None if s is None else await get_activity(ctx, s.activity_id)
    if s is None or act is None or (s.user_id != ctx.actor.user_id and not await _organises(ctx, act)):
        raise ServiceError(ErrorCode.NOT_FOUND, "sign-up not found", "id")
    return s, act


async def get_signup(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup | None:
    """A sign-up seen by its volunteer or by the activity's organiser."""
    try:
        return (await _signup_for(ctx, signup_id))[0]
    except ServiceError:
        return None


G = SignupState
SIGNUP: StateMachine[SignupState] = StateMachine(
    noun="sign-up", model=ActivitySignup,
    moves={"sign_up_again": (frozenset({G.CANCELLED}), G.SIGNED_UP),
           "cancel": (frozenset({G.SIGNED_UP}), G.CANCELLED),
           "check_in": (frozenset({G.SIGNED_UP}), G.CHECKED_IN),
           "check_out": (frozenset({G.CHECKED_IN}), G.CHECKED_OUT),
           "confirm_hours": (frozenset({G.CHECKED_OUT}), G.CONFIRMED)},
    refused="the sign-up is {state}, not {sources}", lost="the sign-up was changed by someone else; reload",
)


async def _move_signup(ctx: RequestContext, s: ActivitySignup, action: str, values: dict[str, Any]) -> ActivitySignup:
    await transition(ctx, SIGNUP, s, action, values=values)
    return s


async def cancel_signup(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, act = await _signup_for(ctx, signup_id)
    if s.user_id != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "only the volunteer cancels their sign-up", "id")
    s = await _move_signup(ctx, s, "cancel", {})
    await ctx.db.execute(update(Activity).where(Activity.id == act.id, Activity.signed_up > 0)
                         .values(signed_up=Activity.signed_up - 1).execution_options(synchronize_session=False))
    return s


async def check_in(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, _ = await _signup_for(ctx, signup_id)
    return await _move_signup(ctx, s, "check_in", {"checked_in_at": ctx.now})


async def check_out(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, _ = await _signup_for(ctx, signup_id)
    return await _move_signup(ctx, s, "check_out", {"checked_out_at": ctx.now})


def _half_hours(start: datetime, end: datetime) -> Decimal:
    hours = Decimal((end - start).total_seconds()) / Decimal(3600)
    return (hours * 2).to_integral_value(rounding=ROUND_FLOOR) / 2


async def confirm_hours(ctx: RequestContext, signup_id: uuid.UUID, hours: float | None) -> ActivitySignup:
    """The organiser confirms the hours (default: check-in to check-out, in whole half hours) and the
    tenant's rule turns them into points, booked once per sign-up."""
    s, act = await _signup_for(ctx, signup_id)
    if not await _organises(ctx, act):
        raise ServiceError(ErrorCode.FORBIDDEN, "only the organiser confirms hours", "id")
    SIGNUP.check(s, "confirm_hours")
    if hours is None:
        assert s.checked_in_at is not None and s.checked_out_at is not None
        h = _half_hours(s.checked_in_at, s.checked_out_at)
    else:
        if not math.isfinite(hours) or not 0 <= hours <= 24:
            raise ServiceError(ErrorCode.INVALID, "hours must be between 0 and 24", "hours")
        h = Decimal(str(hours)).quantize(Decimal("0.01"))
    s = await _move_signup(ctx, s, "confirm_hours",
                           {"hours": h, "confirmed_at": ctx.now, "confirmed_by": ctx.actor.user_id})
    points = int((h * await points_per_hour(ctx)).to_integral_value(rounding=ROUND_FLOOR))
    if points > 0:
        await book(ctx, s.person_id, points, EntryKind.HOURS, reason=f"{act.title} {h} 小时", signup_id=s.id)
    return s


async def list_signups(ctx: RequestContext, activity_id: uuid.UUID | None, *, mine: bool, first: int | None,
                       after: str | None) -> Page[ActivitySignup]:
    """An activity's sign-ups (its organiser sees them all, a volunteer their own), or all of yours."""
    stmt = select(ActivitySignup)
    if activity_id is not None:
        act = await get_activity(ctx, activity_id)
        if act is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "activity not found", "activityId")
        stmt = stmt.where(ActivitySignup.activity_id == act.id)
        if mine or not await _organises(ctx, act):
            stmt = stmt.where(ActivitySignup.user_id == ctx.actor.user_id)
    else:
        stmt = stmt.where(ActivitySignup.user_id == ctx.actor.user_id)
    return await keyset_page(ctx.db, stmt, ActivitySignup.id, first=first, after=after)
