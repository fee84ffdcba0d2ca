"""Register import jobs (导入任务): who may import, the job row and its progress (written in
transactions of their own), the import's audit entry and summary, and who reads a job."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import AuditEntry, ImportJob, ImportStatus, uuid7
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ledgers.register_rows import Outcome
from tenants.session import bind_tenant

# The actor of the command line (``gongzhi import-register`` without --user): whoever holds the
# database owner's credentials; acts with the street admin's rights and is recorded without a user.
OPERATOR_ID = uuid.UUID(int=0)


def audit_user(ctx: RequestContext) -> uuid.UUID | None:
    return None if ctx.actor.user_id == OPERATOR_ID else ctx.actor.user_id


def check_may_import(ctx: RequestContext) -> None:
    if not ctx.actor.grant("register", "import"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权导入户籍登记册",
                                                  "you may not import the household register"), "file")


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def file_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- jobs (progress rows, written in transactions of their own)


class JobTracker:
    """Writes an import job's progress in its own short transactions, so readers see it while the
    import's transaction is still open. On SQLite (one writer at a time) only the start and the end
    are written: an intermediate write would wait for the import's own write lock."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, job_id: uuid.UUID,
                 report_root: Path, *, echo: Callable[[str, int, int], None] | None = None) -> None:
        self.sm, self.tenant_id, self.job_id = sm, tenant_id, job_id
        self.report_root = report_root
        self.live = sm.kw["bind"].dialect.name != "sqlite"
        self.echo = echo
        self._last = 0.0

    async def set(self, **values: Any) -> None:
        async with self.sm() as s:
            bind_tenant(s, self.tenant_id)
            async with s.begin():
                await s.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(**values))

    async def progress(self, phase: str, done: int, total: int) -> None:
        if self.echo is not None:
            self.echo(phase, done, total)
        now = time.monotonic()
        if not self.live or (now - self._last < 0.5 and done < total):
            return
        self._last = now
        status = ImportStatus.VALIDATING if phase == "validating" else ImportStatus.IMPORTING
        await self.set(status=status, processed=done, total=total)

    def report_path(self, ext: str) -> tuple[str, Path]:
        key = f"imports/{self.tenant_id.hex}/{self.job_id.hex}.{ext}"
        return key, self.report_root / key

    async def finish(self, out: Outcome | None, *, status: ImportStatus, message: str | None, now: datetime) -> None:
        values: dict[str, Any] = {"status": status, "message": message, "finished_at": now}
        if out is not None:
            values.update(total=out.total, processed=out.total, errors=out.error_rows,
                          created_areas=out.created_areas, created_households=out.created_households,
                          created_persons=out.created_persons, unchanged=out.unchanged)
            if out.report:
                key, path = self.report_path(out.report_ext)
                await asyncio.to_thread(_write, path, out.report)
                values["report_key"] = key
        await self.set(**values)


async def new_job(ctx: RequestContext, *, file_name: str, content: bytes, dry_run: bool,
                  create_areas: bool) -> ImportJob:
    """The job row (in ``ctx``'s transaction; commit it before starting the import)."""
    check_may_import(ctx)
    name = Path(file_name or "register").name[:200]
    job = ImportJob(id=uuid7(), user_id=audit_user(ctx), kind="register", file_name=name,
                    file_sha256=file_sha256(content), dry_run=dry_run, create_areas=create_areas,
                    status=ImportStatus.PENDING, total=0, processed=0, errors=0, created_areas=0,
                    created_households=0, created_persons=0, unchanged=0, created_at=ctx.now)
    await ctx.db.flush(job)
    return job


def audit_import(ctx: RequestContext, job_id: uuid.UUID, file_name: str, sha: str, out: Outcome | None,
                 *, dry_run: bool, status: ImportStatus, message: str | None) -> None:
    """The import's audit entry (appended in the caller's commit)."""
    detail: dict[str, Any] = {"file": file_name, "sha256": sha, "dry_run": dry_run, "status": status.value,
                              "message": message}
    if out is not None:
        detail.update(rows=out.total, error_rows=out.error_rows, created_areas=out.created_areas,
                      created_households=out.created_households, created_persons=out.created_persons,
                      unchanged=out.unchanged)
    ctx.audit.append(AuditEntry(
        user_id=audit_user(ctx), roles=",".join(r.value for r in ctx.actor.roles) or "operator",
        action="register.import", object_type="import_job", object_ids=[str(job_id)], detail=detail,
        request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now))


def summary(out: Outcome, *, dry_run: bool) -> str:
    if out.errors:
        return f"{out.error_rows} 行有误，未导入任何数据 ({out.error_rows} bad rows of {out.total}; nothing written)"
    what = (f"新建区域 {out.created_areas}，住户 {out.created_households}，人员 {out.created_persons}，"
            f"已登记未变更 {out.unchanged}")
    en = (f"areas {out.created_areas}, households {out.created_households}, persons {out.created_persons}, "
          f"unchanged {out.unchanged}")
    if dry_run:
        return f"试运行通过，未写入：{what} (dry run, nothing written: would create {en})"
    if not out.written:
        return f"全部已登记，未作任何变更 (everything already registered; nothing changed: {en})"
    return f"导入完成：{what} (imported: {en})"


def job_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """Your own import jobs; a street admin (register·import everywhere) reads every job of the tenant."""
    if ctx.actor.grant("register", "import").all:
        return ImportJob.id.is_not(None)
    return ImportJob.user_id == ctx.actor.user_id


async def get_job(ctx: RequestContext, job_id: uuid.UUID) -> ImportJob | None:
    job: ImportJob | None = await ctx.db.scalar(
        select(ImportJob).where(ImportJob.id == job_id, job_read_predicate(ctx)))
    return job
