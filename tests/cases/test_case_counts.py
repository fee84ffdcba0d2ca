"""SQL statements per request for the case list do not grow with the page size."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Area, Case, CaseEvent, CasePriority, CaseState, uuid7
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World

Q = """query($n: Int!) { cases(first: $n) { totalCount edges { node {
  number title state overdue categoryName reporter { username } area { name ... on Building { grids { name } } }
  timeline { seq action actor { username } }
} } } }"""


async def test_case_page_of_50_costs_what_a_page_of_5_costs(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            for i in range(55):
                building = ("B1", "B2", "B3")[i % 3]
                case = Case(id=uuid7(), number=f"T-{i:04d}", area_id=a.areas[building],
                             area_path=await _path(s, a.areas[building]), category_code="garbage",
                             priority=CasePriority.NORMAL, title=f"事件{i}", description="", state=CaseState.REPORTED,
                             reporter_user_id=a.users[("grid1", "grid2", "resident")[i % 3]],
                             reporter_role="grid_leader", on_wall=False, supervised=False, reopen_count=0, version=1,
                             updated_at=start, created_at=start + timedelta(minutes=i))
                s.add(case)
                await s.flush()
                s.add(CaseEvent(case_id=case.id, seq=1, action="report", from_state=None, to_state="reported",
                                actor_user_id=case.reporter_user_id, actor_role="grid_leader", attachments=[],
                                detail={}, created_at=case.created_at))
    await api.gql(a, "admin", Q, {"n": 1})  # warm the policy cache
    small, n_small = await api.counted(a, "admin", Q, {"n": 5})
    large, n_large = await api.counted(a, "admin", Q, {"n": 50})
    assert len(small["data"]["cases"]["edges"]) == 5
    assert len(large["data"]["cases"]["edges"]) == 50
    assert all(e["node"]["timeline"][0]["actor"] for e in large["data"]["cases"]["edges"])
    assert n_large == n_small


async def _path(s: AsyncSession, area_id: uuid.UUID) -> str:
    return str(await s.scalar(select(Area.path).where(Area.id == area_id)))
