"""The ``agreement`` condition (DESIGN.md §4) and the other co-building predicates (issue #7).

A partner unit's API client holds no role assignment. Its actor carries role ``partner_unit`` and,
per (resource, action), the paths of the communities covered by the unit's agreements that are
active at the request's time and grant that resource·action. Casbin must also allow
``partner_unit`` the action under ``agreement``: the policy says which grants may ever be shared,
the agreement which are shared, where and until when. Both are read on every request, so an
agreement that expires or is suspended cuts access on the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, exists, false, literal, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import (
    Agreement,
    AgreementCommunity,
    AgreementStatus,
    InServiceMember,
    PartnerClient,
    User,
)
from policies.actor import Actor, Grant
from policies.enforcer import TenantPolicy
from policies.filters import buildings_in_scope
from policies.roles import Condition, Role

TZ = ZoneInfo("Asia/Shanghai")


def local_date(now: datetime) -> date:
    """The day in the street offices' time zone: agreements run from and until local dates."""
    return now.astimezone(TZ).date()


def active_on(day: date | ColumnElement[date], agreement: Any = Agreement) -> ColumnElement[bool]:
    """An agreement is in force: status active and the day inside valid_from..valid_until. The day is a
    value or a SQL expression (a compiled read's parameter); ``agreement`` the model or an alias of it."""
    return and_(agreement.status == AgreementStatus.ACTIVE, agreement.valid_from <= day,
                or_(agreement.valid_until.is_(None), agreement.valid_until >= day))


def partner_agreement_rows(partner_unit_id: Any, day: date | ColumnElement[date]) -> Select[list[str], str]:
    """(grants, community path) of each community of each agreement of the unit in force on ``day``.
    ``partner_unit_id`` and ``day`` are values or SQL expressions (the driver statement's parameters);
    every table names its tenant through the agreement's (the ORM adds it, the driver statement binds it)."""
    return (select(Agreement.grants, AgreementCommunity.community_path)
            .join(AgreementCommunity, and_(AgreementCommunity.tenant_id == Agreement.tenant_id,
                                           AgreementCommunity.agreement_id == Agreement.id))
            .where(Agreement.partner_unit_id == partner_unit_id, active_on(day)))


def partner_actor(*, user: User, partner_unit_id: uuid.UUID, client_id: str, tenant_id: uuid.UUID,
                  policy: TenantPolicy, now: datetime, rows: Iterable[tuple[Any, str]]) -> Actor:
    """The actor of a partner client from its agreements' rows (``partner_agreement_rows``): no role
    assignment (so every staff grant is empty), the community paths of each resource·action its active
    agreements grant, and the communities they cover (where it handles the cases dispatched to its
    unit, whatever the agreements share)."""
    paths: dict[tuple[str, str], set[str]] = {}
    communities: set[str] = set()
    for grants, path in rows:
        communities.add(path)
        for g in grants or []:
            resource, _, action = str(g).partition(".")
            paths.setdefault((resource, action), set()).add(path)
            if (resource, action) == ("wish", "claim"):  # §4 "wish · claim / fulfil": who claims, fulfils
                paths.setdefault(("wish", "fulfil"), set()).add(path)
    return Actor(
        user_id=user.id, username=user.username, display_name=user.display_name, tenant_id=tenant_id,
        policy=policy, today=now.date(), assignments=[],
        partner_unit_id=partner_unit_id, partner_client_id=client_id,
        agreement_paths={k: tuple(sorted(v)) for k, v in paths.items()},
        agreement_communities=tuple(sorted(communities)),
    )


async def load_partner_actor(
    session: AsyncSession, *, user: User, client: PartnerClient, tenant_id: uuid.UUID, policy: TenantPolicy,
    now: datetime,
) -> Actor:
    """``partner_actor`` with its agreements' rows read through the ORM (SQLite; the PostgreSQL requests
    read them on the driver with the client, gongzhi.http.partner_actor)."""
    rows = (await session.execute(partner_agreement_rows(client.partner_unit_id, local_date(now)))).all()
    return partner_actor(user=user, partner_unit_id=client.partner_unit_id, client_id=client.client_id,
                         tenant_id=tenant_id, policy=policy, now=now, rows=[(g, p) for g, p in rows])


def agreement_reach(actor: Actor, resource: str, action: str) -> tuple[str, ...]:
    """Community paths where ``action`` on ``resource`` is shared with this partner actor right now
    (empty for anyone else, or when the policy does not let partner units have it at all)."""
    if actor.partner_unit_id is None:
        return ()
    if Condition.AGREEMENT not in actor.policy.conditions(Role.PARTNER_UNIT.value, resource, action):
        return ()
    return actor.agreement_paths.get((resource, action), ())


def under(col: SQLColumnExpression[str], paths: Sequence[str]) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(col.startswith(p) for p in paths))


def shared_building_predicate(col: SQLColumnExpression[uuid.UUID], paths: tuple[str, ...]) -> ColumnElement[bool]:
    """``col`` (a building id) lies in one of the covered communities."""
    if not paths:
        return false()
    return col.in_(buildings_in_scope(paths))


def agreement_read_predicate(grant: Grant) -> ColumnElement[bool]:
    """Agreements covering at least one community in the grant's scope."""
    if grant.all:
        return true()
    if not grant.scope_paths:
        return false()
    ac = aliased(AgreementCommunity)
    return exists().where(ac.tenant_id == Agreement.tenant_id, ac.agreement_id == Agreement.id,
                          under(ac.community_path, grant.scope_paths))


def agreement_manage_predicate(grant: Grant) -> ColumnElement[bool]:
    """Agreements all of whose communities lie in the grant's scope (and that cover at least one)."""
    if grant.all:
        return true()
    if not grant.scope_paths:
        return false()
    ac = aliased(AgreementCommunity)
    ac2 = aliased(AgreementCommunity)
    return and_(
        exists().where(ac.tenant_id == Agreement.tenant_id, ac.agreement_id == Agreement.id),
        not_(exists().where(ac2.tenant_id == Agreement.tenant_id, ac2.agreement_id == Agreement.id,
                            not_(under(ac2.community_path, grant.scope_paths)))),
    )


def inservice_predicate(grant: Grant, actor: Actor, resource_action: tuple[str, str]) -> ColumnElement[bool]:
    """In-service members registered with a community in the grant's scope; for a partner actor
    under "own": the members from its own unit."""
    parts: list[ColumnElement[bool]] = []
    if grant.all:
        return true()
    if grant.scope_paths:
        parts.append(under(InServiceMember.community_path, grant.scope_paths))
        # A grid leader's scope lies below the community: members of the community the grid is in.
        parts.append(or_(*(literal(p).startswith(InServiceMember.community_path) for p in grant.scope_paths)))
    if (actor.partner_unit_id is not None and Condition.OWN in actor.policy.conditions(
            Role.PARTNER_UNIT.value, *resource_action)):
        parts.append(InServiceMember.partner_unit_id == actor.partner_unit_id)
    return or_(*parts) if parts else false()

