"""Volunteering (志愿活动) and points (积分): activities, sign-ups with hours, an append-only points
ledger with a per-person balance, a reward catalogue per community and redemptions (积分兑换).

The ledger (``points_entries``) is never updated or deleted (on PostgreSQL the app role may only
SELECT and INSERT it). ``points_accounts.balance`` is the ledger's running sum per person: every
ledger insert happens in the same transaction as ``UPDATE points_accounts SET balance = balance +
:delta WHERE … AND balance + :delta >= 0``, so concurrent spends serialise on the account row and
the balance never goes negative.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
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


class VolunteerSettings(TenantScoped, Base):
    """Per-tenant points rule (one row): points awarded per confirmed volunteer hour."""

    __tablename__ = "volunteer_settings"

    points_per_hour: Mapped[int] = mapped_column(Integer, default=10)


class OrganiserKind(enum.StrEnum):
    PARTY_ORG = "party_org"  # 党组织
    COMMUNITY = "community"  # 社区
    OWNER_COMMITTEE = "owner_committee"  # 业委会 (keyed by its compound)
    PROPERTY_FIRM = "property_firm"  # 物业公司
    PARTNER_UNIT = "partner_unit"  # 共建单位 (by name until partner units are modelled)


class ActivityState(enum.StrEnum):
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Activity(TenantScoped, Base):
    """A volunteer activity (志愿活动) in an area, with a capacity."""

    __tablename__ = "activities"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "organiser_party_org_id"], ["party_orgs.tenant_id", "party_orgs.id"]),
        ForeignKeyConstraint(["tenant_id", "organiser_area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "organiser_firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        CheckConstraint("signed_up >= 0 AND signed_up <= capacity", name="capacity"),
        Index("ix_activities_tenant_starts", "tenant_id", "starts_at"),
    )

    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    area_path: Mapped[str] = mapped_column(String(400))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    # Places taken: changed only by conditional UPDATEs, so it never passes the capacity.
    signed_up: Mapped[int] = mapped_column(Integer, default=0)
    organiser_kind: Mapped[OrganiserKind] = mapped_column(_enum(OrganiserKind, 16))
    organiser_party_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Community, or the compound of an owner committee.
    organiser_area_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    organiser_firm_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    organiser_name: Mapped[str] = mapped_column(String(100))
    state: Mapped[ActivityState] = mapped_column(_enum(ActivityState))
    published_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Cancelled (issue #23): when, by whom and why; the row stays (sign-ups, the ledgers of its time).
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))


class SignupState(enum.StrEnum):
    SIGNED_UP = "signed_up"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    CONFIRMED = "confirmed"


class ActivitySignup(TenantScoped, Base):
    """A person's place in an activity (报名), their check-in/out and confirmed hours."""

    __tablename__ = "activity_signups"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "activity_id"], ["activities.tenant_id", "activities.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        UniqueConstraint("tenant_id", "activity_id", "person_id"),
        UniqueConstraint("tenant_id", "user_id", "idempotency_key"),
        Index("ix_activity_signups_person", "tenant_id", "person_id"),
    )

    activity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[SignupState] = mapped_column(_enum(SignupState))
    checked_in_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]
    # A client's idempotencyKey for the sign-up (issue #26): a retry with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))


class PointsAccount(TenantScoped, Base):
    """A person's balance: always the sum of their ledger entries, never negative."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        UniqueConstraint("tenant_id", "person_id"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class EntryKind(enum.StrEnum):
    HOURS = "hours"  # award for confirmed volunteer hours, by the tenant's rule
    MANUAL = "manual"  # manual award with a reason
    REDEMPTION = "redemption"  # spent on a catalogue item
    REVERSAL = "reversal"  # cancels an earlier entry


class PointsEntry(TenantScoped, Base):
    """One immutable line of the points ledger (积分台账)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "signup_id"], ["activity_signups.tenant_id", "activity_signups.id"]),
        ForeignKeyConstraint(["tenant_id", "redemption_id"], ["redemptions.tenant_id", "redemptions.id"]),
        ForeignKeyConstraint(["tenant_id", "reverses_id"], ["points_entries.tenant_id", "points_entries.id"]),
        # An entry is reversed at most once; confirmed hours and a redemption are booked at most once.
        UniqueConstraint("tenant_id", "reverses_id"),
        UniqueConstraint("tenant_id", "signup_id"),
        UniqueConstraint("tenant_id", "redemption_id"),
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        Index("ix_points_entries_person", "tenant_id", "person_id"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    delta: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind))
    reason: Mapped[str | None] = mapped_column(String(500))
    signup_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The balance right after this entry (a running total, checkable against the sum).
    balance_after: Mapped[int] = mapped_column(Integer)


class RewardItem(TenantScoped, Base):
    """An item of a community's catalogue (积分兑换目录): its price in points and its stock."""

    __tablename__ = "reward_items"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "community_id"], ["areas.tenant_id", "areas.id"]),
        UniqueConstraint("tenant_id", "community_id", "name"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points > 0", name="points_positive"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    community_path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    # False once retired (issue #23): offered for no new redemption; earlier ones still resolve.
    active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None]


class RedemptionState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Redemption(TenantScoped, Base):
    """A request to exchange points for an item; approval spends the points and takes the stock."""

    __tablename__ = "redemptions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "item_id"], ["reward_items.tenant_id", "reward_items.id"]),
        UniqueConstraint("tenant_id", "requested_by", "idempotency_key"),
        Index("ix_redemptions_person", "tenant_id", "person_id"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    points: Mapped[int] = mapped_column(Integer)
    state: Mapped[RedemptionState] = mapped_column(_enum(RedemptionState))
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    # A client's idempotencyKey for the request (issue #26): a retry with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
