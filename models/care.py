"""Care (关爱): neighbourhood leads and their households, home visits and their cadence, care-group
service lists and service records, needs and micro-wishes (需求清单/微心愿)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum


class CareSettings(TenantScoped, Base):
    """Per-tenant care settings (one row): how many households a lead keeps, the visit cadence.

    A key household (重点户) is one where any registered member carries a care tag; it is due a
    visit every ``key_visit_days``, every other household every ``routine_visit_days``.
    """

    __tablename__ = "care_settings"

    lead_min_households: Mapped[int] = mapped_column(Integer, default=5)
    lead_max_households: Mapped[int] = mapped_column(Integer, default=15)
    key_visit_days: Mapped[int] = mapped_column(Integer, default=7)
    routine_visit_days: Mapped[int] = mapped_column(Integer, default=90)


class LeadTitle(enum.StrEnum):
    NEIGHBOR = "neighbor"  # 邻长
    BUILDING = "building"  # 楼栋长
    UNIT = "unit"  # 单元长


class NeighborLead(TenantScoped, Base):
    """A resident appointed lead (邻长/楼栋长/单元长) for a set of households; holds the
    ``neighbor_lead`` role through ``role_assignment_id`` while the appointment lasts."""

    __tablename__ = "neighbor_leads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "role_assignment_id"],
                             ["role_assignments.tenant_id", "role_assignments.id"]),
        Index("ix_neighbor_leads_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    title: Mapped[LeadTitle] = mapped_column(_enum(LeadTitle))
    # The area the lead serves (a building or compound); the role assignment's scope.
    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    area_path: Mapped[str] = mapped_column(String(400))
    role_assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    appointed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ended_at: Mapped[datetime | None]


class LeadHousehold(TenantScoped, Base):
    """A household kept in touch with by a lead; a household has at most one lead."""

    __tablename__ = "lead_households"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "lead_id"], ["neighbor_leads.tenant_id", "neighbor_leads.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        UniqueConstraint("tenant_id", "household_id"),
        Index("ix_lead_households_lead", "tenant_id", "lead_id"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class VisitKind(enum.StrEnum):
    ROUTINE = "routine"  # 例行走访
    KEY_HOUSEHOLD = "key_household"  # 重点户走访
    CARE = "care"  # 关爱走访
    FOLLOW_UP = "follow_up"  # 回访


class Visit(TenantScoped, Base):
    """A recorded home visit (走访): who, when, which household, what was found."""

    __tablename__ = "visits"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
        Index("ix_visits_household_at", "tenant_id", "household_id", "visited_at"),
        Index("ix_visits_visited_at", "tenant_id", "visited_at"),
        UniqueConstraint("tenant_id", "visitor_user_id", "idempotency_key"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The building of the household at the time of the visit (scope filtering without a join).
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    visitor_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    visitor_role: Mapped[str] = mapped_column(String(32))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind))
    visited_at: Mapped[datetime]
    findings: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # A client's idempotencyKey for the visit (issue #26): a retry with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))


class CareService(TenantScoped, Base):
    """An entry of a care group's service list (服务清单): what is provided, how often, by whom."""

    __tablename__ = "care_services"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        Index("ix_care_services_tag", "tenant_id", "tag_code"),
    )

    tag_code: Mapped[str] = mapped_column(String(32))
    # The area whose list it is (a community, or the street for the whole tenant).
    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    area_path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[str] = mapped_column(String(50))
    provider: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    # False once retired (issue #23): no new service records; the records made under it stay.
    active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None]


class CareServiceRecord(TenantScoped, Base):
    """A service provided to a person under a service-list entry (服务记录). Personal data."""

    __tablename__ = "care_service_records"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "service_id"], ["care_services.tenant_id", "care_services.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_care_service_records_person", "tenant_id", "person_id"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    provided_at: Mapped[datetime]
    provided_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(1000))
    recorder_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))


class WishState(enum.StrEnum):
    OPEN = "open"  # 待认领
    CLAIMED = "claimed"  # 已认领
    FULFILLED = "fulfilled"  # 已完成, awaiting confirmation
    CONFIRMED = "confirmed"  # 已确认
    CANCELLED = "cancelled"


class Wish(TenantScoped, Base):
    """A need or micro-wish (需求/微心愿) of a resident: posted, claimed by one claimant at a time,
    fulfilled and confirmed. Until claimed, claimers see it without the beneficiary's identity."""

    __tablename__ = "wishes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "beneficiary_person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        Index("ix_wishes_state", "tenant_id", "state"),
        Index("ix_wishes_building", "tenant_id", "building_id"),
    )

    beneficiary_person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    poster_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    state: Mapped[WishState] = mapped_column(_enum(WishState))
    claimant_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    fulfil_note: Mapped[str | None] = mapped_column(String(1000))
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Every transition is UPDATE … WHERE version = :seen: of two claims at once exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]
