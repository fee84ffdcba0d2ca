"""A statement sent with COMMIT, after it, in a transaction of its own (issue #21, tenants/begin.py
``commit_then``: the events' NOTIFY of the fast writes, out of the committing transaction). One round trip for
both; the statement runs only after a COMMIT that succeeded — never for a transaction that did not commit — and
outside that transaction (its settings are gone); a COMMIT that fails sends nothing after it and leaves the
connection out of the pool; nothing of it through pgbouncer (no statement cache)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenants.begin import can_commit_then
from tenants.session import DriverTransaction, make_engine
from tests.support.harness import DbEnv
from tests.support.listen import heard_on, settled
from tests.support.round_trips import one_connection, round_trips

CHANNEL = "gongzhi_test_commit_then"
SET = "SELECT set_config('lock_timeout', $1, true)"  # a transaction-local setting
# After COMMIT: what it hears is this transaction's lock_timeout — the committed one's setting, had it run in it.
AFTER = "SELECT pg_notify($1, $2 || ' ' || current_setting('lock_timeout'))"


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    """One pooled connection straight to PostgreSQL (statement cache on)."""
    async with one_connection(db, "COMMIT with a statement after it is PostgreSQL's driver path") as e:
        yield e


@pytest.fixture
async def heard(db: DbEnv) -> AsyncIterator[list[str]]:
    """The payloads a listener on another connection hears on CHANNEL."""
    async with heard_on(db, CHANNEL) as got:
        yield got


async def test_the_statement_goes_with_commit_and_after_it(engine: AsyncEngine, heard: list[str]) -> None:
    async with DriverTransaction(engine) as tx:  # the connection's first use: the statement prepared on it
        await tx.fetch_first(SET, "1111ms")
        assert can_commit_then(tx)
        await tx.commit((AFTER, (CHANNEL, "first")))
    with round_trips(engine) as trips:
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(SET, "2222ms")
            await tx.commit((AFTER, (CHANNEL, "second")))
            pid = tx.connection.get_server_pid()
    assert trips == [2], trips  # BEGIN with the first statement; COMMIT with the one after it
    got = await settled(heard, 2)
    assert [p.split()[0] for p in got] == ["first", "second"], got
    assert not any(p.endswith(("1111ms", "2222ms")) for p in got), got  # not in the committed transaction
    async with DriverTransaction(engine) as tx:  # the same connection, idle, pooled again
        assert tx.connection.get_server_pid() == pid
        assert (await tx.fetch_first("SELECT current_setting('lock_timeout')"))[0] not in ("1111ms", "2222ms")
        assert tx.connection.is_in_transaction()
        await tx.commit()


async def test_nothing_runs_after_a_commit_that_fails(engine: AsyncEngine, heard: list[str]) -> None:
    """A deferred unique constraint, checked at COMMIT: COMMIT fails, the statement after it never runs, and the
    connection is not pooled again."""
    async with DriverTransaction(engine) as tx:
        await tx.fetch_first(SET, "1111ms")
        await tx.commit((AFTER, (CHANNEL, "warm")))
        pid = tx.connection.get_server_pid()
    with pytest.raises(asyncpg.UniqueViolationError):
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(SET, "3333ms")
            await tx.connection.execute("CREATE TEMP TABLE once (a int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
                                        "ON COMMIT DROP; INSERT INTO once VALUES (1), (1)")
            assert can_commit_then(tx)
            await tx.commit((AFTER, (CHANNEL, "never")))
    assert [p.split()[0] for p in await settled(heard, 2)] == ["warm"]
    async with DriverTransaction(engine) as tx:  # a fresh connection
        assert tx.connection.get_server_pid() != pid
        assert (await tx.fetch_first("SELECT to_regclass('pg_temp.once') IS NULL"))[0] is True
        await tx.commit((AFTER, (CHANNEL, "after")))
    assert [p.split()[0] for p in await settled(heard, 2)] == ["warm", "after"]


async def test_not_through_pgbouncer(db: DbEnv) -> None:
    """No statement cache (pgbouncer's mode): the statement would need its Parse round trip between COMMIT and
    itself; ``can_commit_then`` says no, and the callers send the NOTIFY in the transaction, as before."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's driver path")
    e = make_engine(db.app_url, pool_size=1, max_overflow=0, pgbouncer=True)
    try:
        async with DriverTransaction(e) as tx:
            await tx.fetch_first(SET, "1111ms")
            assert not can_commit_then(tx)
            await tx.commit()
    finally:
        await e.dispose()
