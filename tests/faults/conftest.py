"""The fault tests' database: one of their own per module (its backends are terminated, its connections
refused and its tables locked), PostgreSQL only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.faults import FaultDb, fault_database


@pytest.fixture(scope="module")
async def fdb(backend: str) -> AsyncIterator[FaultDb]:
    if backend != "postgres":
        pytest.skip("fault injection: PostgreSQL's connections, backends and locks (SQLite has none of them)")
    async with fault_database() as f:
        yield f
