"""Photo upload and download, outside GraphQL: ``POST /uploads`` (multipart field ``file``) returns
an Attachment ID the case mutations take; ``GET /uploads/{id}`` serves it to those who may read
the case (or, before it is used, to its uploader)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from gongzhi.http.pipeline import authenticate, error_response, tenant_context
from resolvers.cases import readable_photo, store_photo
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_global_id, encode_global_id

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

def upload_endpoints(state: AppState) -> tuple[Callable[[Request], Awaitable[Response]],
                                                Callable[[Request], Awaitable[Response]]]:
    settings = state.settings

    async def upload(request: Request) -> Response:
        who = await authenticate(state, request)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
            return error_response(413, ErrorCode.TOO_LONG.value, "the upload is too large")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "send multipart/form-data with a 'file' field")
        async with request.form(max_files=1, max_fields=4, max_part_size=settings.max_upload_bytes + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, "the form needs a 'file' field")
            content = await file.read(settings.max_upload_bytes + 1)
        async with tenant_context(state, request, who) as ctx:
            row = await store_photo(ctx, content, state.upload_root, max_bytes=settings.max_upload_bytes)
        return JSONResponse({"id": encode_global_id("Attachment", row.id), "contentType": row.content_type,
                             "size": row.size, "sha256": row.sha256}, status_code=201)

    async def download(request: Request) -> Response:
        who = await authenticate(state, request)
        try:
            attachment_id = decode_global_id(request.path_params["id"], "Attachment")[1]
        except ServiceError:
            return error_response(404, ErrorCode.NOT_FOUND.value, "no such photo")
        async with tenant_context(state, request, who) as ctx:
            found = await readable_photo(ctx, attachment_id, state.upload_root)
        if found is None:
            return error_response(404, ErrorCode.NOT_FOUND.value, "no such photo")
        row, path = found
        return FileResponse(path, media_type=row.content_type, headers={"Cache-Control": "private, max-age=3600"})

    return upload, download
