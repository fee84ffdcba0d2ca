"""12345 work orders over HTTP (issue #22), with the same bearer token as /graphql:

- ``GET  /cases/hotline-template.xlsx`` — the import template, its example row made of your own areas;
- ``POST /cases/hotline-imports`` — multipart ``file`` (XLSX), ``dryRun``: checked whole and imported
  all or nothing in the request (a day's work orders, at most 2000 rows). 200 with
  ``{"status": "SUCCEEDED", "total", "created", "cases": [{id, number, externalTicketNo}]}``, or 422
  with ``{"status": "REJECTED", "total", "created": 0, "rows": [{"row", "errors": [...]}]}`` naming
  every error of every bad row (nothing written); with ``Accept: <xlsx media type>`` the 422 is instead
  the report workbook: the file's rows plus 错误原因/error. A dry run answers the same without writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gongzhi.http.ledgers import XLSX, _attachment, _flag
from gongzhi.http.pipeline import authenticate, error_response, tenant_context
from resolvers import cases as case_service
from resolvers.errors import ErrorCode
from resolvers.i18n import t
from resolvers.ids import encode_global_id

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

MAX_BYTES = 8 * 1024 * 1024


def hotline_routes(state: AppState) -> list[Route]:
    async def template(request: Request) -> Response:
        async with tenant_context(state, request) as ctx:
            content = await case_service.hotline_import.template_xlsx(ctx)
        return _attachment(content, "12345工单导入模板.xlsx", XLSX)

    async def upload(request: Request) -> Response:
        who = await authenticate(state, request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", t("请以 multipart/form-data 上传，文件放在 file 字段",
                                                                   "send multipart/form-data with a 'file' field"))
        async with request.form(max_files=1, max_fields=2, max_part_size=MAX_BYTES + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, t("表单缺少 file 字段",
                                                                      "the form needs a 'file' field"))
            content = await file.read(MAX_BYTES + 1)
            dry_run = _flag(form.get("dryRun"))
        if len(content) > MAX_BYTES:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大", "the file is too large"))
        async with tenant_context(state, request, who) as ctx:
            out = await case_service.hotline_import.check_and_import(ctx, content, dry_run=dry_run)
            cases = [{"id": encode_global_id("Case", c.id), "number": c.number,
                      "externalTicketNo": c.external_ticket_no} for c in out.created]
        if out.errors and XLSX in request.headers.get("accept", ""):
            # the per-row report as a workbook: the file's rows with 错误原因/error
            content = case_service.hotline_import.report_xlsx(content, out.errors)
            return Response(content, status_code=422, media_type=XLSX,
                            headers={"Content-Disposition": "attachment; filename*=UTF-8''"
                                     + quote("12345工单-校验报告.xlsx")})
        if out.errors:
            return JSONResponse({"status": "REJECTED", "total": out.total, "created": 0,
                                 "rows": [{"row": n, "errors": e} for n, e in sorted(out.errors.items())]},
                                status_code=422)
        return JSONResponse({"status": "SUCCEEDED", "total": out.total, "created": len(cases), "dryRun": dry_run,
                             "cases": cases})

    return [
        Route("/cases/hotline-template.xlsx", template, methods=["GET"]),
        Route("/cases/hotline-imports", upload, methods=["POST"]),
    ]
