"""The LISTEN connection of the event bus is supervised (issue #26). After its backend is
terminated (a database restart, a failover, ``pg_terminate_backend``) or it goes silent (a firewall),
every subscriber is told — its stream ends with ``EVENTS_INTERRUPTED`` — the connection comes back
by itself, and subscriptions made again (on the same socket or a new one) receive the next events.
Only the bus's own backends of the test's own database are terminated, found by their
``application_name``. LISTEN is PostgreSQL's: the SQLite half has nothing to test."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from gongzhi.bus import APPLICATION_NAME, CHANNEL, INTERRUPTED, EventBus
from tests.support.blackhole import BlackholeProxy
from tests.support.harness import Api, DbEnv, World, pg_admin_url, pg_parts
from tests.support.servers import Server, Subscriber, report_over_http, subscribe


@pytest.fixture
def pg(db: DbEnv) -> DbEnv:
    if not db.is_pg:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite delivers in-process")
    return db


def _dbname(db: DbEnv) -> str:
    return db.app_url.rsplit("/", 1)[1]


async def _admin(db: DbEnv) -> asyncpg.Connection:
    return await asyncpg.connect(pg_admin_url(_dbname(db)))


async def listen_backends(db: DbEnv) -> list[int]:
    conn = await _admin(db)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND application_name = $1", APPLICATION_NAME)
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


async def settled(db: DbEnv) -> None:
    """No LISTEN backend left in this test's database (server processes of earlier tests stopped,
    their backends may take a moment to go)."""
    for _ in range(100):
        if not await listen_backends(db):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"LISTEN backends left: {await listen_backends(db)}")


async def kill_listen_backends(db: DbEnv) -> int:
    """Terminate the bus's LISTEN backends of this test's database, and nothing else."""
    conn = await _admin(db)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()",
            APPLICATION_NAME))
    finally:
        await conn.close()


async def wait_for_listen_backends(db: DbEnv, old: list[int]) -> list[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        pids = [p for p in await listen_backends(db) if p not in old]
        if pids:
            return pids
        await asyncio.sleep(0.1)
    raise AssertionError("no LISTEN connection came back")


async def _notify(db: DbEnv, payload: str) -> None:
    conn = await _admin(db)
    try:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
    finally:
        await conn.close()


def _metric(body: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", body, re.M)
    assert m is not None, f"{name} not in /metrics"
    return float(m.group(1))


def _interrupted(msg: dict[str, object], op_id: str) -> None:
    assert msg["type"] == "next" and msg["id"] == op_id, msg
    payload = msg["payload"]
    assert isinstance(payload, dict) and payload["data"] is None, msg
    [error] = payload["errors"]
    assert error["extensions"]["code"] == "EVENTS_INTERRUPTED", msg
    assert error["extensions"]["requestId"], msg
    assert error["message"], msg


async def test_subscribers_told_and_events_flow_again_after_listen_backend_killed(
        pg: DbEnv, servers: list[Server], api: Api, fresh: World) -> None:
    await settled(pg)
    for s in servers:
        await s.ready()
    listen_on, write_on = servers[0], servers[-1]
    a = fresh.a
    token = api.token(a, "grid1")
    first = subscribe(listen_on, token)
    sub: Subscriber = await first.__anext__()
    try:
        await asyncio.sleep(0.3)
        await report_over_http(write_on, api, a, "resident", "B1", "断线前的事件")
        assert (await sub.next_event())["data"]["caseEvents"]["case"]["title"] == "断线前的事件"
        old = await listen_backends(pg)
        assert len(old) == 1  # the subscribed server's; the other has no subscriber, so no connection

        assert await kill_listen_backends(pg) == 1
        # Told at once (the termination callback), not at the next periodic check.
        _interrupted(await sub.message(wait=4), "1")
        assert await sub.message() == {"id": "1", "type": "complete"}

        await wait_for_listen_backends(pg, old)
        # The client re-subscribes on the same socket; a new client subscribes too.
        await sub.start("2")
        later = subscribe(listen_on, api.token(a, "admin"))
        new_sub = await later.__anext__()
        try:
            await asyncio.sleep(0.5)
            await report_over_http(write_on, api, a, "resident", "B1", "断线后的事件")
            again = await sub.message()
            assert again["id"] == "2" and again["type"] == "next", again
            assert again["payload"]["data"]["caseEvents"]["case"]["title"] == "断线后的事件"
            assert (await new_sub.next_event())["data"]["caseEvents"]["case"]["title"] == "断线后的事件"
        finally:
            await later.aclose()
    finally:
        await first.aclose()

    async with httpx.AsyncClient() as c:
        metrics = (await c.get(listen_on.http + "/metrics")).text
    assert _metric(metrics, "gongzhi_event_listener_losses_total") == 1
    assert _metric(metrics, "gongzhi_event_listener_reconnects_total") == 1
    assert _metric(metrics, "gongzhi_event_listener_connected") == 1
    lines = [json.loads(line) for line in listen_on.output().splitlines() if line.startswith("{")]
    bus_lines = [(x["level"], x["event"]) for x in lines if x["logger"] == "gongzhi.bus"]
    assert bus_lines == [("warning", "listen_lost"), ("info", "listen_reconnected")], lines
    lost = next(x for x in lines if x.get("event") == "listen_lost")
    assert lost["reason"] == "terminated" and lost["subscribers"] == 1
    assert "request_id" not in lost  # the supervisor's own line, not the first subscriber's request


@pytest.fixture
async def proxy() -> AsyncIterator[BlackholeProxy]:
    hostport = pg_parts()[0]
    host, _, port = hostport.partition(":")
    p = BlackholeProxy(host, int(port or 5432))
    await p.start()
    yield p
    await p.close()


async def test_silent_connection_found_by_the_check_and_replaced(pg: DbEnv, proxy: BlackholeProxy,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A LISTEN connection that goes silent (no FIN, no RST) never calls back: the periodic
    ``SELECT 1`` finds it. While there is no connection, a new subscriber is told at once (after
    ``subscribe_wait``) instead of waiting for events that cannot come; once the database is
    reachable again the bus reconnects by itself and delivers."""
    caplog.set_level(logging.INFO, logger="gongzhi.bus")
    url = pg.app_url.replace(pg_parts()[0], f"127.0.0.1:{proxy.port}")
    bus = EventBus(url, check_interval=0.2, check_timeout=0.5, connect_timeout=0.5, subscribe_wait=0.5,
                   backoff_initial=0.05, backoff_max=0.4)
    try:
        q = await bus.subscribe()
        assert bus.listening
        await _notify(pg, '{"topic": "t", "n": 1}')
        assert await asyncio.wait_for(q.get(), 5) == {"topic": "t", "n": 1}

        proxy.blackhole = True
        assert await asyncio.wait_for(q.get(), 5) is INTERRUPTED
        assert not bus.listening and bus.subscriber_count == 0
        [lost] = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "listen_lost"]
        assert lost.fields["reason"] == "check failed: TimeoutError"
        await _notify(pg, '{"topic": "t", "n": 2}')  # lost for this process: its subscriber was told
        while_down = await bus.subscribe()
        assert while_down.get_nowait() is INTERRUPTED

        proxy.blackhole = False
        for _ in range(100):
            if bus.listening:
                break
            await asyncio.sleep(0.05)
        assert bus.listening
        q2 = await bus.subscribe()
        await _notify(pg, '{"topic": "t", "n": 3}')
        assert await asyncio.wait_for(q2.get(), 5) == {"topic": "t", "n": 3}
    finally:
        await bus.close()
    assert not bus.listening


async def test_close_stops_the_supervisor_and_its_connection(pg: DbEnv) -> None:
    await settled(pg)
    bus = EventBus(pg.app_url)
    assert await listen_backends(pg) == []  # lazily: no subscriber, no connection
    await bus.subscribe()
    assert len(await listen_backends(pg)) == 1
    await bus.close()
    await settled(pg)
    q = await asyncio.wait_for(bus.subscribe(), 1)  # after close: told at once, and nothing restarts
    assert q.get_nowait() is INTERRUPTED
    assert await listen_backends(pg) == []


async def test_a_subscriber_that_falls_behind_is_told(tmp_path: Path) -> None:
    """A stalled subscriber whose queue overflowed lost events: it gets INTERRUPTED (its stream
    ends with EVENTS_INTERRUPTED), the others keep receiving."""
    from gongzhi.bus import QUEUE_SIZE

    bus = EventBus(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    slow, fast = await bus.subscribe(), await bus.subscribe()
    for n in range(QUEUE_SIZE + 1):
        bus.deliver({"n": n})
        if n < QUEUE_SIZE:
            assert fast.get_nowait() == {"n": n}
    assert slow.qsize() == 1 and slow.get_nowait() is INTERRUPTED
    assert fast.get_nowait() == {"n": QUEUE_SIZE}
    assert bus.subscriber_count == 1


