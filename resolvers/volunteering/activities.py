"""Volunteering activities (志愿活动): publishing one, signing up (capacity holds:
``UPDATE activities SET signed_up = signed_up + 1 WHERE signed_up < capacity``), check-in and -out,
and the organiser's confirmation of hours, booked as points on the ledger (service.py)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
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
    PropertyFirm,
    SignupState,
)
from policies.filters import area_reach_predicate, area_read_predicate
from policies.volunteering.filters import activity_signup_predicate
from resolvers import inserts, prepared
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.idempotency import checked_key, keyed_row, once
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition
from resolvers.volunteering.service import MAX_CAPACITY, _own_person, book, points_per_hour


def activity_read_pred(ctx: RequestContext) -> ColumnElement[bool]:
    return Activity.area_id.in_(
        select(Area.id).where(area_read_predicate(ctx.actor.grant("activity", "read"), ctx.actor)))


async def list_activities(ctx: RequestContext, area_id: uuid.UUID | None, upcoming: bool | None,
                          *, first: int | None, after: str | None, states: list[ActivityState] | None = None,
                          starts_from: datetime | None = None, starts_before: datetime | None = None,
                          ) -> Page[Activity]:
    stmt = select(Activity).where(activity_read_pred(ctx), *v.period_filter(Activity.starts_at, starts_from,
                                                                          starts_before))
    if states:
        stmt = stmt.where(Activity.state.in_(states))
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
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
            raise ServiceError(ErrorCode.INVALID, t("请指定组织活动的党组织",
                                                    "give the organising party organisation"), "partyOrgId")
        return {"organiser_party_org_id": org.id}, org.name
    if k in (OrganiserKind.COMMUNITY, OrganiserKind.OWNER_COMMITTEE):
        kind, ref, fld = ((AreaKind.COMMUNITY, d.community_id, "communityId") if k is OrganiserKind.COMMUNITY
                          else (AreaKind.COMPOUND, d.compound_id, "compoundId"))
        area = None if ref is None else await ctx.db.scalar(select(Area).where(Area.id == ref, Area.kind == kind))
        if area is None:
            raise ServiceError(ErrorCode.INVALID, t(f"请指定组织活动的 {kind.value}",
                                                    f"give the organising {kind.value}"), fld)
        return {"organiser_area_id": area.id}, area.name if k is OrganiserKind.COMMUNITY else f"{area.name}业委会"
    if k is OrganiserKind.PROPERTY_FIRM:
        firm = None if d.firm_id is None else await ctx.db.scalar(select(PropertyFirm).where(PropertyFirm.id ==
                                                                                             d.firm_id))
        if firm is None:
            raise ServiceError(ErrorCode.INVALID, t("请指定组织活动的物业公司",
                                                    "give the organising property firm"), "firmId")
        return {"organiser_firm_id": firm.id}, firm.name
    if d.partner_name is None:
        raise ServiceError(ErrorCode.INVALID, t("请写明共建单位名称", "give the partner unit's name"), "partnerName")
    return {}, v.text(d.partner_name, "partnerName", max_len=100)


async def publish_activity(ctx: RequestContext, d: ActivityInput) -> Activity:
    errors = FieldErrors()
    title = errors.check(v.text, d.title, "title", max_len=100)
    place = errors.check(v.text, d.place, "place", max_len=200)
    description = errors.check(v.text, d.description, "description", max_len=5000, required=False)
    if not 0 < d.capacity <= MAX_CAPACITY:
        errors.add(ErrorCode.INVALID, t(f"名额应在 1 到 {MAX_CAPACITY} 之间",
                                        f"capacity must be between 1 and {MAX_CAPACITY}"), "capacity")
    if d.starts_at.tzinfo is None or d.ends_at.tzinfo is None:
        errors.add(ErrorCode.INVALID, t("时间需带时区", "give times with a timezone"), "startsAt")
    elif d.ends_at <= d.starts_at:
        errors.add(ErrorCode.INVALID, t("endsAt 应晚于 startsAt", "endsAt must be after startsAt"), "endsAt")
    elif d.starts_at <= ctx.now:
        errors.add(ErrorCode.INVALID, t("startsAt 应为将来的时间", "startsAt must be in the future"), "startsAt")
    with errors.catch():
        refs, organiser_name = await _organiser(ctx, d)
    errors.raise_if_any()
    area: Area | None = await ctx.db.scalar(select(Area).where(Area.id == d.area_id))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    grant = ctx.actor.grant("activity", "publish")
    if not grant or await ctx.db.scalar(
            select(Area.id).where(Area.id == area.id, area_reach_predicate(grant, ctx.actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权在该区域发布志愿活动",
                                                  "you may not publish activities in this area"), "areaId")
    act = Activity(
        title=title, description=description or "", area_id=area.id, area_path=area.path, place=place,
        starts_at=d.starts_at, ends_at=d.ends_at, capacity=d.capacity, signed_up=0,
        organiser_kind=d.organiser_kind, organiser_name=organiser_name, state=ActivityState.PUBLISHED,
        published_by=ctx.actor.user_id, created_at=ctx.now, **refs,
    )
    await ctx.db.flush(act)
    return act


def organised_areas(ctx: RequestContext) -> Select[Any] | None:
    """The areas the actor's publish grant reaches: they organise the activities there (check-ins, hours,
    everyone's sign-ups); None without the grant. compiled/signups.py reads sign-ups by the same statement."""
    grant = ctx.actor.grant("activity", "publish")
    if not grant:
        return None
    return select(Area.id).where(area_reach_predicate(grant, ctx.actor))


async def _organises(ctx: RequestContext, act: Activity) -> bool:
    """The actor's publish grant reaches the activity's area: they organise it (check-ins, hours)."""
    areas = organised_areas(ctx)
    return areas is not None and await ctx.db.scalar(areas.where(Area.id == act.area_id)) is not None


async def sign_up(ctx: RequestContext, activity_id: uuid.UUID, idempotency_key: str | None = None) -> ActivitySignup:
    """The actor's own person takes a place. With an idempotency key, a retry answers with the
    sign-up as it is now and the key with another activity is IDEMPOTENCY_KEY_REUSED; a sign-up
    again after a cancellation takes the new request's key."""
    key = checked_key(idempotency_key)

    async def earlier() -> ActivitySignup | None:
        assert key is not None
        row: ActivitySignup | None = await keyed_row(ctx, ActivitySignup, ActivitySignup.user_id, key,
                                                     lambda s: s.activity_id == activity_id, prepared_first=True)
        return row

    return await once(ctx, key, earlier, lambda: _sign_up(ctx, activity_id, key))


def sign_up_checks(ctx: RequestContext, p: prepared.Bind) -> Any:
    """One statement (issue #21; it was three): the activity (``p(0)``) as the read grant sees it, whether the
    sign-up grant reaches it, whether it is open, and the person's (``p(1)``) earlier sign-up of it (its id, and
    whether it was cancelled); shared with signUpForActivity on the driver (resolvers.volunteering.signup_fast)."""
    pred = activity_signup_predicate(Activity.area_path, ctx.actor.grant("activity", "sign_up"), ctx.actor)
    return (select(Activity.id, pred.label("reachable"), (Activity.state == ActivityState.PUBLISHED).label("open"),
                   Activity.starts_at, ActivitySignup.id,
                   (ActivitySignup.state == SignupState.CANCELLED).label("cancelled"))
            .join(ActivitySignup, (ActivitySignup.activity_id == Activity.id)
                  & (ActivitySignup.person_id == p(1, "uuid")), isouter=True)
            .where(Activity.id == p(0, "uuid"), activity_read_pred(ctx)))


async def _sign_up(ctx: RequestContext, activity_id: uuid.UUID, key: str | None) -> ActivitySignup:
    person_id = _own_person(ctx, "activityId")
    found = await prepared.first(ctx, ("sign_up",), lambda p: sign_up_checks(ctx, p), activity_id, person_id)
    if found is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("志愿活动不存在", "activity not found"), "activityId")
    _, reachable, is_open, starts_at, existing_id, cancelled = found
    if not reachable:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只能报名本小区的志愿活动",
                                                  "you may sign up only for activities of your own compound"),
                           "activityId")
    if not is_open or starts_at <= ctx.now:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该活动已停止报名",
                                                           "the activity is no longer open for sign-up"), "activityId")
    if existing_id is not None and not cancelled:
        raise ServiceError(ErrorCode.CONFLICT, t("您已报名", "you are already signed up"), "activityId")
    existing: ActivitySignup | None = None
    if existing_id is not None:  # cancelled before: signed up again below, through the state machine
        existing = await ctx.db.scalar(select(ActivitySignup).where(ActivitySignup.id == prepared.uid(existing_id)))
        assert existing is not None
    taken = await prepared.fetch(ctx, ("sign_up_place",), lambda p: (
        update(Activity)
        .where(Activity.id == p(0, "uuid"), Activity.signed_up < Activity.capacity,
               Activity.state == ActivityState.PUBLISHED)
        .values(signed_up=Activity.signed_up + 1).returning(Activity.id)
        .execution_options(synchronize_session=False)), activity_id)
    if len(taken) != 1:
        raise ServiceError(ErrorCode.CONFLICT, t("该活动名额已满", "the activity is full"), "activityId")
    if existing is not None:
        await transition(ctx, SIGNUP, existing, "sign_up_again", lost=("您已报名", "you are already signed up"),
                         field="activityId", values={"idempotency_key": key})
        return existing
    s = ActivitySignup(activity_id=activity_id, person_id=person_id, user_id=ctx.actor.user_id,
                       state=SignupState.SIGNED_UP, version=1, updated_at=ctx.now, created_at=ctx.now,
                       idempotency_key=key)
    try:
        if inserts.direct(ctx, s):
            # issue #21: no SAVEPOINT of its own on the driver — the refusal below rolls the mutation's
            # (or idempotency.once's) SAVEPOINT back, which undoes the failed INSERT and the place taken
            await inserts.insert(ctx, s)
        else:
            async with ctx.db.savepoint():
                await inserts.insert(ctx, s)
    except IntegrityError:
        if s in ctx.db.session:
            ctx.db.session.expunge(s)
        raise ServiceError(ErrorCode.CONFLICT, t("您已报名", "you are already signed up"), "activityId") from None
    return s


def signup_and_activity(ctx: RequestContext) -> Select[Any]:
    """The sign-up (``$1``) and its activity as the read grant sees it (NULLs: not readable), in one statement:
    ``_signup_for``'s prepared text, shared with checkInActivity on the driver (resolvers.volunteering.checkin_fast)."""
    return select(*prepared.columns(ActivitySignup), *prepared.columns(Activity)).join(
        Activity, (Activity.id == ActivitySignup.activity_id) & activity_read_pred(ctx), isouter=True).where(
        ActivitySignup.id == prepared.param(0, "uuid"))


async def _signup_for(ctx: RequestContext, signup_id: uuid.UUID) -> tuple[ActivitySignup, Activity]:
    # The sign-up and its activity as the read grant sees it (None: not readable), one statement (issue #21)
    # on PostgreSQL a text per actor shape, the two rows loaded as objects (issue #21)
    n = len(prepared.columns(ActivitySignup))
    read = await prepared.rows(ctx, ("signup_for",), lambda: signup_and_activity(ctx), signup_id)
    found: list[Any]
    if read is None:
        found = list(await ctx.db.all(select(ActivitySignup, Activity).join(
            Activity, (Activity.id == ActivitySignup.activity_id) & activity_read_pred(ctx), isouter=True)
            .where(ActivitySignup.id == signup_id)))
    else:
        found = [(prepared.load(ctx, ActivitySignup, r[:n]), prepared.load(ctx, Activity, r[n:])) for r in read]
    s, act = found[0] if found else (None, None)
    if s is None or act is None or (s.user_id != ctx.actor.user_id and not await _organises(ctx, act)):
        raise ServiceError(ErrorCode.NOT_FOUND, t("报名记录不存在", "sign-up not found"), "id")
    return s, act


async def get_signup(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup | None:
    """A sign-up seen by its volunteer or by the activity's organiser."""
    try:
        return (await _signup_for(ctx, signup_id))[0]
    except ServiceError:
        return None


G = SignupState
SIGNUP: StateMachine[SignupState] = StateMachine(
    noun="sign-up", noun_zh="报名", model=ActivitySignup,
    moves={"sign_up_again": (frozenset({G.CANCELLED}), G.SIGNED_UP),
           "cancel": (frozenset({G.SIGNED_UP}), G.CANCELLED),
           "check_in": (frozenset({G.SIGNED_UP}), G.CHECKED_IN),
           "check_out": (frozenset({G.CHECKED_IN}), G.CHECKED_OUT),
           "confirm_hours": (frozenset({G.CHECKED_OUT}), G.CONFIRMED)},
    refused=("报名当前为 {state}，不是 {sources}", "the sign-up is {state}, not {sources}"),
    lost=("报名已被他人修改，请重新加载", "the sign-up was changed by someone else; reload"),
)


async def _move_signup(ctx: RequestContext, s: ActivitySignup, action: str, values: dict[str, Any]) -> ActivitySignup:
    await transition(ctx, SIGNUP, s, action, values=values)
    return s


async def cancel_signup(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, act = await _signup_for(ctx, signup_id)
    if s.user_id != ctx.actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有志愿者本人可以取消报名",
                                                  "only the volunteer cancels their sign-up"), "id")
    s = await _move_signup(ctx, s, "cancel", {})
    await ctx.db.execute(update(Activity).where(Activity.id == act.id, Activity.signed_up > 0)
                         .values(signed_up=Activity.signed_up - 1).execution_options(synchronize_session=False))
    return s


def refuse_if_cancelled(act: Activity) -> None:
    """Check-in, check-out and hours (points) need an activity that was not cancelled (issue #23)."""
    if act.state is ActivityState.CANCELLED:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该志愿活动已取消", "the activity was cancelled"), "id")


async def check_in(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, act = await _signup_for(ctx, signup_id)
    refuse_if_cancelled(act)
    return await _move_signup(ctx, s, "check_in", {"checked_in_at": ctx.now})


async def check_out(ctx: RequestContext, signup_id: uuid.UUID) -> ActivitySignup:
    s, act = await _signup_for(ctx, signup_id)
    refuse_if_cancelled(act)
    return await _move_signup(ctx, s, "check_out", {"checked_out_at": ctx.now})


def _half_hours(start: datetime, end: datetime) -> Decimal:
    hours = Decimal((end - start).total_seconds()) / Decimal(3600)
    return (hours * 2).to_integral_value(rounding=ROUND_FLOOR) / 2


async def confirm_hours(ctx: RequestContext, signup_id: uuid.UUID, hours: float | None) -> ActivitySignup:
    """The organiser confirms the hours (default: check-in to check-out, in whole half hours) and the
    tenant's rule turns them into points, booked once per sign-up."""
    s, act = await _signup_for(ctx, signup_id)
    if not await _organises(ctx, act):
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有组织方可以确认时长", "only the organiser confirms hours"), "id")
    refuse_if_cancelled(act)
    SIGNUP.check(s, "confirm_hours")
    if hours is None:
        assert s.checked_in_at is not None and s.checked_out_at is not None
        h = _half_hours(s.checked_in_at, s.checked_out_at)
    else:
        if not math.isfinite(hours) or not 0 <= hours <= 24:
            raise ServiceError(ErrorCode.INVALID, t("时长应在 0 到 24 小时之间",
                                                    "hours must be between 0 and 24"), "hours")
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
            raise ServiceError(ErrorCode.NOT_FOUND, t("志愿活动不存在", "activity not found"), "activityId")
        stmt = stmt.where(ActivitySignup.activity_id == act.id)
        if mine or not await _organises(ctx, act):
            stmt = stmt.where(ActivitySignup.user_id == ctx.actor.user_id)
    else:
        stmt = stmt.where(ActivitySignup.user_id == ctx.actor.user_id)
    return await keyset_page(ctx.db, stmt, ActivitySignup.id, first=first, after=after)
