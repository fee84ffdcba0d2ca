"""Global object IDs ("Type:uuid", base64url) and keyset cursors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Set

from resolvers.errors import ErrorCode, ServiceError


def encode_global_id(type_name: str, id_: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode().rstrip("=")


def decode_global_id(gid: str, expected: str | Set[str] | None = None, field: str = "id") -> tuple[str, uuid.UUID]:
    """The (type, uuid) a global ID names; INVALID_ID for anything malformed or of the wrong type."""
    try:
        raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
        type_name, _, value = raw.partition(":")
        parsed = uuid.UUID(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError(ErrorCode.INVALID_ID, f"{field} is not a valid ID", field) from None
    if expected is not None:
        allowed = {expected} if isinstance(expected, str) else expected
        if type_name not in allowed:
            raise ServiceError(ErrorCode.INVALID_ID, f"{field} must be the ID of a {' or '.join(sorted(allowed))}",
                               field)
    return type_name, parsed


def encode_cursor(id_: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(b"k:" + id_.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(b"k:") or len(raw) != 18:
            raise ValueError
        return uuid.UUID(bytes=raw[2:])
    except (binascii.Error, ValueError):
        raise ServiceError(ErrorCode.INVALID_CURSOR, "after is not a cursor this list gave out", "after") from None
