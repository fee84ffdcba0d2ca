"""Owners' votes (业主表决, Civil Code art. 278): opening one on a topic with its electorate frozen,
ballots, closing with the tally, and the per-request ballot loaders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, any_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from strawberry.dataloader import DataLoader

from models import (
    Area,
    AreaKind,
    BallotMethod,
    Choice,
    Household,
    PropertyOwner,
    Topic,
    TopicState,
    Vote,
    VoteElector,
    VoteMatter,
    VoteState,
    uuid7,
)
from policies.roles import Condition
from resolvers import prepared
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.idempotency import checked_key, keyed_row, once
from resolvers.loaders import _loader
from resolvers.transitions import StateMachine, transition

from .checks import fail
from .tally import Tally, tally
from .topics import owned_dwellings, topic_for_action, topic_read_predicate

VOTE: StateMachine[VoteState] = StateMachine(
    noun="vote", noun_zh="表决", model=Vote,
    moves={"close": (frozenset({VoteState.OPEN}), VoteState.CLOSED)}, versioned=False,
    refused=("表决已结束", "the vote is already closed"), lost=("表决已结束", "the vote is already closed"),
    lost_code=ErrorCode.INVALID_TRANSITION)


async def get_vote(ctx: RequestContext, vote_id: uuid.UUID) -> Vote | None:
    readable = select(Topic.id).where(topic_read_predicate(ctx))
    vote: Vote | None = await ctx.db.scalar(select(Vote).where(Vote.id == vote_id, Vote.topic_id.in_(readable)))
    return vote


async def _compound_of(ctx: RequestContext, area: Area) -> Area | None:
    ids = [uuid.UUID(hex=seg) for seg in area.path.strip("/").split("/") if seg]
    compound: Area | None = await ctx.db.scalar(
        select(Area).where(Area.id.in_(ids), Area.kind == AreaKind.COMPOUND))
    return compound


async def open_vote(ctx: RequestContext, topic_id: uuid.UUID, *, matter: VoteMatter, question: str,
                    closes_at: datetime) -> Vote:
    """Put a topic to the owners (业主表决); the electorate is frozen now: the dwellings of the topic's
    compound — or of its building, for a building's topic — that have a registered property owner
    (产权人, DESIGN.md §8), with their floor area."""
    errors = FieldErrors()
    with errors.catch():
        clean = v.text(question, "question", max_len=500)
    if closes_at.tzinfo is None or closes_at <= ctx.now:
        errors.add(ErrorCode.INVALID, t("closesAt 应为将来的时间",
                                        "closesAt must be a moment in the future"), "closesAt")
    errors.raise_if_any()
    topic = await topic_for_action(ctx, topic_id, "decide", "put to a vote")
    if topic.state not in (TopicState.ACCEPTED, TopicState.DELIBERATED):
        raise fail(ErrorCode.INVALID_TRANSITION, t(f"议题当前为 {topic.state.value}，不能付诸表决",
                                                   f"cannot put a topic that is {topic.state.value} to a vote"), "id")
    area = await ctx.db.scalar(select(Area).where(Area.id == topic.area_id))
    compound = None if area is None else await _compound_of(ctx, area)
    building = area if area is not None and area.kind == AreaKind.BUILDING else None
    if compound is None or area is None or (area.path != compound.path and building is None):
        raise fail(ErrorCode.INVALID, t("业主表决只针对一个小区或一栋楼的议题",
                                        "an owners' vote is held on a topic of one compound or one building"), "id")
    in_scope = (select(Area.id).where(Area.id == building.id) if building is not None else
                select(Area.id).where(Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING))
    owned = select(PropertyOwner.household_id).where(PropertyOwner.ended_at.is_(None))
    electors = (await ctx.db.all(select(Household.id, Household.floor_area).where(
        Household.building_id.in_(in_scope), Household.id.in_(owned)).order_by(Household.id)))
    if not electors:
        raise fail(ErrorCode.INVALID, t("表决范围内没有登记产权人的房屋",
                                        "no dwelling in the vote's scope has a registered property owner"), "id")
    missing = sum(1 for _, a in electors if a is None or a <= 0)
    if missing:
        raise fail(ErrorCode.INVALID, t(f"有 {missing} 户产权人在登记册上没有建筑面积，" "请在表决前补登",
                                        f"{missing} owner household(s) have no floor area on the register; "
                     "record it before the vote"), "id")
    if await ctx.db.scalar(select(Vote.id).where(Vote.topic_id == topic_id)) is not None:
        raise fail(ErrorCode.CONFLICT, t("该议题已有表决", "this topic already has a vote"), "id")
    vote = Vote(id=uuid7(), topic_id=topic_id, compound_id=compound.id, compound_path=compound.path,
                building_id=None if building is None else building.id, matter=matter,
                question=clean, state=VoteState.OPEN, opened_by_user_id=ctx.actor.user_id, closes_at=closes_at,
                created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(vote)
    except IntegrityError:
        raise fail(ErrorCode.CONFLICT, t("该议题已有表决", "this topic already has a vote"), "id") from None
    await ctx.db.flush(*(VoteElector(vote_id=vote.id, household_id=h, floor_area=a, created_at=ctx.now)
                         for h, a in electors))
    return vote


async def cast_ballot(ctx: RequestContext, vote_id: uuid.UUID, choice: Choice,
                      idempotency_key: str | None = None, household_id: uuid.UUID | None = None) -> Vote | None:
    """The ballot of the dwelling the actor owns (产权人; co-owners share it; ``household_id`` names the
    dwelling when the actor owns several in the vote's scope); casting again replaces it until the
    vote closes — unless staff recorded a proxy or paper ballot for it, which is final. With an
    idempotency key, a retry answers with the ballot (even once the vote has closed) and the key
    with another vote or choice is IDEMPOTENCY_KEY_REUSED; the ballot keeps the key of the cast that
    set its choice, so a later cast (with its own key, or none) ends the old key's life. Returns the
    vote as the actor reads it (the payload's): the one the cast read (issue #21: not read twice)."""
    key = checked_key(idempotency_key)

    async def earlier() -> uuid.UUID | None:
        assert key is not None
        row: VoteElector | None = await keyed_row(ctx, VoteElector, VoteElector.cast_by_user_id, key,
                                                  lambda e: e.vote_id == vote_id and e.choice == choice,
                                                  prepared_first=True)
        return None if row is None else row.id

    cast: list[Vote] = []  # the vote the cast read, once the cast succeeded (a retry's answer reads it anew)
    await once(ctx, key, earlier, lambda: _cast(ctx, vote_id, choice, key, household_id, cast))
    return cast[0] if cast else await get_vote(ctx, vote_id)


async def _cast(ctx: RequestContext, vote_id: uuid.UUID, choice: Choice, key: str | None,
                household_id: uuid.UUID | None, cast: list[Vote]) -> uuid.UUID:
    # get_vote's statement as a text per actor shape (issue #21: its read predicate was built per request)
    vote: Vote | None = await prepared.one(ctx, ("cast_ballot_vote",), Vote, lambda p: [
        Vote.id == p(0, "uuid"), Vote.topic_id.in_(select(Topic.id).where(topic_read_predicate(ctx)))], vote_id)
    if vote is None:
        raise fail(ErrorCode.NOT_FOUND, t("表决不存在", "vote not found"), "voteId")
    grant = ctx.actor.grant("vote", "cast")
    person = ctx.actor.person_id
    mine: list[Any] = []
    # "own household" for a vote is the dwelling the actor owns, wherever they live (DESIGN.md §8); each
    # elector's id and whether staff recorded its ballot (final), in one text per actor (resolvers.prepared)
    if grant.has(Condition.OWN) and person is not None:
        def build(p: prepared.Bind) -> Any:
            me = ctx.actor.person_id  # read here: the text is built for a stand-in of the actor (resolvers/stand_in.py)
            assert me is not None
            q = select(VoteElector.id, VoteElector.method.in_([BallotMethod.PROXY, BallotMethod.PAPER]).label(
                "final")).where(VoteElector.vote_id == p(0, "uuid"),
                                VoteElector.household_id.in_(owned_dwellings(me)))
            if household_id is not None:
                q = q.where(VoteElector.household_id == p(1, "uuid"))
            return q.order_by(VoteElector.household_id)

        mine = await prepared.fetch(ctx, ("cast_ballot", household_id is not None), build, vote_id, household_id)
    if not mine:
        raise fail(ErrorCode.FORBIDDEN, t("只有表决范围内房屋的登记产权人可以投票，且只为本人名下的房屋投票",
                                          "only a registered owner of a dwelling in the vote's scope votes, "
                                          "for that dwelling"), "householdId" if household_id else "voteId")
    if len(mine) > 1:
        raise fail(ErrorCode.INVALID, t("您名下有多套房屋在表决范围内，请用 householdId 指明为哪一户投票",
                                        "you own several dwellings in the vote's scope: name one with householdId"),
                   "householdId")
    elector_id, final = prepared.uid(mine[0][0]), mine[0][1]
    assert elector_id is not None
    if final:
        raise fail(ErrorCode.CONFLICT, t("该户已由工作人员登记委托或纸质表决票，每户只计一票",
                                         "staff recorded a proxy or paper ballot for this dwelling: it counts once"),
                   "voteId")
    # FOR SHARE: a close (UPDATE of the vote row) waits for ballots in flight, and a ballot arriving
    # after a close sees the vote closed. SQLite serialises writers, which gives the same order.
    state = await prepared.first(ctx, ("cast_ballot_open",), lambda p: select(
        (Vote.state == VoteState.OPEN).label("open")).where(Vote.id == p(0, "uuid")).with_for_update(read=True),
        vote_id)
    if state is None or not state[0] or ctx.now >= vote.closes_at:
        raise fail(ErrorCode.INVALID_TRANSITION, t("表决已结束", "the vote is closed"), "voteId")
    await prepared.fetch(ctx, ("cast_ballot_update",), ballot_update, elector_id, choice.value, ctx.actor.user_id,
                         ctx.now, key)
    # an elector loaded earlier in the request (none in a castBallot alone) reads the row anew
    elector = ctx.db.session.identity_map.get(identity_key(VoteElector, (ctx.tenant.id, elector_id)))
    if elector is not None:
        for k, val in (("choice", choice), ("cast_by_user_id", ctx.actor.user_id), ("cast_at", ctx.now),
                       ("idempotency_key", key), ("method", BallotMethod.ONLINE)):
            set_committed_value(elector, k, val)
    _forget_ballots(ctx)
    cast.append(vote)
    return elector_id


def ballot_update(p: prepared.Bind) -> Any:
    """The ballot's UPDATE (elector id, choice, user, time, key): an online ballot only — one staff recorded
    (proxy, paper) stays. Shared with the driver's cast (ballot_fast): one key, one rendered text."""
    return (update(VoteElector).where(VoteElector.id == p(0, "uuid"))
            .where(VoteElector.method.is_(None) | (VoteElector.method == BallotMethod.ONLINE))
            .values(choice=p(1, "text"), cast_by_user_id=p(2, "uuid"), cast_at=p(3, "timestamptz"),
                    idempotency_key=p(4, "text"), method=BallotMethod.ONLINE)
            .returning(VoteElector.id).execution_options(synchronize_session=False))


async def close_vote(ctx: RequestContext, vote_id: uuid.UUID) -> Vote:
    """End the vote (at or before its deadline) and record the tally; the figures are frozen with it."""
    vote = await get_vote(ctx, vote_id)
    if vote is None:
        raise fail(ErrorCode.NOT_FOUND, t("表决不存在", "vote not found"), "id")
    await topic_for_action(ctx, vote.topic_id, "decide", "close the vote on")
    await transition(ctx, VOTE, vote, "close", values={"closed_at": ctx.now})
    # Tallied once closed: the close waits for ballots in flight (cast_ballot's FOR SHARE).
    tally = await current_tally(ctx, vote)
    await ctx.db.execute(update(Vote).where(Vote.id == vote_id).values(result=tally.to_json(), passed=tally.passed)
                         .execution_options(synchronize_session=False))
    for k, val in (("result", tally.to_json()), ("passed", tally.passed)):
        set_committed_value(vote, k, val)
    return vote


async def current_tally(ctx: RequestContext, vote: Vote) -> Tally:
    rows = await ctx.db.all(select(VoteElector.floor_area, VoteElector.choice).where(VoteElector.vote_id == vote.id))
    return tally(vote.matter, [(a, c) for a, c in rows])


def vote_result(vote: Vote) -> Tally | None:
    return None if vote.result is None else Tally.from_json(vote.result)


def my_ballot_by_vote(ctx: RequestContext) -> DataLoader[uuid.UUID, VoteElector | None]:
    """The ballot of the dwelling the actor owns, per vote (None outside the electorate; the first
    dwelling's when the actor owns several in its scope): one query per page of votes."""
    async def load(ids: list[uuid.UUID]) -> list[VoteElector | None]:
        if ctx.actor.person_id is None:
            return [None] * len(ids)
        rows: dict[uuid.UUID, VoteElector] = {}
        for r in await ctx.db.scalars(select(VoteElector).where(
                VoteElector.vote_id.in_(ids), VoteElector.household_id.in_(owned_dwellings(ctx.actor.person_id)))
                .order_by(VoteElector.household_id)):
            rows.setdefault(r.vote_id, r)
        return [rows.get(i) for i in ids]

    return _loader(ctx, "MyBallotByVoteLoader", load)


def ballots_cast_by_vote(ctx: RequestContext) -> DataLoader[uuid.UUID, tuple[int, int]]:
    """(households that cast a ballot, households in the electorate) per vote — counts only, no choices."""
    def build(ids: ColumnElement[bool]) -> Any:
        return (select(VoteElector.vote_id, func.count(VoteElector.choice), func.count())
                .where(ids).group_by(VoteElector.vote_id))

    async def load(ids: list[uuid.UUID]) -> list[tuple[int, int]]:
        # a text per actor shape with the ids as a parameter (issue #21: castBallot's payload), else the ORM
        rows = await prepared.rows(ctx, ("ballots_cast",), lambda: build(
            VoteElector.vote_id == any_(prepared.param_uuids(0))), [str(i) for i in ids])  # the key on a generic plan
        if rows is None:
            rows = list(await ctx.db.all(build(VoteElector.vote_id.in_(ids))))
        counts = {prepared.uid(vid): (int(cast), int(total)) for vid, cast, total in rows}
        return [counts.get(i, (0, 0)) for i in ids]

    return _loader(ctx, "BallotsCastByVoteLoader", load)


def _forget_ballots(ctx: RequestContext) -> None:
    """A ballot was cast: later fields of this request must not see the counts loaded before it."""
    for name in ("MyBallotByVoteLoader", "BallotsCastByVoteLoader"):
        ctx.loaders.pop(name, None)
