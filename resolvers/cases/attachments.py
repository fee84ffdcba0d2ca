"""Photos: rebuilt from their pixels before they are stored (resolvers.cases.images: no EXIF, GPS
or other metadata, at most 2048 px), stored on local disk under ``<root>/<tenant>/<id>`` with a
thumbnail beside it (``<id>.thumb``); readable by whoever sees the case they belong to *in full*
(never from the problem wall, which hides the reporter), and before that by their uploader only."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from sqlalchemy import select

from models import Attachment, Case, uuid7
from resolvers.cases.images import CleanImage, clean_image
from resolvers.cases.reads import read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.photo_links import Variant


def storage_keys(tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> tuple[str, str]:
    """(the photo's key, its thumbnail's key) under the upload root."""
    key = f"{tenant_id.hex}/{attachment_id.hex}"
    return key, f"{key}.thumb"


def write_file(path: Path, data: bytes) -> None:
    """Written whole or not at all: a reader never sees half a file, a crash leaves no stub."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def apply_image(row: Attachment, image: CleanImage) -> None:
    """The row describes the stored (clean) file."""
    row.content_type = image.content_type
    row.size = len(image.data)
    row.sha256 = hashlib.sha256(image.data).hexdigest()
    row.width, row.height = image.width, image.height


async def store_photo(ctx: RequestContext, image: CleanImage, root: Path) -> Attachment:
    """Store a cleaned photo and its thumbnail as the actor's unattached upload."""
    if not ctx.actor.assignments:
        raise ServiceError(ErrorCode.FORBIDDEN, "你在本街道没有任何角色，不能上传照片", "file")
    attachment_id = uuid7()
    key, thumb_key = storage_keys(ctx.tenant.id, attachment_id)
    write_file(root / key, image.data)
    write_file(root / thumb_key, image.thumbnail)
    row = Attachment(id=attachment_id, uploader_user_id=ctx.actor.user_id, case_id=None, storage_key=key,
                     thumbnail_key=thumb_key)
    apply_image(row, image)
    await ctx.db.flush(row)
    return row


async def readable_photo(ctx: RequestContext, attachment_id: uuid.UUID) -> Attachment | None:
    """The photo, if the actor may see it now: its case in full (not as a problem-wall entry), or,
    while it belongs to no case, as its uploader."""
    row: Attachment | None = await ctx.db.scalar(select(Attachment).where(Attachment.id == attachment_id))
    if row is None:
        return None
    if row.case_id is None:
        return row if row.uploader_user_id == ctx.actor.user_id else None
    seen = await ctx.db.scalar(select(Case.id).where(Case.id == row.case_id, read_predicate(ctx, public=False)))
    return None if seen is None else row


def photo_content(row: Attachment, root: Path, variant: Variant) -> Path | bytes | None:
    """What to serve: the stored file, or — for a photo stored before issue #24 that ``gongzhi
    photos clean`` has not rebuilt yet — its bytes cleaned in memory (never the file as it was
    uploaded). None when the file is missing or cannot be cleaned."""
    if row.thumbnail_key is not None:
        path = root / (row.thumbnail_key if variant is Variant.THUMBNAIL else row.storage_key)
        return path if path.is_file() else None
    path = root / row.storage_key
    if not path.is_file():
        return None
    try:
        image = clean_image(path.read_bytes(), max_bytes=1 << 62)
    except ServiceError:
        return None
    return image.thumbnail if variant is Variant.THUMBNAIL else image.data
