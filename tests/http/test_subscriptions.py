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

import pytest
import websockets

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World
from tests.support.servers import Server, report_over_http, subscribe


async def test_event_reaches_subscriber_on_another_process(servers: list[Server], api: Api, fresh: World) -> None:
    for s in servers:
        await s.ready()
    listen_on, write_on = servers[0], servers[-1]
    a = fresh.a
    gen = subscribe(listen_on, api.token(a, "grid1"))
    sub = await gen.__anext__()
    try:
        await asyncio.sleep(0.3)  # the subscription is registered before the event happens
        await report_over_http(write_on, api, a, "resident", "B1", "一楼下水道堵塞")
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
    other_tenant = subscribe(listen_on, api.token(b, "admin"))
    out_of_scope = subscribe(listen_on, api.token(a, "grid2"))  # G2 covers B2, B3 — not B1
    in_area = subscribe(listen_on, api.token(a, "admin"), encode_global_id("Building", a.areas["B2"]))
    subs = [await other_tenant.__anext__(), await out_of_scope.__anext__(), await in_area.__anext__()]
    try:
        await asyncio.sleep(0.3)
        await report_over_http(write_on, api, a, "grid1", "B1", "A租户1栋事件")  # none of the three may see it
        await report_over_http(write_on, api, b, "grid2", "B2", "B租户2栋事件")  # only B's admin may see it
        await report_over_http(write_on, api, a, "grid2", "B2", "A租户2栋事件")  # grid2 and the B2 subscriber see it
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
