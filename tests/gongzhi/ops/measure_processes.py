"""Measure one vs two server processes sharing one PostgreSQL database (docs/scaling.md, issue #10).

    .venv/bin/python -m tests.gongzhi.ops.measure_processes [--seconds 10] [--concurrency 8]

Builds a throw-away database (the test harness's roles, GONGZHI_TEST_PG_ADMIN_URL), two tenants
of the test world, then for 1 and for 2 `uvicorn` processes fires the same read query
(a grid leader's households with persons, masked personal data) from `concurrency` clients spread
round-robin over the processes for `seconds`, and prints requests/s and latency percentiles. The
client runs on the same machine and takes CPU too: the numbers are for comparison, not capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from gongzhi.settings import Settings
from tests.support import harness
from tests.support.harness import JWT_SECRET, DbEnv, new_slug
from tests.support.servers import Server
from tests.support.world import build_tenant

QUERY = """query Households { households(first: 20) { totalCount nodes { room building { name }
  persons { name phone idCardNo } } } }"""


async def _load(servers: list[Server], tokens: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        server = servers[n % len(servers)]
        token = tokens[n % len(tokens)]
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as c:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = await c.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"})
                if r.status_code != 200 or "errors" in r.json():
                    errors += 1
                latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"processes": len(servers), "requests": len(latencies), "errors": errors,
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1)}


async def main(seconds: float, concurrency: int) -> None:
    import tempfile
    import uuid

    from gongzhi.http.auth import issue_dev_token
    from gongzhi.migrate import upgrade
    from tenants.session import make_engine, make_sessionmaker

    tmp = Path(tempfile.mkdtemp(prefix="gongzhi-measure-"))
    name = f"gongzhi_measure_{uuid.uuid4().hex[:6]}"
    await harness.pg_admin([*harness.TEST_ROLES, f"CREATE DATABASE {name} OWNER {harness.OWNER_ROLE}"])
    hostport, _ = harness.pg_parts()
    owner_url = f"postgresql+asyncpg://{harness.OWNER_ROLE}@{hostport}/{name}"
    app_url = f"postgresql+asyncpg://{harness.APP_ROLE}@{hostport}/{name}"
    try:
        await asyncio.to_thread(upgrade, owner_url, harness.APP_ROLE)
        engine = make_engine(app_url, pool_size=2)
        worlds = [await build_tenant(make_sessionmaker(engine), new_slug("m")) for _ in range(2)]
        await engine.dispose()
        settings = Settings(jwt_secret=JWT_SECRET)
        tokens = [issue_dev_token(settings, user_id=w.users["grid1"], username=w.username("grid1"),
                                  tenants=[w.slug]) for w in worlds]
        env = DbEnv("postgres", app_url, owner_url, None, None, None, app_url)  # type: ignore[arg-type]
        os.environ["GONGZHI_RATE_LIMIT_PER_MINUTE"] = "0"
        os.environ["GONGZHI_LOG_LEVEL"] = "warning"
        for n in (1, 2, 1, 2):  # twice each, alternating, against drift in the machine's other load
            servers = [Server(env, tmp) for _ in range(n)]
            try:
                for s in servers:
                    await s.ready()
                await _load(servers, tokens, 2, concurrency)  # warm-up: pools, policy caches
                print(await _load(servers, tokens, seconds, concurrency), flush=True)
            finally:
                for s in servers:
                    s.stop()
    finally:
        await harness.pg_admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
