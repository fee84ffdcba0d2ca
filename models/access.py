"""Who may do what: users' presence in a tenant, role assignments, Casbin's rule table, audit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped


class Member(TenantScoped, Base):
    """A user's presence in a tenant, linked to their own person on the register (for "own")."""

    __tablename__ = "members"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        UniqueConstraint("tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class RoleAssignment(TenantScoped, Base):
    """A role held by a user over a scope (a node of the area tree), inside a validity window.

    For ``property_firm`` the firm is named too: its condition "served" means the compounds that
    firm serves.
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "scope_area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        Index("ix_role_assignments_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(32))
    scope_area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    firm_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    granted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class CasbinRule(TenantScoped, Base):
    """Casbin's policy lines for one tenant (ptype p: role, domain, resource, action, condition)."""

    __tablename__ = "casbin_rules"
    __table_args__ = (Index("ix_casbin_rules_tenant", "tenant_id", "ptype"),)

    ptype: Mapped[str] = mapped_column(String(8))
    v0: Mapped[str] = mapped_column(String(64), default="")
    v1: Mapped[str] = mapped_column(String(64), default="")
    v2: Mapped[str] = mapped_column(String(64), default="")
    v3: Mapped[str] = mapped_column(String(64), default="")
    v4: Mapped[str] = mapped_column(String(64), default="")
    v5: Mapped[str] = mapped_column(String(64), default="")


class AuditEntry(TenantScoped, Base):
    """Append-only audit log: who, in which tenant and role, did or read what, when, from where.

    Rows are inserted without ``seq``/``prev_hash``/``hash``; the sealing job (resolvers/audit/chain.py)
    later chains them per tenant — the only UPDATE an audit row ever gets, once (a database trigger
    refuses any other, migration 0029)."""

    __tablename__ = "audit_log"
    __audit__ = False
    __table_args__ = (
        Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),
        Index("ux_audit_log_tenant_seq", "tenant_id", "seq", unique=True),  # the chain's order
        # what the sealing job walks: the tenant's rows not chained yet, oldest first
        Index("ix_audit_log_unsealed", "tenant_id", "created_at", "id",
              postgresql_where=text("hash IS NULL"), sqlite_where=text("hash IS NULL")),
        # what personalDataReport reads: the tenant's full reads of personal data (migration 0047)
        Index("ix_audit_log_pii_reads", "tenant_id", "created_at",
              postgresql_where=text("action = 'person.read_pii'"), sqlite_where=text("action = 'person.read_pii'")),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    roles: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    # Where the object lies (materialized area path), so a party secretary reads their scope's log.
    area_path: Mapped[str | None] = mapped_column(String(400))
    # The hash chain (per tenant): position, the previous row's hash, SHA-256 of this row's content and
    # the previous hash. NULL until the sealing job reaches the row.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
