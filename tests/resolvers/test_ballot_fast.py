"""castBallot on the driver (gongzhi/http/fast_ballot.py, resolvers/deliberation/ballot_fast.py; issue #21) answers
and writes what the general path (strawberry, the ORM) does: two votes brought to the same state get the same
ballot by each path, and both give the same response bytes (ids and times aside), the same electors' rows and the
same audit entry. Whatever the general path refuses (no dwelling of one's own in the vote, a final proxy ballot, a
closed vote, one past its deadline, a vote out of reach, a reused key) or the fast path leaves to it (a retry with a
known key, another document shape) is answered by the general path from the start, identically, and the fast path
writes nothing. A cast the fast path takes is four statements after BEGIN, with a key or without, against the
general path's eight (ten with a key); the audit chain verifies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

import resolvers.deliberation as deliberation_service
import resolvers.deliberation.ballot_fast as ballot_fast
from models import AuditEntry, BallotMethod, Vote, VoteElector, VoteState
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.deliberation import open_vote, topic_in
from tests.support.fast_paths import post_by, prepared_taken
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

ERR = "errors { code message field }"
# as bench/mix_writes.py sends it, and every field the fast path answers itself
CAST = f"mutation B($input: CastBallotInput!) {{ castBallot(input: $input) {{ vote {{ id ballotsCast }} {ERR} }} }}"
CAST_ALL = ("mutation($input: CastBallotInput!) { c: castBallot(input: $input) { __typename errors { __typename field "
            "code } v: vote { __typename id state closesAt ballotsCast } } }")
_MASK = re.compile(r'"(?:id|closesAt)":"[^"]*"')


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every cast takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every cast takes the general path")


@contextmanager
def fast_taken() -> Iterator[list[bool]]:
    """Per cast the fast path saw, whether it prepared the write."""
    with prepared_taken((deliberation_service, "prepare_ballot")) as taken:
        yield taken


post = post_by


async def a_vote(api: Api, tw: TenantWorld) -> str:
    return await open_vote(api, tw, await topic_in(api, tw), matter="OTHER")


async def stored(db: DbEnv, tw: TenantWorld, vid: str) -> dict[str, Any]:
    """The vote's electors and the last castBallot audit entry, without what differs per vote by nature."""
    vote_id = decode_global_id(vid)[1]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            electors = list(await s.scalars(select(VoteElector).where(VoteElector.vote_id == vote_id)
                                            .order_by(VoteElector.household_id)))
            entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "castBallot")
                                   .order_by(AuditEntry.id.desc()).limit(1))

    def plain(obj: Any, skip: set[str]) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}
        return dict(orjson.loads(orjson.dumps(values, default=str).decode().replace(str(vote_id), "V")))

    return {"electors": [plain(e, {"id", "vote_id", "cast_at", "created_at", "idempotency_key"}) for e in electors],
            "keys": [e.idempotency_key is not None for e in electors],
            "audit": None if entry is None else plain(entry, {"id", "created_at", "request_id", "seq", "prev_hash",
                                                               "hash"})}


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str,
               made: Callable[[], Awaitable[str]], variables: Callable[[str], dict[str, Any]]) -> tuple[bytes, bool]:
    """The cast on two votes alike, one by each path: the same answer and rows; the answer, and whether the fast
    path took it."""
    a, b = await made(), await made()
    with fast_taken() as taken:
        fast = await post(api, tw, user, document, variables(a), fast=True)
        after_fast = await stored(db, tw, a)
        general = await post(api, tw, user, document, variables(b), fast=False)
        after_general = await stored(db, tw, b)
    assert _MASK.sub("", fast.decode()) == _MASK.sub("", general.decode()), (fast.decode(), general.decode())
    assert a.encode() in fast or b'"vote":null' in fast or b'"v":null' in fast
    assert after_fast == after_general
    assert taken in ([True], [False]), taken
    return fast, taken == [True]


def ballot(vid: str, choice: str = "YES", **more: Any) -> dict[str, Any]:
    return {"input": {"voteId": vid, "choice": choice, **more}}


async def test_cast_ballot(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a

    async def made() -> str:
        return await a_vote(api, tw)

    async def with_one_cast() -> str:  # another owner's ballot first: ballotsCast counts both
        vid = await a_vote(api, tw)
        assert (await post(api, tw, "chair", CAST, ballot(vid, "NO"), fast=False)).count(b'"errors":[]') == 1
        return vid

    async def recast() -> str:  # the owner's own ballot changed: counted once
        vid = await a_vote(api, tw)
        assert b'"errors":[]' in await post(api, tw, "resident", CAST, ballot(vid, "NO"), fast=False)
        return vid

    def keyed(vid: str) -> dict[str, Any]:  # a key of its own per vote
        return ballot(vid, idempotencyKey=f"k-{vid}")

    for document, made_, variables in ((CAST, made, keyed), (CAST_ALL, made, ballot), (CAST, with_one_cast, keyed),
                                       (CAST_ALL, recast, ballot), (CAST, made, lambda v: ballot(v, "ABSTAIN"))):
        body, taken = await both(api, db, tw, "resident", document, made_, variables)
        assert taken, (document, body)
        assert b'"errors":[]' in body
    body, _ = await both(api, db, tw, "resident", CAST, with_one_cast, ballot)
    assert b'"ballotsCast":2' in body


async def _set_vote(db: DbEnv, tw: TenantWorld, vid: str, **values: Any) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Vote).where(Vote.id == decode_global_id(vid)[1]).values(**values))


async def _proxy(db: DbEnv, tw: TenantWorld, vid: str, household: str) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(VoteElector).where(VoteElector.vote_id == decode_global_id(vid)[1],
                                                      VoteElector.household_id == tw.households[household])
                            .values(method=BallotMethod.PROXY, choice="yes"))


async def test_refusals_and_others_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """Each with both paths on two votes alike: the same typed errors (or answer) and rows; the fast path took
    none and wrote nothing."""
    tw = fresh.a

    async def made() -> str:
        return await a_vote(api, tw)

    async def closed() -> str:
        vid = await made()
        await _set_vote(db, tw, vid, state=VoteState.CLOSED, closed_at=datetime.now(UTC))
        return vid

    async def past() -> str:
        vid = await made()
        await _set_vote(db, tw, vid, closes_at=datetime.now(UTC) - timedelta(minutes=1))
        return vid

    async def by_proxy() -> str:
        vid = await made()
        await _proxy(db, tw, vid, "H1")
        return vid

    async def keyed() -> str:  # the key used already: a retry (same vote and choice) or the key reused (another)
        vid = await made()
        assert b'"errors":[]' in await post(api, tw, "resident", CAST, ballot(vid, idempotencyKey=f"r-{vid}"),
                                            fast=False)
        return vid

    nowhere, elsewhere = encode_global_id("Vote", uuid.UUID(int=1)), encode_global_id("Household", uuid.UUID(int=2))
    cases: list[tuple[str, Callable[[], Awaitable[str]], Callable[[str], dict[str, Any]]]] = [
        ("grid1", made, ballot),  # no dwelling of one's own in the vote: FORBIDDEN
        ("resident", closed, ballot),  # closed: INVALID_TRANSITION
        ("resident", past, ballot),  # past its deadline, not yet closed: INVALID_TRANSITION
        ("resident", by_proxy, ballot),  # staff recorded a proxy ballot: CONFLICT
        ("resident", made, lambda v: ballot(v, idempotencyKey=" " * 3)),  # an invalid key
        ("resident", made, lambda v: ballot(v, householdId=elsewhere)),  # not a dwelling of theirs: FORBIDDEN
        ("resident", keyed, lambda v: ballot(v, idempotencyKey=f"r-{v}")),  # a retry: answered with the vote
        ("resident", keyed, lambda v: ballot(v, "NO", idempotencyKey=f"r-{v}")),  # reused: IDEMPOTENCY_KEY_REUSED
    ]
    for user, made_, variables in cases:
        body, taken = await both(api, db, tw, user, CAST, made_, variables)
        assert not taken, (user, body)
    body, taken = await both(api, db, tw, "resident", CAST, made, lambda _v: ballot(nowhere))  # NOT_FOUND
    assert not taken and b'"errors":[{' in body


async def test_documents_not_recognised_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    for document in ("mutation($input: CastBallotInput!) { castBallot(input: $input) { vote { id myBallot { choice }"
                     " } errors { code } } }",
                     "mutation($input: CastBallotInput!) { castBallot(input: $input) { vote { id question } } }",
                     "mutation($input: CastBallotInput!) { castBallot(input: $input) { ...on VotePayload { vote { id"
                     " } } } }"):
        vid = await a_vote(api, tw)
        with fast_taken() as taken:
            body = await post(api, tw, "resident", document, ballot(vid), fast=True)
        assert b'"vote":{' in body and taken == [], body


async def test_four_statements_and_the_chain_verifies(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    counts = {}
    for fast in (True, False):
        for key in (None, "s-1"):
            vid = await a_vote(api, tw)
            given = {} if key is None else {"idempotencyKey": f"{key}-{fast}"}
            with count_statements() as statements, fast_taken() as taken:
                body = await post(api, tw, "resident", CAST, ballot(vid, **given), fast=fast)
            assert b'"errors":[]' in body and b'"ballotsCast":1' in body, body
            assert taken == ([True] if fast else [])
            counts[fast, key is not None] = len(statements)
    # first statement, the checks (the key's with them), the UPDATE with the count, the audit entry
    assert counts[True, False] == 4 and counts[True, True] == 4, counts
    assert counts[False, True] > counts[True, True] and counts[False, False] > counts[True, False], counts
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_a_ballot_recorded_by_staff_after_the_read_is_not_written(api: Api, db: DbEnv, fresh: World,
                                                                      pg: None) -> None:
    """Staff record a proxy ballot for the dwelling between the fast path's checks and its UPDATE: the UPDATE moves
    nothing, the driver transaction is rolled back, and the general path answers as it answers a final ballot
    (CONFLICT), with the same rows and audit entry as a vote where the proxy came first."""
    tw = fresh.a
    real = ballot_fast.read
    a, b = await a_vote(api, tw), await a_vote(api, tw)

    async def then_proxy(ctx: Any, key: tuple[Any, ...], *args: Any) -> Any:
        found = await real(ctx, key, *args)
        if key[0] == "cast_ballot_fast":
            await _proxy(db, tw, a, "H1")  # another connection, committed before the UPDATE
        return found

    ballot_fast.read = then_proxy  # type: ignore[assignment]
    try:
        with fast_taken() as taken:
            raced = await post(api, tw, "resident", CAST, ballot(a), fast=True)
    finally:
        ballot_fast.read = real  # type: ignore[assignment]
    assert taken == [False] and b"CONFLICT" in raced, raced
    after_race = await stored(db, tw, a)
    await _proxy(db, tw, b, "H1")
    plain = await post(api, tw, "resident", CAST, ballot(b), fast=False)
    assert raced == plain
    assert after_race == await stored(db, tw, b)
