"""Test databases as copies of one migrated database (CI time, issue #21).

Running the 45 Alembic migrations cost 6–30 s of wall per database on this 2-core machine (0.7–1.5 s of
the test process's CPU, the rest PostgreSQL's DDL or, on SQLite, Alembic's batch table copies), and a
run built one per test process and backend, and one per fault module. Now the migrations run once per
*key* — a hash of everything an upgrade reads: migrations/, models/, tenants/migration_ops.py,
gongzhi/migrate.py and settings.py, alembic.ini and the environment variables the migrations read — into
a template, and each test database is a copy of it: PostgreSQL ``CREATE DATABASE … TEMPLATE`` (the
grants to the app role and every object's owner come along; a database's own settings do not, the
caller sets them), SQLite a page-by-page copy of the file (sqlite3's backup API). The template of a key
stays for the next run (CI's pgbouncer run and `make test` share it); a changed migration is a new key.

The migrations themselves still run for real: every template is built by them, and the tests whose
subject is a migration (``upgrade(url, revision=…)`` to an older revision, then up; the CLI's
``migrate``) call Alembic as before. Citus builds its databases as it did (tests/support/citus.py)."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

from gongzhi.migrate import upgrade
from gongzhi.settings import ROOT
from tests.support.harness import APP_ROLE, OWNER_ROLE, TEST_ROLES, pg_admin_url, pg_parts

# What an upgrade to head reads (migrations/env.py and the revisions' imports).
_SOURCES = ("migrations", "models", "tenants/migration_ops.py", "tenants/rls.py", "gongzhi/migrate.py",
            "gongzhi/settings.py", "alembic.ini")
_ENV = ("GONGZHI_DATA_KEYS", "GONGZHI_INDEX_KEY", "GONGZHI_APP_DB_ROLE")
# Held while a template is looked up, built and copied: test processes side by side (and other runs on the
# same server) build a key's template once, and never copy one that is half built.
_PG_LOCK = 7368412


def _files() -> list[Path]:
    out: list[Path] = []
    for rel in _SOURCES:
        p = ROOT / rel
        out += sorted(f for f in p.rglob("*.py")) if p.is_dir() else [p]
    return out


def migrations_key() -> str:
    """16 hex digits naming the schema an upgrade to head builds from this checkout."""
    h = hashlib.sha256()
    for f in _files():
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    for name in _ENV:
        h.update(f"{name}={os.environ.get(name, '')}\0".encode())
    return h.hexdigest()[:16]


def pg_template_name() -> str:
    return f"gongzhi_tpl_{migrations_key()}"


async def create_migrated_pg_database(name: str) -> None:
    """``CREATE DATABASE name OWNER <owner>``, migrated to head with the app role's grants: a copy of this
    key's template, which the first caller builds (as the owner, by the real migrations)."""
    import asyncpg

    template = pg_template_name()
    conn = await asyncpg.connect(pg_admin_url())
    try:
        for stmt in TEST_ROLES:  # the roles, as every test database needs them (advisory lock inside)
            await conn.execute(stmt)
        await conn.execute(f"SELECT pg_advisory_lock({_PG_LOCK})")  # released when the connection closes
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template):
            building = f"{template}_b"  # renamed only once migrated: a crash leaves no template half built
            await conn.execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {building} OWNER {OWNER_ROLE}")
            hostport, _ = pg_parts()
            await asyncio.to_thread(upgrade, f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{building}", APP_ROLE)
            await conn.execute(f"ALTER DATABASE {building} RENAME TO {template}")
            # Nobody connects to it (a connection would make the copies fail); superusers still copy it.
            await conn.execute(f"ALTER DATABASE {template} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true")
        await conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE} TEMPLATE {template}")
    finally:
        await conn.close()


def _sqlite_template() -> Path:
    key = migrations_key()
    folder = Path(tempfile.gettempdir()) / "gongzhi-test-templates"
    folder.mkdir(exist_ok=True)
    template = folder / f"{key}.db"
    if template.exists():
        return template
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not template.exists():
            building = folder / f"{key}.{os.getpid()}.building.db"
            building.unlink(missing_ok=True)
            upgrade(f"sqlite+aiosqlite:///{building}")
            _copy_sqlite(building, template.with_suffix(".tmp"))  # one file, whatever its journal mode
            os.replace(template.with_suffix(".tmp"), template)
            for f in folder.glob(f"{key}.{os.getpid()}.building.db*"):
                f.unlink()
    return template


def _copy_sqlite(src: Path, dst: Path) -> None:
    dst.unlink(missing_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def create_migrated_sqlite(path: Path) -> str:
    """A new SQLite file at ``path``, migrated to head (a copy of this key's template): its URL."""
    _copy_sqlite(_sqlite_template(), path)
    return f"sqlite+aiosqlite:///{path}"
