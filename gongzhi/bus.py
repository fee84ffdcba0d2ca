"""Fan-out of domain events to subscriptions.

Events are published only when the request's transaction commits. On PostgreSQL they go through
``pg_notify`` inside that transaction — PostgreSQL delivers them at commit, to every server process
LISTENing on a direct connection, this one included — so all processes see the same stream. The writes
answered on the driver (gongzhi.http.fast_writes: a report, the case steps, the moves) send it with their
COMMIT instead, in a transaction of its own that the server runs only if that COMMIT succeeded
(tenants.begin.commit_then, gongzhi.http.state.NOTIFY_AFTER_COMMIT): a notifying transaction holds
PostgreSQL's commit lock across its WAL flush, so reports committed one fsync after another. On
SQLite (one process) they are delivered in-process after the commit.

The LISTEN connection is supervised (issue #26): a task started by the first subscriber holds it,
notices its loss — asyncpg's termination callback (the server closed it: a restart, a failover,
``pg_terminate_backend``), or a ``SELECT 1`` every ``check_interval`` seconds that fails or hangs (a
connection dropped silently by a firewall) — and opens a new one with capped, jittered exponential
back-off. Events committed while no connection listened are lost to this process, so every
subscriber of the lost connection is handed ``INTERRUPTED`` (and dropped): its stream ends with
``EVENTS_INTERRUPTED`` and the client re-subscribes and re-reads (docs/api.md, Subscriptions). A
subscriber that cannot be registered on a live connection within ``subscribe_wait`` seconds gets
``INTERRUPTED`` at once, as does one whose queue overflowed (it lost events too). Each loss and
each recovery is a log line and a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("gongzhi.bus")
CHANNEL = "gongzhi_events"
QUEUE_SIZE = 256
# The LISTEN connection's name in pg_stat_activity: operators (and the tests) find it by it.
APPLICATION_NAME = "gongzhi-listen"

LISTENER_CONNECTED = Gauge("gongzhi_event_listener_connected",
                           "1 while this process's LISTEN connection for subscriptions is up",
                           multiprocess_mode="livesum")
LISTENER_LOSSES = Counter("gongzhi_event_listener_losses", "LISTEN connections lost (subscribers interrupted)")
LISTENER_RECONNECTS = Counter("gongzhi_event_listener_reconnects", "LISTEN connections re-established after a loss")
SUBSCRIBERS_INTERRUPTED = Counter("gongzhi_event_subscribers_interrupted",
                                  "subscription streams ended with EVENTS_INTERRUPTED (a lost connection, "
                                  "no connection, or a full queue)")

Event = dict[str, Any]


class Interrupted:
    """What a subscriber's queue yields when events may have been lost; nothing follows it."""

    def __repr__(self) -> str:
        return "INTERRUPTED"


INTERRUPTED = Interrupted()
Item = Event | Interrupted


def _setter(flag: asyncio.Event) -> Any:
    """asyncpg's termination callback (called with the connection) that sets ``flag``."""
    return lambda _conn: flag.set()


def _jittered(delay: float) -> float:
    """Between half and all of ``delay``: processes that lost their connections together (a
    database restart) do not all come back in the same instant."""
    return delay * (0.5 + random.random() / 2)


class EventBus:
    def __init__(self, database_url: str, *, backoff_initial: float = 0.1, backoff_max: float = 10.0,
                 check_interval: float = 5.0, check_timeout: float = 3.0, connect_timeout: float = 5.0,
                 subscribe_wait: float = 5.0) -> None:
        self._pg_dsn = _asyncpg_dsn(database_url) if database_url.startswith("postgresql") else None
        self._queues: set[asyncio.Queue[Item]] = set()
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected: asyncio.Event | None = None
        self._closed = False
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.connect_timeout = connect_timeout
        self.subscribe_wait = subscribe_wait

    @property
    def cross_process(self) -> bool:
        return self._pg_dsn is not None

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)

    @property
    def listening(self) -> bool:
        """A LISTEN connection is up (PostgreSQL), or none is needed (SQLite)."""
        return self._pg_dsn is None or (self._connected is not None and self._connected.is_set())

    # -- subscribers ------------------------------------------------------------------------------

    async def subscribe(self) -> asyncio.Queue[Item]:
        """A queue of every event from now on, registered on a live LISTEN connection; or, when
        there is none within ``subscribe_wait`` seconds, a queue holding only ``INTERRUPTED``."""
        q: asyncio.Queue[Item] = asyncio.Queue(maxsize=QUEUE_SIZE)
        if self._pg_dsn is not None:
            connected = self._start()
            if not connected.is_set():
                try:
                    if self._closed:  # shutting down: nothing will connect
                        raise TimeoutError
                    await asyncio.wait_for(connected.wait(), self.subscribe_wait)
                except TimeoutError:
                    SUBSCRIBERS_INTERRUPTED.inc()
                    q.put_nowait(INTERRUPTED)
                    return q
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Item]) -> None:
        self._queues.discard(q)

    def deliver(self, event: Event) -> None:
        for q in list(self._queues):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:  # a stalled subscriber lost events: it is told, the others go on
                log.warning("subscriber queue full; its stream is interrupted")
                self._interrupt(q)

    def _interrupt(self, q: asyncio.Queue[Item]) -> None:
        self._queues.discard(q)
        while not q.empty():  # what is queued is moot: the subscriber re-reads
            q.get_nowait()
        q.put_nowait(INTERRUPTED)
        SUBSCRIBERS_INTERRUPTED.inc()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.deliver(orjson.loads(payload))
        except orjson.JSONDecodeError:
            log.warning("dropped a malformed event")

    # -- the supervised LISTEN connection ----------------------------------------------------------

    def _start(self) -> asyncio.Event:
        """Start the supervisor (once, lazily: a process without subscribers holds no connection)."""
        if self._connected is None:
            self._connected = asyncio.Event()
        if not self._closed and (self._task is None or self._task.done()):
            # A context of its own: the first subscriber's request id must not stamp its log lines.
            self._task = asyncio.create_task(self._supervise(), name="gongzhi-listen", context=contextvars.Context())
        return self._connected

    async def _connect(self) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self._pg_dsn, timeout=self.connect_timeout,
                                     server_settings={"application_name": APPLICATION_NAME})
        try:
            await asyncio.wait_for(conn.add_listener(CHANNEL, self._on_notify), self.check_timeout)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _supervise(self) -> None:
        assert self._connected is not None
        delay = self.backoff_initial
        lost_at: float | None = None  # when the last connection was lost (None: never connected yet)
        attempts = 0
        while True:
            try:
                conn = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # refused, timed out, auth … : try again later
                attempts += 1
                if attempts == 1:
                    log.warning("LISTEN connection failed; retrying with back-off",
                                extra={"fields": {"event": "listen_connect_failed", "error": type(e).__name__}})
                await asyncio.sleep(_jittered(delay))
                delay = min(delay * 2, self.backoff_max)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(_setter(lost))
            if conn.is_closed():  # lost before the callback was in place
                lost.set()
            self._conn = conn
            self._connected.set()
            LISTENER_CONNECTED.set(1)
            if lost_at is not None:
                LISTENER_RECONNECTS.inc()
                log.info("LISTEN connection re-established",
                         extra={"fields": {"event": "listen_reconnected", "attempts": attempts + 1,
                                           "down_s": round(time.monotonic() - lost_at, 3)}})
            delay, attempts = self.backoff_initial, 0
            reason = await self._watch(conn, lost)
            # Lost. Whatever was committed from here until a new connection listens never reaches
            # this process: every current subscriber is told.
            lost_at = time.monotonic()
            self._conn = None
            self._connected.clear()
            LISTENER_CONNECTED.set(0)
            LISTENER_LOSSES.inc()
            told = list(self._queues)
            for q in told:
                self._interrupt(q)
            log.warning("LISTEN connection lost; subscribers told to re-subscribe",
                        extra={"fields": {"event": "listen_lost", "reason": reason, "subscribers": len(told)}})
            conn.terminate()
            await asyncio.sleep(_jittered(delay))

    async def _watch(self, conn: Any, lost: asyncio.Event) -> str:
        """Return (with the reason) once ``conn`` is lost or stops answering."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self.check_interval)
                return "terminated"
            except TimeoutError:
                pass
            if conn.is_closed():
                return "closed"
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), self.check_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # timed out (a silent drop) or failed
                return f"check failed: {type(e).__name__}"

    # -- publishing ---------------------------------------------------------------------------------

    @property
    def notifies(self) -> bool:
        """Events go out through PostgreSQL's NOTIFY (delivered to every process at commit)."""
        return self._pg_dsn is not None

    async def before_commit(self, session: AsyncSession, events: list[Event]) -> None:
        if self._pg_dsn is None:
            return
        for event in events:
            await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload(event)})

    def after_commit(self, events: list[Event]) -> None:
        if self._pg_dsn is None:
            for event in events:
                self.deliver(event)

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), self.check_timeout)
            self._conn.terminate()
            self._conn = None
            LISTENER_CONNECTED.set(0)
        if self._connected is not None:
            self._connected.clear()


def payload(event: Event) -> str:
    """An event as its NOTIFY payload."""
    return orjson.dumps(event).decode()


def _asyncpg_dsn(url: str) -> str:
    rest = url.split("://", 1)[1]
    return "postgresql://" + rest
