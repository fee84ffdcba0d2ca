"""Test harness: every test runs on SQLite and on PostgreSQL, each database built by the real
Alembic migrations; on PostgreSQL the app connects as a role that owns no tables (RLS applies).

GONGZHI_TEST_BACKENDS   which halves to run (default "sqlite,postgres")
GONGZHI_TEST_PG_ADMIN_URL  a superuser DSN used to create roles and a throw-away database
GONGZHI_REQUIRE_PG=1    fail (instead of skip) when PostgreSQL is not reachable (CI sets it)
GONGZHI_TEST_PGBOUNCER=host:port  route the app role's connections (the app engine and the server
                        processes tests start) through pgbouncer in transaction mode; the admin DSN,
                        migrations, the owner engine and LISTEN stay direct (`make test-pgbouncer`)
GONGZHI_TEST_CITUS=1    the admin DSN is a Citus coordinator: each test database is made on the workers
                        too and distributed after its migrations (scripts/citus-cluster.sh test;
                        GONGZHI_TEST_CITUS_AT=<revision>: distributed there, then migrated to head;
                        GONGZHI_TEST_CITUS_SHARDS: shards per table, default 4)
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import gongzhi.http.graphql as graphql_endpoint
from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tests.support import citus
from tests.support.databases import api_client, migrated_database, two_tenants
from tests.support.fresh import NotBuilt, uses_fresh_b
from tests.support.harness import (
    BACKENDS,
    JWT_SECRET,
    PG_ADMIN_URL,
    PGBOUNCER,
    REQUIRE_PG,
    STATEMENT_TIMEOUT_MS,
    Api,
    DbEnv,
    World,
    new_slug,
)
from tests.support.partners import NOON, PartnerApi
from tests.support.servers import Server
from tests.support.tenant_predicates import CHECKER, cache_dir
from tests.support.tenant_predicates import install as check_tenant_predicates
from tests.support.world import build_tenant

# Every statement the app sends on a tenant table names its tenant (issue #27, Citus routing): checked
# on PostgreSQL for the whole run; a test whose statements lack it fails (the autouse fixture below).
# GONGZHI_TENANT_PREDICATES=report: list them at the end of the run instead.
check_tenant_predicates()
_PREDICATES_REPORT = os.environ.get("GONGZHI_TENANT_PREDICATES") == "report"
# The verdicts earlier test processes worked out (CI time, issue #21; tests/support/tenant_predicates.py).
_PREDICATES_KEPT = cache_dir()
if _PREDICATES_KEPT is not None:
    CHECKER.load(_PREDICATES_KEPT)

# The suite makes an app per test in many places (a clock of its own, other settings): each built the
# whole strawberry schema again, ≈ 0.4 s of CPU per app (CI time, issue #21). The schema depends on
# nothing but the introspection flag and holds no per-app state, so a test process builds it once per
# flag; the server processes tests start, and tests/schema, build theirs as production does.
graphql_endpoint.build_schema = functools.cache(graphql_endpoint.build_schema)  # type: ignore[method-assign]


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


def _read_path_equality(item: pytest.Item) -> bool:
    """A compiled read's equivalence file, tests/compiled/test_compiled_<domain>.py: its subject is the
    answer's bytes on the two read paths (every user, page and argument), not the app's connections."""
    path = Path(str(getattr(item, "path", "")))
    return path.parent.name == "compiled" and path.name.startswith("test_compiled_")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through pgbouncer or on Citus, only the tests on the app's database connections: the others (they
    use no backend: the CLI, the demo, parsing, fuzzing against their own app) ran in `make test` already.

    Through pgbouncer the compiled reads' equivalence files are left out too (CI time, issue #21): they
    compare the compiled answer with the resolvers' byte for byte, which pgbouncer does not change, and
    ran on PostgreSQL in `make test`. The compiled path's connection behaviour (its driver connection and
    transaction, jit off, rollback on error) and one equivalence file stay: tests/compiled/test_compiled.py.
    GONGZHI_TEST_PGBOUNCER_ALL=1 runs them through pgbouncer as well."""
    if not (PGBOUNCER or citus.ENABLED):
        return
    every = os.environ.get("GONGZHI_TEST_PGBOUNCER_ALL") == "1" or citus.ENABLED
    keep = [i for i in items if "backend" in getattr(i, "fixturenames", ()) and (every or not _read_path_equality(i))]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@pytest.fixture(autouse=True)
def _tenant_predicates() -> Iterator[None]:
    seen = len(CHECKER.violations)
    yield
    new = CHECKER.violations[seen:]
    if new and not _PREDICATES_REPORT:
        pytest.fail("statements on tenant tables without an explicit tenant_id (issue #27; "
                    "tests/support/tenant_predicates.py):\n" + "\n".join(dict.fromkeys(new)), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _PREDICATES_KEPT is not None:
        CHECKER.save(_PREDICATES_KEPT)
    out = getattr(session.config, "workeroutput", None)  # set in a pytest-xdist worker only
    if out is not None:
        out["tenant_predicates"] = CHECKER.worker_output()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller sums its workers' checks (pytest-xdist): the summary line is the whole run's."""
    out = getattr(node, "workeroutput", {}).get("tenant_predicates")
    if out is not None:
        CHECKER.merge(out)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"tenant predicates: {CHECKER.statements} statements checked, {CHECKER.distinct} distinct, "
        f"{CHECKER.seconds:.2f} s spent checking ({CHECKER.parse_seconds:.2f} s tokenizing; "
        f"{CHECKER.from_kept} shapes' verdicts kept from earlier runs)")
    if _PREDICATES_REPORT and CHECKER.violations:
        report = Path(os.environ.get("GONGZHI_TENANT_PREDICATES_FILE", "var/tenant_predicates.txt"))
        report.parent.mkdir(exist_ok=True)
        report.write_text("\n".join(dict.fromkeys(CHECKER.violations)))
        terminalreporter.write_line(f"{len(CHECKER.violations)} statements without a tenant_id predicate: {report}")
    if "postgres" not in BACKENDS:
        terminalreporter.write_line("PostgreSQL half NOT RUN: GONGZHI_TEST_BACKENDS excludes it.", yellow=True)
    elif _PG_REASON:
        terminalreporter.write_line(
            f"PostgreSQL half SKIPPED: no server at {PG_ADMIN_URL} ({_PG_REASON}). Only SQLite was tested.",
            yellow=True)
    else:
        terminalreporter.write_line("PostgreSQL half ran (row-level security, app role without table ownership)"
                                    + (f", app connections through pgbouncer at {PGBOUNCER}." if PGBOUNCER else "."))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and _PG_REASON:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (GONGZHI_REQUIRE_PG=1) but unreachable: {_PG_REASON}")
        pytest.skip(f"PostgreSQL half skipped: {_PG_REASON}")
    return str(request.param)


@pytest.fixture(scope="session")
async def db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DbEnv]:
    async with migrated_database(backend, tmp_path_factory.mktemp("sqlite")) as env:
        yield env


@pytest.fixture(scope="session")
async def world(db: DbEnv) -> World:
    """Two tenants of the same shape, shared by read-only tests (never mutate it)."""
    return await two_tenants(db)


@pytest.fixture
async def fresh(db: DbEnv, request: pytest.FixtureRequest) -> World:
    """Two new tenants for a test that writes; the second only for a test that can reach it
    (``uses_fresh_b``): two thirds of these tests use ``fresh.a`` alone (CI time, issue #21)."""
    a = await build_tenant(db.sessionmaker, new_slug("fa"))
    if not uses_fresh_b(request):
        return World(a=a, b=NotBuilt())  # type: ignore[arg-type]
    return World(a=a, b=await build_tenant(db.sessionmaker, new_slug("fb")))


@pytest.fixture(scope="session")
async def api(db: DbEnv) -> AsyncIterator[Api]:
    # The suite fires hundreds of requests a minute per user: rate limits are tested on their own.
    async with api_client(db) as client:
        yield client


@pytest.fixture
def servers(db: DbEnv, tmp_path: Path) -> Iterator[list[Server]]:
    """Two processes on PostgreSQL, one on SQLite."""
    started = [Server(db, tmp_path) for _ in range(2 if db.is_pg else 1)]
    try:
        yield started
    finally:
        for s in started:
            s.stop()


@pytest.fixture
async def papi(db: DbEnv) -> AsyncIterator[PartnerApi]:
    """The partner side's app, for the partner, in-service and compiled partner-read tests: the real app
    with its clock fixed at NOON (agreements start and end by the request's time)."""
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False,
                        db_statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    app = create_app(settings, engine=db.engine)
    state = app.state.gongzhi
    state.clock = lambda: NOON
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield PartnerApi(Api(client, settings), state)
