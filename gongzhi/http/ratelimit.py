"""Rate limits per user (and per partner client) and tenant: a fixed one-minute window.

With ``GONGZHI_REDIS_URL`` the counters live in Redis, so every server process shares them;
without it each process counts for itself (fine for one process, documented for more)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int


class Counter(Protocol):
    async def hit(self, key: str, window: int) -> int: ...

    async def close(self) -> None: ...


class LocalCounter:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window = -1

    async def hit(self, key: str, window: int) -> int:
        if window != self._window:  # a new minute: forget the last one
            self._counts.clear()
            self._window = window
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    async def close(self) -> None:
        return None


class RedisCounter:
    def __init__(self, url: str, prefix: str = "gongzhi:rl:") -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)
        self._prefix = prefix

    async def hit(self, key: str, window: int) -> int:
        full = f"{self._prefix}{window}:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, 120)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, per_minute: int, counter: Counter, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.counter = counter
        self.clock = clock

    async def check(self, tenant: str, subject: str) -> Decision:
        if self.per_minute <= 0:
            return Decision(True, 0, 0, 0)
        now = self.clock()
        window = int(now // 60)
        count = await self.counter.hit(f"{tenant}:{subject}", window)
        retry = max(1, int((window + 1) * 60 - now))
        return Decision(count <= self.per_minute, count, self.per_minute, retry)


def make_limiter(per_minute: int, redis_url: str | None, prefix: str = "gongzhi:rl:") -> RateLimiter:
    counter: Counter = RedisCounter(redis_url, prefix) if redis_url else LocalCounter()
    return RateLimiter(per_minute, counter)
