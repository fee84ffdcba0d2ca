"""The audit log's hash chain, beside the log itself (``models.access.AuditEntry``): where each
tenant's chain stands, and where it starts again after rows were archived and purged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped

# The previous hash of a chain's first row.
GENESIS_HASH = "0" * 64


class AuditChainHead(TenantScoped, Base):
    """One row per tenant: the last sealed row's position and hash. The sealing job locks it (so two
    sealers of a tenant take turns; requests never touch it) and moves it forward — never back (a
    trigger refuses it). ``gongzhi audit verify`` checks the chain ends there, so rows removed from
    the end are seen too."""

    __tablename__ = "audit_chain_heads"
    __audit__ = False
    __table_args__ = (UniqueConstraint("tenant_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    sealed_at: Mapped[datetime | None]


class AuditCheckpoint(TenantScoped, Base):
    """A purge of archived audit rows (``gongzhi audit purge``, as the owner): the chain's rows up to
    ``seq`` left the database, into the archive file named by its SHA-256; the next row's
    ``prev_hash`` is ``hash``. The app role may only read these rows."""

    __tablename__ = "audit_checkpoints"
    __audit__ = False
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    purged_before: Mapped[datetime]
    archive_sha256: Mapped[str] = mapped_column(String(64))
    archive_name: Mapped[str] = mapped_column(String(200))
