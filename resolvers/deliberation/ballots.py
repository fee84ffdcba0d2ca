"""Ballots staff record (委托投票 and 纸质表决票) and the close of votes at ``closesAt`` by the system.

DESIGN.md §8: an owner may give a written proxy; staff record proxy and paper ballots with the
document's reference; every ballot is audited (the mutation's audit entry) and counted once — the
dwelling's one ``vote_electors`` row holds it, a recorded ballot is final (the owner's online cast
after it is CONFLICT), and a dwelling that already voted cannot get a recorded ballot (CONFLICT).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from models import Area, BallotMethod, Choice, Vote, VoteElector, VoteState
from policies.filters import area_reach_predicate
from resolvers import validation as v
from resolvers.context import Db, RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.transitions import system_move

from .checks import fail
from .tally import tally
from .votes import VOTE, _forget_ballots, get_vote


async def record_ballot(ctx: RequestContext, vote_id: uuid.UUID, household_id: uuid.UUID, choice: Choice, *,
                        method: BallotMethod, document_ref: str, proxy_name: str | None = None) -> VoteElector:
    """A proxy (``proxy_name`` required) or paper ballot for one dwelling of the electorate, recorded
    by staff who may ``vote · record`` in the vote's compound."""
    assert method in (BallotMethod.PROXY, BallotMethod.PAPER)
    errors = FieldErrors()
    ref = name = None
    with errors.catch():
        ref = v.text(document_ref, "documentRef", max_len=100)
    if method is BallotMethod.PROXY:
        with errors.catch():
            name = v.text(proxy_name or "", "proxyName", max_len=50)
    errors.raise_if_any()
    vote = await get_vote(ctx, vote_id)
    if vote is None:
        raise fail(ErrorCode.NOT_FOUND, t("表决不存在", "vote not found"), "voteId")
    grant = ctx.actor.grant("vote", "record")
    if not grant or await ctx.db.scalar(select(Area.id).where(
            Area.id == vote.compound_id, area_reach_predicate(grant, ctx.actor))) is None:
        raise fail(ErrorCode.FORBIDDEN, t("您无权为该表决登记表决票", "you may not record ballots for this vote"),
                   "voteId")
    elector: VoteElector | None = await ctx.db.scalar(select(VoteElector).where(
        VoteElector.vote_id == vote_id, VoteElector.household_id == household_id))
    if elector is None:
        raise fail(ErrorCode.NOT_FOUND, t("该房屋不在本次表决的产权人名单中",
                                          "the dwelling is not in this vote's electorate"), "householdId")
    state = await ctx.db.scalar(select(Vote.state).where(Vote.id == vote_id).with_for_update(read=True))
    if state is not VoteState.OPEN or ctx.now >= vote.closes_at:
        raise fail(ErrorCode.INVALID_TRANSITION, t("表决已结束", "the vote is closed"), "voteId")
    values: dict[str, Any] = {"choice": choice, "cast_by_user_id": ctx.actor.user_id, "cast_at": ctx.now,
                              "method": method, "document_ref": ref, "proxy_name": name, "idempotency_key": None}
    done = await ctx.db.execute(
        update(VoteElector).where(VoteElector.id == elector.id, VoteElector.choice.is_(None)).values(**values)
        .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 1) != 1:
        raise fail(ErrorCode.CONFLICT, t("该户已投票，每户只计一票", "this dwelling has already voted: it counts once"),
                   "householdId")
    for k, val in values.items():
        set_committed_value(elector, k, val)
    _forget_ballots(ctx)
    return elector


async def close_due_votes(db: Db, *, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Close every open vote whose ``closes_at`` has passed, with its tally recorded (the same figures
    ``closeVote`` records); a conditional update, so a chair's close at the same moment wins or loses
    cleanly. Runs in a session bound to one tenant (the periodic job and ``gongzhi run-jobs``)."""
    due = list(await db.scalars(select(Vote).where(Vote.state == VoteState.OPEN, Vote.closes_at <= now)
                                .order_by(Vote.closes_at, Vote.id).limit(limit)))
    closed: list[dict[str, Any]] = []
    for vote in due:
        if await system_move(db, VOTE, vote, "close", now=now, audit_action="system.closeDueVote",
                             values={"closed_at": now}, area_path=vote.compound_path) is None:
            continue
        rows = await db.all(select(VoteElector.floor_area, VoteElector.choice).where(VoteElector.vote_id == vote.id))
        result = tally(vote.matter, [(a, c) for a, c in rows])
        await db.execute(update(Vote).where(Vote.id == vote.id).values(result=result.to_json(), passed=result.passed)
                         .execution_options(synchronize_session=False))
        closed.append({"topic": "vote", "tenant_id": str(vote.tenant_id), "vote_id": str(vote.id),
                       "area_path": vote.compound_path, "action": "auto_close", "passed": result.passed})
    return closed
