"""Photos: checked by their content (not the declared type), size-limited, stored on local disk
under ``<root>/<tenant>/<id>``; readable by whoever may read the case they belong to."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from sqlalchemy import select

from models import Attachment, Case, uuid7
from resolvers.cases.reads import read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError

MAX_BYTES = 5 * 1024 * 1024


def sniff_image(content: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG, WebP), or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _path(root: Path, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
    return root / tenant_id.hex / attachment_id.hex


async def store_photo(ctx: RequestContext, content: bytes, root: Path, *, max_bytes: int = MAX_BYTES) -> Attachment:
    if not ctx.actor.assignments:
        raise ServiceError(ErrorCode.FORBIDDEN, "you hold no role in this tenant", "file")
    if len(content) == 0:
        raise ServiceError(ErrorCode.INVALID, "the file is empty", "file")
    if len(content) > max_bytes:
        raise ServiceError(ErrorCode.TOO_LONG, f"photos may be at most {max_bytes // 1024 // 1024} MB", "file")
    kind = sniff_image(content)
    if kind is None:
        raise ServiceError(ErrorCode.INVALID, "only JPEG, PNG or WebP photos are accepted", "file")
    attachment_id = uuid7()
    target = _path(root, ctx.tenant.id, attachment_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    row = Attachment(id=attachment_id, uploader_user_id=ctx.actor.user_id, case_id=None, content_type=kind,
                     size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                     storage_key=f"{ctx.tenant.id.hex}/{attachment_id.hex}")
    await ctx.db.flush(row)
    return row


async def readable_photo(ctx: RequestContext, attachment_id: uuid.UUID, root: Path) -> tuple[Attachment, Path] | None:
    row = await ctx.db.scalar(select(Attachment).where(Attachment.id == attachment_id))
    if row is None:
        return None
    if row.case_id is None:
        if row.uploader_user_id != ctx.actor.user_id:
            return None
    elif await ctx.db.scalar(select(Case.id).where(Case.id == row.case_id, read_predicate(ctx))) is None:
        return None
    path = root / row.storage_key
    return (row, path) if path.is_file() else None
