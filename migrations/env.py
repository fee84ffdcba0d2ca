"""Alembic environment: async engines, the owner's URL, the app role's name for grants."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import models
import models.sealing

config = context.config
target_metadata = models.Base.metadata
# Data migrations that seal personal data use the configured keys.
models.sealing.configure(os.environ.get("GONGZHI_DATA_KEYS"), os.environ.get("GONGZHI_INDEX_KEY"))


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("GONGZHI_MIGRATION_DATABASE_URL") \
        or os.environ.get("GONGZHI_DATABASE_URL")
    if not url:
        from gongzhi.settings import DEFAULT_SQLITE

        url = DEFAULT_SQLITE
    return str(url)


def _do_run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_do_run)
    await engine.dispose()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    existing = config.attributes.get("connection")
    if existing is not None:
        _do_run(existing)
    else:
        asyncio.run(_run_async())
