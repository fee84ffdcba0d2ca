"""Personal data as PIPL asks (issue #24): the list of erased persons (so that a restored backup can
be cleaned again), each tenant's retention of closed matters, and the consents a person gave for a
partner unit to see their personal data (art. 23)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum

# Months after closure a closed matter keeps its personal details: the default, and the least a
# tenant may set (the ledgers of a year are reviewed in the first months of the next one).
DEFAULT_RETENTION_MONTHS = 36
MIN_RETENTION_MONTHS = 12


class ErasureReason(enum.StrEnum):
    SUBJECT_REQUEST = "subject_request"  # 本人申请删除
    DECEASED = "deceased"  # 死亡注销
    MOVED_AWAY = "moved_away"  # 迁出
    OTHER = "other"


class PersonErasure(TenantScoped, Base):
    """One erased person: who was erased, when, by whom and why — and nothing personal. The row
    outlives the person's data (no foreign key), so ``gongzhi pii reapply-erasures`` can erase them
    again in a database restored from a backup taken before."""

    __tablename__ = "person_erasures"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id"),)

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    erased_at: Mapped[datetime]
    erased_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[ErasureReason] = mapped_column(_enum(ErasureReason, 16))
    # The request's reference on paper (e.g. 申请编号), never a name or a number of the person.
    reference: Mapped[str | None] = mapped_column(String(64))


class PrivacySettings(TenantScoped, Base):
    """Per-tenant personal-data settings (one row; none means the defaults)."""

    __tablename__ = "privacy_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    retention_months: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_MONTHS)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class PersonalDataConsent(TenantScoped, Base):
    """A person's consent (PIPL art. 23) that a partner unit may receive their personal data for a
    purpose; in force from ``granted_at`` until ``withdrawn_at``."""

    __tablename__ = "personal_data_consents"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"]),
        Index("ix_personal_data_consents_unit", "tenant_id", "partner_unit_id"),
        Index("ix_personal_data_consents_person", "tenant_id", "person_id"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    partner_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
