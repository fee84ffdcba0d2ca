"""The care domain's predicates: neighbourhood leads and their households, the households a care
action reaches, wishes and service lists."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, literal, or_, select, true
from sqlalchemy.orm import aliased

from models import Area, CareService, Wish, WishState
from policies.actor import Actor, Grant
from policies.filters import building_predicate, lead_household_ids
from policies.roles import Condition, Role

_COMMUNITY_BUILDING = aliased(Area, name="party_community_area")


def acts_as_lead(actor: Actor, resource: str, action: str) -> bool:
    """The actor holds ``neighbor_lead`` and the policy grants it ``action`` under "assigned"."""
    return any(a.role is Role.NEIGHBOR_LEAD
               for a in actor.assignments_allowing(resource, action, Condition.ASSIGNED))


def care_household_predicate(
    actor: Actor, resource: str, action: str, *, household_id: SQLColumnExpression[uuid.UUID],
    building_id: SQLColumnExpression[uuid.UUID],
) -> ColumnElement[bool]:
    """Households (given by their id and building columns) where ``action`` on ``resource`` is
    allowed: the grant's reach (all, scope, …) and, for a lead, the households assigned to them."""
    grant = actor.grant(resource, action)
    parts: list[ColumnElement[bool]] = []
    if grant:
        parts.append(building_predicate(building_id, grant, actor))
    if acts_as_lead(actor, resource, action):
        parts.append(household_id.in_(lead_household_ids(actor)))
    return or_(*parts) if parts else false()


def wish_predicate(grant: Grant, actor: Actor, *, party_community: str | ColumnElement[str] | None
                   ) -> ColumnElement[bool]:
    """Wishes the grant reaches: scope (the beneficiary's building), own (the actor's household's
    wishes, or posted by the actor), party_member (open wishes in the community of the actor's party
    organisation — DESIGN.md §8 — and those the actor claimed): the caller gives that community's path
    when the actor's register entry is a party member (else None)."""
    if grant.all:
        return true()
    parts: list[ColumnElement[bool]] = []
    reach = Grant(scope_paths=grant.scope_paths, own_compound=grant.own_compound, firm_ids=grant.firm_ids)
    if reach:
        parts.append(building_predicate(Wish.building_id, reach, actor))
    if grant.has(Condition.OWN):
        parts.append(Wish.poster_user_id == actor.user_id)
        if actor.household_id is not None:
            parts.append(Wish.household_id == actor.household_id)
    if party_community is not None and grant.has(Condition.PARTY_MEMBER):
        in_community = select(_COMMUNITY_BUILDING.id).where(_COMMUNITY_BUILDING.path.startswith(party_community))
        party = or_(and_(Wish.state == WishState.OPEN, Wish.building_id.in_(in_community)),
                    Wish.claimant_user_id == actor.user_id)
        # Given as SQL (the compiled reads' subquery), the community is known only in the database:
        # NULL there is None here — no party-member branch at all.
        parts.append(party if isinstance(party_community, str) else and_(party_community.is_not(None), party))
    return or_(*parts) if parts else false()


def care_service_predicate(grant: Grant, service: type[CareService] = CareService) -> ColumnElement[bool]:
    """Service lists of areas inside the scope, and of the areas above it (a grid worker reads the
    lists of their community and of the street)."""
    if grant.all:
        return true()
    if not grant.scope_paths:
        return false()
    return or_(*(or_(service.area_path.startswith(p), literal(p).startswith(service.area_path))
                 for p in grant.scope_paths))
