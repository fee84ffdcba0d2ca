"""The demo's 扬天小区 sewage case (DESIGN.md §7, issue #22) runs through 受理 → 派遣 → 处置 → 回访, seeded
through the services into a database of its own: each stage has its due time and is completed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gongzhi.demo.cases import seed_demo_cases
from gongzhi.modules.register import seed_demo_register as seed_demo
from models import CallbackResult, Case, CaseStage, CaseStageKind, CaseState, Tenant
from tenants.session import bind_tenant, make_engine, make_sessionmaker
from tests.support.templates import create_migrated_sqlite


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
    return create_migrated_sqlite(tmp_path_factory.mktemp("demo-stages") / "demo.db")


async def test_the_sewage_case_passes_every_stage(demo_db: str) -> None:
    engine = make_engine(demo_db)
    sm = make_sessionmaker(engine)
    try:
        await seed_demo(sm)
        await seed_demo_cases(sm)
        async with sm() as s:
            bind_tenant(s, None)
            langya = (await s.scalars(select(Tenant.id).where(Tenant.slug == "langya"))).one()
        async with sm() as s:
            bind_tenant(s, langya)
            async with s.begin():
                case = (await s.scalars(select(Case).where(Case.title == "扬天小区11栋污水外溢"))).one()
                stages = list(await s.scalars(select(CaseStage).where(CaseStage.case_id == case.id)
                                              .order_by(CaseStage.seq)))
        assert (case.state, case.callback_result) == (CaseState.CLOSED, CallbackResult.SATISFIED.value)
        assert [st.stage for st in stages] == [CaseStageKind.ACCEPT, CaseStageKind.DISPATCH, CaseStageKind.HANDLE,
                                               CaseStageKind.CALLBACK]
        assert all(st.due_at is not None and st.completed_at is not None for st in stages), stages
        assert [st.outcome for st in stages] == ["accept", "dispatch", "resolve", "callback"]
        assert all(st.started_at < st.due_at for st in stages)
    finally:
        await engine.dispose()
