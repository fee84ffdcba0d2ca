"""BEGIN in the first statement's round trip (issue #21, tenants/begin.py): once a connection has the first
statement prepared, a DriverTransaction, a general-path session on the driver and a compiled node lookup send
BEGIN with it — one round trip fewer — in one transaction with what follows (its transaction-local settings
seen, one start time); a first statement that fails rolls the transaction back, one whose arguments do not
encode leaves the connection idle and usable; nothing of it applies through pgbouncer (no statement cache)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenants.begin import pipelined
from tenants.session import DriverTransaction, fetch_first, make_sessionmaker, use_driver
from tests.support.cases import report
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import one_connection, round_trips

SET = "SELECT set_config('lock_timeout', $1, true), now()"  # a transaction-local setting
GET = "SELECT current_setting('lock_timeout'), now()"
NODE = "query N($id: ID!) { node(id: $id) { id ... on Case { number title state } } }"


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    """One pooled connection straight to PostgreSQL (statement cache on), so every transaction finds the
    statements the one before prepared."""
    async with one_connection(db, "BEGIN with the first statement is PostgreSQL's driver path") as e:
        yield e


async def _set_then_get(engine: AsyncEngine, value: str) -> tuple[Any, Any, int]:
    async with DriverTransaction(engine) as tx:
        a = await tx.fetch_first(SET, value)
        b = await tx.fetch_first(GET)
        await tx.commit()
        return a, b, tx.connection.get_server_pid()


async def test_begin_goes_with_the_first_statement(engine: AsyncEngine) -> None:
    with round_trips(engine) as trips:
        first = await _set_then_get(engine, "1111ms")  # the connection's first use: BEGIN alone, then the two
        again = await _set_then_get(engine, "2222ms")  # the statements prepared: BEGIN with the first
    assert trips == [4, 3], trips
    for (a, b, _pid), value in ((first, "1111ms"), (again, "2222ms")):
        assert b[0] == value  # the first's transaction-local setting seen by the second: one transaction …
        assert a[1] == b[1]  # … begun before the first statement (now(): the transaction's start)
    assert first[2] == again[2]  # one connection
    async with DriverTransaction(engine) as tx:
        assert (await tx.fetch_first(GET))[0] not in ("1111ms", "2222ms")  # committed: the setting ended with it


async def test_a_session_on_the_driver_sends_begin_with_its_first_statement_too(engine: AsyncEngine) -> None:
    """The general path's sessions (``use_driver``: ``fetch_first`` on the session's own connection)."""
    maker = make_sessionmaker(engine)
    seen = []
    with round_trips(engine) as trips:
        for value in ("1111ms", "2222ms"):
            async with maker() as session:
                use_driver(session)
                a = await fetch_first(session, SET, value)
                b = await fetch_first(session, GET)
                await session.commit()
            seen.append((a, b))
    assert trips == [4, 3], trips
    assert [b[0] for _a, b in seen] == ["1111ms", "2222ms"] and all(a[1] == b[1] for a, b in seen)


async def test_a_first_statement_that_fails_rolls_its_transaction_back(engine: AsyncEngine) -> None:
    sql = "SELECT 1 / $1::int4"
    async with DriverTransaction(engine) as tx:
        assert (await tx.fetch_first(sql, 1))[0] == 1
        pid = tx.connection.get_server_pid()
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with DriverTransaction(engine) as tx:
            assert pipelined(tx._adapted, sql)
            await tx.fetch_first(sql, 0)
    async with DriverTransaction(engine) as tx:  # the same connection, out of the failed transaction
        assert tx.connection.get_server_pid() == pid and not tx.connection.is_in_transaction()
        assert (await tx.fetch_first(SET, "3333ms"))[0] == "3333ms" and (await tx.fetch_first(GET))[0] == "3333ms"
        await tx.commit()


async def test_arguments_that_do_not_encode_leave_the_connection_idle(engine: AsyncEngine) -> None:
    """BEGIN's messages went out, the statement's never did (asyncpg refuses its argument before sending): the
    connection is settled — not left with BEGIN unanswered under the next request's statements."""
    sql = "SELECT $1::int4 + 1"
    async with DriverTransaction(engine) as tx:
        assert (await tx.fetch_first(sql, 1))[0] == 2
        pid = tx.connection.get_server_pid()
    with pytest.raises(asyncpg.DataError):
        async with DriverTransaction(engine) as tx:
            assert pipelined(tx._adapted, sql)
            await tx.fetch_first(sql, "not a number")
    async with DriverTransaction(engine) as tx:  # on the driver, no BEGIN: nothing left pending before it
        assert await tx.connection.fetchval("SELECT 1") == 1
        assert not tx.connection.is_in_transaction()
    for value in ("4444ms", "5555ms"):  # the same connection: BEGIN alone (statements new to it), then with the first
        a, b, again = await _set_then_get(engine, value)
        assert again == pid and b[0] == value and a[1] == b[1]
    async with DriverTransaction(engine) as tx:
        assert (await tx.fetch_first(sql, 41))[0] == 42
        await tx.commit()


async def test_a_compiled_node_lookup_is_two_round_trips(api: Api, fresh: World, db: DbEnv) -> None:
    """BEGIN with the first statement (tenant, user, actor), the compiled statement with COMMIT (a quiet plan:
    compiled.plans.run_compiled; it was a third round trip) — four through pgbouncer, where there is no
    statement cache and BEGIN and COMMIT go alone."""
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    tw = fresh.a
    case = await report(api, tw, "resident", "B1", title="楼道灯不亮")
    for _ in range(25):  # every pooled connection has both statements prepared
        await api.gql(tw, "grid1", NODE, {"id": case["id"]})
    with round_trips(db.engine) as trips:
        for _ in range(5):
            r = await api.gql(tw, "grid1", NODE, {"id": case["id"]})
            assert r["data"]["node"]["title"] == "楼道灯不亮"
    assert trips == [4 if db.through_pgbouncer else 2] * 5, trips
