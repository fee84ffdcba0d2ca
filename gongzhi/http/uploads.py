"""Photo upload and download, outside GraphQL: ``POST /uploads`` (multipart field ``file``) returns
an Attachment ID the case mutations take; ``GET /uploads/{id}`` serves it to those who may read
the case (or, before it is used, to its uploader)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from gongzhi.http.auth import AuthError
from resolvers.attachments import readable_photo, store_photo
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_global_id, encode_global_id

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

_STATUS = {ErrorCode.TOO_LONG: 413, ErrorCode.FORBIDDEN: 403}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def _request_id() -> str:
    return uuid.uuid4().hex


def upload_endpoints(state: AppState):  # type: ignore[no-untyped-def]
    settings = state.settings

    async def upload(request: Request) -> Response:
        try:
            user_id, slug = await state.authenticate(request.headers.get("authorization"),
                                                     request.headers.get("x-gongzhi-tenant"))
        except AuthError as e:
            return _error(e.status, e.code, e.message)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
            return _error(413, ErrorCode.TOO_LONG.value, "the upload is too large")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _error(415, "UNSUPPORTED_MEDIA_TYPE", "send multipart/form-data with a 'file' field")
        async with request.form(max_files=1, max_fields=4, max_part_size=settings.max_upload_bytes + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return _error(400, ErrorCode.INVALID.value, "the form needs a 'file' field")
            content = await file.read(settings.max_upload_bytes + 1)
        async with state.sessionmaker() as session:
            try:
                ctx = await state.open_context(session, user_id, slug, _request_id(),
                                               request.client.host if request.client else None)
                row = await store_photo(ctx, content, state.upload_root, max_bytes=settings.max_upload_bytes)
            except AuthError as e:
                return _error(e.status, e.code, e.message)
            except ServiceError as e:
                return _error(_STATUS.get(e.code, 400), e.code.value, e.message)
            await state.commit(session, ctx)
        return JSONResponse({"id": encode_global_id("Attachment", row.id), "contentType": row.content_type,
                             "size": row.size, "sha256": row.sha256}, status_code=201)

    async def download(request: Request) -> Response:
        try:
            user_id, slug = await state.authenticate(request.headers.get("authorization"),
                                                     request.headers.get("x-gongzhi-tenant"))
            attachment_id = decode_global_id(request.path_params["id"], "Attachment")[1]
        except AuthError as e:
            return _error(e.status, e.code, e.message)
        except ServiceError:
            return _error(404, ErrorCode.NOT_FOUND.value, "no such photo")
        async with state.sessionmaker() as session:
            try:
                ctx = await state.open_context(session, user_id, slug, _request_id(),
                                               request.client.host if request.client else None)
            except AuthError as e:
                return _error(e.status, e.code, e.message)
            found = await readable_photo(ctx, attachment_id, state.upload_root)
            await session.commit()
        if found is None:
            return _error(404, ErrorCode.NOT_FOUND.value, "no such photo")
        row, path = found
        return FileResponse(path, media_type=row.content_type, headers={"Cache-Control": "private, max-age=3600"})

    return upload, download
