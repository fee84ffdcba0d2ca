"""The care domain's predicates: neighbourhood leads and their households, the households a care
action reaches, wishes and service lists."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, SQLColumnExpression, false, literal, or_, true

from models import CareService, Wish, WishState
from policies.actor import Actor, Grant
from policies.filters import building_predicate, lead_household_ids
from policies.roles import Condition, Role


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


def wish_predicate(grant: Grant, actor: Actor, *, party_member: bool) -> ColumnElement[bool]:
    """Wishes the grant reaches: scope (the beneficiary's building), own (the actor's household's
    wishes, or posted by the actor), party_member (open wishes of the tenant, and those the actor
    claimed) — the caller says whether the actor's register entry is a party member."""
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
    if party_member and grant.has(Condition.PARTY_MEMBER):
        parts.append(or_(Wish.state == WishState.OPEN, Wish.claimant_user_id == actor.user_id))
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
