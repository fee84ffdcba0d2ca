"""Subscriptions over graphql-transport-ws against real server processes.

On PostgreSQL two server processes share the database: a subscriber on one receives what a
mutation on the other did (LISTEN/NOTIFY). On SQLite (one process by design) subscriber and
mutation use the same process. A subscriber never receives events of another tenant or outside
what it may read: each negative subscriber is later sent an event it may read, and that must be
the first message it gets.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from resolvers.ids import encode_global_id
from tests.conftest import JWT_SECRET, Api, DbEnv, World
from tests.world import TenantWorld

ROOT = Path(__file__).resolve().parents[1]
SUB = "subscription($a: ID) { caseEvents(areaId: $a) { action state seq case { title reporter { username } } } }"
REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code message } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: DbEnv, tmp: Path, *, serve_args: list[str] | None = None, **extra_env: str) -> None:
        """A server process: plain uvicorn, or ``gongzhi serve <serve_args>`` when given."""
        self.port = _free_port()
        env = dict(os.environ, **db.server_env(), GONGZHI_JWT_SECRET=JWT_SECRET,
                   GONGZHI_AUTOCLOSE_INTERVAL="0", GONGZHI_UPLOAD_DIR=str(tmp / "uploads"), GONGZHI_DEMO="0")
        env.update(extra_env)
        if serve_args is None:
            argv = [sys.executable, "-m", "uvicorn", "gongzhi.http.app:create_app", "--factory", "--host", "127.0.0.1",
                    "--port", str(self.port), "--log-level", "warning"]
        else:
            argv = [sys.executable, "-m", "gongzhi.cli", "serve", "--port", str(self.port), *serve_args]
        # Output to a file: a pipe nobody reads would stall a server that logs every request.
        self.log_path = tmp / f"server-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def ready(self) -> None:
        async with httpx.AsyncClient() as c:
            for _ in range(300):  # workers of `gongzhi serve` take a while on a busy machine
                try:
                    if (await c.get(self.http + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.output()}")
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def servers(db: DbEnv, tmp_path: Path) -> Iterator[list[Server]]:
    """Two processes on PostgreSQL, one on SQLite."""
    started = [Server(db, tmp_path) for _ in range(2 if db.is_pg else 1)]
    try:
        yield started
    finally:
        for s in started:
            s.stop()


class Subscriber:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def next_event(self, wait: float = 10.0) -> dict[str, Any]:
        while True:
            msg = json.loads(await asyncio.wait_for(self.conn.recv(), wait))
            if msg["type"] == "next":
                assert "errors" not in msg["payload"], msg
                return msg["payload"]  # type: ignore[no-any-return]
            if msg["type"] == "ping":
                await self.conn.send(json.dumps({"type": "pong"}))
                continue
            raise AssertionError(f"unexpected message {msg}")


async def _subscribe(server: Server, token: str, area: str | None = None) -> AsyncIterator[Subscriber]:
    async with websockets.connect(server.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await conn.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": SUB, "variables": {"a": area}}}))
        yield Subscriber(conn)


async def _report(server: Server, api: Api, tw: TenantWorld, user: str, building: str, title: str) -> str:
    async with httpx.AsyncClient() as c:
        r = await c.post(server.http + "/graphql", headers={"authorization": f"Bearer {api.token(tw, user)}"},
                         json={"query": REPORT, "variables": {"i": {
                             "areaId": encode_global_id("Building", tw.areas[building]),
                             "category": "drainage", "title": title}}})
    body = r.json()
    assert body["data"]["reportCase"]["errors"] == [], body
    return str(body["data"]["reportCase"]["case"]["id"])


async def test_event_reaches_subscriber_on_another_process(servers: list[Server], api: Api, fresh: World) -> None:
    for s in servers:
        await s.ready()
    listen_on, write_on = servers[0], servers[-1]
    a = fresh.a
    gen = _subscribe(listen_on, api.token(a, "grid1"))
    sub = await gen.__anext__()
    try:
        await asyncio.sleep(0.3)  # the subscription is registered before the event happens
        await _report(write_on, api, a, "resident", "B1", "一楼下水道堵塞")
        payload = await sub.next_event()
        event = payload["data"]["caseEvents"]
        assert event["action"] == "report"
        assert event["state"] == "REPORTED"
        assert event["case"]["title"] == "一楼下水道堵塞"
        assert event["case"]["reporter"]["username"] == a.username("resident")
    finally:
        await gen.aclose()


async def test_never_to_another_tenant_or_outside_scope(servers: list[Server], api: Api, fresh: World) -> None:
    for s in servers:
        await s.ready()
    listen_on, write_on = servers[0], servers[-1]
    a, b = fresh.a, fresh.b
    other_tenant = _subscribe(listen_on, api.token(b, "admin"))
    out_of_scope = _subscribe(listen_on, api.token(a, "grid2"))  # G2 covers B2, B3 — not B1
    in_area = _subscribe(listen_on, api.token(a, "admin"), encode_global_id("Building", a.areas["B2"]))
    subs = [await other_tenant.__anext__(), await out_of_scope.__anext__(), await in_area.__anext__()]
    try:
        await asyncio.sleep(0.3)
        await _report(write_on, api, a, "grid1", "B1", "A租户1栋事件")  # none of the three may see it
        await _report(write_on, api, b, "grid2", "B2", "B租户2栋事件")  # only B's admin may see it
        await _report(write_on, api, a, "grid2", "B2", "A租户2栋事件")  # grid2 and the B2 subscriber see it
        first = [(await s.next_event())["data"]["caseEvents"]["case"]["title"] for s in subs]
        assert first == ["B租户2栋事件", "A租户2栋事件", "A租户2栋事件"]
    finally:
        for g in (other_tenant, out_of_scope, in_area):
            await g.aclose()


async def test_connection_needs_a_valid_token(servers: list[Server]) -> None:
    await servers[0].ready()
    async with websockets.connect(servers[0].ws,
                                  subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
