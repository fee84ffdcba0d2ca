"""Fault injection for the database (issue #26): a database of the test's own, a TCP proxy between the
app's engine and PostgreSQL that can refuse and cut connections, termination of the database's
backends, and the app (in process) on that proxy. Only the test's own database is ever touched:
the machine's PostgreSQL, its other databases and their backends never are."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gongzhi.http.app import create_app
from gongzhi.http.state import AppState
from gongzhi.settings import Settings
from models import Case
from tenants.session import bind_tenant, make_engine, make_sessionmaker
from tests.support.harness import (
    APP_ROLE,
    JWT_SECRET,
    OWNER_ROLE,
    STATEMENT_TIMEOUT_MS,
    Api,
    drop_database_later,
    new_slug,
    pg_admin_url,
    pg_parts,
)
from tests.support.templates import create_migrated_pg_database
from tests.support.world import TenantWorld, build_tenant


class TcpProxy:
    """127.0.0.1:<port> → PostgreSQL. ``refuse()``: the database is down — nothing listens on the port
    (a connect is refused) and every open connection is cut; ``accept()``: it is back, on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.target_port = host, port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    async def accept(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.cut()

    def cut(self) -> None:
        """Close every proxied connection at once (both sides see it closed)."""
        for w in list(self._open):
            w.transport.abort()
        self._open.clear()

    async def close(self) -> None:
        await self.refuse()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._open.update((client_w, up_w))
        for src, dst in ((client_r, up_w), (up_r, client_w)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(dst)
            dst.transport.abort()


@dataclass
class FaultDb:
    """A migrated database of the test's own with one tenant, reached by the app through ``proxy``."""

    name: str
    proxy: TcpProxy
    owner_engine: AsyncEngine  # direct, for locks and counts
    tw: TenantWorld

    @property
    def app_url(self) -> str:
        return f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:{self.proxy.port}/{self.name}"

    @property
    def owner_proxy_url(self) -> str:
        """The owner through the proxy too (the platform API's connections)."""
        return f"postgresql+asyncpg://{OWNER_ROLE}@127.0.0.1:{self.proxy.port}/{self.name}"

    async def terminate_backends(self) -> int:
        """``pg_terminate_backend`` of every other backend of this database (a restart, as its sessions
        see it), waiting until each is gone. Run as the superuser: the app role's backends are not the
        owner's to signal."""
        import asyncpg

        conn = await asyncpg.connect(pg_admin_url(self.name))
        try:
            n = await conn.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await conn.close()
        return int(n or 0)

    async def terminate(self, pid: int) -> None:
        """End one backend of this database, waiting until it is gone."""
        import asyncpg

        conn = await asyncpg.connect(pg_admin_url(self.name))
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid = $1", pid)
        finally:
            await conn.close()

    async def app_backends(self) -> int:
        """Backends of the app role in this database (the app's pool as the server sees it)."""
        import asyncpg

        conn = await asyncpg.connect(pg_admin_url(self.name))
        try:
            n = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND usename = $1", APP_ROLE)
        finally:
            await conn.close()
        return int(n or 0)

    async def cases(self) -> int:
        sm = make_sessionmaker(self.owner_engine)
        async with sm() as s:
            bind_tenant(s, self.tw.tenant_id)
            async with s.begin():
                return int(await s.scalar(select(func.count()).select_from(Case)) or 0)


@contextlib.asynccontextmanager
async def fault_database() -> AsyncIterator[FaultDb]:
    name = f"gongzhi_faults_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    # Migrated, and the roles made (a worker whose first test is a fault test has run no `db` fixture
    # before it): a copy of the migrated template (tests/support/templates.py; CI time, issue #21).
    await create_migrated_pg_database(name)
    hostport, _ = pg_parts()
    host, _, port = hostport.partition(":")
    proxy = TcpProxy(host, int(port or 5432))
    owner = make_engine(f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{name}", pool_size=2)
    try:
        seed = make_engine(f"postgresql+asyncpg://{APP_ROLE}@{hostport}/{name}", pool_size=2)
        try:
            tw = await build_tenant(make_sessionmaker(seed), new_slug("fault"))
        finally:
            await seed.dispose()
        await proxy.accept()
        yield FaultDb(name, proxy, owner, tw)
    finally:
        await proxy.close()
        await owner.dispose()
        drop_database_later(name)


@dataclass
class RunningApp:
    api: Api
    engine: AsyncEngine
    state: AppState


@contextlib.asynccontextmanager
async def app_on(fdb: FaultDb, *, pool_size: int = 4, max_overflow: int = 4, **settings: Any
                 ) -> AsyncIterator[RunningApp]:
    """The app in process, its engine through the proxy; ``settings`` over the test defaults. Connects time out
    after 10 s: a refused connect fails at once whatever the bound, and 2 s was once too short for 8 connects
    at once through the proxy (it shares the test's event loop) on a loaded machine (bench/RESULTS.md, h-op4r).
    Statements time out after the suite's STATEMENT_TIMEOUT_MS, as the shared apps' (the fifteenth session: on the
    AMD VM, CI's first report of test_readyz_never_fails_on_a_dead_pooled_connection ran past production's 5 s with
    nothing of the test's holding a lock); a test of the timeout sets its own (test_unavailable)."""
    engine = make_engine(fdb.app_url, pool_size=pool_size, max_overflow=max_overflow, connect_timeout=10)
    s = Settings(database_url=fdb.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0,
                 autoclose_interval=0, **{"db_statement_timeout_ms": STATEMENT_TIMEOUT_MS, **settings})
    app = create_app(s, engine=engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     timeout=30) as client:
            yield RunningApp(Api(client, s), engine, app.state.gongzhi)
    finally:
        await engine.dispose()


# -- the requests the fault tests send: a write (the general path), a read of the actor, a case by id
# (compiled, on a DriverTransaction, once its plan exists). The report selects categoryName, which keeps it
# on the general path (not fast_writes' portal shape); a mutation on the general path runs on a
# DriverTransaction too on PostgreSQL (issue #21). QUERY ("query", not in KINDS): a read the compiler
# declines (a directive), answered on a session's connection.

REPORT = ("mutation Report($i: ReportCaseInput!) { reportCase(input: $i) { case { id categoryName } "
          "errors { code message } } }")
ME = "query Me { me { username } }"
NODE = "query CaseNode($id: ID!) { node(id: $id) { id ... on Case { number title state } } }"
QUERY = "query MeSkip { me @skip(if: false) { username } }"
KINDS = ("report", "me", "node")


async def report(api: Api, tw: TenantWorld, key: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """reportCase by the resident; ``key`` is the idempotency key (and the title)."""
    from resolvers.ids import encode_global_id

    i = {"areaId": encode_global_id("Building", tw.areas["B1"]), "category": "garbage", "title": f"故障 {key}",
         "idempotencyKey": key}
    return await api.post(REPORT, {"i": i}, token=api.token(tw, "resident"), headers=headers)


async def request(api: Api, tw: TenantWorld, kind: str, *, case_gid: str, key: str,
                  headers: dict[str, str] | None = None) -> httpx.Response:
    if kind == "report":
        return await report(api, tw, key, headers=headers)
    if kind in ("me", "query"):
        return await api.post(ME if kind == "me" else QUERY, token=api.token(tw, "grid1"), headers=headers)
    return await api.post(NODE, {"id": case_gid}, token=api.token(tw, "admin"), headers=headers)


def answered(r: httpx.Response) -> dict[str, Any]:
    """A 200 answer without errors (a report without payload errors); its data."""
    body: dict[str, Any] = r.json()
    assert r.status_code == 200 and "errors" not in body, (r.status_code, body)
    data: dict[str, Any] = body["data"]
    if "reportCase" in data:
        assert data["reportCase"]["errors"] == [], data
    return data


def reported(r: httpx.Response) -> str:
    gid: str = answered(r)["reportCase"]["case"]["id"]
    return gid


def unavailable(r: httpx.Response, request_id: str | None = None) -> None:
    """503 SERVICE_UNAVAILABLE in the GraphQL error shape, with Retry-After and the request id (the
    client's, when it sent one)."""
    assert r.status_code == 503, (r.status_code, r.text)
    assert 1 <= int(r.headers["retry-after"]) <= 5
    assert r.headers["content-type"].startswith("application/")
    body = r.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE" and error["message"], body
    assert error["extensions"]["requestId"] == r.headers["x-request-id"], (body, r.headers)
    if request_id is not None:
        assert r.headers["x-request-id"] == request_id


async def warm(app: RunningApp, tw: TenantWorld, case_gid: str, width: int = 8) -> None:
    """Fill the pool (``width`` requests at once, of each kind) and compile the node read's plan."""
    for kind in KINDS:
        for r in await asyncio.gather(*(request(app.api, tw, kind, case_gid=case_gid,
                                                key=f"warm-{uuid.uuid4().hex}") for _ in range(width))):
            answered(r)
    assert app.state.plans.compiles(NODE, None), "the node read should take the compiled path"
