"""markNotificationsRead on the driver (gongzhi/http/fast_notifications.py, resolvers/cases/notifications_fast.py;
issue #21) answers and writes what the general path (strawberry, the ORM) does: two sets of notifications in the same
state (unread, read by the caller, read before per-user read state) are marked, one by each path, and both give the
same response bytes, the same read marks and the same audit entries (ids and times aside), for notifications
addressed to the caller, to the caller's area and to the caller's firm. Whatever the general path refuses (an id that
does not reach the caller, another type's id, more than 100 ids) or the fast path leaves to it (the deprecated bare
argument, both forms, a fragment) is answered by the general path from the start, byte for byte, the fast path
writing nothing. Taken, a mark is three statements after BEGIN (the first statement, the check, the marks with the
audit entry), two for an empty list or for notifications this process has seen read (the check inside the
write: tests/resolvers/test_notifications_guarded.py), against four and more; a mark written by another request
after the fast path's check is left to the general path; the audit chain verifies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

import resolvers.cases as case_service
import resolvers.cases.notifications_fast as notifications_fast
from models import AuditEntry, Notification, NotificationRead, uuid7
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.fast_paths import assert_generic_from_first, plans_seen, post_by, prepared_taken
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

ERR = "errors { code message field }"
# as bench/mix_writes.py and bench/inproc.py send it, and every field the fast path answers itself
MIX = f"mutation K($ids: [ID!]!) {{ markNotificationsRead(input: {{ids: $ids}}) {{ marked {ERR} }} }}"
INPROC = "mutation K($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked errors { code } } }"
ALL = ("mutation($ids: [ID!]!) { m: markNotificationsRead(input: {ids: $ids}) { __typename n: marked errors { "
       "__typename field code message } } }")
INPUT = "mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) { marked errors { code } } }"
# left to the general path
LEGACY = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code field } } }"
BOTH_FORMS = ("mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}, ids: $ids) { marked errors "
              "{ code field } } }")
FRAGMENT = ("mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { ...R } } "
            "fragment R on MarkReadPayload { marked errors { code } }")
OLD = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every mark takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every mark takes the general path")


@contextmanager
def fast_taken() -> Iterator[list[bool]]:
    """Per mark the fast path saw, whether it prepared the write."""
    with prepared_taken((case_service, "prepare_mark_read")) as taken:
        yield taken


post = post_by


def addressed(tw: TenantWorld, user: str) -> dict[str, Any]:
    """How a notification reaches ``user``: the secretary's own, the grid leader's area, the firm's firm."""
    return {"secretary": {"user_id": tw.users["secretary"]}, "grid1": {"area_id": tw.areas["G1"]},
            "firm": {"firm_id": tw.firms["F1"]}}[user]


async def notifications(db: DbEnv, tw: TenantWorld, user: str, n: int, *, read: tuple[int, ...] = (),
                        legacy: tuple[int, ...] = (), to: dict[str, Any] | None = None) -> list[str]:
    """``n`` new notifications reaching ``user`` (``to``: addressed so instead), those of ``read`` marked read by
    ``user``, those of ``legacy`` read before per-user read state; their global ids."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = [Notification(id=uuid7(), kind="urged", message=f"催办 {i}", read_at=OLD if i in legacy else None,
                                 **(to or addressed(tw, user))) for i in range(n)]
            s.add_all(rows)
            await s.flush()
            s.add_all(NotificationRead(notification_id=rows[i].id, user_id=tw.users[user], read_at=OLD) for i in read)
    return [encode_global_id("Notification", r.id) for r in rows]


async def written(db: DbEnv, tw: TenantWorld, gids: list[str]) -> dict[str, Any]:
    """The read marks of these notifications (by position, id and times aside but whether a new one was read as
    it was made) and every markNotificationsRead audit entry (by id)."""
    uuids = [decode_global_id(g).id for g in gids]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            marks = list(await s.scalars(select(NotificationRead).where(NotificationRead.notification_id.in_(uuids))))
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "markNotificationsRead")))
    rows = sorted((uuids.index(m.notification_id), str(m.user_id), m.read_at == OLD, m.read_at == m.created_at)
                  for m in marks)
    audit = {str(e.id): {k: getattr(e, k) for k in ("user_id", "roles", "action", "object_type", "object_ids",
                                                    "detail", "client_addr", "area_path")} for e in entries}
    return {"marks": rows, "audit": audit}


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, sets: tuple[list[str], list[str]],
               variables: Any = None) -> bool:
    """The same mark of two sets alike, one by each path: the same answer bytes, marks and audit entries; whether
    the fast path took it."""
    answers, outcomes = [], []
    for gids, fast in zip(sets, (True, False), strict=True):
        before = await written(db, tw, gids)
        with fast_taken() as taken:
            answers.append(await post(api, tw, user, document, variables(gids) if variables else {"ids": gids},
                                      fast=fast))
        after = await written(db, tw, gids)
        new = [v for k, v in after["audit"].items() if k not in before["audit"]]
        outcomes.append((after["marks"], new))
        if fast:
            fast_took = taken
        else:
            assert taken == [], taken  # the general path does not go near it
    assert answers[0] == answers[1], answers
    assert outcomes[0] == outcomes[1], outcomes
    assert len(outcomes[0][1]) == 1, outcomes  # one audit entry each: the general path's alone when refused
    return fast_took == [True]


async def pair(db: DbEnv, tw: TenantWorld, user: str, n: int, **kw: Any) -> tuple[list[str], list[str]]:
    return await notifications(db, tw, user, n, **kw), await notifications(db, tw, user, n, **kw)


async def test_marks_as_the_general_path_does(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    for user in ("secretary", "grid1", "firm"):
        assert await both(api, db, tw, user, MIX, await pair(db, tw, user, 5)), user  # the mix's first requests
        assert await both(api, db, tw, user, MIX, await pair(db, tw, user, 5, read=(0, 1, 2, 3, 4))), user
    assert await both(api, db, tw, "secretary", INPROC, await pair(db, tw, "secretary", 4, read=(1,), legacy=(2,)))
    assert await both(api, db, tw, "secretary", ALL, await pair(db, tw, "secretary", 3, legacy=(0, 1, 2)))
    assert await both(api, db, tw, "grid1", INPUT, await pair(db, tw, "grid1", 2), lambda g: {"i": {"ids": g}})
    assert await both(api, db, tw, "firm", MIX, await pair(db, tw, "firm", 3), lambda g: {"ids": [*g, g[0], g[1]]})
    assert await both(api, db, tw, "firm", MIX, ([], []))  # nothing to mark: the audit entry alone
    marked = orjson.loads(await post(api, tw, "secretary", ALL, {"ids": (await pair(db, tw, "secretary", 4, read=(
        3,)))[0]}, fast=True))
    assert marked == {"data": {"m": {"__typename": "MarkReadPayload", "n": 3, "errors": []}}}, marked


async def test_refusals_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    elsewhere = {"user_id": tw.users["grid2"]}
    for gids in (
            [encode_global_id("Notification", uuid7())],  # no such notification
            (await notifications(db, tw, "secretary", 1, to=elsewhere))):  # someone else's
        a, b = await pair(db, tw, "secretary", 2)
        assert not await both(api, db, tw, "secretary", MIX, ([*a, *gids], [*b, *gids]))
    a, b = await pair(db, tw, "secretary", 1)
    other_type = [encode_global_id("Case", uuid7())]
    assert not await both(api, db, tw, "secretary", MIX, ([*a, *other_type], [*b, *other_type]))  # INVALID id
    too_many = (await notifications(db, tw, "secretary", 101), await notifications(db, tw, "secretary", 101))
    assert not await both(api, db, tw, "secretary", ALL, too_many)
    assert b'"code":"NOT_FOUND"' in await post(api, tw, "grid1", MIX, {"ids": a}, fast=True)  # not in G1


async def test_other_shapes_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    for document in (LEGACY, BOTH_FORMS, FRAGMENT):
        assert not await both(api, db, tw, "secretary", document, await pair(db, tw, "secretary", 2))
        gids = await notifications(db, tw, "secretary", 2)
        with fast_taken() as taken:
            body = orjson.loads(await post(api, tw, "secretary", document, {"ids": gids}, fast=True))
        assert taken == [], (document, taken)
        payload = body["data"]["markNotificationsRead"]
        assert payload["marked"] == (0 if document == BOTH_FORMS else 2), payload


async def test_statements_and_the_chain_verifies(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    await post(api, tw, "secretary", MIX, {"ids": []}, fast=False)  # the tenant's policy cached
    counts = []
    for read, expected in (((), 3), ((0, 1, 2, 3, 4), 3), (None, 2)):
        a, b = ([], []) if read is None else await pair(db, tw, "secretary", 5, read=read)
        with count_statements() as fast, fast_taken() as taken:
            await post(api, tw, "secretary", MIX, {"ids": a}, fast=True)
        with count_statements() as general:
            await post(api, tw, "secretary", MIX, {"ids": b}, fast=False)
        assert taken == [True] and len(fast) == expected, [" ".join(x.split())[:90] for x in fast]
        assert len(general) >= len(fast), general
        counts.append((len(fast), len(general)))
    assert counts[0][1] > 3 and counts[1][1] > 3, counts  # the general path's SAVEPOINT at least
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_a_mark_written_after_the_check_leaves_it_to_the_general_path(api: Api, db: DbEnv, fresh: World,
                                                                            pg: None) -> None:
    """Another request marks one of the notifications read between the fast path's check and its insert: the
    insert meets the unique constraint, the driver transaction is rolled back (no audit entry of its own), and the
    general path answers from the start — one fewer marked, one mark per notification, its one audit entry."""
    tw = fresh.a
    gids = await notifications(db, tw, "secretary", 3)
    real = notifications_fast.read_all

    async def marked_meanwhile(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                s.add(NotificationRead(notification_id=decode_global_id(gids[1]).id, user_id=tw.users["secretary"],
                                       read_at=OLD))
        return out

    before = await written(db, tw, gids)
    notifications_fast.read_all = marked_meanwhile  # type: ignore[assignment]
    try:
        with fast_taken() as taken:
            body = orjson.loads(await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True))
    finally:
        notifications_fast.read_all = real  # type: ignore[assignment]
    assert taken == [True], taken  # prepared, then refused by the constraint
    assert body == {"data": {"markNotificationsRead": {"marked": 2, "errors": []}}}, body
    after = await written(db, tw, gids)
    assert [m[:3] for m in after["marks"]] == [(0, str(tw.users["secretary"]), False),
                                               (1, str(tw.users["secretary"]), True),
                                               (2, str(tw.users["secretary"]), False)], after
    new = [v for k, v in after["audit"].items() if k not in before["audit"]]
    assert [e["detail"]["outcome"] for e in new] == ["ok"], new


async def test_the_mix_document_on_every_backend(api: Api, db: DbEnv, fresh: World) -> None:
    """The document bench.mix sends marks the secretary's notifications: on the driver path on PostgreSQL, on the
    general path on SQLite and on Citus (the driver's writes are off there: gongzhi/http/graphql.py)."""
    tw = fresh.a
    gids = await notifications(db, tw, "secretary", 5, read=(4,))
    with fast_taken() as taken:
        first = orjson.loads(await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True))
        again = orjson.loads(await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True))
    assert first == {"data": {"markNotificationsRead": {"marked": 4, "errors": []}}}, first
    assert again == {"data": {"markNotificationsRead": {"marked": 0, "errors": []}}}, again
    assert taken == ([True, True] if db.is_pg and not citus.ENABLED else []), taken
    assert len((await written(db, tw, gids))["marks"]) == 5


async def test_the_mark_runs_generic_plans_from_the_first(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """A mark's transaction asks for generic plans from a statement's first run on a connection, as the report and
    the case steps do (tests/cases/test_steps_fast.py): its check takes its ids as ARRAY(SELECT unnest(…)), which
    the primary key's index takes on the generic plan too (with CAST(… AS UUID[]) the generic plan was a Seq Scan
    of the tenant's notifications, 5–6 ms of PostgreSQL per mark; bench/RESULTS.md, h-moves). On connections the
    pool has just opened, the check (its text names ``my_read``) has had no custom plan."""
    tw = fresh.a
    gids = await notifications(db, tw, "secretary", 2)
    await api.client._transport.app.state.gongzhi.engine.dispose()  # type: ignore[attr-defined]
    with fast_taken() as taken, plans_seen(case_service, "prepare_mark_read", "%AS my_read%") as seen:
        await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True)
    assert taken == [True], taken
    assert_generic_from_first(db, seen)
    assert len((await written(db, tw, gids))["marks"]) == 2
