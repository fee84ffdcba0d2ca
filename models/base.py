"""Declarative base, the tenant mixin and id generation.

Every tenant table carries ``tenant_id`` and has ``(tenant_id, id)`` as its primary key, and every
foreign key between tenant tables includes ``tenant_id`` — the layout a Citus-style distribution by
``tenant_id`` needs. Platform tables (tenants, users) are the only ones without it.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, ForeignKey, MetaData, TypeDecorator, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The last id's millisecond and 12-bit sequence in this process (RFC 9562 §6.2, method 1).
_last_uuid7 = [0, 0]
# Random bytes for ids, read from the kernel 4 KiB at a time, not 10 bytes (a system call) per id (issue #21: a
# report makes five); a forked child drops what is left, and must not make its parent's ids. Taken under a lock,
# with the sequence: two threads never take the same bytes.
_RANDOM = 4096
_random: list[Any] = [b"", _RANDOM]  # the bytes, the next unused offset
_lock = threading.Lock()


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _random[0], _random[1] = b"", _RANDOM


os.register_at_fork(after_in_child=_after_fork)
_new_uuid = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 v7): keyset pagination by id follows creation order. Ids made in
    the same millisecond count up in the 12-bit field after the version (a fixed-length counter,
    started at a random value in its lower half), so they sort in the order they were made in this
    process; a counter that runs out moves on to the next millisecond."""
    ms = time.time_ns() // 1_000_000
    with _lock:
        pool, at = _random
        if at > _RANDOM - 10:
            pool, at = os.urandom(_RANDOM), 0
            _random[0] = pool
        _random[1] = at + 10
        rand = int.from_bytes(pool[at:at + 10], "big")
        last_ms, last_seq = _last_uuid7
        if ms <= last_ms:
            ms, seq = last_ms, last_seq + 1
            if seq > 0xFFF:
                ms, seq = last_ms + 1, (rand >> 62) & 0x7FF
        else:
            seq = (rand >> 62) & 0x7FF
        _last_uuid7[0], _last_uuid7[1] = ms, seq
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= seq << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    # What uuid.UUID(int=value) makes — its int and is_safe — without its argument checks (≈ 4 µs an id): value is
    # 128 bits by construction
    made = _new_uuid(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always read back timezone-aware (SQLite returns naive
    values otherwise); a naive value is refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give timestamps with a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def enum_column(cls: type[enum.Enum], length: int = 16) -> Enum:
    """An enum stored as its values in a plain string column (no native enum type to migrate)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class PlatformTable:
    """Marker for platform tables: no tenant_id, no row-level security (reference tables)."""


class TenantScoped:
    """Mixin for every table holding a tenant's data.

    ``tenant_id`` is the first primary-key column; the ORM session filters on it for every query
    (tenants.session) and PostgreSQL row-level security repeats the check (migrations).
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)

    @declared_attr
    def id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, primary_key=True, default=uuid7)

    @declared_attr
    def created_at(cls) -> Mapped[datetime]:
        return mapped_column(default=utcnow)


def tenant_tables() -> list[str]:
    """Names of all tenant-scoped tables (for RLS and isolation tests)."""
    return sorted(
        m.local_table.name  # type: ignore[attr-defined]
        for m in Base.registry.mappers
        if issubclass(m.class_, TenantScoped)
    )
