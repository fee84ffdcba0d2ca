"""The onboarding spreadsheet over HTTP (issue #23; resolvers/register/onboarding_import.py), an import
job like the register's (gongzhi/http/ledgers.py):

- ``GET  /onboarding/template.xlsx`` — the template (区域, 物业公司, 服务合同), a valid example in each sheet;
- ``POST /onboarding/imports`` — multipart ``file`` (XLSX), ``dryRun``: 202 with ``{"jobId", "status"}``;
  the area tree, firms and service contracts are imported in this process in the background, all or
  nothing, and the job's progress and outcome are the GraphQL ``importJob(id)`` (``createdAreas``,
  ``createdFirms``, ``createdContracts``, ``errorRows``, ``message``, ``reportUrl``);
- ``GET  /onboarding/imports/{id}/report`` — the per-row report (XLSX): each sheet's rows as read with
  错误原因/error, every reason of a refused row, one a line.

Each row goes through the GraphQL mutations' services: their permissions apply (areas: the party
secretary in scope, the street admin; firms and contracts: the street admin). The import is audited
(``onboarding.import``) with its counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gongzhi.http.ledgers import MAX_IMPORT_BYTES, XLSX, Commit, OpenContext, _attachment
from gongzhi.http.pipeline import authenticate, client_addr, error_response, tenant_context
from models import AuditEntry, ImportStatus
from resolvers import ledgers as jobs
from resolvers import register as register_service
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_global_id, encode_global_id

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

log = logging.getLogger("gongzhi.onboarding")


def _audit(ctx: RequestContext, job_id: uuid.UUID, dry_run: bool, report: register_service.OnboardingReport | None,
           status: ImportStatus) -> None:
    ctx.audit.append(AuditEntry(
        user_id=jobs.audit_user(ctx), roles=",".join(r.value for r in ctx.actor.roles) or "operator",
        action="onboarding.import", object_type="import_job", object_ids=[str(job_id)],
        detail={"dry_run": dry_run, "status": status.value,
                "created": report.created if report is not None and report.ok and not dry_run else {},
                "error_rows": len(report.errors) if report is not None else None},
        request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now))


async def run_onboarding_import(
    sm: async_sessionmaker[AsyncSession], open_ctx: OpenContext, commit: Commit, *, tenant_id: uuid.UUID,
    job_id: uuid.UUID, content: bytes, dry_run: bool, report_root: Path,
) -> ImportStatus:
    """Check (and unless refused or a dry run, import) in one transaction; the job row follows."""
    tracker = jobs.JobTracker(sm, tenant_id, job_id, report_root)
    await tracker.set(status=ImportStatus.VALIDATING)
    report: register_service.OnboardingReport | None = None
    try:
        async with sm() as session:
            ctx = await open_ctx(session)
            try:
                report = await register_service.run_onboarding_import(ctx, content, dry_run=dry_run)
                status = ImportStatus.SUCCEEDED if report.ok else ImportStatus.REJECTED
                message = register_service.onboarding_summary(report)
            except ServiceError as e:  # the file as a whole: not a workbook
                await session.rollback()
                ctx = await open_ctx(session)
                status, message = ImportStatus.REJECTED, e.message
            _audit(ctx, job_id, dry_run, report, status)
            await commit(session, ctx)
    except Exception as e:  # the database refused: nothing stays
        log.exception("onboarding import %s failed", job_id)
        report, status = None, ImportStatus.FAILED
        message = f"导入失败，未写入任何数据 (import failed, nothing written): {type(e).__name__}"
    values: dict[str, Any] = {"status": status, "message": message, "finished_at": datetime.now(UTC)}
    if report is not None:
        values.update(total=report.total, processed=report.total, errors=len(report.errors),
                      created_areas=report.created["areas"], created_firms=report.created["firms"],
                      created_contracts=report.created["contracts"])
        key, path = tracker.report_path("xlsx")
        content = register_service.onboarding_report_xlsx(report)
        await asyncio.to_thread(_write, path, content)
        values["report_key"] = key
    await tracker.set(**values)
    return status


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def onboarding_routes(state: AppState) -> list[Route]:
    tasks: set[asyncio.Task[Any]] = set()

    def _opener(user_id: uuid.UUID, slug: str, request_id: str, addr: str | None) -> OpenContext:
        async def open_ctx(session: AsyncSession) -> RequestContext:
            return await state.open_context(session, user_id, slug, request_id, addr)
        return open_ctx

    async def template(request: Request) -> Response:
        await authenticate(state, request)
        return _attachment(register_service.onboarding_template_xlsx(), "区域与物业导入模板.xlsx", XLSX)

    async def upload(request: Request) -> Response:
        user_id, slug = await authenticate(state, request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", t("请以 multipart/form-data 上传，文件放在 file 字段",
                                                                   "send multipart/form-data with a 'file' field"))
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_IMPORT_BYTES + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, t("表单缺少 file 字段",
                                                                      "the form needs a 'file' field"))
            content = await file.read(MAX_IMPORT_BYTES + 1)
            file_name = file.filename or "onboarding.xlsx"
            dry_run = str(form.get("dryRun") or "").strip().lower() in ("1", "true", "yes", "on")
        if len(content) > MAX_IMPORT_BYTES:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大", "the file is too large"))
        async with tenant_context(state, request, (user_id, slug)) as ctx:
            try:
                job = await register_service.new_onboarding_job(
                    ctx, file_name=file_name, file_sha256=hashlib.sha256(content).hexdigest(), dry_run=dry_run,
                    user_id=jobs.audit_user(ctx))
            except ServiceError as e:
                return error_response(403 if e.code is ErrorCode.FORBIDDEN else 400, e.code.value, e.message)
        task = asyncio.create_task(run_onboarding_import(
            state.sessionmaker, _opener(user_id, slug, ctx.request_id, client_addr(request)), state.commit,
            tenant_id=ctx.tenant.id, job_id=job.id, content=content, dry_run=dry_run,
            report_root=state.upload_root))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return JSONResponse({"jobId": encode_global_id("ImportJob", job.id), "status": job.status.name},
                            status_code=202)

    async def report(request: Request) -> Response:
        who = await authenticate(state, request)
        try:
            job_id = decode_global_id(request.path_params["id"], "ImportJob")[1]
        except ServiceError:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("没有这个导入任务", "no such import job"))
        async with tenant_context(state, request, who) as ctx:
            job = await jobs.get_job(ctx, job_id)
        if job is None or job.kind != register_service.ONBOARDING_KIND or job.report_key is None:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("该导入任务还没有报告",
                                                                    "no report for this import job (yet)"))
        return FileResponse(state.upload_root / job.report_key, media_type=XLSX,
                            filename=f"{Path(job.file_name).stem}-校验报告.xlsx")

    return [Route("/onboarding/template.xlsx", template, methods=["GET"]),
            Route("/onboarding/imports", upload, methods=["POST"]),
            Route("/onboarding/imports/{id}/report", report, methods=["GET"])]
