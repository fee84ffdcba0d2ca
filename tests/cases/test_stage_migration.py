"""Migration 0033_case_stages gives tenants provisioned before it the policy lines of the new steps, the
default stage limits and workflow settings (frozen copies), on SQLite and on PostgreSQL under forced
row-level security (tenants.migration_ops sets the tenant per tenant)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gongzhi.migrate import upgrade
from tenants.provisioning import DEFAULT_STAGE_LIMITS
from tests.support.harness import APP_ROLE, OWNER_ROLE, DbEnv, drop_database_later, pg_admin, pg_parts

STEPS = ("return", "request_extension", "decide_extension", "transfer", "rework", "callback")
INSERT = ("INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
          "VALUES (:id, :slug, '旧街道', 'active', 4, '2026-01-01 00:00:00')")


async def _read(conn: AsyncConnection) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]], set[str]]:
    """(tenant, role, resource, action, condition) lines of the steps; (tenant, stage, tier, amount, unit) default
    limits; the tenants with the default settings — as far as the connection sees."""
    steps = ", ".join(f"'{s}'" for s in STEPS)
    lines = {tuple(str(c) for c in r) for r in (await conn.execute(sa.text(
        f"SELECT v1, v0, v2, v3, v4 FROM casbin_rules WHERE v2 = 'case' AND v3 IN ({steps})"))).all()}
    limits = {(_tid(t), str(s), str(k), str(float(a)), str(u)) for t, s, k, a, u in (await conn.execute(sa.text(
        "SELECT tenant_id, stage, tier, amount, unit FROM case_stage_limits WHERE category_code IS NULL"))).all()}
    settings = {_tid(t) for (t,) in (await conn.execute(sa.text(
        "SELECT tenant_id FROM case_workflow_settings WHERE auto_supervise_overdue AND min_handling_minutes = 30"
    ))).all()}
    return lines, limits, settings


def _tid(value: object) -> str:
    return str(uuid.UUID(str(value)))


def _want(tenants: list[uuid.UUID]) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]], set[str]]:
    lines, limits = _expected()
    return ({(str(t), *line) for t in tenants for line in lines},
            {(str(t), s, k, str(a), u) for t in tenants for s, k, a, u in limits}, {str(t) for t in tenants})


def _expected() -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    csv = (Path(__file__).resolve().parents[2] / "policies" / "cases" / "policy.csv").read_text(encoding="utf-8")
    lines = {tuple(p.strip() for p in line.split(",")[1:]) for line in csv.splitlines() if line.startswith("p,")}
    return ({line for line in lines if line[1] == "case" and line[2] in STEPS},
            {(s.value, t.value, float(a), u.value) for s, t, a, u in DEFAULT_STAGE_LIMITS})


def test_existing_tenants_get_the_steps_and_limits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0032")
    tenants = [uuid.uuid4(), uuid.uuid4()]

    async def run() -> tuple[set[tuple[str, ...]], set[tuple[str, ...]], set[str]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate(tenants):
                await conn.execute(sa.text(INSERT), {"id": tid.hex, "slug": f"old{i}"})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            got = await _read(conn)
        await engine.dispose()
        return got

    got = asyncio.run(run())
    # 14 lines of migration 0033, and the partner unit's return and request_extension of 0045 (issue #22)
    assert len(_expected()[0]) == 16 and got == _want(tenants)


async def test_existing_tenants_get_the_steps_and_limits_on_postgresql(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL: row-level security and SET LOCAL")
    name = f"gongzhi_test_stg_{uuid.uuid4().hex[:8]}"
    await pg_admin([f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"])
    hostport, _ = pg_parts()
    url = f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{name}"
    tenants = [uuid.uuid4(), uuid.uuid4()]
    got = []
    try:
        await asyncio.to_thread(upgrade, url, APP_ROLE, "0032")
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate(tenants):
                await conn.execute(sa.text(INSERT.replace("'2026-01-01 00:00:00'", "now()")),
                                   {"id": tid, "slug": f"old{i}"})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url, APP_ROLE)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            for tid in tenants:
                async with conn.begin():
                    await conn.execute(sa.text(f"SET LOCAL app.tenant_id = '{tid}'"))
                    got.append(await _read(conn))
        await engine.dispose()
    finally:
        drop_database_later(name)
    for tid, seen in zip(tenants, got, strict=True):  # each tenant sees its own rows only
        assert seen == _want([tid])
