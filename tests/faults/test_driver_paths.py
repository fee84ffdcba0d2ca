"""The driver paths' own disconnect handling (issue #26), one connection at a time: a backend killed
between BEGIN and a DriverTransaction's first statement, and after it."""

from __future__ import annotations

import asyncio

import pytest

from tenants.faults import is_disconnect
from tenants.session import DriverTransaction, make_engine
from tests.support.faults import FaultDb


async def test_the_first_statement_after_begin_is_sent_again_on_a_fresh_connection(fdb: FaultDb) -> None:
    engine = make_engine(fdb.app_url, pool_size=2, max_overflow=0)
    try:
        async with DriverTransaction(engine) as tx:
            first_pid = tx.connection.get_server_pid()
            await fdb.terminate(first_pid)  # BEGIN was answered; the backend is gone before the statement
            await asyncio.sleep(0.1)
            row = await tx.fetch_first("SELECT pg_backend_pid(), now() = statement_timestamp()")
            assert row[0] != first_pid  # a new backend …
            assert row[1] is False  # … inside a transaction (BEGIN sent again): now() is its start
            await tx.commit()
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
