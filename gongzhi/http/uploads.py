"""Photo upload and download, outside GraphQL.

``POST /uploads`` (multipart field ``file``, a bearer token) rebuilds the photo from its pixels —
EXIF, GPS and every other metadata dropped, at most 2048 px, a 320 px thumbnail beside it
(resolvers.cases.images) — and returns an Attachment ID the case mutations take, with its size and
links for its uploader.

``GET /uploads/{id}`` and ``GET /uploads/{id}/thumbnail`` serve it to whoever sees its case in full
(never from the problem wall), or before it is used to its uploader — either with a bearer token,
or without any header through a signed link (``Photo.url`` / ``thumbnailUrl``, resolvers.photo_links):
its signature and expiry are checked first, then the reader it names must still see the case.
Refusals: 401 without token or link, 403 ``FORBIDDEN`` for a link that does not verify (``reason``
``invalid`` or ``expired``), 404 ``NOT_FOUND`` for a photo that is not there or not yours to see."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from gongzhi.http import observability as obs
from gongzhi.http.pipeline import (
    RateLimited,
    authenticate,
    client_addr,
    error_response,
    request_id,
    tenant_context,
)
from models import Attachment
from resolvers.cases import clean_image_async, in_image_thread, photo_content, readable_photo, store_photo
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_global_id, encode_global_id
from resolvers.photo_links import Link, LinkRefused, Variant

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

Endpoint = Callable[[Request], Awaitable[Response]]
LINK_PARAMS = ("tenant", "reader", "expires", "sig")
REFUSED = {"invalid": "照片链接无效", "expired": "照片链接已过期，请重新获取"}
# What every served photo says: never sniffed as anything else, never a page of its own.
SAFE = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


def upload_endpoints(state: AppState) -> tuple[Endpoint, Endpoint, Endpoint]:
    settings = state.settings

    async def upload(request: Request) -> Response:
        who = await authenticate(state, request)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
            return error_response(413, ErrorCode.TOO_LONG.value, t("上传的文件过大",
                                                                   "the file is too large"), field="file")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", t("请以 multipart/form-data 上传，文件放在 file 字段",
                                                                   "send multipart/form-data with a 'file' field"))
        async with request.form(max_files=1, max_fields=4, max_part_size=settings.max_upload_bytes + 1) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return error_response(400, ErrorCode.INVALID.value, t("表单缺少 file 字段",
                                                                      "the form needs a 'file' field"), field="file")
            content = await file.read(settings.max_upload_bytes + 1)
        # Decoded and re-encoded on the image threads, before any database work.
        image = await clean_image_async(content, max_bytes=settings.max_upload_bytes)
        async with tenant_context(state, request, who) as ctx:
            row = await store_photo(ctx, image, state.upload_root)
            body = {"id": encode_global_id("Attachment", row.id), "contentType": row.content_type,
                    "size": row.size, "sha256": row.sha256, "width": row.width, "height": row.height,
                    **_links_for(ctx, row.id)}
        return JSONResponse(body, status_code=201)

    def _links_for(ctx: RequestContext, attachment_id: uuid.UUID) -> dict[str, object]:
        links = state.photo_links

        def url(variant: Variant) -> str:
            return links.url(tenant=ctx.tenant.slug, attachment_id=attachment_id, variant=variant,
                             reader=ctx.actor.user_id, client=ctx.actor.partner_client_id, now=ctx.now)

        expires = datetime.fromtimestamp(links.expiry(ctx.now), UTC).isoformat()  # as the DateTime scalar
        return {"url": url(Variant.FULL), "thumbnailUrl": url(Variant.THUMBNAIL), "urlsExpireAt": expires}

    @contextlib.asynccontextmanager
    async def reader_context(request: Request, link: Link) -> AsyncIterator[RequestContext]:
        """The tenant's context as the link's reader (their roles as they are now), within their rate limit."""
        obs.note(tenant=link.tenant, user=str(link.reader))
        decision = await state.limiter.check(link.tenant, str(link.reader))
        if not decision.allowed:
            raise RateLimited(decision)
        async with state.sessionmaker() as session:
            ctx = await state.open_context(session, link.reader, link.tenant, request_id(), client_addr(request),
                                           partner_client=link.client)
            yield ctx
            await state.commit(session, ctx)

    async def serve(request: Request, variant: Variant) -> Response:
        signed = request.headers.get("authorization") is None and any(k in request.query_params for k in LINK_PARAMS)
        who = None if signed else await authenticate(state, request)  # no token, no link: 401 first
        try:
            attachment_id = decode_global_id(request.path_params["id"], "Attachment")[1]
        except ServiceError:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("没有这张照片", "no such photo"))
        if who is None:
            try:
                link = state.photo_links.verify(dict(request.query_params), attachment_id, variant, state.clock())
            except LinkRefused as e:
                return error_response(403, ErrorCode.FORBIDDEN.value, REFUSED[e.reason], reason=e.reason)
            opened = reader_context(request, link)
            max_age = max(0, min(link.expires - int(state.clock().timestamp()), 3600))
        else:
            opened = tenant_context(state, request, who)
            max_age = 3600
        async with opened as ctx:
            row = await readable_photo(ctx, attachment_id)
        if row is None:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("没有这张照片", "no such photo"))
        return await _respond(row, variant, max_age)

    async def _respond(row: Attachment, variant: Variant, max_age: int) -> Response:
        headers = {**SAFE, "Cache-Control": f"private, max-age={max_age}"}
        if row.thumbnail_key is None:  # stored before issue #24, not yet rebuilt: cleaned in memory, off the loop
            found = await in_image_thread(lambda: photo_content(row, state.upload_root, variant))
        else:
            found = photo_content(row, state.upload_root, variant)
        if found is None:
            return error_response(404, ErrorCode.NOT_FOUND.value, t("没有这张照片", "no such photo"))
        if isinstance(found, bytes):
            headers["ETag"] = f'"{hashlib.sha256(found).hexdigest()[:32]}"'
            return Response(found, media_type=row.content_type, headers=headers)
        return FileResponse(found, media_type=row.content_type, headers=headers)

    async def download(request: Request) -> Response:
        return await serve(request, Variant.FULL)

    async def thumbnail(request: Request) -> Response:
        return await serve(request, Variant.THUMBNAIL)

    return upload, download, thumbnail
