"""The operator's account operations (issues #23/#24; DESIGN.md §8 "Accounts").

An account belongs to one street office; the same person working for two street offices has an
account in each — or, when the operator links them, one identity present in both. ``link_identity``
is that link: the account becomes a linked identity (``users.home_tenant_id`` null) with a ``members``
row in the other street office, whose street admin may then grant it roles by its username. Nothing
a street admin does can create such a link.

It runs as the database owner, with the transaction bound to the tenant it writes in (row-level
security is forced for the owner too).
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gongzhi.ops.tenants import TenantOpError, table_of
from models import Member, Tenant, User


async def _bind(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    if conn.dialect.name == "postgresql":  # a UUID's text: safe as a literal (SET takes no parameters)
        await conn.execute(text(f"SET LOCAL app.tenant_id = '{tenant_id}'"))


async def _tenant_id(conn: AsyncConnection, slug: str) -> uuid.UUID:
    t = table_of(Tenant)
    found = await conn.scalar(select(t.c.id).where(t.c.slug == slug))
    if found is None:
        raise TenantOpError("NOT_FOUND", f"no tenant {slug!r}")
    return uuid.UUID(str(found))


async def link_identity(engine: AsyncEngine, *, username: str, from_slug: str, to_slug: str) -> uuid.UUID:
    """Make ``username`` of ``from_slug`` one identity present in ``to_slug`` too; its id."""
    u, m = table_of(User), table_of(Member)
    async with engine.begin() as conn:
        src, dst = await _tenant_id(conn, from_slug), await _tenant_id(conn, to_slug)
        await _bind(conn, src)
        ids = [r[0] for r in (await conn.execute(
            select(u.c.id).where(u.c.username == username, u.c.id.in_(select(m.c.user_id).where(m.c.tenant_id == src)))
        )).all()]
        if len(ids) != 1:
            raise TenantOpError("NOT_FOUND", f"no account {username!r} in {from_slug!r}")
        user_id = uuid.UUID(str(ids[0]))
        clash = await conn.scalar(select(u.c.id).where(u.c.username == username, u.c.id != user_id,
                                                       (u.c.home_tenant_id.is_(None)) | (u.c.home_tenant_id == dst)))
        if clash is not None:
            raise TenantOpError("USER_CLASH", f"another account is called {username!r} in {to_slug!r} or linked")
        await conn.execute(update(u).where(u.c.id == user_id).values(home_tenant_id=None))
        await _bind(conn, dst)
        present = await conn.scalar(select(m.c.id).where(m.c.tenant_id == dst, m.c.user_id == user_id))
        if present is None:
            from datetime import UTC, datetime

            await conn.execute(insert(m).values(tenant_id=dst, id=uuid.uuid4(), user_id=user_id, person_id=None,
                                                created_at=datetime.now(UTC)))
        return user_id
