"""castBallot (业主表决的投票) as an owner casts their own dwelling's ballot, on the request's driver transaction
(issue #21; resolvers.fast_moves, gongzhi.http.fast_ballot).

The general path (``votes.cast_ballot``) asks, in turn: the key's earlier ballot (``keyed_row``'s text), the vote
as the actor reads it, the actor's electors in it (DESIGN.md §8: the dwellings they own on the title, one ballot
each, final once staff recorded a proxy or paper ballot), the vote's state under ``FOR SHARE`` (a close waits for
ballots in flight), the ballot's UPDATE, and — for the payload's ``ballotsCast`` — the count after it. Here: ONE
statement for the key's earlier ballot (``keyed_row``'s predicate), the vote, the electors and the lock (``FOR SHARE
OF votes``, taken before the electors are judged: a refusal rolls it back), then ONE statement for the general
path's own UPDATE text and the count (the other electors' ballots, plus this one when the UPDATE moved it: a
data-modifying CTE's statement does not see its own write), then the audit entry with the COMMIT
(``AppState.commit_writes``).

Whatever the general path would refuse or answer otherwise — no key check possible, a retry with a known key, no
grant of one's own or no person, a vote not found or out of reach, no dwelling of one's own in it, several
without ``householdId``, a final ballot, a closed vote or one past its deadline, an UPDATE that moved nothing or met
a constraint (a concurrent cast with the same key) — is None here, the driver transaction is rolled back, and the
general path answers from the start, with its typed errors and its refusal's audit entry."""

from __future__ import annotations

import uuid
from typing import Any

from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy import Select, func, select, true

from models import BallotMethod, Choice, Topic, Vote, VoteElector, VoteState
from policies.roles import Condition
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove, _first, read
from resolvers.idempotency import checked_key

from .topics import owned_dwellings, topic_read_predicate
from .votes import ballot_update


def _checks(ctx: RequestContext, by_household: bool) -> Select[Any]:
    """The vote as the actor reads it (``cast_ballot_vote``'s predicate), locked FOR SHARE as
    ``cast_ballot_open`` locks it, the actor's first elector in it (``cast_ballot``'s order) with how many
    there are — no elector row (NULL id) when the actor owns no dwelling in its scope — and the ballot the actor
    cast with the request's key (``keyed_row``'s predicate; NULL without a key or none)."""
    p = prepared.param
    me = ctx.actor.person_id  # read here: the text is built for a stand-in of the actor (resolvers/stand_in.py)
    assert me is not None
    mine = select(VoteElector.id, VoteElector.method.in_([BallotMethod.PROXY, BallotMethod.PAPER]).label("final"),
                  func.count().over().label("n")).where(VoteElector.vote_id == p(0, "uuid"),
                                                        VoteElector.household_id.in_(owned_dwellings(me)))
    if by_household:
        mine = mine.where(VoteElector.household_id == p(1, "uuid"))
    lateral = mine.order_by(VoteElector.household_id).limit(1).lateral("mine")
    earlier = select(VoteElector.id).where(VoteElector.cast_by_user_id == ctx.actor.user_id,  # keyed_row's
                                           VoteElector.idempotency_key == p(2, "text")).limit(1).scalar_subquery()
    return (select(Vote.closes_at, (Vote.state == VoteState.OPEN).label("open"), lateral.c.id, lateral.c.final,
                   lateral.c.n, earlier.label("earlier"))
            .select_from(Vote).outerjoin(lateral, true())
            .where(Vote.id == p(0, "uuid"), Vote.topic_id.in_(select(Topic.id).where(topic_read_predicate(ctx))))
            .with_for_update(read=True, of=Vote))


async def prepare_ballot(ctx: RequestContext, vote_id: uuid.UUID, choice: Choice, idempotency_key: str | None,
                         household_id: uuid.UUID | None) -> PreparedMove | None:
    """The ballot cast and the vote's answer (``id``, ``state``, ``closes_at``, ``ballots_cast``), its audit entry
    queued; None: the general path answers it."""
    try:
        key = checked_key(idempotency_key)
    except ServiceError:
        return None
    actor = ctx.actor
    if actor.person_id is None or not actor.grant("vote", "cast").has(Condition.OWN) or not prepared.usable(ctx):
        return None
    by_household = household_id is not None
    row = await read(ctx, ("cast_ballot_fast", by_household), lambda: _checks(ctx, by_household), vote_id,
                     household_id, key)
    if row is None:
        return None
    closes_at, is_open, elector, final, n, earlier = row
    if earlier is not None:  # a retry (or the key reused): the general path answers it
        return None
    if elector is None or n != 1 or final or not is_open or ctx.now >= closes_at:
        return None
    found = prepared.statement(ctx, ("cast_ballot_update",), lambda: ballot_update(prepared.param),
                               elector, choice.value, actor.user_id, ctx.now, key)
    if found is None:
        return None
    sql, args = found
    k = len(args)
    counted = (f"WITH w AS ({sql}) SELECT (SELECT count(*) FROM w), (SELECT count(e.choice) FROM "
               f"{VoteElector.__tablename__} e WHERE e.tenant_id = ${k + 1}::uuid AND e.vote_id = ${k + 2}::uuid "
               f"AND e.id <> ${k + 3}::uuid)")
    try:
        written = await _first(ctx, counted, (*args, ctx.tenant.id, vote_id, elector))
    except IntegrityConstraintViolationError:  # the transaction is rolled back, the general path answers
        return None
    if written is None or written[0] != 1:  # staff recorded a ballot for it meanwhile
        return None
    await record_mutation(ctx, "castBallot", outcome="ok", changes=[])
    return PreparedMove(row={"id": vote_id, "state": VoteState.OPEN, "closes_at": closes_at,
                             "ballots_cast": int(written[1]) + 1}, ctes=[], args=[])
