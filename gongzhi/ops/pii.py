"""Personal data, operator's side (issue #24): after a database is restored from a backup, everyone
erased since that backup was taken carries their identity again — ``gongzhi pii reapply-erasures``
erases again every person on each tenant's erasure list (``person_erasures``, which the restore must
bring back from the newest copy or which the operator re-imports) whose row is not erased."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Tenant
from resolvers import register as register_service
from resolvers.context import Db
from resolvers.discarded_files import delete_discarded
from tenants.session import bind_tenant


async def reapply_erasures(sessionmaker: async_sessionmaker[AsyncSession], *, tenant: str | None = None,
                           now: datetime | None = None, upload_root: Path | None = None) -> dict[str, int]:
    """Every tenant (or one, by slug), suspended ones too: slug → persons erased again. With
    ``upload_root``, the files of the photos erased again are deleted after each tenant's commit."""
    when = now or datetime.now(UTC)
    async with sessionmaker() as s:
        stmt = select(Tenant.id, Tenant.slug).order_by(Tenant.slug)
        if tenant is not None:
            stmt = stmt.where(Tenant.slug == tenant)
        tenants = (await s.execute(stmt)).all()
    if tenant is not None and not tenants:
        raise LookupError(tenant)
    out: dict[str, int] = {}
    for tenant_id, slug in tenants:
        async with sessionmaker() as session:
            bind_tenant(session, tenant_id)
            out[slug] = await register_service.reapply_erasures(Db(session), when)
            await session.commit()
            if upload_root is not None:
                delete_discarded(session, upload_root)
    return out
