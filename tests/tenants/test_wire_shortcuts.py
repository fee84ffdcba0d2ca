"""The round-trip shortcuts only where they were tested (tenants/wire.py): they write protocol messages beside
asyncpg's, so an asyncpg release they were not tested on — or one without an internal they touch — or
``GONGZHI_DB_WIRE_SHORTCUTS=0`` turns them off, and every statement takes asyncpg's own path: the same
transactions, the same answers and audit rows, one round trip more for BEGIN, COMMIT and the NOTIFY each."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tenants import wire
from tenants.begin import can_commit_then, pipelined
from tenants.session import DriverTransaction
from tests.support.harness import Api, DbEnv, World
from tests.support.listen import heard_on, settled
from tests.support.round_trips import one_connection, round_trips

SET = "SELECT set_config('lock_timeout', $1, true), now()"
GET = "SELECT current_setting('lock_timeout'), now()"
CHANNEL = "gongzhi_test_wire_shortcuts"
AFTER = "SELECT pg_notify($1, $2)"
SECRET = "wire-shortcuts-test-secret-of-32-bytes!"
PERSONS = "{ persons(first: 20) { totalCount nodes { id name phone } } }"


def test_the_pinned_asyncpg_is_one_they_were_tested_on() -> None:
    """constraints.txt's asyncpg: moving the pin without testing the shortcuts on the new release fails here."""
    assert wire.probe() is None, wire.probe()
    with open("constraints.txt", encoding="utf-8") as f:
        pinned = next(line.split("==")[1].strip() for line in f if line.startswith("asyncpg=="))
    assert wire.probe(pinned) is None and asyncpg.__version__ == pinned


@pytest.mark.parametrize("version", ["0.33.0", "0.31.0", "1.0.0", "dev"])
def test_another_release_turns_them_off(version: str) -> None:
    why = wire.probe(version)
    assert why is not None and version in why and "0.32" in why


def test_an_internal_gone_turns_them_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "_CONNECTION_SLOTS", (*wire._CONNECTION_SLOTS, "_stmt_cache_v2"))
    why = wire.probe()
    assert why is not None and "_stmt_cache_v2" in why


def test_the_setting_decides_where_the_release_allows(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(wire, "enabled", wire.enabled)  # restored after the test
    create_app(Settings(jwt_secret=SECRET, GONGZHI_DB_WIRE_SHORTCUTS="0"))
    assert wire.enabled is False
    create_app(Settings(jwt_secret=SECRET))
    assert wire.enabled is True
    monkeypatch.setattr(wire, "_PROBED", "asyncpg 9.9.9 is not a release the round-trip shortcuts were tested on")
    with caplog.at_level(logging.WARNING, logger="gongzhi"):
        create_app(Settings(jwt_secret=SECRET))
    assert wire.enabled is False
    assert any("round-trip shortcuts off: asyncpg 9.9.9" in r.getMessage() for r in caplog.records)


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    async with one_connection(db, "the round-trip shortcuts are PostgreSQL's driver path") as e:
        yield e


async def _transaction(engine: AsyncEngine, value: str, after: tuple[str, tuple[str, str]] | None = None) -> tuple:
    async with DriverTransaction(engine) as tx:
        a = await tx.fetch_first(SET, value)
        b = await tx.fetch_first(GET)
        if after is None:
            await tx.commit()
        else:
            await tx.commit(after)
        return a, b


async def test_off_every_statement_takes_asyncpgs_own_path(engine: AsyncEngine, db: DbEnv,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    await _transaction(engine, "1000ms")  # the statements prepared on the connection
    with round_trips(engine) as trips:
        on = await _transaction(engine, "1111ms")
    assert trips == [3], trips  # BEGIN with the first statement
    monkeypatch.setattr(wire, "enabled", False)
    async with DriverTransaction(engine) as tx:
        assert not pipelined(tx._adapted, GET)  # prepared on the connection: on, it would be
        await tx.fetch_first(GET)
        assert not can_commit_then(tx)
        await tx.commit()
    with round_trips(engine) as trips:
        off = await _transaction(engine, "2222ms")
    assert trips == [4], trips  # BEGIN alone
    for (a, b), value in ((on, "1111ms"), (off, "2222ms")):
        assert b[0] == value and a[1] == b[1]  # one transaction either way


async def test_off_the_notify_follows_the_commit_in_a_round_trip_of_its_own(engine: AsyncEngine, db: DbEnv,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    async with heard_on(db, CHANNEL) as got:
        await _transaction(engine, "1000ms", (AFTER, (CHANNEL, "warm")))
        monkeypatch.setattr(wire, "enabled", False)
        with round_trips(engine) as trips:
            await _transaction(engine, "2222ms", (AFTER, (CHANNEL, "off")))
        got = await settled(got, 2)
    assert got == ["warm", "off"], got
    assert trips == [5], trips  # BEGIN alone, the two statements, COMMIT, then the NOTIFY alone (on: three)


async def test_off_a_full_read_page_answers_and_audits_the_same(api: Api, fresh: World, db: DbEnv,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    a = fresh.a
    for _ in range(25):
        on = await api.gql(a, "admin", PERSONS)
    monkeypatch.setattr(wire, "enabled", False)
    with round_trips(db.engine) as trips:
        off = await api.gql(a, "admin", PERSONS)
    assert off == on and off["data"]["persons"]["nodes"][0]["phone"]
    # with them two (test_commit_with_audit); off four, as through pgbouncer: BEGIN alone, the first statement, the
    # read writing its audit entry (gongzhi.http.read_audit; the audit statement apart before 2026-12-07: five), COMMIT
    assert trips == [4], trips


async def test_ahead_leaves_with_the_next_write() -> None:
    """``wire.ahead``'s bytes are queued, not sent, until the transport's next write: then both arrive together, in
    order (one segment: the server's backend wakes once). A transport not known to write its socket's bytes as
    they are (TLS) writes them itself, at once."""
    server = socket.create_server(("127.0.0.1", 0))
    _reader, writer = await asyncio.open_connection(*server.getsockname()[:2])
    peer, _ = server.accept()
    peer.setblocking(False)
    assert {t.__name__ for t in wire._PLAIN} == {"TCPTransport", "UnixTransport", "_SelectorSocketTransport"}
    assert type(writer.transport) in wire._PLAIN
    try:
        wire.ahead(writer.transport, b"BEGIN;")
        await asyncio.sleep(0.05)
        with pytest.raises(BlockingIOError):  # held in the send queue
            peer.recv(100)
        writer.transport.write(b"SELECT")
        for _ in range(100):
            try:
                first = peer.recv(100)
                break
            except BlockingIOError:
                await asyncio.sleep(0.01)
        assert first == b"BEGIN;SELECT"  # in one read: one segment
    finally:
        writer.close()
        peer.close()
        server.close()

    class Other:  # e.g. asyncio's TLS transport: its socket carries records, not these bytes
        def __init__(self) -> None:
            self.written: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.written.append(data)

        def get_write_buffer_size(self) -> int:
            return 0

    other = Other()
    wire.ahead(other, b"BEGIN;")
    assert other.written == [b"BEGIN;"]
