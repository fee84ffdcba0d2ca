"""A subscription's connection_init while the database refuses connections (issue #26): the WebSocket
closes with graphql-ws's 4500 and the reason SERVICE_UNAVAILABLE — a client retries later instead of
reading it as a refusal (4403) — without a traceback in the log, and is accepted once the database is
back, without a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import Settings
from tests.support.faults import FaultDb
from tests.support.harness import JWT_SECRET, DbEnv
from tests.support.servers import Server

PROTOCOL = [websockets.Subprotocol("graphql-transport-ws")]


async def _init(server: Server, token: str) -> dict[str, object]:
    async with websockets.connect(server.ws, subprotocols=PROTOCOL) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        return dict(json.loads(await asyncio.wait_for(conn.recv(), 15)))


async def test_connection_init_while_the_database_refuses_closes_4500(db: DbEnv, fdb: FaultDb,
                                                                      tmp_path: Path) -> None:
    tw = fdb.tw
    settings = Settings(jwt_secret=JWT_SECRET)
    token = issue_dev_token(settings, user_id=tw.users["grid1"], username=tw.username("grid1"), tenants=[tw.slug])
    server = Server(db, tmp_path, GONGZHI_DATABASE_URL=fdb.app_url, GONGZHI_LISTEN_DATABASE_URL=fdb.app_url,
                    GONGZHI_DB_CONNECT_TIMEOUT="2", GONGZHI_LOG_FORMAT="json")
    try:
        await server.ready()
        assert (await _init(server, token))["type"] == "connection_ack"
        await fdb.proxy.refuse()
        try:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _init(server, token)
            assert closed.value.rcvd is not None, closed.value
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4500, "SERVICE_UNAVAILABLE")
        finally:
            await fdb.proxy.accept()
        assert (await _init(server, token))["type"] == "connection_ack"  # back, no restart
    finally:
        server.stop()
    assert "Traceback" not in server.output()
