"""Needs and micro-wishes (需求清单/微心愿): who may see them and the beneficiary's identity, posting,
and the claim → fulfil → confirm (or cancel) steps. Wish transitions are
``UPDATE … WHERE version = :seen AND state = :from``: of two claims at once exactly one wins, the
other gets CONFLICT."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from models import (
    Area,
    AreaKind,
    Household,
    PartyOrg,
    Person,
    Wish,
    WishState,
    uuid7,
)
from policies.actor import Grant
from policies.care import wish_predicate
from policies.filters import building_predicate, buildings_in_scope, household_predicate, person_predicate
from policies.roles import Condition
from resolvers import inserts, prepared
from resolvers import validation as v
from resolvers.care.common import area_path
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

_ORG_AREA = aliased(Area, name="party_org_area")
_HOME = aliased(Area, name="home_building")
_COMMUNITY = aliased(Area, name="party_community")


def party_community_sql(person_id: uuid.UUID) -> Select[str]:
    """The path of the community the person serves in as a party member (see :func:`party_community`):
    one row or none. The compiled reads use it as a subquery, so both paths apply the one rule."""
    where = func.coalesce(_ORG_AREA.path, _HOME.path)
    return (
        select(_COMMUNITY.path)
        .select_from(Person)
        .outerjoin(PartyOrg, and_(PartyOrg.tenant_id == Person.tenant_id, PartyOrg.id == Person.party_org_id))
        .outerjoin(_ORG_AREA, and_(_ORG_AREA.tenant_id == PartyOrg.tenant_id, _ORG_AREA.id == PartyOrg.area_id))
        .outerjoin(Household, and_(Household.tenant_id == Person.tenant_id, Household.id == Person.household_id))
        .outerjoin(_HOME, and_(_HOME.tenant_id == Household.tenant_id, _HOME.id == Household.building_id))
        .join(_COMMUNITY, and_(_COMMUNITY.tenant_id == Person.tenant_id, _COMMUNITY.kind == AreaKind.COMMUNITY,
                               where.startswith(_COMMUNITY.path)))
        .where(Person.id == person_id, Person.party_member.is_(True)).limit(1))


async def party_community(ctx: RequestContext) -> str | None:
    """The path of the community a party member serves in (DESIGN.md §8: they claim wishes there): the
    community of their party organisation's area, or — without an organisation on the register — of
    the building they live in. None when the actor's register entry is not a party member. One
    statement, remembered for the request."""
    if ctx.actor.person_id is None:
        return None
    key = "PartyCommunity"  # kept beside the request's loaders: one statement per request
    if key in ctx.loaders:
        return cast(str | None, ctx.loaders[key][0])
    path: str | None = await ctx.db.scalar(party_community_sql(ctx.actor.person_id))
    ctx.loaders[key] = (path,)
    return path


async def is_party_member(ctx: RequestContext) -> bool:
    """A party member with a community to serve in (see :func:`party_community`)."""
    return await party_community(ctx) is not None


async def wish_read_predicate(ctx: RequestContext) -> Any:
    grant = ctx.actor.grant("wish", "read")
    community = await party_community(ctx) if grant.has(Condition.PARTY_MEMBER) else None
    return wish_predicate(grant, ctx.actor, party_community=community)


def wish_read_sql(ctx: RequestContext) -> Any:
    """wish_read_predicate with the party community a subquery (party_community_sql), not a statement
    of its own: what the compiled reads filter by."""
    grant = ctx.actor.grant("wish", "read")
    community = (party_community_sql(ctx.actor.person_id).scalar_subquery()
                 if grant.has(Condition.PARTY_MEMBER) and ctx.actor.person_id is not None else None)
    return wish_predicate(grant, ctx.actor, party_community=community)


def identity_predicate(ctx: RequestContext) -> Any:
    """Wishes whose beneficiary the actor may know: reached by scope/all/own, or claimed by them."""
    return or_(wish_predicate(ctx.actor.grant("wish", "read"), ctx.actor, party_community=None),
               Wish.claimant_user_id == ctx.actor.user_id)


async def list_wishes(ctx: RequestContext, *, states: list[WishState] | None, area_id: uuid.UUID | None,
                      claimed_by_me: bool | None, first: int | None, after: str | None) -> Page[Wish]:
    stmt = select(Wish).where(await wish_read_predicate(ctx))
    if states:
        stmt = stmt.where(Wish.state.in_(states))
    if area_id is not None:
        stmt = stmt.where(Wish.building_id.in_(buildings_in_scope((await area_path(ctx, area_id),))))
    if claimed_by_me:
        stmt = stmt.where(Wish.claimant_user_id == ctx.actor.user_id)
    return await keyset_page(ctx.db, stmt, Wish.id, first=first, after=after, descending=True)


async def get_wish(ctx: RequestContext, wish_id: uuid.UUID) -> Wish | None:
    wish: Wish | None = await ctx.db.scalar(select(Wish).where(Wish.id == wish_id, await wish_read_predicate(ctx)))
    return wish


def post_wish_checks(ctx: RequestContext, p: prepared.Bind) -> Any:
    """One statement (issue #21; it was three): the person (``$1``) as the read grant sees them, whether the post
    grant reaches their household, the household's building. NOT_FOUND before FORBIDDEN as before. Shared with
    postWish on the driver (resolvers.care.wish_post_fast)."""
    actor = ctx.actor  # read here: the text is built for a stand-in of the actor (resolvers/stand_in.py)
    grant = actor.grant("wish", "post")
    reach = household_predicate(grant, actor) if grant else None
    return (select(Person.household_id, Household.building_id,
                   (false() if reach is None else reach).label("reachable"))
            .join(Household, Household.id == Person.household_id, isouter=True)
            .where(Person.id == p(0, "uuid"), person_predicate(actor.grant("person", "read"), actor)))


async def post_wish(ctx: RequestContext, *, person_id: uuid.UUID, title: str, description: str) -> Wish:
    actor = ctx.actor
    errors = FieldErrors()
    title_ = d = None
    with errors.catch():
        title_ = v.text(title, "title", max_len=100)
    with errors.catch():
        d = v.text(description, "description", max_len=2000, required=False)
    errors.raise_if_any()
    found = await prepared.first(ctx, ("post_wish",), lambda p: post_wish_checks(ctx, p), person_id)
    household_id = None if found is None else prepared.uid(found[0])
    if household_id is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    if not found[2]:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权为该居民发布微心愿",
                                                  "you may not post wishes for this person"), "personId")
    building_id = prepared.uid(found[1])
    wish = Wish(id=uuid7(), beneficiary_person_id=person_id, household_id=household_id,
                building_id=building_id, title=title_, description=d or "", poster_user_id=actor.user_id,
                state=WishState.OPEN, version=1, updated_at=ctx.now, created_at=ctx.now)
    await inserts.insert(ctx, wish)
    return wish


W = WishState
WISH: StateMachine[WishState] = StateMachine(
    noun="wish", noun_zh="微心愿", model=Wish,
    moves={"claim": (frozenset({W.OPEN}), W.CLAIMED), "fulfil": (frozenset({W.CLAIMED}), W.FULFILLED),
           "confirm": (frozenset({W.FULFILLED}), W.CONFIRMED),
           "release": (frozenset({W.CLAIMED}), W.OPEN),
           "cancel": (frozenset({W.OPEN, W.CLAIMED}), W.CANCELLED)},
    lost=("微心愿已被他人处理（当前为 {now}），请重新加载后再试",
          "the wish was changed by someone else (now {now}); reload and retry"),
)


def _staff(ctx: RequestContext, action: str) -> Any:
    a = ctx.actor  # read here: a prepared text is built for a stand-in of the actor (resolvers/stand_in.py)
    g = a.grant("wish", action)
    return (building_predicate(Wish.building_id, Grant(all=g.all, scope_paths=g.scope_paths), a)
            if g.all or g.scope_paths else false())


def wish_in_reach(ctx: RequestContext, action: str) -> Select[Any]:
    """The wish (``$1``) as the read grant sees it, and whether the grant's staff reach (all, scope) covers its
    building (``staff``, last), in one statement (issue #21; it was two): ``_load_wish``'s prepared text, shared
    with claimWish on the driver (resolvers.care.wishes_fast)."""
    return select(*prepared.columns(Wish), _staff(ctx, action).label("staff")).where(
        Wish.id == prepared.param(0, "uuid"), wish_read_sql(ctx))


async def _load_wish(ctx: RequestContext, wish_id: uuid.UUID, action: str) -> Wish:
    actor = ctx.actor
    grant = actor.grant("wish", action)

    def staff() -> Any:
        return _staff(ctx, action)

    # on PostgreSQL a text per (action, actor shape), the party community a subquery (wish_read_sql, issue #21)
    read = await prepared.rows(ctx, ("load_wish", action), lambda: wish_in_reach(ctx, action), wish_id)
    found: list[Any]
    if read is None:
        found = list(await ctx.db.all(select(Wish, staff().label("staff")).where(
            Wish.id == wish_id, await wish_read_predicate(ctx)))) or [(None, False)]
    else:
        found = [(prepared.load(ctx, Wish, read[0][:-1]), read[0][-1])] if read else [(None, False)]
    wish: Wish | None = found[0][0]
    in_staff_reach = found[0][1]
    # asked only where it tells (issue #21: a grid leader's claim in reach sent it for nothing)
    community = (await party_community(ctx) if wish is None and action == "claim"
                 and grant.has(Condition.PARTY_MEMBER) else None)
    if community is not None:
        # A party member saw it open; it left their view because someone else claimed it.
        in_community = select(Area.id).where(Area.path.startswith(community))
        if await ctx.db.scalar(select(Wish.id).where(Wish.id == wish_id, Wish.state != WishState.OPEN,
                                                     Wish.building_id.in_(in_community))) is not None:
            raise ServiceError(ErrorCode.CONFLICT, t("该微心愿已被他人认领",
                                                     "the wish has been claimed by someone else"), "id")
    if wish is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("微心愿不存在", "wish not found"), "id")
    allowed = bool(in_staff_reach)
    if not allowed and action in ("claim", "fulfil") and grant.has(Condition.PARTY_MEMBER):
        # A party member claims any open wish, and fulfils only what they claimed.
        allowed = await is_party_member(ctx) and (action == "claim" or wish.claimant_user_id == actor.user_id)
    if not allowed and action == "confirm" and grant.has(Condition.OWN):
        allowed = wish.poster_user_id == actor.user_id or (
            actor.person_id is not None and wish.beneficiary_person_id == actor.person_id)
    if not allowed and action == "cancel":
        allowed = wish.poster_user_id == actor.user_id
    if not allowed and action == "release" and grant.has(Condition.PARTY_MEMBER):
        allowed = wish.claimant_user_id == actor.user_id  # the claimant gives their own claim back
    if allowed:
        _no_self_dealing(ctx, wish, action)
    if not allowed:
        raise ServiceError(ErrorCode.FORBIDDEN, t(f"您无权对该微心愿执行 {action}",
                                                  f"you may not {action} this wish"), "id")
    WISH.check(wish, action)
    return wish


def _no_self_dealing(ctx: RequestContext, wish: Wish, action: str) -> None:
    """DESIGN.md §8: nobody claims or fulfils a wish they posted or that is theirs as beneficiary,
    and nobody confirms a wish they claimed themselves — whatever role they hold (issue #23)."""
    actor = ctx.actor
    own = wish.poster_user_id == actor.user_id or (
        actor.person_id is not None and wish.beneficiary_person_id == actor.person_id)
    if action in ("claim", "fulfil") and own:
        raise ServiceError(ErrorCode.FORBIDDEN, "不能认领或完成自己发布的、或自己是受益人的心愿", "id")
    if action == "confirm" and wish.claimant_user_id == actor.user_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "不能确认自己认领的心愿", "id")


async def _apply_wish(ctx: RequestContext, wish: Wish, action: str, values: dict[str, Any],
                      expected_version: int | None) -> Wish:
    await transition(ctx, WISH, wish, action, expected_version=expected_version, values=values)
    return wish


async def claim_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "claim")
    return await _apply_wish(ctx, wish, "claim",
                             {"claimant_user_id": ctx.actor.user_id, "claimed_at": ctx.now}, expected_version)


async def fulfil_wish(ctx: RequestContext, wish_id: uuid.UUID, *, note: str | None,
                      expected_version: int | None) -> Wish:
    text = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    wish = await _load_wish(ctx, wish_id, "fulfil")
    return await _apply_wish(ctx, wish, "fulfil", {"fulfilled_at": ctx.now, "fulfil_note": text},
                             expected_version)


async def confirm_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "confirm")
    return await _apply_wish(ctx, wish, "confirm",
                             {"confirmed_at": ctx.now, "confirmed_by": ctx.actor.user_id}, expected_version)


async def release_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    """A claim given back (释放认领, issue #23): the claimant changed their mind, or staff in scope free
    a wish its claimant left unattended; the wish is open again for someone else."""
    wish = await _load_wish(ctx, wish_id, "release")
    return await _apply_wish(ctx, wish, "release", {"claimant_user_id": None, "claimed_at": None}, expected_version)


async def cancel_wish(ctx: RequestContext, wish_id: uuid.UUID, *, expected_version: int | None) -> Wish:
    wish = await _load_wish(ctx, wish_id, "cancel")
    return await _apply_wish(ctx, wish, "cancel", {}, expected_version)
