"""Cases (事件/诉求) and their closed loop: catalogue, SLA rules, the case, its immutable
timeline, photos, supervision, notifications, and the monthly review (复盘)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression
from sqlalchemy.sql.elements import ColumnClause

from models.base import Base, TenantScoped
from models.base import enum_column as _enum


class CaseState(enum.StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"  # by its reporter before it was accepted (撤回, issue #23)


OPEN_STATES = frozenset({CaseState.REPORTED, CaseState.ACCEPTED, CaseState.DISPATCHED, CaseState.IN_PROGRESS,
                         CaseState.REOPENED})
# The open states as SQL, for the partial indexes of open cases (migration 0024 writes the same text).
OPEN_STATES_SQL = f"state IN ({', '.join(repr(s.value) for s in CaseState if s in OPEN_STATES)})"


# Overdue (超期), defined once: open and past its due time at the request's time. Case.overdue and the
# cases(overdue:) filter on both read paths use these two forms of the one rule (tests/
# test_compiled_fields.py evaluates the SQL form against the Python one).
def is_overdue(state: str, due_at: datetime | None, now: datetime) -> bool:
    """The rule for one loaded row (a naive due time is UTC, as SQLite returns it)."""
    return state in OPEN_STATES and due_at is not None and aware(due_at) < now


def overdue_sql(state: Any, due_at: Any, now: Any, *, inline_states: bool = False) -> ColumnElement[bool]:
    """The rule as a predicate over a state and a due-time column. ``inline_states`` writes the open
    states as literals (the compiled reads keep parameters to ids and cursors: PostgreSQL then plans a
    statement once per connection); otherwise they are bound parameters."""
    states = ([literal_column(f"'{s.value}'", Text) for s in CaseState if s in OPEN_STATES] if inline_states
              else [s for s in CaseState if s in OPEN_STATES])
    return and_(state.in_(states), due_at.is_not(None), due_at < now)


def aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


class CasePriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class HandlerKind(enum.StrEnum):
    """A case's handling unit (承办单位) is a record of the tenant (DESIGN.md §8 "Handlers"): a property firm
    (``handler_firm_id``), the community or a grid (``handler_area_id``), or a partner unit
    (``handler_partner_id``; before migration 0045 a free-text name, which old cases keep)."""

    PROPERTY_FIRM = "property_firm"
    COMMUNITY = "community"
    PARTNER_UNIT = "partner_unit"
    GRID = "grid"


class CaseSource(enum.StrEnum):
    """Where a case came from (来源渠道, issue #22)."""

    GRID_PATROL = "grid_patrol"  # 网格巡查
    RESIDENT_REPORT = "resident_report"  # 居民上报
    HOTLINE_12345 = "hotline_12345"  # 12345 热线
    MINI_PROGRAM = "mini_program"  # 小程序
    WALK_IN = "walk_in"  # 来访
    OTHER = "other"  # 其他


class SlaUnit(enum.StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_HOURS = "calendar_hours"
    CALENDAR_DAYS = "calendar_days"  # stage limits such as 回访 "the day after closure" (issue #22)


class CaseCategory(TenantScoped, Base):
    """The tenant's catalogue of case categories (e.g. 管道堵塞, 飞线充电)."""

    __tablename__ = "case_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SlaRule(TenantScoped, Base):
    """Handling time for a category and priority; a null category is the tenant's default."""

    __tablename__ = "sla_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "category_code", "priority"),)

    category_code: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[CasePriority] = mapped_column(_enum(CasePriority))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[SlaUnit] = mapped_column(_enum(SlaUnit, 16))


class CalendarOverride(TenantScoped, Base):
    """A tenant's own working-day facts, for years the holiday package does not know yet."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    day: Mapped[date] = mapped_column(Date)
    workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(100))


class CaseSettings(TenantScoped, Base):
    """Per-tenant case settings (one row): how long a resolved case waits for feedback."""

    __tablename__ = "case_settings"

    feedback_wait_days: Mapped[int] = mapped_column(Integer, default=7)
    # The rates' own definitions (issue #22, resolvers/cases/rates.py): the response time limit
    # (响应时限) and the weights of the composite score; null = the documented defaults.
    response_limit_amount: Mapped[float | None] = mapped_column(Float)
    response_limit_unit: Mapped[SlaUnit | None] = mapped_column(_enum(SlaUnit, 16))
    rate_weights: Mapped[dict[str, float] | None] = mapped_column(JSON)


class Case(TenantScoped, Base):
    __tablename__ = "cases"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "handler_firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        ForeignKeyConstraint(["tenant_id", "handler_area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "escalated_to_area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "handler_partner_id"], ["partner_units.tenant_id", "partner_units.id"]),
        UniqueConstraint("tenant_id", "reporter_user_id", "idempotency_key"),
        UniqueConstraint("tenant_id", "number"),
        # A 12345 work order is one case per tenant (migration 0033). Partial since 0050, as the firm and partner
        # indexes: a new report (no ticket, firm or partner) enters none of them.
        Index("uq_cases_tenant_external_ticket", "tenant_id", "external_ticket_no", unique=True,
              postgresql_where=text("external_ticket_no IS NOT NULL"),
              sqlite_where=text("external_ticket_no IS NOT NULL")),
        # By building, and for the figures of a period by the buildings a scope's grids cover (0052).
        Index("ix_cases_tenant_area_created", "tenant_id", "area_id", "created_at"),
        Index("ix_cases_tenant_state", "tenant_id", "state"),  # the retention job's closed cases, counts of a state
        Index("ix_cases_tenant_firm", "tenant_id", "handler_firm_id",
              postgresql_where=text("handler_firm_id IS NOT NULL"), sqlite_where=text("handler_firm_id IS NOT NULL")),
        Index("ix_cases_tenant_partner", "tenant_id", "handler_partner_id",  # a partner's own cases (0045)
              postgresql_where=text("handler_partner_id IS NOT NULL"),
              sqlite_where=text("handler_partner_id IS NOT NULL")),
        Index("ix_cases_tenant_created", "tenant_id", "created_at"),  # statistics of a period (0023)
        # Open cases per building and per reporter, newest first: a case list of open cases takes the
        # newest of each branch of the actor's scope from these (compiled/; issue #9, 0024).
        Index("ix_cases_open_area", "tenant_id", "area_id", "id", postgresql_where=text(OPEN_STATES_SQL),
              sqlite_where=text(OPEN_STATES_SQL)),
        Index("ix_cases_open_reporter", "tenant_id", "reporter_user_id", "id", postgresql_where=text(OPEN_STATES_SQL),
              sqlite_where=text(OPEN_STATES_SQL)),
        # The open cases on the problem wall per building: a grid leader's page reads its compounds' walls from
        # this, not every open case there (0061). ``IS TRUE`` as the policies write it: PostgreSQL proves a
        # partial index's predicate by the form of the query's condition (SQLite's text is its ``IS 1``).
        Index("ix_cases_open_wall", "tenant_id", "area_id", "id",
              postgresql_where=text(f"{OPEN_STATES_SQL} AND on_wall IS TRUE"),
              sqlite_where=text(f"{OPEN_STATES_SQL} AND on_wall IS 1")),
    )

    number: Mapped[str] = mapped_column(String(32), unique=False)
    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Materialized path of the area, copied at report time: scope filters are one LIKE.
    area_path: Mapped[str] = mapped_column(String(400))
    category_code: Mapped[str] = mapped_column(String(32))
    priority: Mapped[CasePriority] = mapped_column(_enum(CasePriority))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    location_text: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    state: Mapped[CaseState] = mapped_column(_enum(CaseState))
    reporter_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reporter_role: Mapped[str] = mapped_column(String(32))
    # A resident's report lands on the compound's problem wall (问题墙).
    on_wall: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    handler_kind: Mapped[HandlerKind | None] = mapped_column(_enum(HandlerKind, 16))
    handler_firm_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    handler_area_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    handler_partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    handler_name: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    supervised_at: Mapped[datetime | None]
    escalated_to_area_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    feedback_comment: Mapped[str | None] = mapped_column(String(500))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Honest closure and the new steps (issue #22, models.case_stages): a resolution faster than the
    # tenant's minimum waits for a reviewer; 退单 counted; the 回访's result.
    closure_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    callback_result: Mapped[str | None] = mapped_column(String(32))
    callback_at: Mapped[datetime | None]
    # Source channel (来源渠道) and the hotline's work-order number (12345 工单号), issue #22.
    source: Mapped[CaseSource] = mapped_column(_enum(CaseSource, 16), default=CaseSource.OTHER,
                                               server_default=CaseSource.OTHER.value)
    external_ticket_no: Mapped[str | None] = mapped_column(String(40))
    # Every transition is UPDATE … WHERE version = :seen: of two at once exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


# What the rates (resolvers/cases/rates.py) read of a case's stages and timeline, on its row (migration 0056), set by
# triggers on ``case_events`` and ``case_stages`` whatever writes them. Not mapped on ``Case``: the steps' guards
# compare every mapped column with the row the process kept (resolvers/cases/kept_cases.py), and these change
# behind the ORM's back; nor in the table's metadata (a tenant's export and import carry the steps and the stages,
# and the triggers set these again). Columns of ``cases`` for the readers' statements. On PostgreSQL the row also
# holds ``rate_seq`` (migration 0057): the seq of the step last folded into them (resolvers/cases/rate_fold.py).
def _rate_fact(name: str, type_: Any) -> ColumnClause[Any]:
    return ColumnClause(name, type_, _selectable=Case.__table__)


_TS = DateTime(timezone=True)
# the due time of the first (by seq) 受理 stage; the first response step's time (accept, reject)
RATE_ACCEPT_DUE: ColumnClause[datetime] = _rate_fact("rate_accept_due", _TS)
RATE_RESPONDED_AT: ColumnClause[datetime] = _rate_fact("rate_responded_at", _TS)
# a 退单 step; a reopening or 重办 step
RATE_RETURNED: ColumnClause[bool] = _rate_fact("rate_returned", Boolean())
RATE_REWORKED: ColumnClause[bool] = _rate_fact("rate_reworked", Boolean())
# the steps into closed from another state: how many, the first one's time, a 回访 at or after that one
RATE_CLOSES: ColumnClause[int] = _rate_fact("rate_closes", Integer())
RATE_CLOSED_AT: ColumnClause[datetime] = _rate_fact("rate_closed_at", _TS)
RATE_CALLED_BACK: ColumnClause[bool] = _rate_fact("rate_called_back", Boolean())


class CaseEvent(TenantScoped, Base):
    """One immutable step of a case's timeline (the app role may only insert and read)."""

    __tablename__ = "case_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
        UniqueConstraint("tenant_id", "case_id", "seq"),
        # A step's key (0028), partial since 0050: an entry without one (a report's, most steps') enters no index.
        Index("uq_case_events_tenant_id_actor_user_id_idempotency_key", "tenant_id", "actor_user_id", "idempotency_key",
              unique=True, postgresql_where=text("idempotency_key IS NOT NULL"),
              sqlite_where=text("idempotency_key IS NOT NULL")),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(1000))
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # A client's idempotencyKey for the step (the reporter's feedback) (issue #26): a retry with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))


class Attachment(TenantScoped, Base):
    """An uploaded photo: rebuilt from its pixels (no EXIF/GPS, resolvers.cases.images), stored on
    disk with its thumbnail, linked to a case when used. ``size`` and ``sha256`` are the stored
    file's. Rows stored before issue #24 have no thumbnail (``thumbnail_key`` null) until
    ``gongzhi photos clean`` rebuilds them."""

    __tablename__ = "attachments"
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),)

    uploader_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))


class Notification(TenantScoped, Base):
    """A message to a user, to everyone acting for a firm or in an area, or to a partner unit's systems
    (e.g. 督办 to the handler). Read state is per user (``NotificationRead``, migration 0045)."""

    __tablename__ = "notifications"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
        ForeignKeyConstraint(["tenant_id", "firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"]),
        Index("ix_notifications_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    firm_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    area_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    partner_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    # Read before migration 0045, when a notification had one read state for all it reached: it stays
    # read for every one of them. Since then each user's own read time is a NotificationRead row.
    read_at: Mapped[datetime | None]
    # The reader's read time (legacy read_at or their NotificationRead row), loaded with the row by
    # resolvers.cases.notifications (with_expression); None where not loaded.
    read_by_me_at: Mapped[datetime | None] = query_expression()


class NotificationRead(TenantScoped, Base):
    """One user's read mark on a notification (per-recipient read state, issue #22): marking a notification
    addressed to a firm, an area or a partner unit read marks it for the caller only."""

    __tablename__ = "notification_reads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "notification_id"], ["notifications.tenant_id", "notifications.id"],
                             ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "notification_id", "user_id"),
        Index("ix_notification_reads_user", "tenant_id", "user_id"),
    )

    notification_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    read_at: Mapped[datetime]


class CaseReview(TenantScoped, Base):
    """The review (复盘) of a period for an area, as the monthly residents' meeting reports it."""

    __tablename__ = "case_reviews"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        UniqueConstraint("tenant_id", "area_id", "period_start", "period_end"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    author_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    statistics: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
