"""Signed photo links (issue #25): URLs an ``<image>`` tag can load without an Authorization header.

A link names the photo, the variant (full size or thumbnail), the tenant, the reader it was issued
to (and the partner client, for a partner unit's system) and when it expires; an HMAC-SHA256 over
all of them, with a server key, is its signature::

    /uploads/<Attachment ID>[/thumbnail]?tenant=<slug>&reader=<user id>&expires=<unix time>&sig=<mac>

The download checks the signature and the expiry before anything else (no database work for a
forged or stale link), then opens the tenant's context *as the reader* and applies the same rule
as a download with a token: the reader must, now, see the photo's case in full. A link is issued
only in that case (``Case.photos``, never on the problem wall), so one that changed any part —
another tenant, another photo, another reader, a later expiry — fails the signature, and one whose
reader has lost the right since fails the rule.

Expiry: at most ``ttl`` seconds after issue, and at least half of it; the same link is issued
throughout each half-``ttl`` window, so clients can cache the image by its URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

import orjson

from resolvers.ids import encode_global_id

SIG_BYTES = 16  # 128 bits of HMAC-SHA256


class Variant(StrEnum):
    FULL = "full"
    THUMBNAIL = "thumbnail"


class LinkRefused(Exception):
    """A link that does not verify; ``reason`` is ``invalid`` or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Link:
    """A verified link: who may be served what (the reader's right still to be checked)."""

    tenant: str
    attachment_id: uuid.UUID
    variant: Variant
    reader: uuid.UUID
    client: str | None
    expires: int


def derive_key(secret: str, purpose: str = "gongzhi photo links v1") -> bytes:
    """A key of its own from a server secret (the JWT secret, the data keys): a link's MAC is never
    a token's signature."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PhotoLinks:
    """Issues and verifies photo links with one key."""

    key: bytes
    ttl: int = 600
    base_url: str = ""  # "https://api.example.org" for absolute URLs; "" for paths

    def expiry(self, now: datetime) -> int:
        step = max(self.ttl // 2, 1)
        return (int(now.timestamp()) + self.ttl) // step * step

    def _mac(self, tenant: str, attachment_id: uuid.UUID, variant: Variant, reader: uuid.UUID, client: str | None,
             expires: int) -> str:
        message = orjson.dumps(["photo", tenant, attachment_id.hex, variant.value, reader.hex, client or "", expires])
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest()[:SIG_BYTES])

    def url(self, *, tenant: str, attachment_id: uuid.UUID, variant: Variant, reader: uuid.UUID,
            client: str | None, now: datetime) -> str:
        expires = self.expiry(now)
        params = {"tenant": tenant, "reader": reader.hex, "expires": str(expires)}
        if client:
            params["client"] = client
        params["sig"] = self._mac(tenant, attachment_id, variant, reader, client, expires)
        path = f"/uploads/{encode_global_id('Attachment', attachment_id)}"
        if variant is Variant.THUMBNAIL:
            path += "/thumbnail"
        return f"{self.base_url}{path}?{urlencode(params)}"

    def verify(self, params: dict[str, str], attachment_id: uuid.UUID, variant: Variant, now: datetime) -> Link:
        """The link these query parameters make for this photo and variant; ``LinkRefused`` when the
        signature does not match (checked in constant time) or the link has expired."""
        try:
            tenant, reader_hex, expires_text, sig = (params[k] for k in ("tenant", "reader", "expires", "sig"))
            reader = uuid.UUID(hex=reader_hex)
            expires = int(expires_text)
        except (KeyError, ValueError):
            raise LinkRefused("invalid") from None
        client = params.get("client") or None
        expected = self._mac(tenant, attachment_id, variant, reader, client, expires)
        if not hmac.compare_digest(expected.encode(), sig.encode("ascii", "replace")):
            raise LinkRefused("invalid")
        if now.timestamp() >= expires:
            raise LinkRefused("expired")
        return Link(tenant=tenant, attachment_id=attachment_id, variant=variant, reader=reader, client=client,
                    expires=expires)
