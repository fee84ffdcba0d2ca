"""Co-building (共驻共建): partner units, agreements that share data with them, the API clients
partner systems use, and in-service party members registering back with a community (双报到)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum
from models.sealing import Sealed


class PartnerKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    SCHOOL = "school"
    HOSPITAL = "hospital"
    ASSOCIATION = "association"
    SOCIAL_ORG = "social_org"
    OTHER = "other"


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class PartnerUnit(TenantScoped, Base):
    """A 共建单位: enterprise, school, hospital, association … identified by its unified social
    credit code (统一社会信用代码, GB 32100-2015) when it has one."""

    __tablename__ = "partner_units"
    __audit_mask__ = frozenset({"contact_phone"})
    __table_args__ = (UniqueConstraint("tenant_id", "credit_code"), UniqueConstraint("tenant_id", "name"))

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(Sealed())  # sealed at rest like residents' phones
    address: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    updated_at: Mapped[datetime]


class Agreement(TenantScoped, Base):
    """A co-building agreement (共驻共建协议) between a partner unit and the community side.

    ``grants`` are "resource.action" strings (e.g. "activity.read", "wish.claim"): what the
    partner's systems may do, in the covered communities, while the agreement is active (status
    active and the day within valid_from..valid_until)."""

    __tablename__ = "agreements"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"]),
        Index("ix_agreements_partner", "tenant_id", "partner_unit_id"),
    )

    partner_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(100))
    # The community side as signed (e.g. 建峰社区党委).
    community_party: Mapped[str] = mapped_column(String(100))
    # 六联创 areas (codes of LIANCHUANG).
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"name": ..., "side": "partner" | "community", "title": ...}]
    signatories: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(_enum(AgreementStatus))
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    updated_at: Mapped[datetime]


class AgreementCommunity(TenantScoped, Base):
    """A community an agreement covers (with its path, for the subtree test of the grants)."""

    __tablename__ = "agreement_communities"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "agreement_id"], ["agreements.tenant_id", "agreements.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "community_id"], ["areas.tenant_id", "areas.id"]),
        UniqueConstraint("tenant_id", "agreement_id", "community_id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_path: Mapped[str] = mapped_column(String(400))


class PartnerClient(TenantScoped, Base):
    """API credentials of a partner unit's system (OAuth 2 client credentials). Only a salted
    scrypt hash of the secret is kept. The client acts as its own platform user (no person), so
    what it does is attributed and audited like any other account."""

    __tablename__ = "partner_clients"
    __audit_mask__ = frozenset({"secret_salt", "secret_hash"})
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"]),
        UniqueConstraint("tenant_id", "client_id"),
    )

    partner_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    client_id: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    secret_salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    secret_version: Mapped[int] = mapped_column(Integer, default=1)
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)


class InServiceMember(TenantScoped, Base):
    """An in-service party member (在职党员) registered back with a community (双报到)."""

    __tablename__ = "inservice_members"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "community_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"]),
        UniqueConstraint("tenant_id", "person_id", "community_id"),
        Index("ix_inservice_members_unit", "tenant_id", "partner_unit_id"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_path: Mapped[str] = mapped_column(String(400))
    partner_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    work_unit_name: Mapped[str] = mapped_column(String(100))
    registered_on: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[uuid.UUID] = mapped_column(Uuid)


class ServiceKind(enum.StrEnum):
    HOURS = "hours"
    WISH = "wish"
    ACTIVITY = "activity"


class InServiceRecord(TenantScoped, Base):
    """A service an in-service party member gave in the community (append-only 台账)."""

    __tablename__ = "inservice_records"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "member_id"], ["inservice_members.tenant_id", "inservice_members.id"]),
        Index("ix_inservice_records_member", "tenant_id", "member_id"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[ServiceKind] = mapped_column(_enum(ServiceKind))
    served_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    description: Mapped[str] = mapped_column(String(500))
    wish_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
