"""Migration 0045_handlers gives tenants provisioned before it the partner unit's policy lines on the cases
dispatched to it (issue #22; frozen copy = the living lines of policies/cases/policy.csv) and the per-user
read table of notifications; a notification read before it stays read. SQLite (the PostgreSQL path of
add_policy_lines under forced row-level security is exercised by test_stage_migration.py, whose upgrade
to head runs this revision too)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade

INSERT = ("INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
          "VALUES (:id, :slug, '旧街道', 'active', 4, '2026-01-01 00:00:00')")


def _living() -> set[tuple[str, ...]]:
    csv = (Path(__file__).resolve().parents[2] / "policies" / "cases" / "policy.csv").read_text(encoding="utf-8")
    lines = {tuple(p.strip() for p in line.split(",")[1:]) for line in csv.splitlines() if line.startswith("p,")}
    return {line for line in lines if line[0] == "partner_unit" and line[1] == "case"}


def test_existing_tenants_get_the_partner_lines(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0042_grid")  # the revision before 0045_handlers
    tenants = [uuid.uuid4(), uuid.uuid4()]

    async def run() -> tuple[set[tuple[str, ...]], list[int], list[str]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate(tenants):
                await conn.execute(sa.text(INSERT), {"id": tid.hex, "slug": f"old{i}"})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            lines = {tuple(str(c) for c in r) for r in (await conn.execute(sa.text(
                "SELECT v1, v0, v2, v3, v4 FROM casbin_rules WHERE v0 = 'partner_unit' AND v2 = 'case'"))).all()}
            versions = [int(v) for (v,) in (await conn.execute(sa.text(
                "SELECT policy_version FROM tenants ORDER BY slug"))).all()]
            columns = [str(r[1]) for r in (await conn.execute(sa.text("PRAGMA table_info(notification_reads)"))).all()]
        await engine.dispose()
        return lines, versions, columns

    lines, versions, columns = asyncio.run(run())
    living = _living()
    assert {line[2] for line in living} == {"read", "start", "resolve", "return", "request_extension"}
    assert lines == {(str(t), *line) for t in tenants for line in living}
    assert versions == [5, 5]  # each tenant's policy moves on: every process reloads it
    assert {"notification_id", "user_id", "read_at", "tenant_id"} <= set(columns)
