"""Photos as fields (issue #25): ``Case.photos`` and ``CaseTimelineEntry.photos`` give each photo
with signed, short-lived URLs that an ``<image>`` tag loads without an Authorization header
(resolvers.photo_links). Only readers who see the case in full get them: on the problem wall a
case has no photos (issue #24)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from models import Attachment as AttachmentRow
from resolvers import loaders
from resolvers.context import RequestContext
from resolvers.ids import encode_global_id
from resolvers.photo_links import PhotoLinks, Variant
from schema.common import context, field


def _links(ctx: RequestContext) -> PhotoLinks:
    if ctx.photo_links is None:
        raise RuntimeError("photo links are not configured for this context")
    return ctx.photo_links


@strawberry.type(description="A photo of a case (照片), stripped of EXIF/GPS and other metadata when uploaded. "
                             "url and thumbnailUrl are signed for you and work without an Authorization header "
                             "(an <image> tag can load them) until urlsExpireAt; query again for fresh ones.")
class Photo:
    _m: strawberry.Private[AttachmentRow]

    @field(description="The photo's Attachment ID, as in photoIds and CaseTimelineEntry.attachmentIds.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Attachment", self._m.id))

    @field(description="Media type of the stored image: image/jpeg, image/png or image/webp.")
    def content_type(self) -> str:
        return self._m.content_type

    @field(description="Width of the full-size image in pixels (at most 2048); null when not known yet.")
    def width(self) -> int | None:
        return self._m.width

    @field(description="Height of the full-size image in pixels (at most 2048); null when not known yet.")
    def height(self) -> int | None:
        return self._m.height

    @field(description="Size of the full-size image in bytes.")
    def size(self) -> int:
        return self._m.size

    def _url(self, info: Info, variant: Variant) -> str:
        ctx = context(info)
        return _links(ctx).url(tenant=ctx.tenant.slug, attachment_id=self._m.id, variant=variant,
                               reader=ctx.actor.user_id, client=ctx.actor.partner_client_id, now=ctx.now)

    @field(description="The full-size image (原图, at most 2048 px on its longest side): a signed link, bound "
                       "to this street office, this photo and you; it stops working at urlsExpireAt or when "
                       "you may no longer read the case. A path unless the server sets GONGZHI_PUBLIC_URL.")
    def url(self, info: Info) -> str:
        return self._url(info, Variant.FULL)

    @field(description="The thumbnail (缩略图, at most 320 px on its longest side): a signed link like url.")
    def thumbnail_url(self, info: Info) -> str:
        return self._url(info, Variant.THUMBNAIL)

    @field(description="When url and thumbnailUrl stop working (at most GONGZHI_PHOTO_URL_TTL seconds after "
                       "the query, at least half of it).")
    def urls_expire_at(self, info: Info) -> datetime:
        ctx = context(info)
        return datetime.fromtimestamp(_links(ctx).expiry(ctx.now), UTC)


async def photos_of(ctx: RequestContext, case_id: uuid.UUID, ids: Iterable[str]) -> list[Photo]:
    """The case's photos with these ids (timeline order, each once). The caller has checked that
    the actor sees the case in full."""
    wanted = [uuid.UUID(i) for i in dict.fromkeys(ids)]
    if not wanted:
        return []
    rows = await loaders.by_id(ctx, AttachmentRow).load_many(wanted)
    return [Photo(_m=r) for r in rows if r is not None and r.case_id == case_id]
