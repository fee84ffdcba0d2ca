"""Background work across tenants: each domain declares its periodic jobs (``Job``) in its module
declaration (``gongzhi.modules``) — closing resolved cases whose reporter gave no feedback,
expiring agreements past their end date, sealing the audit log's hash chain — and its platform-wide
checks (``Check``), which run once, not per tenant — is next year's holiday arrangement there?

Run them from cron (``gongzhi close-waiting-cases``) or let each server process run them every
``GONGZHI_AUTOCLOSE_INTERVAL`` seconds; both are safe together (conditional updates). A server also
runs the checks when it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.bus import EventBus
from models import Tenant, TenantStatus
from resolvers.context import Db
from resolvers.discarded_files import delete_discarded
from tenants.session import bind_tenant

log = logging.getLogger("gongzhi.jobs")

# (rows changed, events to publish once committed)
JobResult = tuple[int, list[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    """A domain's periodic work in one tenant, in a session bound to it; ``label`` names what it
    counts in logs and in the CLI's output."""

    name: str
    label: str
    run: Callable[[Db, datetime], Awaitable[JobResult]]


@dataclass(frozen=True)
class Check:
    """A domain's platform-wide check (not per tenant), with the app's sessions (no tenant bound): it
    reports through metrics and logs, and changes nothing."""

    name: str
    run: Callable[[async_sessionmaker[AsyncSession], datetime], Awaitable[None]]


async def run_checks(sessionmaker: async_sessionmaker[AsyncSession], checks: Sequence[Check], *,
                     now: datetime | None = None) -> None:
    """Every check once; one that fails is logged and does not stop the others."""
    when = now or datetime.now(UTC)
    for check in checks:
        try:
            await check.run(sessionmaker, when)
        except Exception:  # a check must never take the process (or the job loop) down
            log.exception("check %s failed", check.name)


async def run_everywhere(sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, now: datetime | None = None,
                         bus: EventBus | None = None, upload_root: Path | None = None) -> dict[str, int]:
    """The job in every active tenant, one transaction each; tenant slug → rows changed (non-zero only).
    Stored files a job lets go (the retention job's photos) are deleted under ``upload_root`` once its
    transaction has committed (resolvers.discarded_files); without a root they stay."""
    when = now or datetime.now(UTC)
    async with sessionmaker() as s:
        tenants = (await s.execute(select(Tenant.id, Tenant.slug).where(Tenant.status == TenantStatus.ACTIVE))).all()
    changed: dict[str, int] = {}
    for tenant_id, slug in tenants:
        async with sessionmaker() as session:
            bind_tenant(session, tenant_id)
            count, events = await job.run(Db(session), when)
            if bus is not None:
                await bus.before_commit(session, events)
            await session.commit()
            if bus is not None:
                bus.after_commit(events)
            if upload_root is not None:
                delete_discarded(session, upload_root)
        if count:
            changed[slug] = count
    return changed


async def run_periodically(sessionmaker: async_sessionmaker[AsyncSession], bus: EventBus, interval: int,
                          jobs: Sequence[Job], checks: Sequence[Check] = (), upload_root: Path | None = None) -> None:
    while True:
        await asyncio.sleep(interval)
        await run_checks(sessionmaker, checks)
        for job in jobs:
            try:
                changed = await run_everywhere(sessionmaker, job, bus=bus, upload_root=upload_root)
                if changed:
                    log.info("%s: %s", job.label, changed)
            except Exception:  # the loop must survive a bad run; the next one retries
                log.exception("periodic job %s failed", job.name)
