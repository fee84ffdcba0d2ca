"""Fan-out of domain events to subscriptions.

Events are published only when the request's transaction commits. On PostgreSQL they go through
``pg_notify`` inside that transaction — PostgreSQL delivers them at commit, to every server process
LISTENing on a direct connection, this one included — so all processes see the same stream. On
SQLite (one process) they are delivered in-process after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("gongzhi.bus")
CHANNEL = "gongzhi_events"
QUEUE_SIZE = 256


class EventBus:
    def __init__(self, database_url: str) -> None:
        self._pg_dsn = _asyncpg_dsn(database_url) if database_url.startswith("postgresql") else None
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._conn: Any = None
        self._lock = asyncio.Lock()

    @property
    def cross_process(self) -> bool:
        return self._pg_dsn is not None

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)

    async def _ensure_listening(self) -> None:
        if self._pg_dsn is None or self._conn is not None:
            return
        async with self._lock:
            if self._conn is None:
                import asyncpg

                conn = await asyncpg.connect(self._pg_dsn)
                await conn.add_listener(CHANNEL, self._on_notify)
                self._conn = conn

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.deliver(orjson.loads(payload))
        except orjson.JSONDecodeError:
            log.warning("dropped a malformed event")

    async def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        await self._ensure_listening()
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(q)

    def deliver(self, event: dict[str, Any]) -> None:
        for q in list(self._queues):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:  # a stalled subscriber loses events rather than stalling others
                log.warning("subscriber queue full; event dropped")

    async def before_commit(self, session: AsyncSession, events: list[dict[str, Any]]) -> None:
        if self._pg_dsn is None:
            return
        for event in events:
            await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": orjson.dumps(event).decode()})

    def after_commit(self, events: list[dict[str, Any]]) -> None:
        if self._pg_dsn is None:
            for event in events:
                self.deliver(event)

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


def _asyncpg_dsn(url: str) -> str:
    rest = url.split("://", 1)[1]
    return "postgresql://" + rest
