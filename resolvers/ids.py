"""The one global-ID codec ("Type:uuid", base64url) and keyset cursors.

Every layer decodes a client's ID here, with one signature: ``decode_id(value, expected, field)``
gives the row uuid (``None`` stays ``None``); ``decode_global_id(value, expected, field)`` gives the
(type, uuid) pair where the type is not known beforehand (``node(id:)``). Both raise
``ServiceError(INVALID_ID)`` naming the field: a mutation reports it as a typed error, a query
field as a GraphQL error with that code and field (``ServiceError.extensions``). An ID names a
row, never a tenant: a decoded uuid is looked up through the request's tenant-bound session, so
another tenant's ID finds nothing."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable, Sequence, Set
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, overload

from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# The wire formats, stated once: the resolvers encode with them here and the compiled reads build
# their SQL from the same constants (compiled/sql.py: gid, cursor), so neither can drift alone.
GID_SEPARATOR = ":"
"""A global ID is base64url("<Type>:<uuid as text>")."""
CURSOR_PREFIX = b"k:"
"""A keyset cursor is base64url(b"k:" + the uuid's 16 bytes)."""
ORDERED_CURSOR_PREFIX = "o:"
ORDERED_CURSOR_SEPARATOR = "|"
"""A cursor of a list in another order than by id (cases by due time …) is base64url of the UTF-8 text
"o:<order>|<bucket>|<microseconds since the epoch of the sort time>|<uuid as text>": the row's place in
that order, so the next page starts after it however the rows around it changed."""
B64_STANDARD = "+/"
B64_URLSAFE = "-_"
"""base64url is standard base64 with these two characters swapped ..."""
B64_PAD = "="
"""... and its padding stripped."""

Expected = str | Set[str] | None
"""The type name (or names) an ID must carry; ``None`` accepts any type."""


class GlobalId(NamedTuple):
    type_name: str
    id: uuid.UUID


_TO_URLSAFE = str.maketrans(B64_STANDARD, B64_URLSAFE)


def b64url(raw: bytes) -> str:
    """base64url without padding, as the constants above describe it."""
    return base64.b64encode(raw).decode().translate(_TO_URLSAFE).rstrip(B64_PAD)


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + B64_PAD * (-len(text) % 4))


def encode_global_id(type_name: str, id_: uuid.UUID) -> str:
    return b64url(f"{type_name}{GID_SEPARATOR}{id_}".encode())


def decode_global_id(gid: str, expected: Expected = None, field: str = "id") -> GlobalId:
    """The (type, uuid) a global ID names; INVALID_ID for anything malformed or of the wrong type."""
    try:
        raw = _unb64url(gid).decode()
        type_name, _, value = raw.partition(GID_SEPARATOR)
        parsed = uuid.UUID(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError(ErrorCode.INVALID_ID, t(f"{field} 不是有效的 ID",
                                                   f"{field} is not a valid ID"), field) from None
    if expected is not None:
        allowed = {expected} if isinstance(expected, str) else expected
        if type_name not in allowed:
            raise ServiceError(ErrorCode.INVALID_ID, t(f"{field} 应为 {' 或 '.join(sorted(allowed))} 的 ID",
                                                       f"{field} must be the ID of a {' or '.join(sorted(allowed))}"),
                               field)
    return GlobalId(type_name, parsed)


@overload
def decode_id(gid: str, expected: Expected = None, field: str = "id") -> uuid.UUID: ...
@overload
def decode_id(gid: str | None, expected: Expected = None, field: str = "id") -> uuid.UUID | None: ...
def decode_id(gid: str | None, expected: Expected = None, field: str = "id") -> uuid.UUID | None:
    """The row uuid of a global ID of the expected type; an absent (optional) ID stays ``None``."""
    return None if gid is None else decode_global_id(gid, expected, field).id


def decode_ids(gids: Iterable[str] | None, expected: Expected = None, field: str = "id") -> list[uuid.UUID]:
    """``decode_id`` of each ID of a list argument (an absent list is empty)."""
    return [decode_global_id(g, expected, field).id for g in gids or ()]


def encode_cursor(id_: uuid.UUID) -> str:
    return b64url(CURSOR_PREFIX + id_.bytes)


OFFSET_PREFIX = b"gz:pos:"


def encode_offset_cursor(position: int) -> str:
    """A cursor of a list computed whole (issue #25): the item's position in its stable order."""
    return b64url(OFFSET_PREFIX + str(position).encode())


def decode_offset_cursor(cursor: str) -> int:
    try:
        raw = _unb64url(cursor)
        if not raw.startswith(OFFSET_PREFIX):
            raise ValueError
        position = int(raw[len(OFFSET_PREFIX):].decode("ascii"))
        if position < 0:
            raise ValueError
        return position
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ServiceError(ErrorCode.INVALID_CURSOR, t("after 不是本列表给出的游标",
                                                       "after is not a cursor this list gave out"), "after") from None


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = _unb64url(cursor)
        if not raw.startswith(CURSOR_PREFIX) or len(raw) != len(CURSOR_PREFIX) + 16:
            raise ValueError
        return uuid.UUID(bytes=raw[len(CURSOR_PREFIX):])
    except (binascii.Error, ValueError):
        raise ServiceError(ErrorCode.INVALID_CURSOR, t("after 不是本列表给出的游标",
                                                       "after is not a cursor this list gave out"), "after") from None


class OrderedCursor(NamedTuple):
    """A row's place in a list ordered by (bucket ascending, time ascending, id descending)."""

    order: str
    bucket: int
    time: datetime
    id: uuid.UUID


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def encode_ordered_cursor(c: OrderedCursor) -> str:
    micros = (c.time - _EPOCH) // _MICRO
    text = ORDERED_CURSOR_SEPARATOR.join((c.order, str(c.bucket), str(micros), str(c.id)))
    return b64url((ORDERED_CURSOR_PREFIX + text).encode())


def decode_ordered_cursor(cursor: str, order: str) -> OrderedCursor:
    """The place an ordered cursor names; INVALID_CURSOR for anything else, a cursor of another order too."""
    try:
        raw = _unb64url(cursor).decode()
        if not raw.startswith(ORDERED_CURSOR_PREFIX):
            raise ValueError
        name, bucket, micros, id_ = raw[len(ORDERED_CURSOR_PREFIX):].split(ORDERED_CURSOR_SEPARATOR)
        if name != order:
            raise ValueError
        return OrderedCursor(name, int(bucket), _EPOCH + int(micros) * _MICRO, uuid.UUID(id_))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise ServiceError(ErrorCode.INVALID_CURSOR, t("after 不是本列表给出的游标",
                                                       "after is not a cursor this list gave out"), "after") from None


SORTED_CURSOR_PREFIX = "s:"
"""A cursor of a list in the order of a ``ListOrder`` (issue #25) is base64url of "s:" and the JSON array
[<list name>, [[<tag>, <value as text>], …]]: the row's sort-key values, each tagged with its type, so
the next page starts right after that row's place whatever changed around it."""

# In this order: a bool is an int too, a datetime a date; a driver may give a subclass (asyncpg's UUID).
_TAGS: dict[type, str] = {bool: "b", int: "i", str: "s", datetime: "t", date: "d", uuid.UUID: "u",
                          Decimal: "n", float: "f"}


def _tag(value: object) -> list[str]:
    for kind, tag in _TAGS.items():
        if isinstance(value, kind):
            if isinstance(value, uuid.UUID):
                return [tag, value.hex]
            if isinstance(value, date):  # date and datetime
                return [tag, value.isoformat()]
            return [tag, json.dumps(value) if isinstance(value, bool) else str(value)]
    raise TypeError(f"no cursor form for {type(value).__name__}")


_UNTAG: dict[str, Callable[[str], object]] = {
    "b": lambda s: {"true": True, "false": False}[s], "i": int, "s": str, "d": date.fromisoformat,
    "t": datetime.fromisoformat, "u": uuid.UUID, "n": Decimal, "f": float,
}


def encode_sorted_cursor(order: str, values: Sequence[object]) -> str:
    return b64url((SORTED_CURSOR_PREFIX + json.dumps([order, [_tag(v) for v in values]],
                                                     ensure_ascii=False, separators=(",", ":"))).encode())


def decode_sorted_cursor(cursor: str, order: str, kinds: Sequence[type | None]) -> list[object]:
    """The sort-key values a sorted cursor names, each of the type its key has; INVALID_CURSOR for
    anything else: another list's cursor, an id cursor, a value of the wrong type or count."""
    try:
        raw = _unb64url(cursor).decode()
        if not raw.startswith(SORTED_CURSOR_PREFIX):
            raise ValueError
        name, tagged = json.loads(raw[len(SORTED_CURSOR_PREFIX):])
        if name != order or not isinstance(tagged, list) or len(tagged) != len(kinds):
            raise ValueError
        values = []
        for (tag, text), kind in zip(tagged, kinds, strict=True):
            value = _UNTAG[tag](text)
            if kind is not None and type(value) is not kind:
                raise ValueError
            values.append(value)
        return values
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError, ArithmeticError):
        raise ServiceError(ErrorCode.INVALID_CURSOR, t("after 不是本列表给出的游标",
                                                       "after is not a cursor this list gave out"), "after") from None
