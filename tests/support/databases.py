"""A test database on either backend, migrated (a copy of the migrated template), with the app's and
the owner's engines: what the session-wide ``db`` fixture of tests/conftest.py yields — and, through
``module_db``, ``module_world`` and ``module_api`` below, a module's own database where its subject
reads or writes every tenant of its database.

Why a module's own: the session's database holds every tenant the worker's tests made before it (a
thousand or more by the end of a run), and whatever looks at every tenant costs in proportion. The demo's
``/demo/token`` and ``/demo/example-variables`` look each user up in ``demo_users`` (every tenant's role
assignments, ≈ 3 ms a tenant on SQLite): tests/http/test_explorer.py's every-tab test took 100 s on
SQLite in a whole run and 1.5 s alone. The periodic jobs (``gongzhi.jobs.run_everywhere``: sealing, the
retention job, agreement expiry) and the key rotation go through every tenant too. Measured with 300
tenants made before them on SQLite (a whole run makes more): every-tab 21–23 s → 1.6–2.1 s; the retention
job's photo test 8.3 s (0.6 s alone), key rotation 6.7 s (0.16), the sealing job 4.9 s (0.35), agreement
expiry 2.8 s (0.23) (CI time, issue #21). A copy of the template costs 0.02 s (SQLite) to 0.1 s
(PostgreSQL).

A module takes its own by importing the three fixtures (they are named ``db``, ``world`` and ``api``, so
they stand in for the session's for that module's tests, and ``fresh`` builds its tenants there too)::

    from tests.support.databases import module_api, module_db, module_world  # noqa: F401
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tenants.session import make_engine, make_sessionmaker
from tests.support import citus
from tests.support.harness import (
    APP_ROLE,
    JWT_SECRET,
    OWNER_ROLE,
    PGBOUNCER,
    STATEMENT_TIMEOUT_MS,
    TEST_ROLES,
    Api,
    DbEnv,
    World,
    drop_database_later,
    new_slug,
    pg_admin,
    pg_parts,
)
from tests.support.templates import create_migrated_pg_database, create_migrated_sqlite
from tests.support.world import build_tenant


@contextlib.asynccontextmanager
async def migrated_database(backend: str, directory: Path) -> AsyncIterator[DbEnv]:
    """A new migrated database of ``backend`` (SQLite: a file in ``directory``), dropped afterwards."""
    if backend == "sqlite":
        # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
        url = await asyncio.to_thread(create_migrated_sqlite, directory / "gongzhi.db")
        engine = make_engine(url)
        try:
            yield DbEnv("sqlite", url, url, engine, engine, make_sessionmaker(engine), url)
        finally:
            await engine.dispose()
        return
    name = f"gongzhi_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if citus.ENABLED:
        await pg_admin([*TEST_ROLES, f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"])
    else:
        # Migrated already: a copy of the migrated template (tests/support/templates.py; CI time, issue #21).
        await create_migrated_pg_database(name)
        # A test database outlives no crash: its commits need not wait for the WAL on disk (≈ 10 ms a
        # commit → ≈ 2 ms on this busy 2-core machine; CI time, issue #21). Visibility is unchanged.
        await pg_admin([f"ALTER DATABASE {name} SET synchronous_commit = off"])
    if citus.ENABLED:  # a Citus coordinator (scripts/citus-cluster.sh test): the database on the workers too
        await citus.prepare(name)
    hostport, _ = pg_parts()
    owner_url = f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{name}"
    app_url = f"postgresql+asyncpg://{APP_ROLE}@{hostport}/{name}"
    if citus.ENABLED:  # reference and distributed tables, as `gongzhi citus distribute` makes them
        await citus.migrate_and_distribute(owner_url, APP_ROLE)
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
        if citus.ENABLED:
            await pg_admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
            await citus.drop(name)
        else:
            drop_database_later(name)


async def analyze(db: DbEnv) -> None:
    """PostgreSQL: ANALYZE of the test database, as the owner — what autovacuum does in production after a fixture's
    inserts (this machine kind's PostgreSQL runs without it). On tables never analyzed every estimate is one row, and
    the planner nests loops: the firm's persons loader in test_query_counts' large world read its served buildings'
    paths 16,737 times (40 ms here; CI once hit the 5 s statement timeout there, on a loaded machine) — 0.5 ms
    analyzed. A shared world is analyzed once it is built; a test that checks a plan analyzes what it needs itself."""
    if not db.is_pg:
        return
    async with db.owner_engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


async def two_tenants(db: DbEnv) -> World:
    """The read-only world: two tenants of the same shape (never mutate it), analyzed (``analyze``)."""
    world = World(a=await build_tenant(db.sessionmaker, new_slug("alpha")),
                  b=await build_tenant(db.sessionmaker, new_slug("beta")))
    await analyze(db)
    return world


@contextlib.asynccontextmanager
async def api_client(db: DbEnv) -> AsyncIterator[Api]:
    """The suite's API client: the real app, rate limits off (they are tested on their own). Through pgbouncer
    (`make test-pgbouncer`) it is configured as production is there (``GONGZHI_DB_PGBOUNCER``)."""
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0,
                        db_pgbouncer=db.through_pgbouncer, db_statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    app = create_app(settings, engine=db.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield Api(client, settings)


@pytest.fixture(scope="module", name="db")
async def module_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DbEnv]:
    """The module's own database (see above), in place of the session's."""
    async with migrated_database(backend, tmp_path_factory.mktemp("module")) as env:
        yield env


@pytest.fixture(scope="module", name="world")
async def module_world(db: DbEnv) -> World:
    return await two_tenants(db)


@pytest.fixture(scope="module", name="api")
async def module_api(db: DbEnv) -> AsyncIterator[Api]:
    async with api_client(db) as api:
        yield api
