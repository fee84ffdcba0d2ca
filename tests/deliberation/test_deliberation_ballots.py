"""Ballots at the deadline and within one request: a ballot after `closesAt` is refused even before
anyone closes the vote, and a second ballot in the same request sees the first one's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import Vote, VoteElector, VoteState
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support.deliberation import CLOSE, cast, codes, open_vote, topic_in
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld


async def _move_deadline(db: DbEnv, tw: TenantWorld, vid: str, when: datetime) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Vote).where(Vote.id == decode_global_id(vid)[1]).values(closes_at=when))


async def _stored(db: DbEnv, tw: TenantWorld, vid: str) -> tuple[VoteState, list[str]]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            vote_id = decode_global_id(vid)[1]
            state = await s.scalar(select(Vote.state).where(Vote.id == vote_id))
            choices = sorted(map(str, await s.scalars(select(VoteElector.choice)
                                                      .where(VoteElector.vote_id == vote_id))))
            assert state is not None
            return state, choices


async def test_ballot_after_closes_at_is_refused_without_an_explicit_close(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    vid = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    assert (await cast(api, a, "resident", vid, "YES"))["errors"] == []
    await _move_deadline(db, a, vid, datetime.now(UTC) - timedelta(minutes=1))  # the deadline passed; nobody closed
    before = await _stored(db, a, vid)
    for who, choice in (("resident", "NO"), ("chair", "YES")):  # a change and a first ballot: both too late
        late = await cast(api, a, who, vid, choice)
        assert codes(late) == ["INVALID_TRANSITION"], who
        assert late["vote"] is None
    assert await _stored(db, a, vid) == before
    assert before[0] is VoteState.OPEN
    # Closing after the deadline counts exactly the ballots cast in time.
    closed = (await api.gql(a, "chair", CLOSE, {"i": {"id": vid}}))["data"]["closeVote"]
    assert closed["errors"] == []
    assert (closed["vote"]["result"]["participatingOwners"], closed["vote"]["result"]["yesOwners"]) == (1, 1)


async def test_two_ballots_in_one_request_each_show_the_ballot_as_it_then_stands(api: Api, fresh: World) -> None:
    a = fresh.a
    vid = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    doc = """mutation($v: ID!) {
      first: castBallot(input: {voteId: $v, choice: NO}) { vote { ballotsCast myBallot { choice } } errors { code } }
      second: castBallot(input: {voteId: $v, choice: YES}) { vote { ballotsCast myBallot { choice } } errors { code } }
    }"""
    got = (await api.gql(a, "resident", doc, {"v": vid}))["data"]
    assert got["first"] == {"vote": {"ballotsCast": 1, "myBallot": {"choice": "NO"}}, "errors": []}
    assert got["second"] == {"vote": {"ballotsCast": 1, "myBallot": {"choice": "YES"}}, "errors": []}
    chair = (await api.gql(a, "chair", doc.replace("choice: NO", "choice: ABSTAIN"), {"v": vid}))["data"]
    assert chair["second"]["vote"] == {"ballotsCast": 2, "myBallot": {"choice": "YES"}}
