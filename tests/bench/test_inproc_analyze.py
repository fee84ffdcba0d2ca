"""bench.inproc ANALYZEs first what autovacuum would (issue #21), as bench.mix does before each query's run:
on a copy of a freshly built mix database, whose audit log was analyzed empty, the in-process figures of the
data subject's report were a plan bench.mix never runs (2.7 ms of PostgreSQL per report against 1.1)."""

from __future__ import annotations

import types
import uuid

import asyncpg
import pytest

from bench import inproc, mix
from tests.support.harness import drop_database_later, pg_admin, pg_admin_url


async def test_the_bench_database_is_analyzed_as_autovacuum_would(backend: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "postgres":
        pytest.skip("ANALYZE and the statistics views are PostgreSQL's")
    name = f"gongzhi_t_inproc_analyze_{uuid.uuid4().hex[:10]}"
    await pg_admin([f"CREATE DATABASE {name}"])
    monkeypatch.setattr(mix, "dsn_for", lambda db: pg_admin_url(db))
    try:
        conn = await asyncpg.connect(pg_admin_url(name))
        try:
            await conn.execute("CREATE TABLE log (id int)")
            await conn.execute("ANALYZE log")  # analyzed empty, as a freshly built database's audit log
            await conn.execute("INSERT INTO log SELECT generate_series(1, 400)")
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT 1")
        finally:
            await conn.close()
        bench = types.SimpleNamespace(DB=name, analyze_stale=mix.analyze_stale)
        assert await inproc.fresh_statistics(bench) == ["public.log"]
        conn = await asyncpg.connect(pg_admin_url(name))
        try:
            assert await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'log'") == 400
        finally:
            await conn.close()
        assert await inproc.fresh_statistics(bench) == []  # nothing stale until the next changes
    finally:
        drop_database_later(name)
