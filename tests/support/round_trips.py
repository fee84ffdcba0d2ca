"""Round trips to PostgreSQL per checkout of a pooled connection (issue #21: BEGIN sent with the first
statement, tenants/begin.py).

Counted by asyncpg itself: its protocol counts each operation it sends and then waits for — a statement's
Bind/Execute/Sync, a simple query (BEGIN alone, COMMIT, ROLLBACK) — in ``queries_count``. Preparing a
statement (its Parse/Describe, once per connection) is not counted: warm the connections up first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tenants.session import make_engine
from tests.support.harness import DbEnv


def sent(dbapi_connection: Any) -> int:
    """The operations asyncpg has sent and waited for on this pooled (SQLAlchemy-adapted) connection."""
    return int(dbapi_connection._connection._protocol.queries_count)


@contextmanager
def round_trips(engine: AsyncEngine) -> Iterator[list[int]]:
    """Per checkout of one of ``engine``'s connections in the block, ended by its checkin: its round trips."""
    pool = engine.sync_engine.pool
    counts: list[int] = []
    started: dict[int, int] = {}

    def out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        started[id(record)] = sent(dbapi_connection)

    def back(dbapi_connection: Any, record: Any) -> None:
        before = started.pop(id(record), None)
        if dbapi_connection is not None and before is not None:
            counts.append(sent(dbapi_connection) - before)

    event.listen(pool, "checkout", out)
    event.listen(pool, "checkin", back)
    try:
        yield counts
    finally:
        event.remove(pool, "checkout", out)
        event.remove(pool, "checkin", back)


@asynccontextmanager
async def one_connection(db: DbEnv, why: str, max_overflow: int = 0) -> AsyncIterator[AsyncEngine]:
    """An engine of one pooled connection straight to PostgreSQL (statement cache on), so every transaction
    finds the statements the one before prepared; on SQLite the test is skipped: ``why`` it is PostgreSQL's."""
    if not db.is_pg:
        pytest.skip(why)
    e = make_engine(db.app_url, pool_size=1, max_overflow=max_overflow)
    try:
        yield e
    finally:
        await e.dispose()


def statements_sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Every statement the driver transactions send (``tenants.session._fetchrow``), with its parameters, from
    now to the end of the test."""
    import tenants.session as ts

    sent: list[tuple[str, tuple[Any, ...]]] = []
    original = ts._fetchrow

    async def keep(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
        sent.append((sql, args))
        return await original(connection, sql, args)

    monkeypatch.setattr(ts, "_fetchrow", keep)
    return sent


async def plan_as_app(db: DbEnv, tenant_id: Any, sql: str, args: tuple[Any, ...]) -> list[str]:
    """``EXPLAIN (ANALYZE)`` of a statement the app sent, as the app role under row-level security in
    ``tenant_id``'s transaction (rolled back), with the request's own parameters: the plan's lines. Of a read that
    wrote its audit entry itself (gongzhi.http.read_audit), the read's: the entry, written, would be written again."""
    from gongzhi.http.read_audit import read_of

    found = read_of(sql)
    if found is not None:
        sql, args = found[0], args[:found[1]]
    async with rolled_back(db.engine, tenant_id) as driver:
        return [r[0] for r in await driver.fetch("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " + sql, *args)]


@asynccontextmanager
async def rolled_back(engine: AsyncEngine, tenant_id: Any) -> AsyncIterator[Any]:
    """``engine``'s driver connection (the app role's, or the owner's) in a transaction of ``tenant_id``'s tenant,
    rolled back at the end: nothing of the test kept."""
    from tenants.rls import set_tenant_sql

    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        tr = driver.transaction()
        await tr.start()
        try:
            await driver.execute(set_tenant_sql(tenant_id))
            yield driver
        finally:
            await tr.rollback()
