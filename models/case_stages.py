"""The stages of a case (办理环节, issue #22) and the rules that keep closure honest.

A case passes through four stages, each with its own time limit (环节时限): 受理/签收 (``accept``, from
the report to its acceptance), 派遣 (``dispatch``, from acceptance — or a return, a reopening — to the
dispatch), 处置/办结 (``handle``, from the dispatch to the resolution) and 回访 (``callback``, from the
closure to the call-back). Every time a case enters a stage a ``CaseStage`` row is opened with its
due time, computed once on the tenant's working calendar; leaving the stage completes it. The periodic
job reads the open rows past due (one index) and tells the next level up, once per row.

Limits are per tenant, category (null: the tenant's default) and urgency tier (紧急/加急/一般, from the
case's priority). The 处置 stage's limit is the tenant's SLA rule (``sla_rules``, per category and
priority), which dispatch has always used for ``cases.due_at``; ``case_stage_limits`` holds the other
three stages.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum
from models.cases import CasePriority, SlaUnit


class CaseStageKind(enum.StrEnum):
    ACCEPT = "accept"  # 受理/签收
    DISPATCH = "dispatch"  # 派遣
    HANDLE = "handle"  # 处置/办结
    CALLBACK = "callback"  # 回访


class UrgencyTier(enum.StrEnum):
    URGENT = "urgent"  # 紧急
    EXPEDITED = "expedited"  # 加急
    ORDINARY = "ordinary"  # 一般


def tier_of(priority: CasePriority) -> UrgencyTier:
    """A case's urgency tier from its priority: urgent → 紧急, high → 加急, normal and low → 一般."""
    if priority is CasePriority.URGENT:
        return UrgencyTier.URGENT
    if priority is CasePriority.HIGH:
        return UrgencyTier.EXPEDITED
    return UrgencyTier.ORDINARY


class CallbackResult(enum.StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意 (solved, but not to the reporter's liking)
    NOT_SOLVED = "not_solved"  # 未解决: reopens the case
    UNREACHABLE = "unreachable"  # 无法联系


class CaseStageLimit(TenantScoped, Base):
    """Time limit of a stage (accept, dispatch, callback) for a category and tier; null category: default."""

    __tablename__ = "case_stage_limits"
    __table_args__ = (UniqueConstraint("tenant_id", "stage", "tier", "category_code"),)

    stage: Mapped[CaseStageKind] = mapped_column(_enum(CaseStageKind))
    tier: Mapped[UrgencyTier] = mapped_column(_enum(UrgencyTier))
    category_code: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[SlaUnit] = mapped_column(_enum(SlaUnit, 16))


class CaseWorkflowSettings(TenantScoped, Base):
    """Per-tenant workflow settings (one row): 督办 on overdue, the shortest believable handling time."""

    __tablename__ = "case_workflow_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    auto_supervise_overdue: Mapped[bool] = mapped_column(Boolean, default=True)
    min_handling_minutes: Mapped[int] = mapped_column(Integer, default=30)


class CaseCategoryRule(TenantScoped, Base):
    """Closure rules of a category: photo evidence before resolve (办结须附照片)."""

    __tablename__ = "case_category_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "category_code"),)

    category_code: Mapped[str] = mapped_column(String(32))
    requires_photo: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseStage(TenantScoped, Base):
    """One passage of a case through a stage: opened with its due time, completed on leaving it."""

    __tablename__ = "case_stages"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
        UniqueConstraint("tenant_id", "case_id", "seq"),
        # The overdue job: open stages past due, not yet reported (one range scan per tenant).
        Index("ix_case_stages_open_due", "tenant_id", "due_at", postgresql_where=text("completed_at IS NULL"),
              sqlite_where=text("completed_at IS NULL")),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per case
    stage: Mapped[CaseStageKind] = mapped_column(_enum(CaseStageKind))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # The step that completed it: accept, reject, dispatch, return, transfer, resolve, callback …
    outcome: Mapped[str | None] = mapped_column(String(32))
    # 延期: the handler's pending request (the new due time asked for), and how often it was granted.
    requested_due_at: Mapped[datetime | None]
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    # When the next level up was told that the stage ran over (once per stage, or per granted extension).
    overdue_notified_at: Mapped[datetime | None]
