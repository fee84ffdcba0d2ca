"""Server processes started by tests (plain uvicorn or `gongzhi serve`), and a graphql-transport-ws subscriber
to their case events; the `servers` fixture is in tests/conftest.py."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
import websockets

from resolvers.ids import encode_global_id
from tests.support.harness import JWT_SECRET, Api, DbEnv
from tests.support.paths import ROOT
from tests.support.world import TenantWorld

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
            # Workers of `gongzhi serve` take a while on a busy machine (30 s was once short at load 12).
            for _ in range(600):
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


class Subscriber:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def message(self, wait: float = 10.0) -> dict[str, Any]:
        """The next message other than a ping (answered), as it came: next, error or complete."""
        while True:
            msg: dict[str, Any] = json.loads(await asyncio.wait_for(self.conn.recv(), wait))
            if msg["type"] == "ping":
                await self.conn.send(json.dumps({"type": "pong"}))
                continue
            return msg

    async def start(self, op_id: str, area: str | None = None) -> None:
        """Another subscription to case events on the same socket (a client re-subscribing)."""
        await self.conn.send(json.dumps({"id": op_id, "type": "subscribe",
                                         "payload": {"query": SUB, "variables": {"a": area}}}))

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


async def subscribe(server: Server, token: str, area: str | None = None) -> AsyncGenerator[Subscriber, None]:
    async with websockets.connect(server.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await conn.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": SUB, "variables": {"a": area}}}))
        yield Subscriber(conn)


async def report_over_http(server: Server, api: Api, tw: TenantWorld, user: str, building: str, title: str) -> str:
    async with httpx.AsyncClient() as c:
        r = await c.post(server.http + "/graphql", headers={"authorization": f"Bearer {api.token(tw, user)}"},
                         json={"query": REPORT, "variables": {"i": {
                             "areaId": encode_global_id("Building", tw.areas[building]),
                             "category": "drainage", "title": title}}})
    body = r.json()
    assert body["data"]["reportCase"]["errors"] == [], body
    return str(body["data"]["reportCase"]["case"]["id"])
