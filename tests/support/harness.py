"""What the tests share besides fixtures: the database environment a test gets (``DbEnv``), the two
tenants of the world (``World``), the API client (``Api``), the roles and secrets of the test
databases and tokens. The fixtures that build them are in tests/conftest.py."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import Settings
from tenants.session import count_statements
from tests.support.world import TenantWorld

BACKENDS = [b.strip() for b in os.environ.get("GONGZHI_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("GONGZHI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("GONGZHI_REQUIRE_PG") == "1"
OWNER_ROLE = "gongzhi_test_owner"
APP_ROLE = "gongzhi_test_app"
JWT_SECRET = "test-secret-for-gongzhi-tests-0123456789abcdef"
PGBOUNCER = os.environ.get("GONGZHI_TEST_PGBOUNCER", "").strip()
# The statement timeout of the suite's shared apps (api, papi, capi, the photo apps), not production's 5 s: a CI
# machine that stalled for seconds (2026-12-07, a 2-core VM: one request of each of the two test runs running side
# by side answered 503 SERVICE_UNAVAILABLE at the same moment; neither reproduced in 10 runs alone, and no statement
# of the suite comes near 20 ms here) failed tests whose subject is an answer, not the time it took. The timeout's
# own tests (tests/faults/test_unavailable.py) set theirs; a lock never released still fails, after a minute.
STATEMENT_TIMEOUT_MS = 60_000
# The tenant tables without a primary key (migration 0064: audit_pii_reads, a person's full reads, one non-unique
# index so that a person read by every register page is one entry of it); every index of each leads with tenant_id.
KEYLESS_TABLES = frozenset({"audit_pii_reads"})
# The Redis of the rate-limit tests (shared counters across processes).
REDIS_URL = "redis://127.0.0.1:6379/0"


def pg_parts() -> tuple[str, str]:
    """(host:port part, admin user) of the admin DSN."""
    rest = PG_ADMIN_URL.split("://", 1)[1]
    userinfo, _, hostpart = rest.rpartition("@")
    return hostpart.split("/", 1)[0], userinfo.split(":", 1)[0] or "postgres"


@dataclass
class DbEnv:
    kind: str
    app_url: str
    owner_url: str
    engine: AsyncEngine  # the app's connection (on PG: the role that owns no tables)
    owner_engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # What the app engine connects to: app_url, or the same database through pgbouncer.
    pool_url: str = ""

    @property
    def is_pg(self) -> bool:
        return self.kind == "postgres"

    @property
    def through_pgbouncer(self) -> bool:
        return self.pool_url != self.app_url

    def server_env(self) -> dict[str, str]:
        """Environment for a server process started by a test: the app's database settings."""
        if not self.through_pgbouncer:
            return {"GONGZHI_DATABASE_URL": self.app_url}
        return {"GONGZHI_DATABASE_URL": self.pool_url, "GONGZHI_DB_PGBOUNCER": "1",
                "GONGZHI_LISTEN_DATABASE_URL": self.app_url}


# The test roles, created once on a machine by whichever test process needs them first; test processes
# side by side (pytest -n) serialise the check on the advisory lock (held until the connection closes).
TEST_ROLES = ["SELECT pg_advisory_lock(7368411)", f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
    CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
END $$"""]


def pg_admin_url(database: str | None = None) -> str:
    """The superuser DSN, for ``database`` (default: the admin DSN's own)."""
    return PG_ADMIN_URL if database is None else PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def pg_admin(sql: list[str], database: str | None = None) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url(database))
    try:
        for stmt in sql:
            await conn.execute(stmt)
    finally:
        await conn.close()


_DROP = """
import asyncio, sys
import asyncpg
async def drop():
    conn = await asyncpg.connect(sys.argv[1])
    try:
        await conn.execute(sys.argv[2])
    finally:
        await conn.close()
asyncio.run(drop())
"""


def drop_database_later(name: str) -> None:
    """``DROP DATABASE name WITH (FORCE)`` in a process of its own that nobody waits for. PostgreSQL
    makes a drop wait for a checkpoint of the whole server: 4–11 s on a busy machine, once per test
    process and per throw-away database, at the end of a run where nothing needs the database gone
    any more (CI time, issue #21). Call it after the engines on the database are disposed."""
    # sh starts it in the background and returns at once (waited for: no child left behind unwaited).
    subprocess.run(["sh", "-c", 'exec "$@" &', "sh", sys.executable, "-c", _DROP, pg_admin_url(),
                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   start_new_session=True, check=True)


_slugs = itertools.count(1)


def new_slug(prefix: str = "t") -> str:
    return f"{prefix}{next(_slugs)}-{uuid.uuid4().hex[:4]}"


@dataclass
class World:
    a: TenantWorld
    b: TenantWorld


class Api:
    """Talks to the real app over ASGI with real tokens."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, *, accept_language: str | None = None) -> None:
        self.client = client
        self.settings = settings
        # Sent as Accept-Language on every request (None: not sent, messages in Chinese).
        self.accept_language = accept_language

    def english(self) -> Api:
        """The same app, asking for English messages (Accept-Language: en)."""
        return Api(self.client, self.settings, accept_language="en")

    def token(self, tw: TenantWorld, key: str, tenants: list[str] | None = None, **kw: Any) -> str:
        return issue_dev_token(self.settings, user_id=tw.users[key], username=tw.username(key),
                               tenants=tenants or [tw.slug], **kw)

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   tenant: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        h = {"content-type": "application/json", "accept": "application/graphql-response+json"}
        if token:
            h["authorization"] = f"Bearer {token}"
        if tenant:
            h["x-gongzhi-tenant"] = tenant
        if self.accept_language:
            h["accept-language"] = self.accept_language
        h.update(headers or {})
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)

    async def gql(self, tw: TenantWorld, key: str, query: str, variables: dict[str, Any] | None = None,
                  *, allow_errors: bool = False) -> dict[str, Any]:
        """Run as a world user; returns the response body, asserting no GraphQL errors unless allowed."""
        r = await self.post(query, variables, token=self.token(tw, key))
        body: dict[str, Any] = r.json()
        if not allow_errors:
            assert r.status_code == 200, body
            assert "errors" not in body, body
        return body

    async def counted(self, tw: TenantWorld, key: str, query: str, variables: dict[str, Any] | None = None
                      ) -> tuple[dict[str, Any], int]:
        """Run a query and count the SQL statements it executed."""
        with count_statements() as stmts:
            body = await self.gql(tw, key, query, variables)
        return body, len(stmts)
