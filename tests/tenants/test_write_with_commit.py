"""A fast write's statement, its COMMIT and the statement after it (the events' NOTIFY) in one round trip
(issue #21, tenants/commit.py ``write_and_commit``): the values it sends as text land as the binary path writes
them; a write refused by a constraint commits nothing, runs nothing after it and leaves the connection idle and
usable; values it does not send as text, and a connection's first such write, take the ordinary path (the
write, then COMMIT with the statement after it)."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import quoted_name

from tenants import wire
from tenants.commit import NotText, bind_write, write_and_commit, write_value
from tenants.session import DriverTransaction, count_statements
from tests.support.harness import DbEnv
from tests.support.listen import heard_on, settled
from tests.support.round_trips import one_connection, round_trips

CHANNEL = "gongzhi_test_write_commit"
SET = "SELECT set_config('lock_timeout', $1, true)"  # the transaction's first statement
TABLE = ("CREATE TEMP TABLE IF NOT EXISTS written (k text PRIMARY KEY, b bool, i int8, f float8, s text, u uuid, "
         "at timestamptz, j json, a text[])")
# A fast write's shape: the rows as data-modifying WITHs, no row returned (gongzhi.http.state ``quiet``)
WRITE = ("WITH w0 AS (INSERT INTO written (k, b, i, f, s, u, at, j, a) VALUES ($1::text, $2::bool, $3::int8, "
         "$4::float8, $5::text, $6::uuid, $7::timestamptz, $8::json, $9::text[])), "
         "w1 AS (INSERT INTO written (k) VALUES ($1::text || '+')) SELECT 1 LIMIT 0")
AFTER = "SELECT pg_notify($1, $2)"


class Name(str):
    """A str subclass, as an enum's value or SQLAlchemy's quoted_name is."""


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    async with one_connection(db, "the write with COMMIT is PostgreSQL's driver path") as e:
        async with e.connect() as conn:  # the temp table lives on the one pooled connection
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.execute(TABLE)
        yield e


@pytest.fixture
async def heard(db: DbEnv) -> AsyncIterator[list[str]]:
    """The payloads a listener on another connection hears on CHANNEL."""
    async with heard_on(db, CHANNEL) as got:
        yield got


async def _write(engine: AsyncEngine, args: tuple[Any, ...], said: str) -> bool:
    async with DriverTransaction(engine) as tx:
        await tx.fetch_first(SET, "1234ms")
        pipelined = await write_and_commit(tx, WRITE, args, (AFTER, (CHANNEL, said)))
        assert not tx.connection.is_in_transaction()
        await tx.commit()  # nothing left to send
        return pipelined


async def _rows(engine: AsyncEngine, *keys: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        rows = await driver.fetch("SELECT k, b, i, f, s, u, at, j, a FROM written WHERE k = ANY($1) ORDER BY k",
                                  list(keys))
        return [tuple(r) for r in rows]


def _values(k: str, i: int, f: float, s: str) -> tuple[Any, ...]:
    at = datetime(2026, 12, 6, 7, 8, 9, 123456, tzinfo=UTC)
    return (k, i % 2 == 0, i, f, s, uuid.UUID(int=abs(i) + 1), at, '{"n": [1, "网"]}', [])


FLOATS = [0.1, -0.0, 1e-300, 2.0 ** 0.5, 1.7976931348623157e308, 5e-324, 123456789.123456789, -2.5]
INTS = [0, -1, 2 ** 63 - 1, -(2 ** 63), 7]
STRINGS = [Name("'); DELETE FROM written; --"), quoted_name("cases", None), "网格 🙂\n\t\r 'q' \\ $1 {a,\"b\"}", "",
           "NULL"]


async def test_the_values_land_as_the_binary_path_writes_them(engine: AsyncEngine, db: DbEnv,
                                                              heard: list[str]) -> None:
    sent = [_values(f"t{n}", INTS[n % len(INTS)], f, STRINGS[n % len(STRINGS)]) for n, f in enumerate(FLOATS)]
    with round_trips(engine) as trips, count_statements() as statements:
        pipelined = [await _write(engine, args, args[0]) for args in sent]
    # the first: BEGIN alone, the setting, the write, COMMIT with the NOTIFY (preparing each: not counted) — then
    # BEGIN with the setting, and the write with COMMIT and the NOTIFY
    assert pipelined == [False] + [True] * (len(sent) - 1)
    assert trips == [4] + [2] * (len(sent) - 1), trips
    assert statements.count(WRITE) == len(sent) and AFTER not in statements  # counted as before
    async with engine.connect() as conn:  # the same values by asyncpg's binary parameters
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            for args in sent:
                await driver.execute(WRITE, "b" + args[0], *args[1:])
    got = await _rows(engine, *(a[0] for a in sent))
    binary = await _rows(engine, *("b" + a[0] for a in sent))
    assert [r[1:] for r in got] == [r[1:] for r in binary]
    assert [r[1:5] for r in got] == [a[1:5] for a in sent]  # bool, int8, float8 (the same double), text
    assert math.copysign(1, got[1][3]) == -1.0  # -0.0 kept
    assert [r[0] for r in await _rows(engine, *(a[0] + "+" for a in sent))] == [a[0] + "+" for a in sent]
    assert sorted(await settled(heard, len(sent))) == sorted(a[0] for a in sent)  # each heard once, after COMMIT


async def test_a_refused_write_commits_nothing_and_leaves_the_connection_usable(engine: AsyncEngine,
                                                                               heard: list[str]) -> None:
    for k in ("w1", "w2"):  # the NOTIFY and the write prepared
        await _write(engine, _values(k, 1, 1.5, "x"), k)
    with round_trips(engine) as trips, pytest.raises(asyncpg.UniqueViolationError):
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(SET, "1234ms")
            pid = tx.connection.get_server_pid()
            # its first row meets the key of w1's second (w1+): COMMIT and the NOTIFY are skipped
            await write_and_commit(tx, WRITE, _values("w1+", 2, 2.5, "y"), (AFTER, (CHANNEL, "refused")))
    assert trips == [3], trips  # BEGIN with the setting; the write with COMMIT and the NOTIFY; ROLLBACK
    assert [r[:2] for r in await _rows(engine, "w1+", "w1++")] == [("w1+", None)]  # w1's, and nothing of this
    with round_trips(engine) as trips:
        async with DriverTransaction(engine) as tx:
            assert tx.connection.get_server_pid() == pid  # pooled again, idle
        assert await _write(engine, _values("w4", 3, 3.5, "z"), "w4")
    assert trips == [0, 2], trips
    assert await settled(heard, 3) == ["w1", "w2", "w4"]


async def test_values_not_sent_as_text_take_the_ordinary_path(engine: AsyncEngine, heard: list[str]) -> None:
    for other in (math.inf, math.nan, 2 ** 63, -(2 ** 63) - 1, ["a"], datetime(2026, 1, 1), b"x"):
        with pytest.raises(NotText):
            write_value(other)
    assert write_value(True) == b"t" and write_value(False) == b"f" and write_value(-7) == b"-7"
    assert write_value(0.1) == b"0.1" and write_value(Name("网")) == "网".encode() and write_value(None) is None
    for other, oid in ((["a"], 1009), (datetime(2026, 1, 1), 1184), (2 ** 63, 20), (b"x", 17), (1.5, 1700)):
        with pytest.raises(NotText):  # the whole Bind refused: the ordinary path sends it
            bind_write("s", (25, oid), ("a", other))
    await _write(engine, _values("o1", 1, 1.5, "x"), "o1")  # prepared
    odd = (*_values("o2", 1, 1.5, "x")[:8], ["a", "b"])  # a non-empty array: not made here
    with round_trips(engine) as trips:
        assert not await _write(engine, odd, "o2")
        assert await _write(engine, _values("o3", 1, math.inf, "x"), "o3")  # a float8's 8 bytes, infinite or not
    assert trips == [3, 2], trips  # the write, then COMMIT with the NOTIFY; then all in one again
    assert [(r[3], r[8]) for r in await _rows(engine, "o2", "o3")] == [(1.5, ["a", "b"]), (math.inf, [])]
    assert await settled(heard, 3) == ["o1", "o2", "o3"]


async def test_off_the_write_commit_and_notify_go_one_after_another(engine: AsyncEngine, heard: list[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With the round-trip shortcuts off (tenants.wire): asyncpg's own path — BEGIN alone, the setting, the write,
    COMMIT, the NOTIFY alone — the same rows and the same NOTIFY after the commit."""
    await _write(engine, _values("f1", 1, 1.5, "x"), "f1")  # prepared
    monkeypatch.setattr(wire, "enabled", False)
    with round_trips(engine) as trips:
        assert not await _write(engine, _values("f2", 2, 2.5, "y"), "f2")
    assert trips == [5], trips
    assert [r[:5] for r in await _rows(engine, "f2")] == [("f2", True, 2, 2.5, "y")]
    assert await settled(heard, 2) == ["f1", "f2"]


async def test_no_answer_read_leaves_the_connection_out_of_the_pool(engine: AsyncEngine) -> None:
    """The statement after COMMIT refused by asyncpg itself (its parameter does not encode), after the write and
    COMMIT went: nothing tells whether COMMIT ran, so the connection is not pooled again; the next one works."""
    await _write(engine, _values("n1", 1, 1.5, "x"), "n1")  # prepared
    with pytest.raises(asyncpg.DataError, match="invalid input for query argument"):
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(SET, "1234ms")
            pid = tx.connection.get_server_pid()
            await write_and_commit(tx, WRITE, _values("n2", 2, 2.5, "y"), (AFTER, (CHANNEL, 42)))
    async with DriverTransaction(engine) as tx:
        assert tx.connection.get_server_pid() != pid
        assert (await tx.fetch_first("SELECT 1"))[0] == 1
        await tx.commit()
