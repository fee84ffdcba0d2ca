"""A listener on another connection: the payloads PostgreSQL's NOTIFY delivers on a channel (tests of the events
sent with or after COMMIT, tenants.begin / tenants.commit)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from tests.support.harness import DbEnv


@asynccontextmanager
async def heard_on(db: DbEnv, channel: str) -> AsyncIterator[list[str]]:
    """The payloads heard on ``channel`` while the block runs, in order; on SQLite the test is skipped."""
    if not db.is_pg:
        pytest.skip("NOTIFY is PostgreSQL's")
    got: list[str] = []
    conn = await asyncpg.connect("postgresql://" + db.app_url.split("://", 1)[1])
    await conn.add_listener(channel, lambda *a: got.append(a[3]))
    try:
        yield got
    finally:
        await conn.close()


async def settled(heard: list[str], n: int) -> list[str]:
    """The payloads once ``n`` have arrived (or after 2 s), and 50 ms later: nothing more came."""
    for _ in range(100):
        if len(heard) >= n:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # and nothing more
    return list(heard)
