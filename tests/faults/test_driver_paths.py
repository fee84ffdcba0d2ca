"""The driver paths' own disconnect handling (issue #26), one connection at a time: a backend killed
before a DriverTransaction's first statement (BEGIN goes with it: tenants/begin.py, issue #21), and after it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tenants.begin import pipelined
from tenants.faults import is_disconnect
from tenants.session import DriverTransaction, make_engine
from tests.support.faults import FaultDb


async def test_the_first_statement_after_begin_is_sent_again_on_a_fresh_connection(fdb: FaultDb) -> None:
    engine = make_engine(fdb.app_url, pool_size=2, max_overflow=0)
    try:
        async with DriverTransaction(engine) as tx:
            first_pid = tx.connection.get_server_pid()
            await fdb.terminate(first_pid)  # the backend is gone before BEGIN and the statement are sent
            await asyncio.sleep(0.1)
            row = await tx.fetch_first("SELECT pg_backend_pid(), now() = statement_timestamp()")
            assert row[0] != first_pid  # a new backend …
            assert row[1] is False  # … inside a transaction (BEGIN sent again): now() is its start
            await tx.commit()
    finally:
        await engine.dispose()


async def test_begin_sent_with_the_first_statement_on_a_dead_connection_is_sent_again(
        fdb: FaultDb, caplog: pytest.LogCaptureFixture) -> None:
    """The statement prepared on the connection, so BEGIN goes with it (one round trip); the backend ended
    while the event loop has not read its goodbye (reading paused): both fail as on a dead connection, and
    both go again on a fresh one — in a transaction."""
    engine = make_engine(fdb.app_url, pool_size=1, max_overflow=0)
    sql = "SELECT pg_backend_pid(), now() = statement_timestamp(), set_config('lock_timeout', '1111ms', true)"
    try:
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(sql)
        async with DriverTransaction(engine) as tx:
            first_pid = tx.connection.get_server_pid()
            tx.connection._transport.pause_reading()
            await fdb.terminate(first_pid)
            tx.connection._transport.resume_reading()  # read from the next turn of the event loop on
            assert pipelined(tx._adapted, sql)
            with caplog.at_level(logging.WARNING, logger="gongzhi.db"):
                row = await tx.fetch_first(sql)
            assert row[0] != first_pid and row[1] is False  # a new backend, in a transaction (BEGIN sent again)
            assert (await tx.fetch_first("SELECT current_setting('lock_timeout')"))[0] == "1111ms"
            await tx.commit()
        retried = [r.getMessage() for r in caplog.records if "sent again on a fresh connection" in r.getMessage()]
        assert len(retried) == 1 and "failed BEGIN (sent with the transaction's first statement)" in retried[0], retried
    finally:
        await engine.dispose()


async def test_a_later_statement_is_not_sent_again_and_its_connection_never_pooled(fdb: FaultDb) -> None:
    engine = make_engine(fdb.app_url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(Exception) as failed:
            async with DriverTransaction(engine) as tx:
                pid = await tx.fetch_first("SELECT pg_backend_pid()")
                await fdb.terminate(pid[0])
                await tx.fetch_first("SELECT 1")
        assert is_disconnect(failed.value)
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # The pool's one connection: a new one, not the dead one.
        async with DriverTransaction(engine) as tx:
            assert not tx.connection.is_closed()
            assert (await tx.fetch_first("SELECT pg_backend_pid()"))[0] != pid[0]
    finally:
        await engine.dispose()
