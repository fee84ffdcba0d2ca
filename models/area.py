"""The area tree (street → community → zone → compound → building, with grids overlaid) and the
organisations attached to it: property firms and their service contracts, party organisations."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    cast,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum


class AreaKind(enum.StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    ZONE = "zone"
    COMPOUND = "compound"
    GRID = "grid"
    BUILDING = "building"


# Which kinds may sit under which: both "community–zone–compound–grid" and "grid inside compound".
ALLOWED_PARENTS: dict[AreaKind, frozenset[AreaKind]] = {
    AreaKind.STREET: frozenset(),
    AreaKind.COMMUNITY: frozenset({AreaKind.STREET}),
    AreaKind.ZONE: frozenset({AreaKind.COMMUNITY}),
    AreaKind.COMPOUND: frozenset({AreaKind.COMMUNITY, AreaKind.ZONE}),
    AreaKind.GRID: frozenset({AreaKind.COMMUNITY, AreaKind.ZONE, AreaKind.COMPOUND}),
    AreaKind.BUILDING: frozenset({AreaKind.COMMUNITY, AreaKind.ZONE, AreaKind.COMPOUND}),
}


class PropertyManagement(enum.StrEnum):
    """How a compound is managed: by a firm, by a third party, or not at all (无物业小区)."""

    FIRM = "firm"
    THIRD_PARTY = "third_party"
    SELF_MANAGED = "self_managed"
    NONE = "none"


class Area(TenantScoped, Base):
    """A node of the area tree. ``path`` is the materialized path of ids ("/a/b/c/"): the subtree
    of X is every node whose path starts with X's path, one indexed LIKE-prefix test."""

    __tablename__ = "areas"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["areas.tenant_id", "areas.id"], ondelete="RESTRICT"),
        Index("ix_areas_tenant_path", "tenant_id", "path"),
        Index("ix_areas_tenant_parent", "tenant_id", "parent_id"),
        Index("ux_areas_live_sibling_name", "tenant_id", "parent_id", "name", unique=True,
              postgresql_where=text("archived_at IS NULL"), sqlite_where=text("archived_at IS NULL")),
    )

    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[AreaKind] = mapped_column(_enum(AreaKind, 16))
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(1000))
    # Compound only.
    property_management: Mapped[PropertyManagement | None] = mapped_column(_enum(PropertyManagement, 16))
    # Building only.
    floors: Mapped[int | None] = mapped_column(Integer)
    unit_count: Mapped[int | None] = mapped_column(Integer)
    # Optimistic concurrency: every ORM update is "… WHERE version = :seen" and bumps it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # archiveArea (issue #23): archived, never deleted — the ledgers of its time still name it; lists
    # and pickers leave it out unless asked. Names are unique among the live children of a parent.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    __mapper_args__ = {"version_id_col": version}


PATH_SEP = "/"
# The community above (or at) an area is the second segment of its path ("/street/community/…/"),
# since a community sits directly under the street (ALLOWED_PARENTS): defined once, in Python for the
# resolvers (community_id_of) and in SQL for the compiled reads (community_id_sql).
COMMUNITY_SEGMENT = 1  # 0-based, after the leading separator


def path_segment(area_id: uuid.UUID) -> str:
    return area_id.hex + PATH_SEP


def community_id_of(path: str) -> uuid.UUID | None:
    segments = path.strip(PATH_SEP).split(PATH_SEP)
    return uuid.UUID(hex=segments[COMMUNITY_SEGMENT]) if len(segments) > COMMUNITY_SEGMENT else None


def community_id_sql(path: Any) -> ColumnElement[uuid.UUID]:
    """community_id_of over a path column (PostgreSQL): split_part counts from 1 and the path's leading
    separator makes the first part empty, hence + 2; a missing segment is '' and becomes NULL. The
    separator is a literal, not a parameter (the compiled reads keep parameters to ids and cursors)."""
    seg = func.nullif(func.split_part(path, literal_column(f"'{PATH_SEP}'", Text), COMMUNITY_SEGMENT + 2),
                      literal_column("''", Text))
    return cast(seg, Uuid)


class GridBuilding(TenantScoped, Base):
    """A grid covers buildings; a grid may cut across compounds."""

    __tablename__ = "grid_buildings"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "grid_id"], ["areas.tenant_id", "areas.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "building_id"], ["areas.tenant_id", "areas.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "grid_id", "building_id"),
        Index("ix_grid_buildings_building", "tenant_id", "building_id"),
    )

    grid_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class PropertyFirm(TenantScoped, Base):
    """Property management company (物业公司)."""

    __tablename__ = "property_firms"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str | None] = mapped_column(String(18))


class ServiceContract(TenantScoped, Base):
    """A firm serves a compound from ``valid_from`` until ``valid_until`` (open-ended when null)."""

    __tablename__ = "service_contracts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "firm_id"], ["property_firms.tenant_id", "property_firms.id"]),
        ForeignKeyConstraint(["tenant_id", "compound_id"], ["areas.tenant_id", "areas.id"]),
        Index("ix_service_contracts_firm", "tenant_id", "firm_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    compound_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class PartyOrgKind(enum.StrEnum):
    COMMITTEE = "committee"  # 党委 / 党总支
    BRANCH = "branch"  # 党支部
    GROUP = "group"  # 党小组


class PartyOrg(TenantScoped, Base):
    """Party organisation (党组织) attached to an area: a community's committee (党委/党总支), a
    compound's or grid's branch (党支部), a building's group (党小组)."""

    __tablename__ = "party_orgs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["party_orgs.tenant_id", "party_orgs.id"]),
    )

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[PartyOrgKind] = mapped_column(_enum(PartyOrgKind, 16))
    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class PartyOrgRole(enum.StrEnum):
    SECRETARY = "secretary"  # 书记
    DEPUTY_SECRETARY = "deputy_secretary"  # 副书记
    COMMITTEE_MEMBER = "committee_member"  # 委员
    MEMBER = "member"  # 党员


class PartyOrgMember(TenantScoped, Base):
    """A person on the register who belongs to a party organisation (党组织成员), with their office."""

    __tablename__ = "party_org_members"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "party_org_id"], ["party_orgs.tenant_id", "party_orgs.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        UniqueConstraint("tenant_id", "party_org_id", "person_id"),
        Index("ix_party_org_members_person", "tenant_id", "person_id"),
    )

    party_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[PartyOrgRole] = mapped_column(_enum(PartyOrgRole, 24))
    joined_on: Mapped[date | None] = mapped_column(Date)


class OwnerCommittee(TenantScoped, Base):
    """A compound's owner committee (业委会), elected for a term, with its chair (业委会主任)."""

    __tablename__ = "owner_committees"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "compound_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "chair_person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_owner_committees_compound", "tenant_id", "compound_id"),
    )

    compound_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    chair_name: Mapped[str] = mapped_column(String(50))
    chair_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)


class SelfGoverningKind(enum.StrEnum):
    ZONE = "zone"  # 自治片区
    GROUP = "group"  # 自治小组


class SelfGoverningUnit(TenantScoped, Base):
    """A residents' self-governing zone (自治片区) or group (自治小组) of a compound or a building (issue
    #23): 三里亭人家 runs itself in 2 zones of 6 groups each, every group gathered round a central
    party-member household. A group may sit in a zone of the same area (``parent_id``)."""

    __tablename__ = "self_governing_units"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"]),
        ForeignKeyConstraint(["tenant_id", "parent_id"],
                             ["self_governing_units.tenant_id", "self_governing_units.id"]),
        UniqueConstraint("tenant_id", "area_id", "name"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[SelfGoverningKind] = mapped_column(_enum(SelfGoverningKind, 16))
    name: Mapped[str] = mapped_column(String(100))


class CentralHousehold(TenantScoped, Base):
    """A central party-member household (党员中心户) of a self-governing group: a party member's household
    the group's neighbours turn to, the party member named."""

    __tablename__ = "central_households"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["self_governing_units.tenant_id", "self_governing_units.id"]),
        ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        UniqueConstraint("tenant_id", "unit_id", "household_id"),
        Index("ix_central_households_household", "tenant_id", "household_id"),
        Index("ix_central_households_person", "tenant_id", "person_id"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    appointed_on: Mapped[date | None] = mapped_column(Date)
