"""Migrations 0026, 0030 and 0031 give tenants provisioned before them their new default policy lines
through tenants.migration_ops (one copy of that loop), and move each tenant's policy version on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade

ADDED = {("street_admin", "ledger", "export_full", "all"), ("resident", "case", "withdraw", "own_reports"),
         ("resident", "wish", "release", "party_member"), ("grid_leader", "wish", "release", "scope"),
         ("street_admin", "wish", "release", "all")}


def test_existing_tenants_get_the_new_policy_lines(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0025")
    tenants = [uuid.uuid4(), uuid.uuid4()]

    async def run() -> tuple[set[tuple[str, str, str, str, str]], list[int]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate(tenants):
                await conn.execute(sa.text(
                    "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                    "VALUES (:id, :slug, '旧街道', 'active', 4, '2026-01-01 00:00:00')"),
                    {"id": tid.hex, "slug": f"old{i}"})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT v1, v0, v2, v3, v4 FROM casbin_rules WHERE (v2 = 'ledger' AND v3 = 'export_full') "
                "OR (v2 = 'case' AND v3 = 'withdraw') OR (v2 = 'wish' AND v3 = 'release')"))).all()
            versions = [int(v) for (v,) in (await conn.execute(sa.text(
                "SELECT policy_version FROM tenants ORDER BY slug"))).all()]
        await engine.dispose()
        return {tuple(r) for r in rows}, versions  # type: ignore[misc]

    rows, versions = asyncio.run(run())
    assert rows == {(str(t), *line) for t in tenants for line in ADDED}
    assert all(v >= 4 + 3 for v in versions), versions  # one bump per revision at least
