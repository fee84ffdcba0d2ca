"""Operations against real server processes (issue #10): graceful shutdown under load loses no
acknowledged mutation and closes subscriptions cleanly; logs are JSON with request id, tenant and
user and carry no personal data or secrets; `gongzhi serve --workers 2` sums its workers' metrics;
two processes on one PostgreSQL agree on a policy change, a subscription event and a rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import select

from models import Case
from resolvers.ids import decode_global_id, encode_global_id
from tests.support.access import DISPATCH, DISPATCH_RULE, REVOKE, accepted_case, partner_dispatch
from tests.support.harness import JWT_SECRET, REDIS_URL, Api, DbEnv, World
from tests.support.servers import SUB, Server, report_over_http, subscribe

REPORT = """mutation ReportCase($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"""
PERSON = """mutation CreatePerson($i: CreatePersonInput!) {
    createPerson(input: $i) { person { id } errors { code } } }"""
HOUSEHOLD = """mutation($i: CreateHouseholdInput!) {
    createHousehold(input: $i) { household { id } errors { code } } }"""
ID_NUMBER, PHONE = "11010519491231002X", "13955507788"


async def test_graceful_shutdown_under_load_loses_no_acknowledged_mutation(
        db: DbEnv, api: Api, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    workers = "2" if db.is_pg else "1"
    server = Server(db, tmp_path, serve_args=["--workers", workers], GONGZHI_SHUTDOWN_TIMEOUT="20",
                    GONGZHI_RATE_LIMIT_PER_MINUTE="0", GONGZHI_LOG_FORMAT="json")
    acked: list[str] = []
    refused: list[str] = []
    try:
        await server.ready()
        token = api.token(a, "grid1")
        headers = {"authorization": f"Bearer {token}"}
        building = encode_global_id("Building", a.areas["B1"])
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as c:
            # personal data in a request (and in a request error) must not reach the log
            r = await c.post("/graphql", headers=headers, json={"query": HOUSEHOLD, "variables": {
                "i": {"buildingId": building, "unit": "9", "room": "909"}}})
            hh = r.json()["data"]["createHousehold"]["household"]["id"]
            r = await c.post("/graphql", headers=headers, json={"query": PERSON, "variables": {"i": {
                "householdId": hh, "name": "钱多多", "idCardNo": ID_NUMBER, "phone": PHONE}}})
            assert r.json()["data"]["createPerson"]["errors"] == [], r.text
            r = await c.post("/graphql", headers=headers, json={"query": "{ persons(phone: \"" + PHONE + "\") {"})
            assert r.status_code in (200, 400)
            r = await c.post("/graphql", headers=headers, json={"query": PERSON, "variables": {"i": {
                "householdId": hh, "name": "钱多多", "idCardNo": ID_NUMBER + "1", "phone": PHONE}}})
            assert r.status_code == 200
            # a variable that does not coerce: graphql-core's message quotes the value
            r = await c.post("/graphql", headers=headers, json={"query": PERSON, "variables": {"i": {
                "householdId": hh, "name": "钱多多", "gender": PHONE, "idCardNo": ID_NUMBER}}})
            assert PHONE in r.text  # told to the client, who sent it …

        # a subscriber is connected when the server is told to stop
        sub_conn = await websockets.connect(server.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")])
        await sub_conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(sub_conn.recv(), 10))["type"] == "connection_ack"
        await sub_conn.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUB}}))

        stop = asyncio.Event()
        errors: list[str] = []

        async def fire(n: int) -> None:
            async with httpx.AsyncClient(base_url=server.http, timeout=30) as c:
                i = 0
                while True:
                    i += 1
                    title = f"load {n}-{i}"
                    try:
                        r = await c.post("/graphql", headers=headers, json={"query": REPORT, "variables": {
                            "i": {"areaId": building, "category": "drainage", "title": title}}})
                    except httpx.TransportError:
                        refused.append(title)  # the server stopped listening: not acknowledged
                        if stop.is_set():
                            return
                        await asyncio.sleep(0.05)
                        continue
                    if r.status_code == 200 and r.json()["data"]["reportCase"]["errors"] == []:
                        acked.append(r.json()["data"]["reportCase"]["case"]["id"])
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                    if stop.is_set() and server.proc.poll() is not None:
                        return

        # SQLite takes one writer at a time (a second gets "database is locked"): one client there
        tasks = [asyncio.create_task(fire(n)) for n in range(6 if db.is_pg else 1)]
        for _ in range(600):  # under way: a stream of acknowledged mutations, others in flight
            if len(acked) >= 20:
                break
            await asyncio.sleep(0.05)
        before_term = len(acked)
        server.proc.send_signal(signal.SIGTERM)
        stop.set()
        # the subscription is closed by the server, with a close frame (not a dropped connection)
        close_code = None
        try:
            while True:
                await asyncio.wait_for(sub_conn.recv(), 25)
        except websockets.ConnectionClosed as e:
            close_code = e.rcvd.code if e.rcvd is not None else None
        assert close_code in (1000, 1001, 1012), close_code
        rc = await asyncio.to_thread(server.proc.wait, 40)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        # uvicorn re-raises the signal it handled once shut down: exit status 0 or "killed by SIGTERM"
        assert rc in (0, -signal.SIGTERM), server.output()[-3000:]
        assert "timeout graceful shutdown exceeded" not in server.output()
    finally:
        server.stop()
    assert errors == [], errors[:5]
    assert before_term >= 20 and len(acked) >= before_term, (before_term, len(acked))
    ids = [decode_global_id(g)[1] for g in acked]
    async with db.owner_engine.connect() as conn, conn.begin():
        from gongzhi.ops.tenants import _bind

        await _bind(conn, a.tenant_id)
        stored = set((await conn.execute(select(Case.id).where(Case.id.in_(ids)))).scalars())
    assert stored == set(ids), f"{len(set(ids) - stored)} acknowledged mutations lost"

    out = server.output()
    assert JWT_SECRET not in out
    for plain in (PHONE, ID_NUMBER, "钱多多", *a.phones.values(), *a.id_cards.values()):
        assert plain not in out, f"{plain} leaked into the log"
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "gongzhi.access"]
    assert len(access) >= len(acked)
    mine = [line for line in access if line.get("operation") == "ReportCase" and line.get("status") == 200]
    assert mine and all(line["tenant"] == a.slug and line["user"] == str(a.users["grid1"])
                        and line["request_id"] for line in mine)
    started = [line for line in lines if line.get("msg") == "starting"]
    assert started and started[0]["settings"]["jwt_secret"] == "***"


async def test_workers_metrics_are_summed(db: DbEnv, api: Api, fresh: World, tmp_path: Path) -> None:
    if not db.is_pg:
        pytest.skip("several workers need PostgreSQL (`gongzhi serve` refuses --workers > 1 on SQLite)")
    server = Server(db, tmp_path, serve_args=["--workers", "2"], GONGZHI_RATE_LIMIT_PER_MINUTE="0")
    try:
        await server.ready()
        token = api.token(fresh.a, "grid1")
        n = 24
        async with httpx.AsyncClient(base_url=server.http) as c:
            for _ in range(n):  # new connections: the kernel spreads them over both workers
                async with httpx.AsyncClient(base_url=server.http) as one:
                    r = await one.post("/graphql", json={"query": "query Probe { me { username } }"},
                                       headers={"authorization": f"Bearer {token}"})
                    assert r.status_code == 200
            text = (await c.get("/metrics")).text
    finally:
        server.stop()
    line = next(x for x in text.splitlines() if x.startswith('gongzhi_requests_total{operation="Probe",outcome="ok"}'))
    assert float(line.rsplit(" ", 1)[1]) == n


async def test_two_processes_agree_on_policy_events_and_rate_limits(
        db: DbEnv, api: Api, fresh: World, tmp_path: Path) -> None:
    if not db.is_pg:
        pytest.skip("two server processes share a database on PostgreSQL only")
    try:
        import redis.asyncio as redis

        probe = redis.from_url(REDIS_URL)
        await probe.ping()
        await probe.aclose()
    except Exception as e:
        pytest.fail(f"Redis is needed for the shared rate limit ({REDIS_URL}): {e}")
    a, b = fresh.a, fresh.b
    limit = 5
    servers = [Server(db, tmp_path, GONGZHI_REDIS_URL=REDIS_URL, GONGZHI_RATE_LIMIT_PER_MINUTE=str(limit))
               for _ in range(2)]
    try:
        for s in servers:
            await s.ready()

        async def post(server: Server, tw: Any, who: str, query: str, variables: dict[str, Any] | None = None
                       ) -> httpx.Response:
            async with httpx.AsyncClient() as c:
                return await c.post(server.http + "/graphql", json={"query": query, "variables": variables or {}},
                                    headers={"authorization": f"Bearer {api.token(tw, who)}"})

        # 1. a subscription on one process gets the event of a mutation on the other
        gen = subscribe(servers[0], api.token(a, "grid1"))
        sub = await gen.__anext__()
        try:
            await asyncio.sleep(0.3)
            title = f"跨进程 {uuid.uuid4().hex[:6]}"
            await report_over_http(servers[1], api, a, "resident", "B1", title)
            event = (await sub.next_event())["data"]["caseEvents"]
            assert event["case"]["title"] == title
        finally:
            await gen.aclose()

        # 2. a policy change made through one process holds on the other from its next request
        cid = await accepted_case(api, a)
        for s in servers:
            assert (await post(s, a, "grid1", "{ me { username } }")).status_code == 200
        assert "errors" not in (await post(servers[0], a, "admin", REVOKE, {"i": DISPATCH_RULE})).json()
        late = (await post(servers[1], a, "grid1", DISPATCH, partner_dispatch(cid))).json()
        assert late["data"]["dispatchCase"]["errors"] == [{"code": "FORBIDDEN"}]

        # 3. one budget per user and tenant across both processes (Redis)
        async def fallbacks() -> float:
            """Checks the servers counted in-process because Redis did not answer in time."""
            total = 0.0
            async with httpx.AsyncClient() as c:
                for s in servers:
                    text = (await c.get(s.http + "/metrics")).text
                    total += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                                 if line.startswith("gongzhi_redis_fallback_total"))
            return total

        for who in ("grid1", "grid2", "grid3"):
            before = await fallbacks()
            minute = int(time.time() // 60)
            codes = [(await post(servers[i % 2], b, who, "{ me { username } }")).status_code
                     for i in range(limit + 2)]
            if codes == [200] * limit + [429, 429]:
                break
            if int(time.time() // 60) != minute:
                # the limiter's window is the clock's minute (gongzhi/http/ratelimit.py): a batch across its end is
                # counted in two windows, as designed — once more, with another user, inside one minute
                continue
            # Only a Redis answer slower than the limiter's guard (a loaded CI machine), counted in-process
            # meanwhile as designed (issue #26), excuses a miss: then once more, with another user, after
            # the fallback's back-off.
            assert await fallbacks() > before, codes
            await asyncio.sleep(1.5)
        assert codes == [200] * limit + [429, 429], codes
    finally:
        for s in servers:
            with contextlib.suppress(Exception):
                s.stop()
