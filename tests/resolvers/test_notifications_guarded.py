"""markNotificationsRead of notifications this process has seen read by the caller (bench.mix's steady state): the
check inside the audit entry's write (resolvers/cases/notifications_fast.py, its last paragraph; issue #21) — two
statements after BEGIN, not three — with the general path's answer, marks (none) and audit entry. Whatever the
check in the write refuses (an id that no longer reaches the caller, one unread again, one read only before per-user
read state, whose mark is not there) writes nothing, and the general path answers it from the start as it answers
it alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import text

import resolvers.cases as case_service
from gongzhi.http.graphql import GraphQLEndpoint
from resolvers.ids import decode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import count_statements
from tests.resolvers.test_notifications_fast import MIX, both, pair, post, written
from tests.support import citus
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

GUARD = "WITH w0 AS (SELECT true AS ok FROM (SELECT count(*) AS n, bool_or(c.unread) AS u FROM ("


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every mark takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every mark takes the general path")


@contextmanager
def watched() -> Iterator[tuple[list[bool | None], list[bool]]]:
    """Per mark the fast path saw: None (left to the general path before any write), False (checked in a
    statement of its own), True (checked inside its write); and per mark it was sent, whether it answered it."""
    shapes: list[bool | None] = []
    answered: list[bool] = []
    real, real_write = case_service.prepare_mark_read, GraphQLEndpoint._write_on_driver

    async def spied(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        shapes.append(None if out is None else bool(out.ctes) and out.ctes[0].startswith(GUARD[12:]))
        return out

    async def writes(self: Any, *args: Any, **kw: Any) -> Any:
        out = await real_write(self, *args, **kw)
        answered.append(out is not None)
        return out

    case_service.prepare_mark_read = spied  # type: ignore[assignment]
    GraphQLEndpoint._write_on_driver = writes  # type: ignore[method-assign]
    try:
        yield shapes, answered
    finally:
        case_service.prepare_mark_read = real  # type: ignore[assignment]
        GraphQLEndpoint._write_on_driver = real_write  # type: ignore[method-assign]


async def seen_read(api: Api, db: DbEnv, tw: TenantWorld, n: int = 5, **kw: Any) -> tuple[list[str], list[str]]:
    """Two sets of ``n`` notifications of the secretary, read by the secretary and seen so by this process's check
    (each marked once on the fast path: nothing to mark)."""
    a, b = await pair(db, tw, "secretary", n, read=tuple(range(n)), **kw)
    for gids in (a, b):
        with watched() as (shapes, answered):
            body = orjson.loads(await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True))
        assert (shapes, answered) == ([False], [True]), (shapes, answered)
        assert body == {"data": {"markNotificationsRead": {"marked": 0, "errors": []}}}, body
    return a, b


async def owner_sql(db: DbEnv, tw: TenantWorld, sql: str, **params: Any) -> None:
    """``sql`` in the tenant's transaction as the tables' owner; it must change a row."""
    async with db.owner_engine.begin() as conn:
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        assert (await conn.execute(text(sql), {"t": tw.tenant_id, **params})).rowcount > 0, sql


def uuids(gids: list[str]) -> list[Any]:
    return [decode_global_id(g).id for g in gids]


async def test_marked_again_checked_in_the_write(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    await post(api, tw, "secretary", MIX, {"ids": []}, fast=False)  # the tenant's policy cached
    a, b = await seen_read(api, db, tw)
    with watched() as (shapes, answered), count_statements() as sent:
        await post(api, tw, "secretary", MIX, {"ids": a}, fast=True)
    assert (shapes, answered, len(sent)) == ([True], [True], 2), sent
    assert sent[1].startswith(GUARD), sent[1]
    with watched() as (shapes, answered):
        assert await both(api, db, tw, "secretary", MIX, (a, b))  # the same answer, marks and audit entry
        assert await both(api, db, tw, "secretary", MIX, ([a[0], *a, a[1]], [b[0], *b, b[1]]))  # repeated ids
    assert (shapes, answered) == ([True, True], [True, True]), (shapes, answered)
    assert [m[2] for m in (await written(db, tw, a))["marks"]] == [True] * 5  # no mark written: the five old ones


async def refused_in_the_write(api: Api, db: DbEnv, tw: TenantWorld, sets: tuple[list[str], list[str]]) -> bytes:
    """The mark of ``sets[0]`` by the fast path, its check in the write refusing it: the general path answers, as
    it answers the mark of ``sets[1]`` (in the same state) alone."""
    with watched() as (shapes, answered):
        both_taken = await both(api, db, tw, "secretary", MIX, sets)
    assert (shapes, answered[:1]) == ([True], [False]), (shapes, answered)
    assert both_taken  # prepared (both's own spy), then refused in the write
    return await post(api, tw, "secretary", MIX, {"ids": sets[0]}, fast=False)


async def test_no_longer_reaching_refused_in_the_write(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    a, b = await seen_read(api, db, tw, 3)
    await owner_sql(db, tw, "UPDATE notifications SET user_id = :u WHERE tenant_id = :t AND id = ANY(:ids)",
                    u=tw.users["grid2"], ids=[uuids(a)[1], uuids(b)[1]])
    body = await refused_in_the_write(api, db, tw, (a, b))
    assert b'"code":"NOT_FOUND"' in body, body


async def test_unread_again_refused_in_the_write(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    a, b = await seen_read(api, db, tw, 3)
    await owner_sql(db, tw, "DELETE FROM notification_reads WHERE tenant_id = :t AND notification_id = ANY(:ids)",
                    ids=[uuids(a)[2], uuids(b)[2]])
    with watched() as (shapes, answered):
        assert await both(api, db, tw, "secretary", MIX, (a, b))  # the general path's answer: marked 1
    assert (shapes, answered) == ([True], [False]), (shapes, answered)
    marks = (await written(db, tw, a))["marks"]
    assert [(m[0], m[2]) for m in marks] == [(0, True), (1, True), (2, False)], marks


async def test_read_before_per_user_state_refused_in_the_write(api: Api, db: DbEnv, fresh: World,
                                                               pg: None) -> None:
    """Read before per-user read state (``read_at``) and marked by nobody: seen read by the check, but its mark —
    the one the write meets — is not there: the write is refused, and the general path answers (nothing marked)."""
    tw = fresh.a
    a, b = await pair(db, tw, "secretary", 2, legacy=(0, 1))
    for gids in (a, b):
        await post(api, tw, "secretary", MIX, {"ids": gids}, fast=True)  # seen read by the check
    with watched() as (shapes, answered):
        assert await both(api, db, tw, "secretary", MIX, (a, b))
    assert (shapes, answered) == ([True], [False]), (shapes, answered)
    assert (await written(db, tw, a))["marks"] == []
