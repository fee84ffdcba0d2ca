"""``gongzhi photos clean`` (issue #24): rebuild the photos stored before uploads were cleaned.

Until issue #24 a photo was stored byte for byte, EXIF and GPS included. Those rows have no
thumbnail (``attachments.thumbnail_key`` is null, migration 0026). For each, in every tenant (or
one), this reads the file under ``GONGZHI_UPLOAD_DIR``, rebuilds it from its pixels as an upload is
now (resolvers.cases.images), writes the clean file over it and a thumbnail beside it (each written
whole, then renamed), and records size, checksum, dimensions and the thumbnail in the row — one
transaction per photo, so an interrupted run loses nothing and the next run carries on.

A file that does not decode is renamed ``<key>.unreadable`` (it is never served again; an operator
may inspect and delete it); a missing file is counted. Running it again finds nothing to do. Until
it has run, the download cleans such a photo in memory each time it is served."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Attachment, Tenant
from resolvers.cases import apply_image, clean_image_async, write_file
from resolvers.errors import ServiceError
from tenants.session import bind_tenant

NO_LIMIT = 1 << 62  # files already stored are rebuilt whatever their size


@dataclass
class CleanReport:
    tenants: int = 0
    cleaned: int = 0
    unreadable: int = 0
    missing: int = 0


class UnknownTenant(Exception):
    """No tenant with that slug."""


async def _tenants(sessionmaker: async_sessionmaker[AsyncSession], slug: str | None) -> list[uuid.UUID]:
    async with sessionmaker() as s:
        stmt = select(Tenant.id).order_by(Tenant.slug)
        if slug is not None:
            stmt = stmt.where(Tenant.slug == slug)
        found = list(await s.scalars(stmt))
    if slug is not None and not found:
        raise UnknownTenant(slug)
    return found


async def clean_photos(sessionmaker: async_sessionmaker[AsyncSession], root: Path, *, tenant: str | None = None,
                       dry_run: bool = False, echo: Callable[[str], None] | None = None) -> CleanReport:
    """Rebuild every photo of ``tenant`` (default: all) that has no thumbnail yet; with ``dry_run``
    count what would be done and change nothing."""
    report = CleanReport()
    for tenant_id in await _tenants(sessionmaker, tenant):
        report.tenants += 1
        async with sessionmaker() as s:
            bind_tenant(s, tenant_id)
            async with s.begin():
                ids = list(await s.scalars(select(Attachment.id).where(Attachment.thumbnail_key.is_(None))
                                           .order_by(Attachment.id)))
        for attachment_id in ids:
            async with sessionmaker() as s:
                bind_tenant(s, tenant_id)
                async with s.begin():
                    row = await s.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                                  Attachment.thumbnail_key.is_(None)))
                    if row is None:  # rebuilt meanwhile (another run)
                        continue
                    outcome = await _clean_one(row, root, dry_run=dry_run)
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    if echo is not None and outcome != "cleaned":
                        echo(f"{row.storage_key}: {'无法解码' if outcome == 'unreadable' else '文件缺失'}")
    return report


async def _clean_one(row: Attachment, root: Path, *, dry_run: bool) -> str:
    path = root / row.storage_key
    if not path.is_file():
        return "missing"
    try:
        image = await clean_image_async(path.read_bytes(), max_bytes=NO_LIMIT)
    except ServiceError:
        if not dry_run:
            path.rename(path.with_name(path.name + ".unreadable"))
        return "unreadable"
    if dry_run:
        return "cleaned"
    thumb_key = f"{row.storage_key}.thumb"
    write_file(root / thumb_key, image.thumbnail)
    write_file(path, image.data)
    apply_image(row, image)
    row.thumbnail_key = thumb_key
    return "cleaned"
