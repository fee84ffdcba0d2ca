"""bench.mix's ``analyze_stale`` (issue #21): this machine kind's PostgreSQL runs with autovacuum off, so
bench.mix ANALYZEs, before each query's run, the tables autovacuum would (more changes since the last
ANALYZE than 50 + 10 % of the rows). A stale plan once put personalDataReport at 0.33× node."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from bench import mix
from tests.support.harness import drop_database_later, pg_admin, pg_admin_url


@pytest.fixture
async def scratch(backend: str, monkeypatch: pytest.MonkeyPatch) -> str:
    if backend != "postgres":
        pytest.skip("ANALYZE and the statistics views are PostgreSQL's")
    name = f"gongzhi_t_analyze_{uuid.uuid4().hex[:10]}"
    await pg_admin([f"CREATE DATABASE {name}"])
    monkeypatch.setattr(mix, "dsn_for", lambda db: pg_admin_url(db))
    return name


async def _changes(db: str, sql: list[str]) -> None:
    conn = await asyncpg.connect(pg_admin_url(db))
    try:
        for stmt in sql:
            await conn.execute(stmt)
        # The backend's counters reach the shared statistics when it next goes idle: force that, then idle once.
        await conn.execute("SELECT pg_stat_force_next_flush()")
        await conn.execute("SELECT 1")
    finally:
        await conn.close()


async def test_the_tables_autovacuum_would_analyze_and_only_those(scratch: str) -> None:
    try:
        await _changes(scratch, [
            "CREATE TABLE big (id int)", "CREATE TABLE small (id int)",
            "INSERT INTO big SELECT generate_series(1, 500)",
            "INSERT INTO small SELECT generate_series(1, 10)",  # under autovacuum's threshold of 50
        ])
        assert await mix.analyze_stale(scratch) == ["public.big"]
        conn = await asyncpg.connect(pg_admin_url(scratch))
        try:
            analyzed = await conn.fetchval("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                           "WHERE relname = 'big'")
            estimate = await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'big'")
        finally:
            await conn.close()
        assert analyzed and estimate == 500
        assert await mix.analyze_stale(scratch) == []  # analyzed: nothing stale until the next changes

        await _changes(scratch, ["INSERT INTO big SELECT generate_series(1, 60)"])  # < 50 + 10 % of 500
        assert await mix.analyze_stale(scratch) == []
        await _changes(scratch, ["INSERT INTO big SELECT generate_series(1, 100)"])  # 160 > 100
        assert await mix.analyze_stale(scratch) == ["public.big"]
    finally:
        drop_database_later(scratch)
