"""The demo volunteering, points and ratings (issue #6), seeded through the services into a database
of its own: balances equal ledger sums, the youth partner project's activities are there, every demo
tenant has a closed month of ratings, and seeding twice adds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gongzhi.demo.cases import seed_demo_cases
from gongzhi.demo.volunteering import seed_demo_volunteering
from gongzhi.modules.register import seed_demo_register as seed_demo
from models import (
    Activity,
    ActivityState,
    EvaluationPeriod,
    EvaluationRating,
    Notification,
    PeriodState,
    PointsAccount,
    PointsEntry,
    Tenant,
)
from tenants.session import bind_tenant, make_engine, make_sessionmaker
from tests.support.templates import create_migrated_sqlite


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
    return create_migrated_sqlite(tmp_path_factory.mktemp("demo-vol") / "demo.db")


async def test_demo_volunteering(demo_db: str) -> None:
    engine = make_engine(demo_db)
    sm = make_sessionmaker(engine)
    try:
        await seed_demo(sm)
        await seed_demo_cases(sm)
        assert sorted(await seed_demo_volunteering(sm)) == ["baitao", "langya", "weierlu", "yanquan"]
        assert await seed_demo_volunteering(sm) == []
        async with sm() as s:
            bind_tenant(s, None)
            tenants = {t.slug: t.id for t in await s.scalars(select(Tenant))}
        for slug, tid in tenants.items():
            async with sm() as s:
                bind_tenant(s, tid)
                async with s.begin():
                    periods = list(await s.scalars(select(EvaluationPeriod)))
                    assert [p.state for p in periods] == [PeriodState.CLOSED], slug
                    assert await s.scalar(select(func.count()).select_from(EvaluationRating)), slug
                    for acc in await s.scalars(select(PointsAccount)):
                        total = await s.scalar(select(func.sum(PointsEntry.delta))
                                               .where(PointsEntry.person_id == acc.person_id))
                        assert acc.balance == total >= 0, slug
                    organisers = set(await s.scalars(select(Activity.organiser_name)))
                    cancelled = list(await s.scalars(select(Activity).where(
                        Activity.state == ActivityState.CANCELLED)))
                    told = list(await s.scalars(select(Notification.kind).where(
                        Notification.kind == "activity_cancelled")))
            if slug == "yanquan":
                assert {"市三医院", "航空航模协会", "蓝天救援队", "林邑社工服务中心"} <= organisers
                # one activity called off, its two volunteers notified (issue #23)
                assert [a.title for a in cancelled] == ["青年合伙人 旧衣回收"] and len(told) == 2
            else:
                assert cancelled == [] and told == [], slug
            if slug == "weierlu":
                assert organisers == {"纬二路社区"}
    finally:
        await engine.dispose()

