"""Rate limits per user and tenant: refused with 429 and Retry-After once the minute's budget is
spent — before any database work; shared by every process through Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from gongzhi.http.app import create_app
from gongzhi.http.ratelimit import LocalCounter, RateLimiter
from gongzhi.settings import Settings
from tenants.session import count_statements
from tests.support.harness import JWT_SECRET, REDIS_URL, Api, DbEnv, World


@asynccontextmanager
async def _client(db: DbEnv, **kw: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, **kw), engine=db.engine)  # type: ignore[arg-type]
    app.state.gongzhi.limiter.clock = lambda: 1_800_000_030.0  # mid-minute, fixed: no window flips mid-test
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
    await app.state.gongzhi.limiter.counter.close()


async def _me(c: httpx.AsyncClient, token: str) -> httpx.Response:
    return await c.post("/graphql", json={"query": "{ me { username } }"},
                        headers={"authorization": f"Bearer {token}"})


async def test_limit_per_user_in_process(db: DbEnv, api: Api, world: World) -> None:
    async with _client(db, rate_limit_per_minute=3) as c:
        grid1, grid2 = api.token(world.a, "grid1"), api.token(world.a, "grid2")
        assert [(await _me(c, grid1)).status_code for _ in range(3)] == [200, 200, 200]
        with count_statements() as stmts:
            refused = await _me(c, grid1)
        assert refused.status_code == 429 and stmts == []
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await _me(c, grid2)).status_code == 200  # another user has their own budget


async def test_window_resets_each_minute() -> None:
    now = [600.0]
    limiter = RateLimiter(2, LocalCounter(), clock=lambda: now[0])
    assert [(await limiter.check("t", "u")).allowed for _ in range(3)] == [True, True, False]
    now[0] += 60
    assert (await limiter.check("t", "u")).allowed


async def test_two_servers_share_the_budget_through_redis(db: DbEnv, api: Api, world: World) -> None:
    try:
        import redis.asyncio as redis

        probe = redis.from_url(REDIS_URL)
        await probe.ping()
        await probe.aclose()
    except Exception as e:  # Redis is a service of this machine kind; say so plainly when absent
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {e}")
    prefix = f"test:{uuid.uuid4().hex}:"
    token = api.token(world.a, "grid1")
    async with _client(db, rate_limit_per_minute=4, redis_url=REDIS_URL, redis_prefix=prefix) as one, \
            _client(db, rate_limit_per_minute=4, redis_url=REDIS_URL, redis_prefix=prefix) as two:
        codes = [(await _me(c, token)).status_code for c in (one, two, one, two, one, two)]
    assert codes == [200, 200, 200, 200, 429, 429]


async def test_routes_outside_graphql_share_the_users_budget(db: DbEnv, api: Api, world: World) -> None:
    """The pipeline's authenticate() counts every authenticated route against the same per-user
    budget: GraphQL, then the ledger template, then refused with 429, Retry-After and the one body."""
    async with _client(db, rate_limit_per_minute=2) as c:
        token = api.token(world.a, "admin")
        assert (await _me(c, token)).status_code == 200
        ok = await c.get("/ledgers/register-template.xlsx", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        with count_statements() as stmts:
            refused = await c.get("/uploads/QXR0YWNobWVudDox", headers={"authorization": f"Bearer {token}",
                                                                        "x-request-id": "limit-1"})
        assert refused.status_code == 429 and stmts == []
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "requestId": "limit-1"}
        assert (await _me(c, token)).status_code == 429
