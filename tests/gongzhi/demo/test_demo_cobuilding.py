"""The demo co-building (issue #7), seeded through the services into a database of its own: 建峰社区's
11 agreements (two school grids) and last year's expired one, 盈丰国际's 8 partners, valid credit
codes, 双报到 members with service, seeding twice adds nothing — and 市三医院's demo client gets a
token and reads the youth project's activities of 盈丰国际."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from gongzhi.demo.cases import seed_demo_cases
from gongzhi.demo.cobuilding import seed_demo_cobuilding
from gongzhi.demo.volunteering import seed_demo_volunteering
from gongzhi.http.app import create_app
from gongzhi.modules.register import seed_demo_register as seed_demo
from gongzhi.settings import Settings
from models import Agreement, AgreementStatus, InServiceMember, InServiceRecord, PartnerUnit, Tenant
from resolvers.cobuilding import normalize_credit_code
from tenants.session import bind_tenant, make_engine, make_sessionmaker
from tests.support.harness import JWT_SECRET
from tests.support.templates import create_migrated_sqlite


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
    return create_migrated_sqlite(tmp_path_factory.mktemp("demo-cob") / "demo.db")


async def test_demo_cobuilding(demo_db: str) -> None:
    engine = make_engine(demo_db)
    sm = make_sessionmaker(engine)
    try:
        await seed_demo(sm)
        await seed_demo_cases(sm)
        await seed_demo_volunteering(sm)
        lines = await seed_demo_cobuilding(sm)
        assert await seed_demo_cobuilding(sm) == []
        async with sm() as s:
            bind_tenant(s, None)
            tenants = {t.slug: t.id for t in await s.scalars(select(Tenant))}
        async with sm() as s:
            bind_tenant(s, tenants["baitao"])
            async with s.begin():
                statuses = list(await s.scalars(select(Agreement.status)))
                assert statuses.count(AgreementStatus.ACTIVE) == 11 and statuses.count(AgreementStatus.EXPIRED) == 1
                assert len(statuses) == 12
                units = list(await s.scalars(select(PartnerUnit)))
                assert len(units) == 11
                assert {u.name for u in units} >= {"建峰小学", "白涛中学"}
                notes = list(await s.scalars(select(Agreement.note).where(Agreement.note.like("%学校网格%"))))
                assert len(notes) == 2
                assert await s.scalar(select(func.count()).select_from(InServiceMember)) == 2
                assert await s.scalar(select(func.count()).select_from(InServiceRecord)) == 6
        async with sm() as s:
            bind_tenant(s, tenants["yanquan"])
            async with s.begin():
                units = list(await s.scalars(select(PartnerUnit)))
                assert len(units) == 8
                assert {u.name for u in units} >= {"市三医院", "航空航模协会", "蓝天救援队", "林邑社工服务中心"}
                for u in units:
                    assert u.credit_code is not None and normalize_credit_code(u.credit_code) == u.credit_code
        # The demo client, end to end.
        line = next(x for x in lines if "partner client" in x)
        client_id = line.split("partner client ", 1)[1].split(" ", 1)[0]
        secret = line.split("(secret ", 1)[1].split(";", 1)[0]
        app = create_app(Settings(database_url=demo_db, jwt_secret=JWT_SECRET), engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                        "client_secret": secret})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            r = await client.post("/graphql", json={"query": "{ sharedActivities(first: 50) { nodes { title "
                                                             "community { name } } } myAgreements { title } }"},
                                  headers={"authorization": f"Bearer {token}"})
            data = r.json()["data"]
            titles = {n["title"] for n in data["sharedActivities"]["nodes"]}
            assert "青少年急救知识课堂" in titles and "航模科普进小区" in titles, titles
            assert {n["community"]["name"] for n in data["sharedActivities"]["nodes"]} == {"阳光苑社区"}
            assert len(data["myAgreements"]) == 1
    finally:
        await engine.dispose()
