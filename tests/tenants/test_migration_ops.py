"""Migrations 0026, 0030, 0031, 0033 and 0044 give tenants provisioned before them their new default policy lines
through tenants.migration_ops (one copy of that loop), and move each tenant's policy version on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade
from tests.support.harness import APP_ROLE, OWNER_ROLE, DbEnv, drop_database_later, pg_admin, pg_parts

ADDED = {("street_admin", "ledger", "export_full", "all"), ("resident", "case", "withdraw", "own_reports"),
         ("resident", "wish", "release", "party_member"), ("grid_leader", "wish", "release", "scope"),
         ("street_admin", "wish", "release", "all"),
         # 0033 (issue #23): the whole life of a record
         ("property_firm", "activity", "manage", "served"), ("owner_committee_chair", "activity", "manage", "scope"),
         ("street_admin", "activity", "manage", "all"), ("owner_committee_chair", "meeting", "manage", "scope"),
         ("street_admin", "meeting", "manage", "all"), ("property_firm", "notice", "manage", "served"),
         ("owner_committee_chair", "notice", "manage", "scope"), ("street_admin", "notice", "manage", "all"),
         ("owner_committee_chair", "topic", "manage", "scope"), ("street_admin", "topic", "manage", "all"),
         ("grid_leader", "case", "recategorise", "scope"), ("street_admin", "case", "recategorise", "all"),
         # 0044 (DESIGN.md §8): grid leaders and the compounds their grids touch
         *(("grid_leader", r, a, "grid_compound") for r, a in (
             ("area", "read"), ("case", "read"), ("case", "report"), ("case", "accept"), ("case", "dispatch"),
             ("case", "start"), ("case", "resolve"), ("case", "close"), ("notice", "read"), ("topic", "read"),
             ("topic", "propose"), ("activity", "read")))}


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
                "OR (v2 = 'case' AND v3 IN ('withdraw', 'recategorise')) OR (v2 = 'wish' AND v3 = 'release') "
                "OR (v2 IN ('activity', 'meeting', 'notice', 'topic') AND v3 = 'manage') "
                "OR v4 = 'grid_compound'"))).all()
            versions = [int(v) for (v,) in (await conn.execute(sa.text(
                "SELECT policy_version FROM tenants ORDER BY slug"))).all()]
        await engine.dispose()
        return {tuple(r) for r in rows}, versions  # type: ignore[misc]

    rows, versions = asyncio.run(run())
    assert rows == {(str(t), *line) for t in tenants for line in ADDED}
    assert all(v >= 4 + 4 for v in versions), versions  # one bump per revision at least


async def test_existing_tenants_get_the_new_policy_lines_on_postgresql(db: DbEnv) -> None:
    """The same on PostgreSQL, where casbin_rules is under forced row-level security even for its
    owner: the helper's SET LOCAL app.tenant_id is what lets each tenant's lines in."""
    if not db.is_pg:
        pytest.skip("PostgreSQL: row-level security and SET LOCAL")
    name = f"gongzhi_test_mig_{uuid.uuid4().hex[:8]}"
    await pg_admin([f"CREATE DATABASE {name} OWNER {OWNER_ROLE}"])
    hostport, _ = pg_parts()
    url = f"postgresql+asyncpg://{OWNER_ROLE}@{hostport}/{name}"
    tenants = [uuid.uuid4(), uuid.uuid4()]
    try:
        await asyncio.to_thread(upgrade, url, APP_ROLE, "0025")
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate(tenants):
                await conn.execute(sa.text(
                    "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                    "VALUES (:id, :slug, '旧街道', 'active', 4, now())"), {"id": tid, "slug": f"old{i}"})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url, APP_ROLE)
        engine = create_async_engine(url)
        rows: set[tuple[str, ...]] = set()
        async with engine.connect() as conn:
            for tid in tenants:
                async with conn.begin():
                    await conn.execute(sa.text(f"SET LOCAL app.tenant_id = '{tid}'"))
                    rows |= {tuple(str(c) for c in r) for r in (await conn.execute(sa.text(
                        "SELECT v1, v0, v2, v3, v4 FROM casbin_rules WHERE (v2 = 'ledger' AND v3 = 'export_full') "
                        "OR (v2 = 'case' AND v3 IN ('withdraw', 'recategorise')) OR (v2 = 'wish' AND v3 = 'release') "
                "OR (v2 IN ('activity', 'meeting', 'notice', 'topic') AND v3 = 'manage') "
                "OR v4 = 'grid_compound'"))).all()}
        await engine.dispose()
    finally:
        drop_database_later(name)
    assert rows == {(str(t), *line) for t in tenants for line in ADDED}


def test_0033_puts_the_adults_of_owner_occupied_households_on_the_title(tmp_path: Path) -> None:
    """Until 0033 any adult of an owner-occupied household voted; after it the electors are registered
    owners — so the migration registers exactly those adults, and nobody loses yesterday's ballot."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'owners.db'}"
    upgrade(url, revision="0032")
    tid, building = uuid.uuid4(), uuid.uuid4()
    owned, rented = uuid.uuid4(), uuid.uuid4()
    people = {"father": (owned, "1950-01-01"), "child": (owned, "2015-06-01"), "unknown": (owned, None),
              "tenant": (rented, "1980-01-01")}
    ids = {k: uuid.uuid4() for k in people}

    async def run() -> set[tuple[str, str]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                "VALUES (:id, 'own', '旧街道', 'active', 1, '2026-01-01 00:00:00')"), {"id": tid.hex})
            for hid, room, tenure in ((owned, "101", "owner"), (rented, "102", "renter")):
                await conn.execute(sa.text(
                    "INSERT INTO households (tenant_id, id, created_at, building_id, unit, room, tenure) "
                    "VALUES (:t, :id, '2026-01-01 00:00:00', :b, '1', :room, :tenure)"),
                    {"t": tid.hex, "id": hid.hex, "b": building.hex, "room": room, "tenure": tenure})
            for key, (hid, born) in people.items():
                await conn.execute(sa.text(
                    "INSERT INTO persons (tenant_id, id, created_at, household_id, name, birth_date, party_member, "
                    "in_service_party_member) VALUES (:t, :id, '2026-01-01 00:00:00', :h, :n, :b, 0, 0)"),
                    {"t": tid.hex, "id": ids[key].hex, "h": hid.hex, "n": key, "b": born})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT p.name, o.household_id FROM property_owners o JOIN persons p ON p.id = o.person_id "
                "WHERE o.tenant_id = :t AND o.ended_at IS NULL"), {"t": tid.hex})).all()
        await engine.dispose()
        return {(str(n), uuid.UUID(str(h)).hex) for n, h in rows}

    assert asyncio.run(run()) == {("father", owned.hex), ("unknown", owned.hex)}
