"""The test databases on a Citus cluster (issue #27): with ``GONGZHI_TEST_CITUS=1`` and the admin DSN
pointing at a Citus coordinator (scripts/citus-cluster.sh test), each database the ``db`` fixture
creates is made on every worker too; after its migrations the ``citus`` extension is created in it on
every node, the workers added, and the tables distributed with
``gongzhi citus distribute``'s own code, as the database owner (or at ``GONGZHI_TEST_CITUS_AT``, a
revision, and then migrated to head on the distributed database). Dropping the database drops it on
the workers too.

The workers are the coordinator's own: the nodes added to the admin database (``postgres``) by the
script. Without ``GONGZHI_TEST_CITUS`` nothing here runs (CI: plain PostgreSQL).
"""

from __future__ import annotations

import os

from tests.support.harness import APP_ROLE, OWNER_ROLE, pg_admin_url

ENABLED = os.environ.get("GONGZHI_TEST_CITUS") == "1"
# Shards per distributed table of a test database: a few, so that distributing each test process's
# database takes seconds (32, Citus's default, takes minutes on 2 cores: sequential DDL per shard).
SHARDS = int(os.environ.get("GONGZHI_TEST_CITUS_SHARDS", "4"))


# Why a test whose own bulk filler is an ``INSERT … SELECT`` into a table under forced row-level security skips on
# Citus: Citus runs such an INSERT … SELECT as a COPY into the shards and refuses it (``COPY FROM not supported with
# row-level security``, docs/scaling.md run D′); the app never sends one (its writes are INSERT … VALUES).
FILLER_REFUSED = "the test's INSERT … SELECT filler under row-level security is a COPY on Citus, which it refuses"


# Why tests of PostgreSQL's own behaviour skip on Citus (docs/scaling.md, runs H and I): what they assert is
# plain PostgreSQL's, and CI runs them there.
PLAN_ON_COORDINATOR = ("an EXPLAIN of PostgreSQL's plan read on the coordinator: on Citus it shows the router task, "
                       "the plan is the worker's")
DRIVER_PATH = "it counts the driver path's statements: on Citus every write takes the general path (run G)"
COORDINATOR_STATISTICS = "the coordinator's pg_class: on Citus its tables are empty shells, the statistics the shards'"
EXPLAIN_IN_REQUEST = ("the test's own EXPLAIN inside the request's transaction: Citus refuses the page's statement "
                      "after it (cannot switch local execution status)")


def relation(name: str) -> str:
    """A regular expression for table ``name`` as an ``EXPLAIN`` names it: on a Citus coordinator a router
    statement's plan (``Custom Scan (Citus Adaptive)``, ``Task Count: 1``, ``Tasks Shown: All``) holds the worker's
    plan below the task, where the table is its shard, ``name_<shard id>``; on plain PostgreSQL the name itself."""
    return rf"{name}(_\d+)?" if ENABLED else name


async def _workers() -> list[tuple[str, int]]:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url())
    try:
        rows = await conn.fetch(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND isactive ORDER BY nodeport"
        )
    except asyncpg.UndefinedTableError:
        raise RuntimeError(
            "GONGZHI_TEST_CITUS=1 but the admin database has no citus extension "
            "(scripts/citus-cluster.sh start makes a cluster)"
        ) from None
    finally:
        await conn.close()
    if not rows:
        raise RuntimeError("GONGZHI_TEST_CITUS=1 but the coordinator has no worker nodes")
    return [(str(r["nodename"]), int(r["nodeport"])) for r in rows]


def _worker_url(host: str, port: int, database: str) -> str:
    user = pg_admin_url().split("://", 1)[1].rpartition("@")[0].split(":", 1)[0] or "postgres"
    return f"postgresql://{user}@{host}:{port}/{database}"


async def _run(url: str, sql: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for stmt in sql:
            await conn.execute(stmt)
    finally:
        await conn.close()


async def prepare(name: str) -> None:
    """The freshly created ``name`` (on the coordinator) made on every worker too, with the roles."""
    roles = f"""DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
        CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
    END $$"""
    for host, port in await _workers():
        await _run(
            _worker_url(host, port, "postgres"),
            ["SELECT pg_advisory_lock(7368411)", roles, f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"],
        )


async def _add_citus(name: str) -> None:
    """The citus extension in ``name`` on every node, the workers added on the coordinator."""
    workers = await _workers()
    for host, port in workers:
        await _run(_worker_url(host, port, name), ["CREATE EXTENSION citus"])
    coordinator = pg_admin_url().split("://", 1)[1].rpartition("@")[2].split("/", 1)[0]
    chost, _, cport = coordinator.partition(":")
    await _run(
        pg_admin_url(name),
        [
            "CREATE EXTENSION citus",
            f"SELECT citus_set_coordinator_host('{chost}', {int(cport or 5432)})",
            *[f"SELECT citus_add_node('{host}', {port})" for host, port in workers],
        ],
    )


async def migrate_and_distribute(owner_url: str, app_role: str) -> None:
    """The migrations, then ``gongzhi citus distribute``'s code, as the database owner. With
    ``GONGZHI_TEST_CITUS_AT=<revision>`` the database is distributed at that revision and the later
    migrations run on the distributed database (what an upgrade after the one-off does)."""
    import asyncio

    import asyncpg

    from gongzhi.migrate import upgrade
    from gongzhi.ops.citus import distribute
    from tenants.session import make_engine

    at = os.environ.get("GONGZHI_TEST_CITUS_AT", "").strip() or "head"
    await asyncio.to_thread(upgrade, owner_url, app_role, at)
    # One test process at a time distributes, cluster-wide (an advisory lock in the coordinator's admin
    # database, held by this connection): two at once met on the workers' shared catalogs — Citus
    # propagates the owner role with the first reference table — and one failed with
    # `tuple concurrently updated` (`SELECT create_reference_table('platform_audit')`, on a worker), so
    # every test of that process errored.
    lock = await asyncpg.connect(pg_admin_url())
    try:
        await lock.execute("SELECT pg_advisory_lock(7368412)")
        # The extension after the migrations, as on an existing database: a migration that distributes
        # a new table when citus is installed needs the tables it points at distributed already.
        await _add_citus(owner_url.rsplit("/", 1)[1])
        engine = make_engine(owner_url, pool_size=1)
        try:
            await distribute(engine, shard_count=SHARDS, only_present=at != "head")
        finally:
            await engine.dispose()
        if at != "head":
            await asyncio.to_thread(upgrade, owner_url, app_role)
            # As docs/scaling.md asks after an upgrade: distribute again, which changes only what the
            # migrations left (a definer function to delegate; a tenant table made without the helper).
            engine = make_engine(owner_url, pool_size=1)
            try:
                await distribute(engine, shard_count=SHARDS)
            finally:
                await engine.dispose()
    finally:
        await lock.close()


async def drop(name: str) -> None:
    for host, port in await _workers():
        await _run(_worker_url(host, port, "postgres"), [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
