"""The actor of a request and the grants it holds.

A grant answers "may this actor do ACTION on RESOURCE, and on which objects": the union, over the
actor's active role assignments, of the conditions Casbin allows that role, each bound to that
assignment's scope (or firm). ``policies.filters`` turns a grant into a SQL predicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Area, AreaKind, Household, Member, Person, RoleAssignment, User
from models.bounded import keep
from policies.enforcer import TenantPolicy
from policies.roles import Condition, Role, rank
from tenants.session import fetch_first


@dataclass(frozen=True)
class Assignment:
    id: uuid.UUID
    role: Role
    scope_area_id: uuid.UUID
    scope_path: str
    scope_name: str
    scope_kind: AreaKind
    firm_id: uuid.UUID | None
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class Grant:
    """Which objects an action is allowed on. Empty (falsy) means: on none."""

    all: bool = False
    scope_paths: tuple[str, ...] = ()
    own: bool = False
    own_compound: bool = False
    firm_ids: tuple[uuid.UUID, ...] = ()
    # Firms the actor acts for where the condition is "assigned" (cases dispatched to them).
    assigned_firm_ids: tuple[uuid.UUID, ...] = ()
    # Scope paths of the assignments allowed under "grid_compound" (DESIGN.md §8): the compounds holding a
    # building that a grid at or under them covers (policies.filters.grid_compounds).
    grid_compound_paths: tuple[str, ...] = ()
    # A partner unit's system where the condition is "assigned": the cases dispatched to its unit (issue #22),
    # in the communities its agreements in force today cover (DESIGN.md §4: only under agreements in force).
    assigned_partner_ids: tuple[uuid.UUID, ...] = ()
    assigned_partner_paths: tuple[str, ...] = ()
    conditions: frozenset[Condition] = frozenset()

    def __bool__(self) -> bool:
        return (self.all or bool(self.scope_paths) or self.own or self.own_compound or bool(self.firm_ids)
                or bool(self.assigned_firm_ids) or bool(self.grid_compound_paths) or bool(self.assigned_partner_ids))

    def has(self, condition: Condition) -> bool:
        return condition in self.conditions


@dataclass
class Actor:
    user_id: uuid.UUID
    username: str
    display_name: str
    tenant_id: uuid.UUID
    policy: TenantPolicy
    assignments: list[Assignment]
    person_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    own_compound_path: str | None = None
    today: date = field(default_factory=date.today)
    # co-building (issue #7): a partner unit's API client (role partner_unit, no person). Its grants
    # come only from the unit's agreements active this request: (resource, action) → community paths.
    partner_unit_id: uuid.UUID | None = None
    partner_client_id: str | None = None
    agreement_paths: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # The communities of all the unit's agreements in force this request, whatever they share: where the
    # unit handles the cases dispatched to it (issue #22).
    agreement_communities: tuple[str, ...] = ()
    # The texts of gongzhi_request_actor() this actor was read from (PostgreSQL): they determine its
    # assignments, person, household and own compound, so they can stand for them in cache keys.
    source: tuple[str | None, str | None] | None = None
    _grants: dict[tuple[str, str], Grant] = field(default_factory=dict, repr=False)

    @property
    def roles(self) -> list[Role]:
        held = {a.role for a in self.assignments}
        if self.partner_unit_id is not None:
            held.add(Role.PARTNER_UNIT)  # co-building (issue #7): grants come from agreements, not assignments
        return sorted(held, key=rank, reverse=True)

    def grant(self, resource: str, action: str) -> Grant:
        """Casbin's answer for this actor's roles, memoised per request and per policy version."""
        key = (resource, action)
        found = self._grants.get(key)
        if found is not None:
            return found
        if self._consented_partner_read(resource, action):
            found = Grant(conditions=frozenset({Condition.AGREEMENT}))
            self._grants[key] = found
            return found
        all_ = own = own_compound = False
        paths: list[str] = []
        grid_paths: list[str] = []
        firms: list[uuid.UUID] = []
        assigned: list[uuid.UUID] = []
        conds: set[Condition] = set()
        for a in self.assignments:
            allowed = self.policy.conditions(a.role.value, resource, action)
            conds |= allowed
            if Condition.ALL in allowed:
                all_ = True
            if Condition.SCOPE in allowed:
                paths.append(a.scope_path)
            if Condition.GRID_COMPOUND in allowed:
                grid_paths.append(a.scope_path)
            if Condition.SERVED in allowed and a.firm_id is not None:
                firms.append(a.firm_id)
            if Condition.ASSIGNED in allowed and a.firm_id is not None:
                assigned.append(a.firm_id)
            if Condition.OWN in allowed and self.household_id is not None:
                own = True
            if Condition.OWN_COMPOUND in allowed and self.own_compound_path is not None:
                own_compound = True
        partners: tuple[uuid.UUID, ...] = ()
        partner_paths: tuple[str, ...] = ()
        if self.partner_unit_id is not None:  # its own unit's cases, never through an assignment (issue #22)
            allowed = self.policy.conditions(Role.PARTNER_UNIT.value, resource, action)
            if Condition.ASSIGNED in allowed:
                conds |= {Condition.ASSIGNED}
                if self.agreement_communities:  # no agreement in force: the unit handles nothing
                    partners, partner_paths = (self.partner_unit_id,), _outermost(list(self.agreement_communities))
        found = Grant(
            all=all_,
            scope_paths=_outermost(paths),
            own=own,
            own_compound=own_compound,
            firm_ids=tuple(dict.fromkeys(firms)),
            assigned_firm_ids=tuple(dict.fromkeys(assigned)),
            grid_compound_paths=_outermost(grid_paths),
            assigned_partner_ids=partners,
            assigned_partner_paths=partner_paths,
            conditions=frozenset(conds),
        )
        self._grants[key] = found
        return found

    def _consented_partner_read(self, resource: str, action: str) -> bool:
        """A partner unit's system reading persons (and their personal fields) through an agreement
        that shares person·read: only the persons who consented (policies/filters.py::person_predicate;
        PIPL art. 23, issue #24)."""
        return (self.partner_unit_id is not None and resource == "person" and action in ("read", "read_pii")
                and bool(self.agreement_paths.get(("person", "read")))
                and Condition.AGREEMENT in self.policy.conditions(Role.PARTNER_UNIT.value, "person", "read"))

    def assignments_allowing(self, resource: str, action: str, condition: Condition) -> list[Assignment]:
        return [a for a in self.assignments
                if condition in self.policy.conditions(a.role.value, resource, action)]


def _outermost(paths: list[str]) -> tuple[str, ...]:
    """Drop paths inside another path of the list: the subtree test already covers them."""
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(out)


async def load_actor(
    session: AsyncSession, *, user: User, tenant_id: uuid.UUID, policy: TenantPolicy, now: datetime
) -> Actor:
    """The actor's active role assignments (with scope paths) and own household: on PostgreSQL in one
    statement (each round trip costs more than its query, issue #9), elsewhere in two or three."""
    if session.get_bind().dialect.name == "postgresql":
        return await _load_actor_pg(session, user=user, tenant_id=tenant_id, policy=policy, now=now)
    return await load_actor_orm(session, user=user, tenant_id=tenant_id, policy=policy, now=now)


async def load_actor_orm(
    session: AsyncSession, *, user: User, tenant_id: uuid.UUID, policy: TenantPolicy, now: datetime
) -> Actor:
    """load_actor with ORM statements (SQLite; on PostgreSQL the tests compare it with the function)."""
    rows = (
        await session.execute(
            select(RoleAssignment, Area.path, Area.name, Area.kind)
            .join(Area, and_(Area.tenant_id == RoleAssignment.tenant_id, Area.id == RoleAssignment.scope_area_id))
            .where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.revoked_at.is_(None),
                RoleAssignment.valid_from <= now,
                or_(RoleAssignment.valid_until.is_(None), RoleAssignment.valid_until > now),
            )
            .order_by(RoleAssignment.id)
        )
    ).all()
    assignments: list[Assignment] = []
    for ra, path, name, kind in rows:
        try:
            role = Role(ra.role)
        except ValueError:
            continue  # a role this version does not know grants nothing
        assignments.append(
            Assignment(ra.id, role, ra.scope_area_id, path, name, kind, ra.firm_id, ra.valid_from, ra.valid_until)
        )
    actor = Actor(
        user_id=user.id, username=user.username, display_name=user.display_name, tenant_id=tenant_id,
        policy=policy, assignments=assignments, today=now.date(),
    )
    own = (
        await session.execute(
            select(Member.person_id, Person.household_id, Area.path)
            .outerjoin(Person, and_(Person.tenant_id == Member.tenant_id, Person.id == Member.person_id))
            .outerjoin(Household, and_(Household.tenant_id == Person.tenant_id, Household.id == Person.household_id))
            .outerjoin(Area, and_(Area.tenant_id == Household.tenant_id, Area.id == Household.building_id))
            .where(Member.user_id == user.id)
        )
    ).first()
    if own is not None:
        actor.person_id, actor.household_id, building_path = own
        if building_path:
            actor.own_compound_path = await _compound_path(session, building_path)
    return actor


# On PostgreSQL the actor's rows come from one function (migration 0025), which the request's first
# statement calls (gongzhi/app.py) and load_actor calls on its own: the same rows as load_actor's ORM
# statements, under RLS.
ACTOR_SQL = "SELECT assignments::text, own::text FROM gongzhi_request_actor($1, $2, $3)"


async def _load_actor_pg(
    session: AsyncSession, *, user: User, tenant_id: uuid.UUID, policy: TenantPolicy, now: datetime
) -> Actor:
    raw_assignments, raw_own = await fetch_first(session, ACTOR_SQL, tenant_id, user.id, now)
    return actor_from_rows(user=user, tenant_id=tenant_id, policy=policy, now=now,
                           raw_assignments=raw_assignments, raw_own=raw_own)


@dataclass(frozen=True)
class KeptActor:
    """A user's actor rows as gongzhi_request_actor_unless_kept gave them (migration 0055), at the tenant's
    ``actor_version``, valid while the request's time is in [held_from, held_until) (None: unbounded)."""

    tenant_id: uuid.UUID
    version: int
    held_from: datetime | None
    held_until: datetime | None
    rows: tuple[str | None, str | None]


_KEPT_ACTORS: dict[tuple[str, uuid.UUID], KeptActor] = {}  # (tenant slug, user) → the actor's rows


def kept_actor(slug: str, user_id: uuid.UUID, now: datetime) -> KeptActor | None:
    """The actor rows this process keeps for the user in the tenant of this slug, if ``now`` is in their interval.
    Whether they are still the tenant's the first statement decides: by its actor_version, in its snapshot."""
    found = _KEPT_ACTORS.get((slug, user_id))
    if found is None or (found.held_from is not None and now < found.held_from) or (
            found.held_until is not None and now >= found.held_until):
        return None
    return found


def keep_actor(slug: str, user_id: uuid.UUID, tenant_id: uuid.UUID, version: int, held_from: datetime | None,
               held_until: datetime | None, rows: tuple[str | None, str | None]) -> None:
    keep(_KEPT_ACTORS, (slug, user_id), KeptActor(tenant_id, version, held_from, held_until, rows), _KEPT_ACTORS_MAX)


_KEPT_ACTORS_MAX = 16384


def actor_from_rows(*, user: User, tenant_id: uuid.UUID, policy: TenantPolicy, now: datetime,
                    raw_assignments: str | None, raw_own: str | None) -> Actor:
    """The actor from gongzhi_request_actor()'s two JSON values, as texts (both callers cast them)."""
    key = (raw_assignments, raw_own)
    parsed = _parsed_rows.get(key)
    if parsed is None:
        parsed = keep(_parsed_rows, key, _parse_rows(raw_assignments, raw_own), 4096)
    assignments, person_id, household_id, own_compound_path = parsed
    return Actor(
        user_id=user.id, username=user.username, display_name=user.display_name, tenant_id=tenant_id,
        policy=policy, assignments=list(assignments), person_id=person_id, household_id=household_id,
        own_compound_path=own_compound_path, today=now.date(), source=key,
    )


# The same user's rows come back as the same texts request after request (issue #9: parsing them,
# UUIDs and timestamps, was ≈ 3 % of a node lookup); what they parse to is immutable.
_parsed_rows: dict[tuple[str | None, str | None],
                   tuple[tuple[Assignment, ...], uuid.UUID | None, uuid.UUID | None, str | None]] = {}


def _parse_rows(raw_assignments: str | None, raw_own: str | None
                ) -> tuple[tuple[Assignment, ...], uuid.UUID | None, uuid.UUID | None, str | None]:
    found: list[Assignment] = []
    for row in orjson.loads(raw_assignments or "null") or []:
        rid, role, scope_id, path, name, kind, firm_id, valid_from, valid_until = row
        try:
            r = Role(role)
        except ValueError:
            continue  # a role this version does not know grants nothing
        found.append(Assignment(uuid.UUID(rid), r, uuid.UUID(scope_id), path, name, AreaKind(kind),
                                None if firm_id is None else uuid.UUID(firm_id), _ts(valid_from),
                                None if valid_until is None else _ts(valid_until)))
    person_id = household_id = own_compound_path = None
    if raw_own is not None:
        person, household, building_path, own_compound = orjson.loads(raw_own)
        person_id = None if person is None else uuid.UUID(person)
        household_id = None if household is None else uuid.UUID(household)
        if building_path:
            own_compound_path = own_compound or building_path
    return tuple(found), person_id, household_id, own_compound_path


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def _compound_path(session: AsyncSession, building_path: str) -> str | None:
    """The path of the compound above a building (the building's own path if none is)."""
    ancestor_ids = [uuid.UUID(hex=seg) for seg in building_path.strip("/").split("/") if seg]
    path = await session.scalar(
        select(Area.path).where(Area.id.in_(ancestor_ids), Area.kind == AreaKind.COMPOUND)
    )
    return path or building_path
