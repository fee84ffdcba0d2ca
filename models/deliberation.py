"""Deliberation (议事协商): topics and their implementation steps, meetings with agenda and
attendees, owners' votes with a frozen electorate, and notices to an area."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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


class TopicState(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DELIBERATED = "deliberated"
    DECIDED = "decided"
    IMPLEMENTING = "implementing"
    DONE = "done"
    REVIEWED = "reviewed"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # withdrawn by its proposer or cancelled by staff before a decision (issue #23)


class Topic(TenantScoped, Base):
    """A matter (议题) raised in an area: proposed, deliberated, decided, carried out, reviewed."""

    __tablename__ = "topics"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        Index("ix_topics_tenant_area", "tenant_id", "area_id"),
        Index("ix_topics_tenant_state", "tenant_id", "state"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Materialized path of the area, copied when proposed: scope filters are one LIKE.
    area_path: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    proposer_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[TopicState] = mapped_column(_enum(TopicState))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    review: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Transitions are UPDATE … WHERE version = :seen: of two at once exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class TopicCase(TenantScoped, Base):
    """A case raised to a topic (事件转议题)."""

    __tablename__ = "topic_cases"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "topic_id"], ["topics.tenant_id", "topics.id"]),
        ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
        UniqueConstraint("tenant_id", "topic_id", "case_id"),
        Index("ix_topic_cases_case", "tenant_id", "case_id"),
    )

    topic_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    linked_by_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class TopicStep(TenantScoped, Base):
    """One implementation step of a decided topic (落实事项): who, by when, how far."""

    __tablename__ = "topic_steps"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "topic_id"], ["topics.tenant_id", "topics.id"]),
        UniqueConstraint("tenant_id", "topic_id", "seq"),
    )

    topic_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    owner_name: Mapped[str] = mapped_column(String(100))
    due_date: Mapped[date | None] = mapped_column(Date)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime]


class MeetingState(enum.StrEnum):
    CONVENED = "convened"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # called off before it was held, its invitees notified (issue #23)


class Meeting(TenantScoped, Base):
    """A deliberation meeting (议事会 / 广言亭 / 议事角)."""

    __tablename__ = "meetings"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        Index("ix_meetings_tenant_area", "tenant_id", "area_id"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    area_path: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(200))
    convener_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[MeetingState] = mapped_column(_enum(MeetingState))
    minutes: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class MeetingTopic(TenantScoped, Base):
    """A topic on a meeting's agenda; ``decided`` is set when the meeting closed deciding it."""

    __tablename__ = "meeting_topics"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "meeting_id"], ["meetings.tenant_id", "meetings.id"]),
        ForeignKeyConstraint(["tenant_id", "topic_id"], ["topics.tenant_id", "topics.id"]),
        UniqueConstraint("tenant_id", "meeting_id", "topic_id"),
        Index("ix_meeting_topics_topic", "tenant_id", "topic_id"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    topic_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    decided: Mapped[bool] = mapped_column(Boolean, default=False)


class MeetingAttendee(TenantScoped, Base):
    """Someone invited to a meeting: a person on the register, or an organisation by name."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "meeting_id"], ["meetings.tenant_id", "meetings.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_meeting_attendees_meeting", "tenant_id", "meeting_id"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    organisation: Mapped[str | None] = mapped_column(String(100))
    role_note: Mapped[str | None] = mapped_column(String(100))
    attended: Mapped[bool | None] = mapped_column(Boolean)


class VoteMatter(enum.StrEnum):
    """What a vote decides; Civil Code art. 278 sets the majority by the matter."""

    RAISE_MAINTENANCE_FUND = "raise_maintenance_fund"  # art. 278(6): 3/4
    REBUILD = "rebuild"  # art. 278(7) 改建、重建: 3/4
    CHANGE_COMMON_PARTS = "change_common_parts"  # art. 278(8): 3/4
    USE_MAINTENANCE_FUND = "use_maintenance_fund"  # art. 278(5): more than half
    OTHER = "other"  # every other common matter: more than half


MAJOR_MATTERS = frozenset({VoteMatter.RAISE_MAINTENANCE_FUND, VoteMatter.REBUILD, VoteMatter.CHANGE_COMMON_PARTS})


class VoteState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Choice(enum.StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class BallotMethod(enum.StrEnum):
    """How a ballot reached the count: cast online by an owner, or recorded by staff from a document."""

    ONLINE = "online"  # 线上投票
    PROXY = "proxy"  # 委托投票: an owner's written proxy, recorded by staff
    PAPER = "paper"  # 纸质表决票, recorded by staff


class Vote(TenantScoped, Base):
    """An owners' vote (业主表决) on a topic, in one compound or one building of it."""

    __tablename__ = "votes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "topic_id"], ["topics.tenant_id", "topics.id"]),
        ForeignKeyConstraint(["tenant_id", "compound_id"], ["areas.tenant_id", "areas.id"]),
        UniqueConstraint("tenant_id", "topic_id"),
    )

    topic_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    compound_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    compound_path: Mapped[str] = mapped_column(String(400))
    # A building's vote (e.g. its elevator retrofit): only that building's dwellings elect; None: the compound.
    building_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    matter: Mapped[VoteMatter] = mapped_column(_enum(VoteMatter, 32))
    question: Mapped[str] = mapped_column(String(500))
    state: Mapped[VoteState] = mapped_column(_enum(VoteState))
    opened_by_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The tally as computed when the vote closed (the figures are never recomputed afterwards).
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    passed: Mapped[bool | None] = mapped_column(Boolean)


class VoteElector(TenantScoped, Base):
    """An owner household of the electorate, frozen when the vote opened, with its ballot.

    One row per household: a household has exactly one ballot, changed in place until the close.
    """

    __tablename__ = "vote_electors"
    __audit_conceal__ = frozenset({"proxy_name"})  # a person's name: not in clear in the audit log
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "vote_id"], ["votes.tenant_id", "votes.id"]),
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        UniqueConstraint("tenant_id", "vote_id", "household_id"),
        UniqueConstraint("tenant_id", "cast_by_user_id", "idempotency_key"),
    )

    vote_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    floor_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    choice: Mapped[Choice | None] = mapped_column(_enum(Choice, 8))
    cast_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    cast_at: Mapped[datetime | None]
    # A client's idempotencyKey for the cast that set the current choice (issue #26): a retry with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # How the ballot was given (None until cast); a proxy or paper ballot is final and names its document.
    method: Mapped[BallotMethod | None] = mapped_column(_enum(BallotMethod, 8))
    document_ref: Mapped[str | None] = mapped_column(String(100))
    proxy_name: Mapped[str | None] = mapped_column(String(50))


class Notice(TenantScoped, Base):
    """A notice (通知公告) to an area and everything below it."""

    __tablename__ = "notices"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        Index("ix_notices_tenant_area", "tenant_id", "area_id"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    area_path: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    publisher_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expires_at: Mapped[datetime | None]
    # Withdrawn (撤回, issue #23): off every wall and list for readers, kept for the ledgers and audit.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    withdraw_reason: Mapped[str | None] = mapped_column(String(500))
