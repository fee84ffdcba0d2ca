"""Who may do what: users' presence in a tenant, role assignments, Casbin's rule table, audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, declared_attr, mapped_column

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


# the entries ix_audit_log_tenant_request holds (migration 0063)
_REQUEST_ENTRIES = "request_id IS NOT NULL AND action <> 'person.read_pii'"


class AuditEntry(TenantScoped, Base):
    """Append-only audit log: who, in which tenant and role, did or read what, when, from where.

    Rows are inserted without ``seq``/``prev_hash``/``hash``; the sealing job (resolvers/audit/chain.py)
    later chains them per tenant — the only UPDATE an audit row ever gets, once (a database trigger
    refuses any other, migration 0029)."""

    __tablename__ = "audit_log"
    __audit__ = False
    __table_args__ = (
        Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),
        # the chain's order; partial since 0050: an entry is written unsealed (seq NULL) and enters it when sealed
        Index("ux_audit_log_tenant_seq", "tenant_id", "seq", unique=True, postgresql_where=text("seq IS NOT NULL"),
              sqlite_where=text("seq IS NOT NULL")),
        # what the sealing job walks: the tenant's rows not chained yet, oldest first
        Index("ix_audit_log_unsealed", "tenant_id", "created_at", "id",
              postgresql_where=text("hash IS NULL"), sqlite_where=text("hash IS NULL")),
        # (no index of the full reads of personal data: personalDataReport finds a person's through
        # audit_pii_reads, migration 0049; 0047's partial index went in 0051)
        # a request's entries: personalDataReport names each full read's request by its other entries (the
        # action, the stated purpose), two lookups per read; without it each scanned the tenant's log (0054). The
        # full reads' own entries are never looked up so (both lookups say ``action <> 'person.read_pii'`` in their
        # text): they stay out of it (0063; as out of 0007's area index, by its ``area_path IS NOT NULL``)
        Index("ix_audit_log_tenant_request", "tenant_id", "request_id",
              postgresql_where=text(_REQUEST_ENTRIES), sqlite_where=text(_REQUEST_ENTRIES)),
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


PII_READ = "person.read_pii"


class AuditPiiRead(TenantScoped, Base):
    """Which full read of personal data (an ``audit_log`` row of action ``person.read_pii``) named which
    person: one row per id of its ``object_ids``, written with the audit row, in the same statement
    (gongzhi.http.state.audit_and_notify_sql) or the same flush (``_pii_read_rows`` below); migration 0049
    filled it for the rows before it. What personalDataReport looks a person's full reads up by (issue
    #21): the ids sit in the audit row's JSON, and no index on JSON serves the app role — under row-level
    security PostgreSQL uses an index only for leakproof operators, which neither LIKE nor jsonb
    containment is, while text equality is. Without it every report read the tenant's every full read
    (≈ 2.7 µs each: 16 of a report's 20 ms at 5,700 of them, bench/RESULTS.md h-pdr)."""

    __tablename__ = "audit_pii_reads"
    # No primary key (migration 0064): the one index is the lookup (tenant, person's id), not unique, so a person
    # read by every register page is one entry of the index with a list of its rows (PostgreSQL's deduplication);
    # the unique key (tenant, person's id, audit row) was one entry per row, and its inserts cost 0.34 ms of a page
    # of 42 persons against 0.20. The rows of an entry are distinct where they are written (pii_read_ids below,
    # read_audit's and audit_rows' DISTINCT). The ORM maps the three columns as its identity (``__mapper_args__``).
    __table_args__ = (Index("ix_audit_pii_reads_tenant_object", "tenant_id", "object_id"),)

    # No foreign key to tenants (migration 0051): a row is written only with its audit row, whose key is
    # checked once per statement, and row-level security pins it to the transaction's tenant; the key's
    # check per row was ≈ 2–3 µs × 20–40 rows per register page.
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    # The audit row's id (and created_at its time): the row says "audit row <id> named <object_id>".
    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The person's id as the audit row's JSON holds it (text: any entry is kept as written)
    object_id: Mapped[str] = mapped_column(String(64))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"primary_key": [cls.__table__.c.tenant_id, cls.__table__.c.object_id, cls.__table__.c.id]}


def pii_read_ids(object_ids: object) -> list[str]:
    """The ids a full-read audit row's ``object_ids`` names, each once: its ``audit_pii_reads`` rows. A
    string longer than the column (none the app writes: a person's id is 36 characters) names nobody the
    report can ask for, and is left out rather than fail the request's audit statement."""
    ids = object_ids if isinstance(object_ids, list) else []
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and len(i) <= 64))


@event.listens_for(AuditEntry, "after_insert")
def _pii_read_rows(_mapper: Mapper[AuditEntry], connection: Connection, entry: AuditEntry) -> None:
    """An audit row of a full read flushed by the ORM (SQLite; more rows than one statement takes):
    its ``audit_pii_reads`` rows in the same flush."""
    if entry.action != PII_READ:
        return
    rows = [{"tenant_id": entry.tenant_id, "id": entry.id, "created_at": entry.created_at, "object_id": i}
            for i in pii_read_ids(entry.object_ids)]
    if rows:
        connection.execute(insert(AuditPiiRead.__table__), rows)  # type: ignore[arg-type]
