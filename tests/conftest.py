"""Test harness: every test runs on SQLite and on PostgreSQL, each database built by the real
Alembic migrations; on PostgreSQL the app connects as a role that owns no tables (RLS applies).

GONGZHI_TEST_BACKENDS   which halves to run (default "sqlite,postgres")
GONGZHI_TEST_PG_ADMIN_URL  a superuser DSN used to create roles and a throw-away database
GONGZHI_REQUIRE_PG=1    fail (instead of skip) when PostgreSQL is not reachable (CI sets it)
GONGZHI_TEST_PGBOUNCER=host:port  route the app role's connections (the app engine and the server
                        processes tests start) through pgbouncer in transaction mode; the admin DSN,
                        migrations, the owner engine and LISTEN stay direct (`make test-pgbouncer`)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gongzhi.http.app import create_app
from gongzhi.http.auth import issue_dev_token
from gongzhi.migrate import upgrade
from gongzhi.settings import Settings
from tenants.session import count_statements, make_engine, make_sessionmaker
from tests.world import TenantWorld, build_tenant

BACKENDS = [b.strip() for b in os.environ.get("GONGZHI_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("GONGZHI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("GONGZHI_REQUIRE_PG") == "1"
OWNER_ROLE = "gongzhi_test_owner"
APP_ROLE = "gongzhi_test_app"
JWT_SECRET = "test-secret-for-gongzhi-tests-0123456789abcdef"
PGBOUNCER = os.environ.get("GONGZHI_TEST_PGBOUNCER", "").strip()


def _pg_parts() -> tuple[str, str]:
    """(host:port part, admin user) of the admin DSN."""
    rest = PG_ADMIN_URL.split("://", 1)[1]
    userinfo, _, hostpart = rest.rpartition("@")
    return hostpart.split("/", 1)[0], userinfo.split(":", 1)[0] or "postgres"


async def _pg_probe() -> str | None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), timeout=5)
    except Exception as e:  # unreachable, refused, auth …
        return f"{type(e).__name__}: {e}"
    await conn.close()
    return None


_PG_REASON: str | None = None
_PG_SKIPPED = False
if "postgres" in BACKENDS:
    _PG_REASON = asyncio.run(_pg_probe())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through pgbouncer, only the tests on the app's database connections: the others (they use no
    backend: the CLI, the demo, parsing, fuzzing against their own app) ran in `make test` already."""
    if not PGBOUNCER:
        return
    keep = [i for i in items if "backend" in getattr(i, "fixturenames", ())]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "postgres" not in BACKENDS:
        terminalreporter.write_line("PostgreSQL half NOT RUN: GONGZHI_TEST_BACKENDS excludes it.", yellow=True)
    elif _PG_REASON:
        terminalreporter.write_line(
            f"PostgreSQL half SKIPPED: no server at {PG_ADMIN_URL} ({_PG_REASON}). Only SQLite was tested.",
            yellow=True)
    else:
        terminalreporter.write_line("PostgreSQL half ran (row-level security, app role without table ownership)"
                                    + (f", app connections through pgbouncer at {PGBOUNCER}." if PGBOUNCER else "."))


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


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and _PG_REASON:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (GONGZHI_REQUIRE_PG=1) but unreachable: {_PG_REASON}")
        pytest.skip(f"PostgreSQL half skipped: {_PG_REASON}")
    return str(request.param)


def pg_admin_url(database: str | None = None) -> str:
    """The superuser DSN, for ``database`` (default: the admin DSN's own)."""
    return PG_ADMIN_URL if database is None else PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def _pg_admin(sql: list[str], database: str | None = None) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url(database))
    try:
        for stmt in sql:
            await conn.execute(stmt)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DbEnv]:
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "gongzhi.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        yield DbEnv("sqlite", url, url, engine, engine, make_sessionmaker(engine), url)
        await engine.dispose()
        return
    name = f"gongzhi_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _pg_admin([
        # Test processes side by side (pytest -n) create the roles once: the lock serialises the check.
        "SELECT pg_advisory_lock(7368411)",
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
            CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
        END $$""",
        f"CREATE DATABASE {name} OWNER {OWNER_ROLE}",
    ])
    hostport, _ = _pg_parts()
    owner_url = f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{name}"
    app_url = f"postgresql+asyncpg://{APP_ROLE}@{hostport}/{name}"
    await asyncio.to_thread(upgrade, owner_url, APP_ROLE)
    # Through pgbouncer the app's queries take pgbouncer's pooled server connections; app_url (direct)
    # is what Settings(database_url=db.app_url) gives the event bus to LISTEN on, as in production.
    pool_url = f"postgresql+asyncpg://{APP_ROLE}@{PGBOUNCER}/{name}" if PGBOUNCER else app_url
    engine = make_engine(pool_url, pool_size=5, pgbouncer=bool(PGBOUNCER))
    owner_engine = make_engine(owner_url, pool_size=2)
    try:
        yield DbEnv("postgres", app_url, owner_url, engine, owner_engine, make_sessionmaker(engine), pool_url)
    finally:
        await engine.dispose()
        await owner_engine.dispose()
        await _pg_admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


_slugs = itertools.count(1)


def new_slug(prefix: str = "t") -> str:
    return f"{prefix}{next(_slugs)}-{uuid.uuid4().hex[:4]}"


@dataclass
class World:
    a: TenantWorld
    b: TenantWorld


@pytest.fixture(scope="session")
async def world(db: DbEnv) -> World:
    """Two tenants of the same shape, shared by read-only tests (never mutate it)."""
    return World(a=await build_tenant(db.sessionmaker, new_slug("alpha")),
                 b=await build_tenant(db.sessionmaker, new_slug("beta")))


@pytest.fixture
async def fresh(db: DbEnv) -> World:
    """Two new tenants for a test that writes."""
    return World(a=await build_tenant(db.sessionmaker, new_slug("fa")),
                 b=await build_tenant(db.sessionmaker, new_slug("fb")))


class Api:
    """Talks to the real app over ASGI with real tokens."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

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


@pytest.fixture(scope="session")
async def api(db: DbEnv) -> AsyncIterator[Api]:
    # The suite fires hundreds of requests a minute per user: rate limits are tested on their own.
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0)
    app = create_app(settings, engine=db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, settings)
