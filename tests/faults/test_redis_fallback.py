"""Redis is a helper, never a single point of failure (issue #26): with the rate limiter's Redis
killed, requests still succeed and are still limited — in-process — with one log line per outage
and the gongzhi_redis_* metrics; once Redis answers again (restarted on the same port) the shared
count is used again. Each test runs a Redis of its own; the machine's is never touched."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis
from prometheus_client import REGISTRY

from gongzhi.http.app import create_app
from gongzhi.http.ratelimit import FallbackCounter, RateLimiter, RedisCounter
from gongzhi.settings import Settings
from tests.support.harness import JWT_SECRET, Api, DbEnv, World
from tests.support.redis_proc import RedisProcess

NOW = 1_800_000_030.0  # mid-minute: no window flips during a test
# A killed Redis refuses at once, so a generous timeout costs these tests nothing; the default
# (0.3 s) was once exceeded by the first connection on a loaded CI machine, read as an outage.
TIMEOUT_S = 5.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    r = RedisProcess(tmp_path)
    r.start()
    try:
        yield r
    finally:
        r.stop()


async def _stored(r: RedisProcess, prefix: str) -> dict[str, int]:
    client = redis.from_url(r.url)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}*")]
        return {k[len(prefix):]: int(await client.get(k) or 0) for k in keys}
    finally:
        await client.aclose()


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


def _records(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "fields", {}).get("event") == event]


async def test_limiter_falls_back_in_process_and_returns_to_redis(own_redis: RedisProcess,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gongzhi.ratelimit")
    prefix = f"test:{uuid.uuid4().hex}:"
    mono = [100.0]
    counter = FallbackCounter(RedisCounter(own_redis.url, prefix, TIMEOUT_S), clock=lambda: mono[0],
                              timeout=2 * TIMEOUT_S)
    limiter = RateLimiter(3, counter, clock=lambda: NOW)
    window = int(NOW // 60)
    try:
        assert [(await limiter.check("t", "u")).allowed for _ in range(2)] == [True, True]
        assert await _stored(own_redis, prefix) == {f"{window}:t:u": 2}
        assert counter.up and _metric("gongzhi_redis_up") == 1

        own_redis.stop()
        fallback_before = _metric("gongzhi_redis_fallback_total")
        outages_before = _metric("gongzhi_redis_outages_total")
        # Every check answers (no exception, no hang) and the in-process count limits: it starts
        # afresh, so three more pass and the fourth is refused.
        decisions = [await asyncio.wait_for(limiter.check("t", "u"), 5) for _ in range(5)]
        assert [d.allowed for d in decisions] == [True, True, True, False, False]
        assert not counter.up and _metric("gongzhi_redis_up") == 0
        assert _metric("gongzhi_redis_fallback_total") - fallback_before == 5
        assert _metric("gongzhi_redis_outages_total") - outages_before == 1
        # Probes after each back-off fail too: still one line for the whole outage.
        for _ in range(3):
            mono[0] += 60
            assert not (await asyncio.wait_for(limiter.check("t", "u"), 5)).allowed
        assert len(_records(caplog, "redis_down")) == 1
        assert _records(caplog, "redis_up") == []

        own_redis.start()  # same port, empty (nothing saved)
        assert not (await limiter.check("t", "u")).allowed  # within the back-off: still in-process
        assert await _stored(own_redis, prefix) == {}
        mono[0] += 60  # past the back-off: the next check asks Redis and it answers
        assert (await limiter.check("t", "u")).allowed
        assert counter.up and _metric("gongzhi_redis_up") == 1
        assert await _stored(own_redis, prefix) == {f"{window}:t:u": 1}
        assert (await limiter.check("t", "u")).count == 2
        assert await _stored(own_redis, prefix) == {f"{window}:t:u": 2}
        assert len(_records(caplog, "redis_up")) == 1 and len(_records(caplog, "redis_down")) == 1
    finally:
        await counter.close()


async def test_only_one_request_probes_a_dead_redis() -> None:
    """While Redis is away, requests do not each wait for its timeout: between probes they are
    counted in-process without asking it."""

    class Dead:
        calls = 0

        async def hit(self, key: str, window: int) -> int:
            Dead.calls += 1
            raise ConnectionError("refused")

        async def close(self) -> None:
            return None

    mono = [0.0]
    counter = FallbackCounter(Dead(), clock=lambda: mono[0], retry_initial=1.0, retry_max=4.0)
    assert [await counter.hit("k", 1) for _ in range(10)] == list(range(1, 11))
    assert Dead.calls == 1
    mono[0] += 1.0
    await asyncio.gather(*(counter.hit("k", 1) for _ in range(10)))
    assert Dead.calls == 2  # one probe after the back-off; the back-off doubles (2 s)
    mono[0] += 1.5
    await counter.hit("k", 1)
    assert Dead.calls == 2
    mono[0] += 0.5
    await counter.hit("k", 1)
    assert Dead.calls == 3


@pytest.fixture
async def app_with_own_redis(db: DbEnv, own_redis: RedisProcess) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                                      FallbackCounter, str]]:
    prefix = f"test:{uuid.uuid4().hex}:"
    app = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, rate_limit_per_minute=3,
                              redis_url=own_redis.url, redis_prefix=prefix,
                              redis_timeout_ms=int(TIMEOUT_S * 1000)), engine=db.engine)
    state = app.state.gongzhi
    state.limiter.clock = lambda: NOW
    counter = state.limiter.counter
    assert isinstance(counter, FallbackCounter) and counter.timeout == 2 * TIMEOUT_S  # GONGZHI_REDIS_TIMEOUT_MS
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c, counter, prefix
    await counter.close()


async def test_api_stays_up_and_limited_while_redis_is_down(
        app_with_own_redis: tuple[httpx.AsyncClient, FallbackCounter, str], own_redis: RedisProcess,
        api: Api, world: World) -> None:
    c, counter, prefix = app_with_own_redis
    mono = [0.0]
    counter.clock = lambda: mono[0]
    token = api.token(world.a, "grid1")

    async def me() -> int:
        r = await c.post("/graphql", json={"query": "{ me { username } }"},
                         headers={"authorization": f"Bearer {token}"})
        if r.status_code == 200:
            assert r.json()["data"]["me"]["username"] == world.a.username("grid1")
        else:
            assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        return r.status_code

    assert [await me() for _ in range(2)] == [200, 200]
    assert list((await _stored(own_redis, prefix)).values()) == [2]

    own_redis.stop()
    assert [await me() for _ in range(4)] == [200, 200, 200, 429]  # in-process: a fresh count of 3
    assert (await c.get("/readyz")).status_code == 200  # Redis is optional: still ready
    assert _metric("gongzhi_redis_up") == 0

    own_redis.start()
    mono[0] += 60
    assert await me() == 200  # Redis again: its (empty) count
    assert counter.up
    assert list((await _stored(own_redis, prefix)).values()) == [1]
    assert [await me() for _ in range(3)] == [200, 200, 429]
    assert list((await _stored(own_redis, prefix)).values()) == [4]
