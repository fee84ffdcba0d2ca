"""Helpers of the audit-chain tests: rows written as the app writes them (back-dated when asked),
the sealing job run as the app runs it, and tampering as only the database owner could (with the
sealed-row trigger set aside for the one statement, as an owner who means harm would)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gongzhi.modules.audit import SEAL_AUDIT_LOG
from models import AuditEntry
from resolvers import audit as chain
from resolvers.context import Db
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.harness import DbEnv
from tests.support.world import TenantWorld


async def add_entries(db: DbEnv, tw: TenantWorld, ages_days: list[float], *, action: str = "test.entry",
                      now: datetime | None = None) -> list[uuid.UUID]:
    """One audit row per age (days before ``now``), through the app's session; their ids."""
    when = now or datetime.now(UTC)
    rows = [AuditEntry(user_id=tw.users.get("admin"), roles="street_admin", action=action, object_type="persons",
                       object_ids=[str(uuid.uuid4())], detail={"outcome": "ok", "n": i, "名": "张三", "x": 1.5},
                       request_id=f"req-{i}", client_addr="10.0.0.1", area_path=None,
                       created_at=when - timedelta(days=age))
            for i, age in enumerate(ages_days)]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        s.add_all(rows)
        await s.commit()
    return [r.id for r in rows]


async def seal_as_app(db: DbEnv, tw: TenantWorld, *, now: datetime | None = None) -> int:
    """The periodic sealing job in one tenant, as the app role runs it (``run_everywhere``'s steps)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        count, _ = await SEAL_AUDIT_LOG.run(Db(s), now or datetime.now(UTC))
        await s.commit()
    return count


async def _bind(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(set_tenant_sql(tenant_id)))


async def verify(db: DbEnv, tw: TenantWorld) -> chain.ChainReport:
    async with db.owner_engine.connect() as conn, conn.begin():
        await _bind(conn, tw.tenant_id)
        return await chain.verify(conn, tw.tenant_id)


async def owner_rows(db: DbEnv, tw: TenantWorld) -> list[dict[str, Any]]:
    """The tenant's sealed rows in chain order, as the owner reads them."""
    t = AuditEntry.__table__
    async with db.owner_engine.connect() as conn, conn.begin():
        await _bind(conn, tw.tenant_id)
        return [dict(r) for r in (await conn.execute(
            select(t.c.id, t.c.seq, t.c.prev_hash, t.c.hash, t.c.created_at, t.c.detail)
            .where(t.c.tenant_id == tw.tenant_id, t.c.seq.is_not(None)).order_by(t.c.seq))).mappings()]


def tid(db: DbEnv, tw: TenantWorld) -> Any:
    """The tenant id as a bound value of a text() statement (SQLite stores UUIDs as 32 hex digits)."""
    return tw.tenant_id if db.is_pg else tw.tenant_id.hex


def rid(db: DbEnv, row_id: uuid.UUID) -> Any:
    return row_id if db.is_pg else row_id.hex


async def tamper(db: DbEnv, tw: TenantWorld, sql: str, params: dict[str, Any]) -> int:
    """Run one statement on audit rows as the owner with the sealed-row trigger out of the way; rows hit."""
    async with db.owner_engine.connect() as conn, conn.begin():
        await _bind(conn, tw.tenant_id)
        if db.is_pg:
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_seal_once"))
            hit = (await conn.execute(text(sql), params)).rowcount
            await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_seal_once"))
            return int(hit)
        ddl = (await conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                       "AND name = 'audit_log_seal_once'"))).scalar_one()
        await conn.execute(text("DROP TRIGGER audit_log_seal_once"))
        hit = (await conn.execute(text(sql), params)).rowcount
        await conn.execute(text(ddl))
        return int(hit)
