"""Background work across tenants: closing resolved cases whose reporter gave no feedback.

Run it from cron (``gongzhi close-waiting-cases``) or let each server process run it every
``GONGZHI_AUTOCLOSE_INTERVAL`` seconds; both are safe together (conditional updates).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.bus import EventBus
from models import Agreement, AgreementStatus, Tenant, TenantStatus
from policies.cobuilding.filters import local_date
from resolvers.cases import close_waiting_cases
from resolvers.context import Db
from tenants.session import bind_tenant

log = logging.getLogger("gongzhi.jobs")


async def close_waiting_cases_everywhere(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None, bus: EventBus | None = None
) -> dict[str, int]:
    when = now or datetime.now(UTC)
    async with sessionmaker() as s:
        tenants = (await s.execute(select(Tenant.id, Tenant.slug).where(Tenant.status == TenantStatus.ACTIVE))).all()
    closed: dict[str, int] = {}
    for tenant_id, slug in tenants:
        async with sessionmaker() as session:
            bind_tenant(session, tenant_id)
            events = await close_waiting_cases(Db(session), now=when)
            if bus is not None:
                await bus.before_commit(session, events)
            await session.commit()
            if bus is not None:
                bus.after_commit(events)
        if events:
            closed[slug] = len(events)
    return closed


async def expire_agreements_everywhere(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> dict[str, int]:
    """Mark active or suspended agreements past their end date as expired. Access already stops on
    that date whatever the status says (every request checks the dates); this keeps the status true."""
    when = now or datetime.now(UTC)
    today = local_date(when)
    async with sessionmaker() as s:
        tenants = (await s.execute(select(Tenant.id, Tenant.slug).where(Tenant.status == TenantStatus.ACTIVE))).all()
    expired: dict[str, int] = {}
    for tenant_id, slug in tenants:
        async with sessionmaker() as session:
            bind_tenant(session, tenant_id)
            result = await session.execute(
                update(Agreement)
                .where(Agreement.status.in_([AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED]),
                       Agreement.valid_until.is_not(None), Agreement.valid_until < today)
                .values(status=AgreementStatus.EXPIRED, version=Agreement.version + 1, updated_at=when)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        if result.rowcount:  # type: ignore[attr-defined]
            expired[slug] = int(result.rowcount)  # type: ignore[attr-defined]
    return expired


async def run_periodically(sessionmaker: async_sessionmaker[AsyncSession], bus: EventBus, interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            closed = await close_waiting_cases_everywhere(sessionmaker, bus=bus)
            if closed:
                log.info("closed cases without feedback: %s", closed)
            expired = await expire_agreements_everywhere(sessionmaker)
            if expired:
                log.info("agreements expired: %s", expired)
        except Exception:  # the loop must survive a bad run; the next one retries
            log.exception("close-waiting-cases run failed")
