"""The household register: households in buildings, persons in households, care tags."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantScoped
from models.base import enum_column as _enum
from models.sealing import KEYRING, Sealed


class Tenure(enum.StrEnum):
    OWNER = "owner"  # 自有
    RENTER = "renter"  # 租住
    OTHER = "other"


class Household(TenantScoped, Base):
    """A dwelling (户) in a building and the people registered in it."""

    __tablename__ = "households"
    __audit_mask__ = frozenset({"room"})
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "building_id"], ["areas.tenant_id", "areas.id"]),
        UniqueConstraint("tenant_id", "building_id", "unit", "room"),
        Index("ix_households_building", "tenant_id", "building_id"),
    )

    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit: Mapped[str] = mapped_column(String(16), default="")
    room: Mapped[str] = mapped_column(String(16))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    tenure: Mapped[Tenure] = mapped_column(_enum(Tenure), default=Tenure.OWNER)
    note: Mapped[str | None] = mapped_column(String(500))
    # Optimistic concurrency: every ORM update is "… WHERE version = :seen" and bumps it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}


class PropertyOwner(TenantScoped, Base):
    """A registered property owner (产权人) of a dwelling: a person of the register (living there or
    not) on the dwelling's title. Owners, not residents, are the electors of owners' votes (DESIGN.md
    §8); co-owners share the dwelling's one ballot. Ended, never deleted (the votes of their time)."""

    __tablename__ = "property_owners"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_property_owners_household", "tenant_id", "household_id"),
        Index("ix_property_owners_person", "tenant_id", "person_id"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # 不动产权证号 or another reference to the title document, as staff recorded it.
    certificate_ref: Mapped[str | None] = mapped_column(String(64))
    registered_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ended_at: Mapped[datetime | None]


def mask_phone(v: str | None) -> str | None:
    """138****5678: what a role without the full-read right sees of a phone number."""
    if not v:
        return v
    return v[:3] + "****" + v[-4:] if len(v) >= 11 else "*" * (len(v) - 2) + v[-2:]


def mask_id_card(v: str | None) -> str | None:
    """First 3 and last 4 characters of a resident ID number, the rest starred."""
    if not v:
        return v
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class PersonStatus(enum.StrEnum):
    """Whether a person is on the current register (issue #23): archived persons are never deleted."""

    ACTIVE = "active"
    MOVED_OUT = "moved_out"  # 迁出: left the street office's register
    DECEASED = "deceased"  # 注销: died


class Person(TenantScoped, Base):
    """A person on the register (居民) — not necessarily a user account.

    ``id_card_no`` and ``phone`` are personal information (PIPL): the API masks them for roles
    without the read-PII permission in scope, and audits every full read.
    """

    __tablename__ = "persons"
    __audit_mask__ = frozenset({"id_card_no", "phone", "birth_date", "id_card_index", "phone_index",
                                "id_card_masked", "phone_masked"})
    # The name is personal data the audit does not need in clear (the row id names the person).
    __audit_conceal__ = frozenset({"name"})
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        ForeignKeyConstraint(["tenant_id", "party_org_id"], ["party_orgs.tenant_id", "party_orgs.id"]),
        UniqueConstraint("tenant_id", "id_card_index"),
        Index("ix_persons_phone_index", "tenant_id", "phone_index"),
        Index("ix_persons_household", "tenant_id", "household_id"),
        Index("ix_persons_name", "tenant_id", "name"),
    )

    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[Gender | None] = mapped_column(_enum(Gender))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # Sealed at rest (models/sealing.py); the *_index columns are keyed hashes for exact lookup.
    id_card_no: Mapped[str | None] = mapped_column(Sealed())
    phone: Mapped[str | None] = mapped_column(Sealed())
    id_card_index: Mapped[str | None] = mapped_column(String(64))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    relation_to_head: Mapped[str | None] = mapped_column(String(20))
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    party_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # 在职党员 registered back with the community (双报到).
    in_service_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    # On the current register, moved out or deceased (issue #23). An archived person keeps the
    # household they last lived in: the ledgers of their time still find them there.
    status: Mapped[PersonStatus] = mapped_column(_enum(PersonStatus), default=PersonStatus.ACTIVE,
                                                 server_default=PersonStatus.ACTIVE.value)
    left_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    # The masked display forms (what a role without the full-read right sees), kept so one SQL
    # statement can answer a masked page without unsealing (issue #9; migration 0020).
    id_card_masked: Mapped[str | None] = mapped_column(String(32))
    phone_masked: Mapped[str | None] = mapped_column(String(32))

    @validates("id_card_no", "phone")
    def _index(self, key: str, value: str | None) -> str | None:
        stem = key.removesuffix("_no")
        setattr(self, f"{stem}_index", None if value is None else KEYRING.blind_index(value))
        setattr(self, f"{stem}_masked", (mask_id_card if stem == "id_card" else mask_phone)(value))
        return value


class CareTagKind(TenantScoped, Base):
    """A care group (重点人群) a tenant recognises; the defaults are seeded, a tenant may add more."""

    __tablename__ = "care_tag_kinds"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))


class PersonCareTag(TenantScoped, Base):
    __tablename__ = "person_care_tags"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "person_id", "code"),
        Index("ix_person_care_tags_code", "tenant_id", "code"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(32))


class PersonMoveKind(enum.StrEnum):
    MOVE = "move"  # from one household of the register to another (户内迁移)
    MOVE_OUT = "move_out"  # 迁出
    MOVE_IN = "move_in"  # 迁入: back onto the register, into a household
    DECEASED = "deceased"  # 注销


class PersonMove(TenantScoped, Base):
    """One change of where a person lives, or whether they are on the register (issue #23): the
    residence history, append-only (on PostgreSQL the app role may only SELECT and INSERT it). Where
    someone lived on a day is the last move on or before it."""

    __tablename__ = "person_moves"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(["tenant_id", "from_household_id"], ["households.tenant_id", "households.id"]),
        ForeignKeyConstraint(["tenant_id", "to_household_id"], ["households.tenant_id", "households.id"]),
        Index("ix_person_moves_person", "tenant_id", "person_id", "effective_on"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[PersonMoveKind] = mapped_column(_enum(PersonMoveKind))
    from_household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    to_household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    recorded_at: Mapped[datetime]
