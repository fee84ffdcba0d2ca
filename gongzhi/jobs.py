"""Background work across tenants: closing resolved cases whose reporter gave no feedback.

Run it from cron (``gongzhi close-waiting-cases``) or let each server process run it every
``GONGZHI_AUTOCLOSE_INTERVAL`` seconds; both are safe together (conditional updates).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.bus import EventBus
from models import Tenant, TenantStatus
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


async def run_periodically(sessionmaker: async_sessionmaker[AsyncSession], bus: EventBus, interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            closed = await close_waiting_cases_everywhere(sessionmaker, bus=bus)
            if closed:
                log.info("closed cases without feedback: %s", closed)
        except Exception:  # the loop must survive a bad run; the next one retries
            log.exception("close-waiting-cases run failed")
