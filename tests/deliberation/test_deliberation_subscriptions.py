"""The noticeEvents subscription against real server processes (two on PostgreSQL: the notice is
published on one, the subscriber listens on the other). A new notice reaches the subscribers in its
area — below it, or above it with an area filter — and never another tenant or someone out of reach:
each negative subscriber is later sent a notice it may read, and that must be its first message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import websockets

from tests.support.deliberation import area
from tests.support.harness import Api, World
from tests.support.servers import Server, Subscriber
from tests.support.world import TenantWorld

SUB = "subscription($a: ID) { noticeEvents(areaId: $a) { title body area { name } publisher { username } } }"
PUBLISH = "mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { notice { id } errors { code } } }"


async def _subscribe(server: Server, token: str, area_id: str | None = None) -> AsyncIterator[Subscriber]:
    async with websockets.connect(server.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await conn.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": SUB, "variables": {"a": area_id}}}))
        yield Subscriber(conn)


async def _publish(server: Server, api: Api, tw: TenantWorld, user: str, where: str, title: str) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(server.http + "/graphql", headers={"authorization": f"Bearer {api.token(tw, user)}"},
                         json={"query": PUBLISH, "variables": {"i": {"areaId": area(tw, where), "title": title,
                                                                     "body": "通知内容"}}})
    body = r.json()
    assert body["data"]["publishNotice"]["errors"] == [], body


async def test_notice_reaches_its_area_only_and_never_another_tenant(
    servers: list[Server], api: Api, fresh: World,
) -> None:
    for s in servers:
        await s.ready()
    listen_on, write_on = servers[0], servers[-1]
    a, b = fresh.a, fresh.b
    gens = {
        "resident@P1": _subscribe(listen_on, api.token(a, "resident")),  # lives in P1 (C1)
        "resident4@P3": _subscribe(listen_on, api.token(a, "resident4")),  # lives in P3 (C2): out of reach of P1
        "admin@C1": _subscribe(listen_on, api.token(a, "admin"), area(a, "C1")),  # P1 lies below C1
        "admin@P3": _subscribe(listen_on, api.token(a, "admin"), area(a, "P3")),  # C2 lies above P3
        "B admin": _subscribe(listen_on, api.token(b, "admin")),  # another tenant
    }
    subs = {k: await g.__anext__() for k, g in gens.items()}
    try:
        await asyncio.sleep(0.3)  # the subscriptions are registered before the notices are published
        await _publish(write_on, api, a, "chair", "P1", "A·P1 停水通知")  # resident@P1 and admin@C1 only
        await _publish(write_on, api, b, "admin", "S", "B·全街道通知")  # B admin only
        await _publish(write_on, api, a, "admin", "C2", "A·C2 社区通知")  # resident4@P3 and admin@P3
        first = {k: (await s.next_event())["data"]["noticeEvents"] for k, s in subs.items()}
        assert {k: e["title"] for k, e in first.items()} == {
            "resident@P1": "A·P1 停水通知", "resident4@P3": "A·C2 社区通知", "admin@C1": "A·P1 停水通知",
            "admin@P3": "A·C2 社区通知", "B admin": "B·全街道通知"}
        assert first["resident@P1"]["publisher"]["username"] == a.username("chair")
        assert first["resident@P1"]["body"] == "通知内容"
    finally:
        for g in gens.values():
            await g.aclose()


async def test_an_area_out_of_reach_is_refused(servers: list[Server], api: Api, fresh: World) -> None:
    await servers[0].ready()
    a, b = fresh.a, fresh.b
    for tw, who, where in ((a, "resident4", area(a, "P1")), (b, "admin", area(a, "P1"))):
        gen = _subscribe(servers[0], api.token(tw, who), where)
        sub = await gen.__anext__()
        try:
            msg = json.loads(await asyncio.wait_for(sub.conn.recv(), 10))
            assert msg["type"] in ("error", "next"), msg
            errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "NOT_FOUND", msg
        finally:
            await gen.aclose()
