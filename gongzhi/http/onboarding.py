"""The onboarding spreadsheet over HTTP (issue #23; resolvers/register/onboarding_import.py):

- ``GET  /onboarding/template.xlsx`` — the template (区域, 物业公司, 服务合同), a valid example in each sheet;
- ``POST /onboarding/imports`` — multipart ``file`` (XLSX), ``dryRun``: the area tree, firms and service
  contracts, all or nothing. 200 with ``{"status": "SUCCEEDED" | "REJECTED", "dryRun", "created":
  {"areas", "firms", "contracts"}, "errors": [{"sheet", "row", "reasons": [...]}]}`` — every reason of
  every refused row, and nothing written when there is one (or on a dry run).

Each row goes through the GraphQL mutations' services: their permissions apply (areas: the party
secretary in scope, the street admin; firms and contracts: the street admin). The import is audited
(``onboarding.import``) with its counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gongzhi.http.ledgers import MAX_IMPORT_BYTES, XLSX, _attachment
from gongzhi.http.pipeline import authenticate, error_response, tenant_context
from models import AuditEntry
from resolvers import register as register_service
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

if TYPE_CHECKING:
    from gongzhi.http.state import AppState


def onboarding_routes(state: AppState) -> list[Route]:
    async def template(request: Request) -> Response:
        await authenticate(state, request)
        return _attachment(register_service.onboarding_template_xlsx(), "区域与物业导入模板.xlsx", XLSX)

    async def upload(request: Request) -> Response:
        who = await authenticate(state, request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", t("请以 multipart/form-data 上传，文件放在 file 字段",
                                                                   "send multipart/form-data with a 'file' field"))
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_IMPORT_BYTES + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, t("表单缺少 file 字段",
                                                                      "the form needs a 'file' field"))
            content = await file.read(MAX_IMPORT_BYTES + 1)
            dry_run = str(form.get("dryRun") or "").strip().lower() in ("1", "true", "yes", "on")
        if len(content) > MAX_IMPORT_BYTES:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大", "the file is too large"))
        async with tenant_context(state, request, who) as ctx:
            if not ctx.actor.grant("area", "manage") and not ctx.actor.grant("property_firm", "manage"):
                return error_response(403, ErrorCode.FORBIDDEN.value, t("您无权导入区域与物业",
                                                                        "you may not import areas and firms"))
            try:
                report = await register_service.run_onboarding_import(ctx, content, dry_run=dry_run)
            except ServiceError as e:
                return error_response(400, e.code.value, e.message)
            ctx.audit.append(AuditEntry(
                user_id=ctx.actor.user_id, roles=",".join(r.value for r in ctx.actor.roles),
                action="onboarding.import", object_type="area", object_ids=[],
                detail={"dry_run": dry_run, "created": report.created if report.ok else {},
                        "error_rows": len(report.errors)},
                request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now))
        return JSONResponse({
            "status": "SUCCEEDED" if report.ok else "REJECTED", "dryRun": dry_run,
            "created": report.created if report.ok and not dry_run else {k: 0 for k in report.created},
            "checked": report.created,
            "errors": [{"sheet": s, "row": n, "reasons": r} for s, n, r in report.errors]})

    return [Route("/onboarding/template.xlsx", template, methods=["GET"]),
            Route("/onboarding/imports", upload, methods=["POST"])]
