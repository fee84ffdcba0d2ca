"""Rate limits per user (and per partner client) and tenant: a fixed one-minute window.

With ``GONGZHI_REDIS_URL`` the counters live in Redis, so every server process shares them;
without it each process counts for itself (fine for one process, documented for more).

Redis is a helper, never a single point of failure (issue #26): it is asked with short socket
timeouts and no client-side retries; when it does not answer, the process counts in its own
``LocalCounter`` (each process then holds its users to the limit on its own), logs the outage once,
and asks Redis again after a short back-off — the first answer switches back to the shared count."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge

log = logging.getLogger("gongzhi.ratelimit")

REDIS_FALLBACK = PromCounter("gongzhi_redis_fallback", "rate-limit checks counted in-process because Redis failed")
REDIS_OUTAGES = PromCounter("gongzhi_redis_outages", "times this process found Redis unreachable after it answered")
# livemin: 0 as soon as one live worker counts in-process.
REDIS_UP = Gauge("gongzhi_redis_up", "1 while Redis answers the rate limiter, 0 while it is bypassed",
                 multiprocess_mode="livemin")

# Short enough that a request waiting for a dead Redis stays fast, long enough for a loaded one.
REDIS_TIMEOUT = 0.3


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
    def __init__(self, url: str, prefix: str = "gongzhi:rl:", timeout: float = REDIS_TIMEOUT) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # redis-py retries a failed command 10 times with back-off by default: against a dead Redis
        # that held every request for seconds. One try, short timeouts; FallbackCounter decides.
        self._redis: Any = redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                          retry=Retry(NoBackoff(), 0))
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


def _redis_failures() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError, asyncio.TimeoutError)


class FallbackCounter:
    """``primary`` (Redis) while it answers; ``fallback`` (in-process) while it does not.

    One request at a time probes Redis once the back-off has passed (the others keep counting
    locally), so a dead Redis costs one timeout per back-off, not one per request. The back-off
    doubles from ``retry_initial`` up to ``retry_max`` seconds while Redis stays away."""

    def __init__(self, primary: Counter, fallback: Counter | None = None, *, retry_initial: float = 1.0,
                 retry_max: float = 15.0, clock: Callable[[], float] = time.monotonic,
                 timeout: float = 2 * REDIS_TIMEOUT) -> None:
        self.primary = primary
        self.fallback = fallback or LocalCounter()
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.clock = clock
        self.timeout = timeout  # a guard over the socket timeouts (a pipeline makes two round trips)
        self.up = True
        self._retry_at = 0.0
        self._backoff = retry_initial
        self._probing = False
        self._failures = _redis_failures()
        self._down_since = 0.0
        REDIS_UP.set(1)

    async def hit(self, key: str, window: int) -> int:
        if not self.up and (self._probing or self.clock() < self._retry_at):
            REDIS_FALLBACK.inc()
            return await self.fallback.hit(key, window)
        probing = not self.up
        self._probing = probing
        try:
            count = await asyncio.wait_for(self.primary.hit(key, window), self.timeout)
        except self._failures as e:
            self._failed(e, probing)
            REDIS_FALLBACK.inc()
            return await self.fallback.hit(key, window)
        finally:
            if probing:
                self._probing = False
        if not self.up:
            self._recovered()
        return count

    def _failed(self, e: BaseException, probing: bool) -> None:
        now = self.clock()
        if self.up:  # one line per outage, not per request
            self.up = False
            self._down_since = now
            self._backoff = self.retry_initial
            REDIS_UP.set(0)
            REDIS_OUTAGES.inc()
            log.warning("redis unreachable: rate limits counted in-process until it answers",
                        extra={"fields": {"event": "redis_down", "error": type(e).__name__,
                                          "retry_in_s": self._backoff}})
        elif probing:
            self._backoff = min(self._backoff * 2, self.retry_max)
        else:
            return  # a request that asked before the outage was noticed: the back-off stands
        self._retry_at = now + self._backoff

    def _recovered(self) -> None:
        self.up = True
        REDIS_UP.set(1)
        log.info("redis answers again: rate limits shared through it",
                    extra={"fields": {"event": "redis_up", "down_s": round(self.clock() - self._down_since, 3)}})

    async def close(self) -> None:
        await self.primary.close()
        await self.fallback.close()


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


def make_limiter(per_minute: int, redis_url: str | None, prefix: str = "gongzhi:rl:",
                 timeout: float = REDIS_TIMEOUT) -> RateLimiter:
    counter: Counter = (FallbackCounter(RedisCounter(redis_url, prefix, timeout), timeout=2 * timeout)
                        if redis_url else LocalCounter())
    return RateLimiter(per_minute, counter)
