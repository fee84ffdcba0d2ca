"""Rows for the volunteering count tests and the query-count world: `seed(n)` adds n activities with a
sign-up, reward items, ledger entries and redemptions to a world tenant, by direct inserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import (
    Activity,
    ActivitySignup,
    ActivityState,
    Area,
    EntryKind,
    OrganiserKind,
    PointsEntry,
    Redemption,
    RedemptionState,
    RewardItem,
    SignupState,
    uuid7,
)
from tenants.session import bind_tenant
from tests.support.harness import DbEnv
from tests.support.world import TenantWorld

N = 55
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def seed(db: DbEnv, tw: TenantWorld, n: int = N) -> None:
    person, admin = tw.persons["h1b"], tw.users["admin"]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = dict((await s.execute(select(Area.id, Area.path))).all())
            for i in range(n):
                area_id = tw.areas[("B1", "B2", "P1")[i % 3]]
                act = Activity(id=uuid7(), title=f"活动{i}", description="", area_id=area_id,
                               area_path=paths[area_id], place="广场", starts_at=AT + timedelta(days=i),
                               ends_at=AT + timedelta(days=i, hours=2), capacity=10, signed_up=1,
                               organiser_kind=OrganiserKind.COMMUNITY, organiser_area_id=tw.areas["C1"],
                               organiser_name="东风社区", state=ActivityState.PUBLISHED, published_by=admin,
                               created_at=AT)
                item = RewardItem(id=uuid7(), community_id=tw.areas["C1"], community_path=paths[tw.areas["C1"]],
                                  name=f"物品{i}", points=10, stock=5, active=True, created_at=AT)
                s.add_all([act, item])
                await s.flush()
                s.add_all([
                    ActivitySignup(id=uuid7(), activity_id=act.id, person_id=person, user_id=tw.users["resident"],
                                   state=SignupState.SIGNED_UP, version=1, updated_at=AT, created_at=AT),
                    PointsEntry(id=uuid7(), person_id=person, delta=1, kind=EntryKind.MANUAL, reason="测试",
                                actor_user_id=admin, balance_after=i + 1, created_at=AT + timedelta(seconds=i)),
                    Redemption(id=uuid7(), person_id=person, item_id=item.id, points=10,
                               state=RedemptionState.REQUESTED, requested_by=tw.users["resident"], created_at=AT),
                ])
            await s.flush()
