"""The demo seeders' driver: service calls as a demo user at a chosen moment, so demo data goes
through the same checks, timelines and audit as the API's."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    Area,
    AreaKind,
    GridBuilding,
    Household,
    Member,
    PartnerClient,
    Person,
    RoleAssignment,
    ServiceContract,
    Tenant,
    User,
)
from policies.actor import load_actor
from policies.cobuilding import load_partner_actor
from policies.enforcer import PolicyCache
from resolvers.cases import SHANGHAI
from resolvers.context import Db, RequestContext
from tenants.session import bind_tenant

T = TypeVar("T")


class Driver:
    """Runs service calls as a demo user at a chosen moment, one committed transaction each."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], tenant: Tenant, today: date) -> None:
        self.sm = sm
        self.tenant = tenant
        self.today = today
        self.policies = PolicyCache()

    def at(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        local = datetime.combine(self.today - timedelta(days=days_ago), datetime.min.time(), tzinfo=SHANGHAI)
        return local.replace(hour=hour, minute=minute).astimezone(UTC)

    async def run(self, username: str, when: datetime, fn: Callable[[RequestContext], Awaitable[T]]) -> T:
        async with self.sm() as s:
            bind_tenant(s, self.tenant.id)
            async with s.begin():
                user = await s.scalar(select(User).where(User.username == username))
                assert user is not None, username
                policy = await self.policies.get(s, self.tenant.id, self.tenant.policy_version)
                actor = await load_actor(s, user=user, tenant_id=self.tenant.id, policy=policy, now=when)
                ctx = RequestContext(db=Db(s), tenant=self.tenant, actor=actor, now=when, request_id="demo-seed")
                return await fn(ctx)

    async def run_partner(self, client_id: str, when: datetime, fn: Callable[[RequestContext], Awaitable[T]]) -> T:
        """As run, as a partner unit's system: the actor its API client's token gets (the client's account,
        role partner_unit, the unit's agreements in force at ``when``), as gongzhi.http builds it."""
        async with self.sm() as s:
            bind_tenant(s, self.tenant.id)
            async with s.begin():
                client = await s.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id,
                                                                    PartnerClient.revoked_at.is_(None)))
                assert client is not None, client_id
                user = await s.scalar(select(User).where(User.id == client.user_id))
                assert user is not None, client_id
                policy = await self.policies.get(s, self.tenant.id, self.tenant.policy_version)
                actor = await load_partner_actor(s, user=user, client=client, tenant_id=self.tenant.id,
                                                 policy=policy, now=when)
                ctx = RequestContext(db=Db(s), tenant=self.tenant, actor=actor, now=when, request_id="demo-seed")
                return await fn(ctx)

    async def query(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.sm() as s:
            bind_tenant(s, self.tenant.id)
            async with s.begin():
                return await fn(s)

    # -- lookups in the seeded register

    async def scope_of(self, username: str) -> uuid.UUID:
        async def q(s: AsyncSession) -> uuid.UUID:
            found = await s.scalar(select(RoleAssignment.scope_area_id).join(User, User.id == RoleAssignment.user_id)
                                   .where(User.username == username))
            assert found is not None, username
            return found

        return await self.query(q)

    async def grid_building(self, username: str, name: str | None = None) -> uuid.UUID:
        """A building the user's grid covers (the named one when given)."""
        grid = await self.scope_of(username)

        async def q(s: AsyncSession) -> uuid.UUID:
            stmt = (select(Area.id).join(GridBuilding, GridBuilding.building_id == Area.id)
                    .where(GridBuilding.grid_id == grid).order_by(Area.name))
            if name:
                stmt = stmt.where(Area.name == name)
            found = await s.scalar(stmt.limit(1))
            if found is None:
                found = await s.scalar(select(Area.id).join(GridBuilding, GridBuilding.building_id == Area.id)
                                       .where(GridBuilding.grid_id == grid).order_by(Area.name).limit(1))
            assert found is not None, username
            return found

        return await self.query(q)

    async def home_building(self, username: str) -> uuid.UUID:
        async def q(s: AsyncSession) -> uuid.UUID:
            found = await s.scalar(
                select(Household.building_id)
                .join(Person, and_(Person.household_id == Household.id))
                .join(Member, Member.person_id == Person.id)
                .join(User, User.id == Member.user_id)
                .where(User.username == username)
            )
            assert found is not None, username
            return found

        return await self.query(q)

    async def community_of(self, area_id: uuid.UUID) -> uuid.UUID:
        async def q(s: AsyncSession) -> uuid.UUID:
            path = await s.scalar(select(Area.path).where(Area.id == area_id))
            assert path is not None
            ids = [uuid.UUID(hex=x) for x in path.strip("/").split("/")]
            found = await s.scalar(select(Area.id).where(Area.id.in_(ids), Area.kind == AreaKind.COMMUNITY))
            assert found is not None
            return found

        return await self.query(q)

    async def firm_serving(self, area_id: uuid.UUID) -> uuid.UUID | None:
        async def q(s: AsyncSession) -> uuid.UUID | None:
            path = await s.scalar(select(Area.path).where(Area.id == area_id))
            assert path is not None
            ids = [uuid.UUID(hex=x) for x in path.strip("/").split("/")]
            return await s.scalar(select(ServiceContract.firm_id).where(ServiceContract.compound_id.in_(ids)))

        return await self.query(q)
