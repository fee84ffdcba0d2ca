"""Evaluations (评比): monthly periods, rating items with weights, and ratings of a compound's
property firm (by its residents, owner committee chair and grid workers) and of a compound's owner
committee (by the community). An owner committee is keyed by its compound."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum


class EvaluationTarget(enum.StrEnum):
    PROPERTY_FIRM = "property_firm"  # a compound's property firm (物业服务)
    OWNER_COMMITTEE = "owner_committee"  # a compound's owner committee (业委会)


class EvaluationItem(TenantScoped, Base):
    """A rating item and its weight (e.g. 环境卫生 30), per tenant and target kind."""

    __tablename__ = "evaluation_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "target", "code"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    target: Mapped[EvaluationTarget] = mapped_column(_enum(EvaluationTarget))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PeriodState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EvaluationPeriod(TenantScoped, Base):
    """A month of ratings; once closed it is read-only."""

    __tablename__ = "evaluation_periods"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    state: Mapped[PeriodState] = mapped_column(_enum(PeriodState))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class EvaluationRating(TenantScoped, Base):
    """One rater's scores for one target in one period (one per rater, target and period)."""

    __tablename__ = "evaluation_ratings"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "period_id"], ["evaluation_periods.tenant_id", "evaluation_periods.id"]),
        ForeignKeyConstraint(["tenant_id", "compound_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        UniqueConstraint("tenant_id", "period_id", "target", "compound_id", "rater_user_id"),
        Index("ix_evaluation_ratings_period", "tenant_id", "period_id", "target"),
    )

    period_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    target: Mapped[EvaluationTarget] = mapped_column(_enum(EvaluationTarget))
    compound_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    compound_path: Mapped[str] = mapped_column(String(400))
    # The firm serving the compound when rated (null for an owner committee).
    firm_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rater_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rater_role: Mapped[str] = mapped_column(String(32))
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    # Weighted score 0–100: sum(score × weight) / sum(weight), fixed at rating time.
    total: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    comment: Mapped[str | None] = mapped_column(String(500))


class EvaluationPeriodItem(TenantScoped, Base):
    """The items and weights a period opened with (a snapshot of the tenant's active items), so that
    changing the items later applies to the next periods only and a period in progress keeps its own."""

    __tablename__ = "evaluation_period_items"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "period_id"], ["evaluation_periods.tenant_id", "evaluation_periods.id"]),
        UniqueConstraint("tenant_id", "period_id", "target", "code"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    period_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    target: Mapped[EvaluationTarget] = mapped_column(_enum(EvaluationTarget))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[int] = mapped_column(Integer)
