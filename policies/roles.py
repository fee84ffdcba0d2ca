"""Roles, conditions and resource types of DESIGN.md §4."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    STREET_ADMIN = "street_admin"
    PARTY_SECRETARY = "party_secretary"
    GRID_LEADER = "grid_leader"
    OWNER_COMMITTEE_CHAIR = "owner_committee_chair"
    PROPERTY_FIRM = "property_firm"
    RESIDENT = "resident"
    NEIGHBOR_LEAD = "neighbor_lead"
    PARTNER_UNIT = "partner_unit"


# Highest first. Each role holds everything the roles after it hold, within its own scope.
CHAIN: tuple[Role, ...] = (
    Role.STREET_ADMIN,
    Role.PARTY_SECRETARY,
    Role.GRID_LEADER,
    Role.OWNER_COMMITTEE_CHAIR,
    Role.PROPERTY_FIRM,
    Role.RESIDENT,
)


def rank(role: Role) -> int:
    """Higher is more powerful; roles beside the chain rank with the role they extend."""
    if role in CHAIN:
        return len(CHAIN) - CHAIN.index(role)
    return rank(Role.RESIDENT) if role is Role.NEIGHBOR_LEAD else 0


def may_grant(granter: Role, granted: Role) -> bool:
    """A granter grants only roles below their own; a street admin grants any role."""
    if granter is Role.STREET_ADMIN:
        return True
    return rank(granted) < rank(granter)


class Condition(enum.StrEnum):
    """The condition a policy line puts on the object (DESIGN.md §4)."""

    ALL = "all"
    SCOPE = "scope"
    OWN = "own"
    OWN_COMPOUND = "own_compound"
    SERVED = "served"
    ASSIGNED = "assigned"
    PUBLIC = "public"
    AGREEMENT = "agreement"
    OWN_REPORTS = "own_reports"
    # The actor's own register entry is a party member (wishes: who may claim them).
    PARTY_MEMBER = "party_member"
    # The compounds a grid's buildings belong to, for what is public or shared in them (DESIGN.md §8):
    # the compound itself (its name, notices, topics, cases located at it …), never its other buildings.
    GRID_COMPOUND = "grid_compound"


class Resource(enum.StrEnum):
    AREA = "area"
    HOUSEHOLD = "household"
    PERSON = "person"
    ROLE_ASSIGNMENT = "role_assignment"
    CASE = "case"
    TOPIC = "topic"
    MEETING = "meeting"
    VOTE = "vote"
    VISIT = "visit"
    WISH = "wish"
    ACTIVITY = "activity"
    POINTS = "points"
    EVALUATION = "evaluation"
    NOTICE = "notice"
    AGREEMENT = "agreement"
    POLICY = "policy"
    AUDIT_LOG = "audit_log"
    STATISTICS = "statistics"
    CARE_TAG = "care_tag"
    CARE_SERVICE = "care_service"
    CALENDAR = "calendar"
