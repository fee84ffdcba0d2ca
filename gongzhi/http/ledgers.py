"""Ledgers over HTTP (issue #11), outside GraphQL, with the same bearer token as /graphql:

- ``GET  /ledgers/register-template.xlsx`` — the import template;
- ``POST /ledgers/register-imports`` — multipart ``file`` (XLSX or CSV), ``dryRun``, ``createAreas``:
  202 with the import job's ID; the import runs in this process in the background and its progress is
  the GraphQL ``importJob(id)``;
- ``GET  /ledgers/register-imports/{id}/report`` — the per-row report (the file's layout + 错误原因/error);
- ``GET  /ledgers/register.xlsx?areaId=`` — the register in the template's layout;
- ``GET  /ledgers/export.xlsx?areaId=&from=YYYY-MM-DD&to=YYYY-MM-DD`` — the work ledgers (台账).

``run_register_import`` is shared with the CLI (``gongzhi import-register``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gongzhi.http.pipeline import authenticate, client_addr, error_response, tenant_context
from models import Area, AreaKind, ImportStatus, Tenant
from policies.actor import Actor, Assignment
from policies.enforcer import PolicyCache
from policies.roles import Role
from resolvers import ledgers as imp
from resolvers import ledgers as ledger_svc
from resolvers.context import Db, RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_global_id, encode_global_id
from schema.register import AREA_TYPE_NAMES
from tenants.session import bind_tenant

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

log = logging.getLogger("gongzhi.ledgers")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_IMPORT_BYTES = 64 * 1024 * 1024


def _attachment(content: bytes, file_name: str, media_type: str) -> Response:
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}",
        "Cache-Control": "no-store"})


# -- the import run, shared by HTTP and CLI

OpenContext = Callable[[AsyncSession], Awaitable[RequestContext]]
Commit = Callable[[AsyncSession, RequestContext], Awaitable[None]]


async def plain_commit(session: AsyncSession, ctx: RequestContext) -> None:
    await ctx.db.drain()
    for entry in ctx.audit_entries():
        session.add(entry)
    await session.commit()


async def run_register_import(
    sm: async_sessionmaker[AsyncSession], open_ctx: OpenContext, commit: Commit, *, tenant_id: uuid.UUID,
    job_id: uuid.UUID, content: bytes, file_name: str, dry_run: bool, create_areas: bool, report_root: Path,
    echo: Callable[[str, int, int], None] | None = None,
) -> tuple[ImportStatus, imp.Outcome | None, str]:
    """Check (and unless rejected or a dry run, import) in one transaction; the job row follows."""
    tracker = imp.JobTracker(sm, tenant_id, job_id, report_root, echo=echo)
    await tracker.set(status=ImportStatus.VALIDATING)
    out: imp.Outcome | None = None
    sha = imp.file_sha256(content)
    try:
        async with sm() as session:
            ctx = await open_ctx(session)
            try:
                out = await imp.check_and_import(ctx, content, file_name, dry_run=dry_run, create_areas=create_areas,
                                                 progress=tracker.progress)
                status = ImportStatus.REJECTED if out.errors else ImportStatus.SUCCEEDED
                message = imp.summary(out, dry_run=dry_run)
            except ServiceError as e:  # the file as a whole (format, header) or no permission
                await session.rollback()
                ctx = await open_ctx(session)
                status, message = ImportStatus.REJECTED, e.message
            imp.audit_import(ctx, job_id, file_name, sha, out, dry_run=dry_run, status=status, message=message)
            await commit(session, ctx)
    except Exception as e:  # the database refused (e.g. a concurrent import of the same rows): nothing stays
        log.exception("register import %s failed", job_id)
        out, status = None, ImportStatus.FAILED
        message = f"导入失败，未写入任何数据 (import failed, nothing written): {type(e).__name__}"
    await tracker.finish(out, status=status, message=message, now=datetime.now(UTC))
    return status, out, message


async def operator_context(session: AsyncSession, tenant: Tenant, policies: PolicyCache, request_id: str
                           ) -> RequestContext:
    """The command line's actor: the street admin's rights over the whole tenant, recorded without a user."""
    bind_tenant(session, tenant.id)
    root = (await session.execute(select(Area.id, Area.path, Area.name).where(Area.kind == AreaKind.STREET))).one()
    policy = await policies.get(session, tenant.id, tenant.policy_version)
    now = datetime.now(UTC)
    actor = Actor(user_id=imp.OPERATOR_ID, username="operator", display_name="operator", tenant_id=tenant.id,
                  policy=policy, assignments=[Assignment(imp.OPERATOR_ID, Role.STREET_ADMIN, root.id, root.path,
                                                         root.name, AreaKind.STREET, None, now, None)],
                  today=now.date())
    return RequestContext(db=Db(session), tenant=tenant, actor=actor, now=now, request_id=request_id)


# -- HTTP


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _date(value: str | None, field: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise ServiceError(ErrorCode.INVALID, t(f"{field} 应为日期，格式 YYYY-MM-DD",
                                                f"{field} must be a date YYYY-MM-DD"), field) from None


def ledger_routes(state: AppState) -> list[Route]:
    tasks: set[asyncio.Task[Any]] = set()

    def _opener(user_id: uuid.UUID, slug: str, request_id: str, addr: str | None) -> OpenContext:
        async def open_ctx(session: AsyncSession) -> RequestContext:
            return await state.open_context(session, user_id, slug, request_id, addr)
        return open_ctx

    async def template(request: Request) -> Response:
        await authenticate(state, request)
        return _attachment(imp.template_xlsx(), "户籍登记导入模板.xlsx", XLSX)

    async def upload(request: Request) -> Response:
        user_id, slug = await authenticate(state, request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", t("请以 multipart/form-data 上传，文件放在 file 字段",
                                                                   "send multipart/form-data with a 'file' field"))
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_IMPORT_BYTES + 64 * 1024:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大", "the file is too large"))
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_IMPORT_BYTES + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, t("表单缺少 file 字段",
                                                                      "the form needs a 'file' field"))
            content = await file.read(MAX_IMPORT_BYTES + 1)
            file_name = file.filename or "register"
            dry_run, create_areas = _flag(form.get("dryRun")), _flag(form.get("createAreas"))
        if len(content) > MAX_IMPORT_BYTES:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大", "the file is too large"))
        async with tenant_context(state, request, (user_id, slug)) as ctx:
            job = await imp.new_job(ctx, file_name=file_name, content=content, dry_run=dry_run,
                                    create_areas=create_areas)
        task = asyncio.create_task(run_register_import(
            state.sessionmaker, _opener(user_id, slug, ctx.request_id, client_addr(request)), state.commit,
            tenant_id=ctx.tenant.id, job_id=job.id, content=content, file_name=job.file_name, dry_run=dry_run,
            create_areas=create_areas, report_root=state.upload_root))
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
            job = await imp.get_job(ctx, job_id)
        if job is None or job.report_key is None:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("该导入任务还没有报告",
                                                                    "no report for this import job (yet)"))
        path = state.upload_root / job.report_key
        ext = path.suffix.lstrip(".")
        return FileResponse(path, media_type=XLSX if ext == "xlsx" else "text/csv; charset=utf-8",
                            filename=f"{Path(job.file_name).stem}-校验报告.{ext}")

    async def _export(request: Request, fn: Callable[[RequestContext], Awaitable[ledger_svc.Export]]) -> Response:
        # The commit writes the export's audit entry and its full reads of personal data.
        async with tenant_context(state, request) as ctx:
            result = await fn(ctx)
        return _attachment(result.content, result.file_name, XLSX)

    def _area(request: Request) -> uuid.UUID | None:
        raw = request.query_params.get("areaId")
        return None if not raw else decode_global_id(raw, AREA_TYPE_NAMES, "areaId")[1]

    def _full(request: Request) -> ledger_svc.FullExport:
        """The separate full-export action (issue #24): its purpose is required."""
        return ledger_svc.FullExport(request.query_params.get("purpose", ""))

    async def register(request: Request, full: bool = False) -> Response:
        async def fn(ctx: RequestContext) -> ledger_svc.Export:
            return await ledger_svc.export_register(ctx, _area(request), _full(request) if full else None)
        return await _export(request, fn)

    async def export(request: Request, full: bool = False) -> Response:
        async def fn(ctx: RequestContext) -> ledger_svc.Export:
            q = request.query_params
            return await ledger_svc.export_ledgers(ctx, _area(request), _date(q.get("from"), "from"),
                                                   _date(q.get("to"), "to"), _full(request) if full else None)
        return await _export(request, fn)

    async def register_full(request: Request) -> Response:
        return await register(request, full=True)

    async def export_full(request: Request) -> Response:
        return await export(request, full=True)

    return [
        Route("/ledgers/register-template.xlsx", template, methods=["GET"]),
        Route("/ledgers/register-imports", upload, methods=["POST"]),
        Route("/ledgers/register-imports/{id}/report", report, methods=["GET"]),
        Route("/ledgers/register.xlsx", register, methods=["GET"]),
        Route("/ledgers/export.xlsx", export, methods=["GET"]),
        # The street admin's full exports, with ?purpose= (every other export is masked for everyone).
        Route("/ledgers/register-full.xlsx", register_full, methods=["GET"]),
        Route("/ledgers/export-full.xlsx", export_full, methods=["GET"]),
    ]
