"""Platform tables: tenants (street offices), login identities, the platform audit log and the State
Council's yearly holiday arrangements. No tenant data lives here."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, PlatformTable, utcnow, uuid7


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(PlatformTable, Base):
    """A street office (街道办事处): one tenant, the root of its own area tree."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=TenantStatus.ACTIVE,
    )
    # Bumped on every policy edit; enforcers are cached per (tenant, policy_version).
    policy_version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped with every change of the tenant's working calendar (its overrides, the platform's loaded
    # arrangements); processes keep the calendar per (tenant, calendar_version) (issue #21).
    calendar_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Bumped (by triggers, migration 0055) in the transaction of every change of a row a request's actor is read
    # from: role assignments, memberships, persons' households, households' buildings, areas' paths, names and
    # kinds. Processes keep each user's actor per (tenant, actor_version) (issue #21; PostgreSQL, not on Citus).
    actor_version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(PlatformTable, Base):
    """A login account. Its roles live in tenant tables (role_assignments), one tenant at a time.

    An account belongs to one street office (``home_tenant_id``, DESIGN.md §8 "Accounts"): its
    username is unique there only, and no other street office finds it by name. It is null only for
    an identity the operator linked to several street offices (a ``members`` row in each) and for
    partner API clients. (Not ``tenant_id``: that name marks tenant tables, and this is a platform
    table without row-level security.) ``subject`` is the identity provider's ``sub`` the account is
    bound to: a token's ``sub`` names the account by ``account_id_for_subject`` (docs/onboarding.md).
    A deactivated account's tokens are refused (``USER_DEACTIVATED``)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("ux_users_tenant_username", "home_tenant_id", "username", unique=True),
        Index("ux_users_platform_username", "username", unique=True,
              postgresql_where=text("home_tenant_id IS NULL"), sqlite_where=text("home_tenant_id IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    home_tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    subject: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)


# Token subjects that are not UUIDs name the account whose id is uuid5(SUBJECT_NAMESPACE, sub).
SUBJECT_NAMESPACE = uuid.UUID("5f1d3c0e-8a4b-5e2f-9c61-67b0a2d4e8f1")


def account_id_for_subject(subject: str) -> uuid.UUID:
    """The account a token's ``sub`` names: the sub itself when it is a UUID (gongzhi's own ids, and
    identity providers such as Keycloak that use UUIDs), else uuid5 of it. One rule, used by the
    token verifier and by ``createUser``: the binding is in the data (``users.subject``), and the
    request path needs no lookup to find the account."""
    try:
        return uuid.UUID(subject)
    except ValueError:
        return uuid.uuid5(SUBJECT_NAMESPACE, subject)


class PlatformAuditEntry(PlatformTable, Base):
    """What a platform administrator did or was refused (tenant create, suspend, resume, export,
    delete, import; issue #10). A platform table: it outlives the tenants it names."""

    __tablename__ = "platform_audit"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(64))
    tenant_slug: Mapped[str | None] = mapped_column(String(63))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformCalendar(PlatformTable, Base):
    """The State Council's holiday arrangement of one year (国务院办公厅关于某年部分节假日安排的通知), loaded by
    the operator for every tenant (``gongzhi calendar load``; issue #22). Its days are
    ``platform_calendar_days``; the app role may only read both."""

    __tablename__ = "platform_calendars"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(100))  # 文号, e.g. 国办发明电〔2026〕N号
    published: Mapped[date | None] = mapped_column(Date)
    loaded_by: Mapped[str | None] = mapped_column(String(100))  # "cli" or the platform administrator's id
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformCalendarDay(PlatformTable, Base):
    """A day the arrangement names: a day off of a holiday, or a 调休 make-up working day for it."""

    __tablename__ = "platform_calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, ForeignKey("platform_calendars.year", ondelete="CASCADE"),
                                      index=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    holiday: Mapped[str] = mapped_column(String(20))  # the holiday it is off for, or worked for (春节)
