"""Migration 0033 gives cases stored before it the source channel their reporter's role implies
(resident / neighbourhood lead → RESIDENT_REPORT, grid leader → GRID_PATROL, else OTHER), tenant by
tenant (each_tenant: SET LOCAL under PostgreSQL's forced row-level security)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade

ROLES = {"resident": "resident_report", "neighbor_lead": "resident_report", "grid_leader": "grid_patrol",
         "street_admin": "other", "property_firm": "other"}


def test_existing_cases_get_the_channel_of_their_reporters_role(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0032")
    tenant, area = uuid.uuid4(), uuid.uuid4()

    async def run() -> dict[str, str]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                "VALUES (:id, 'old', '旧街道', 'active', 1, '2026-01-01 00:00:00')"), {"id": tenant.hex})
            await conn.execute(sa.text(
                "INSERT INTO areas (tenant_id, id, created_at, parent_id, kind, name, path, depth, version) "
                "VALUES (:t, :a, '2026-01-01 00:00:00', NULL, 'street', '旧街道', :p, 0, 1)"),
                {"t": tenant.hex, "a": area.hex, "p": f"/{area.hex}/"})
            for n, role in enumerate(ROLES):
                await conn.execute(sa.text(
                    "INSERT INTO cases (tenant_id, id, created_at, number, area_id, area_path, category_code, "
                    "priority, title, description, state, reporter_user_id, reporter_role, on_wall, supervised, "
                    "reopen_count, version, updated_at) VALUES (:t, :id, '2026-01-01 00:00:00', :num, :a, :p, "
                    "'garbage', 'normal', :role, '', 'reported', :u, :role, 0, 0, 0, 1, '2026-01-01 00:00:00')"),
                    {"t": tenant.hex, "id": uuid.uuid4().hex, "num": f"N{n}", "a": area.hex, "p": f"/{area.hex}/",
                     "role": role, "u": uuid.uuid4().hex})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT title, source, external_ticket_no FROM cases"))).all()
        await engine.dispose()
        assert all(r[2] is None for r in rows)
        return {r[0]: r[1] for r in rows}

    assert asyncio.run(run()) == ROLES
