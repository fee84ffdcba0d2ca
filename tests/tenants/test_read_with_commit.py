"""A compiled read and its COMMIT in one round trip (issue #21, tenants/commit.py ``fetch_and_commit`` with
``TEXT_CARRIER``, compiled/plans.py ``run_compiled``): the read runs in the transaction its first statement
began (its transaction-local settings seen), its parameters sent as the statement's types read them, its text
decoded by the carrier's column; the transaction is over when it returns. A read that fails leaves nothing
committed and the connection idle and usable; parameters not made here take the ordinary path (the read, then
COMMIT)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenants.commit import TEXT_CARRIER, fetch_and_commit
from tenants.session import DriverTransaction, count_statements
from tests.support.harness import DbEnv
from tests.support.round_trips import one_connection, round_trips

SET = "SELECT set_config('lock_timeout', $1, true)"
READ = ("SELECT CAST(json_build_object('id', $1::uuid, 'name', $2::text, 'n', 10 / $3::int8, "
        "'lock_timeout', current_setting('lock_timeout'), 'xact', txid_current_if_assigned()) AS TEXT)")


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    """One pooled connection straight to PostgreSQL (statement cache on)."""
    async with one_connection(db, "a read with its COMMIT is PostgreSQL's driver path") as e:
        yield e


async def _read(engine: AsyncEngine, setting: str, *args: object) -> tuple[str, int]:
    async with DriverTransaction(engine) as tx:
        await tx.fetch_first(SET, setting)
        row = await fetch_and_commit(tx, READ, args, TEXT_CARRIER, binary=True)
        assert not tx.connection.is_in_transaction()  # committed with the read
        await tx.commit()  # nothing left to send
        return row[0], tx.connection.get_server_pid()


async def test_a_read_goes_with_its_commit(engine: AsyncEngine) -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    names = ["网格 🙂 'quoted' $1 --", "", "\\", "null"]
    seen = []
    with round_trips(engine) as trips, count_statements() as statements:
        for i, (id_, name) in enumerate(zip(ids, names, strict=True)):
            seen.append(await _read(engine, f"{1001 + i}ms", id_, name, 5))
    # BEGIN alone, the setting, the read, COMMIT, the carrier prepared; then BEGIN with the setting, the read + COMMIT
    assert trips == [5, 2, 2, 2], trips
    assert statements.count(READ) == 4 and TEXT_CARRIER not in statements  # counted as any statement
    for (text, _pid), id_, name, i in zip(seen, ids, names, range(4), strict=True):
        assert isinstance(text, str)
        assert text == (f'{{"id" : "{id_}", "name" : {_json(name)}, "n" : 2, "lock_timeout" : "{1001 + i}ms", '
                        '"xact" : null}')  # the first statement's setting: one transaction, which wrote nothing
    assert len({pid for _t, pid in seen}) == 1
    async with DriverTransaction(engine) as tx:  # committed: the setting ended with it
        assert (await tx.fetch_first("SELECT current_setting('lock_timeout')"))[0] not in {"1001ms", "1004ms"}


def _json(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


async def test_a_read_that_fails_commits_nothing_and_leaves_the_connection_usable(engine: AsyncEngine) -> None:
    _text, pid = await _read(engine, "1111ms", uuid.uuid4(), "a", 1)
    await _read(engine, "1111ms", uuid.uuid4(), "a", 1)  # the carrier prepared: the next goes in one round trip
    with round_trips(engine) as trips, pytest.raises(asyncpg.DivisionByZeroError):
        await _read(engine, "2222ms", uuid.uuid4(), "b", 0)
    assert trips == [3], trips  # BEGIN with the setting, the read with COMMIT (skipped after the error), ROLLBACK
    text, again = await _read(engine, "3333ms", uuid.uuid4(), "c", 2)
    assert again == pid and '"lock_timeout" : "3333ms"' in text and '"n" : 5' in text


async def test_parameters_not_made_here_take_the_ordinary_path(engine: AsyncEngine) -> None:
    sql = "SELECT CAST(json_build_object('n', $1::numeric, 'lock_timeout', current_setting('lock_timeout')) AS TEXT)"
    for _ in range(2):  # prepared on the connection, the carrier too
        await _read(engine, "1111ms", uuid.uuid4(), "a", 1)
    with round_trips(engine) as trips:
        for value in (1, 2):  # an int for a numeric: asyncpg's codec, not bind_write's
            async with DriverTransaction(engine) as tx:
                await tx.fetch_first(SET, "4444ms")
                row = await fetch_and_commit(tx, sql, (value,), TEXT_CARRIER, binary=True)
                assert not tx.connection.is_in_transaction()
                assert row[0] == f'{{"n" : {value}, "lock_timeout" : "4444ms"}}'
    assert trips == [3, 3], trips  # BEGIN with the setting, the read, COMMIT (preparing the read is not counted)


async def test_a_date_goes_with_the_commit_as_asyncpgs_codec_sends_it(engine: AsyncEngine) -> None:
    """A date parameter (the visit figures' days, compiled/care.py) in binary as asyncpg's codec sends it: the read
    and COMMIT in one round trip, the day read as asyncpg's own codec sends it; the calendar's two ends, which
    asyncpg sends as ±infinity, take the ordinary path (the read, then COMMIT) with the same answer."""
    sql = ("SELECT CAST(json_build_object('d', $1::date, 'next', $1::date + 1, 'lock_timeout', "
           "current_setting('lock_timeout')) AS TEXT)")
    for _ in range(2):  # prepared on the connection, the carrier too
        await _read(engine, "1111ms", uuid.uuid4(), "a", 1)
    days = (date(2000, 1, 1), date(1999, 12, 31), date(1971, 1, 1), date(2026, 12, 7), date(9000, 12, 31),
            date(1, 1, 2), date(9999, 12, 30), date.min, date.max)
    expected = []
    for d in days:  # asyncpg's own codec: the oracle
        async with DriverTransaction(engine) as tx:
            await tx.fetch_first(SET, "5555ms")
            expected.append((await tx.fetch_first(sql, d))[0])
    assert '"d" : "infinity"' in expected[-1] and '"d" : "2026-12-07", "next" : "2026-12-08"' in expected[3]
    with round_trips(engine) as trips:
        for d, want in zip(days, expected, strict=True):
            async with DriverTransaction(engine) as tx:
                await tx.fetch_first(SET, "5555ms")
                row = await fetch_and_commit(tx, sql, (d,), TEXT_CARRIER, binary=True)
                assert not tx.connection.is_in_transaction()
                assert row[0] == want, (d, row[0], want)
    assert trips == [2] * (len(days) - 2) + [3, 3], trips
