"""Migrations 0033 (accounts) and 0034 (organisations, area names) on a database with data of before:
accounts move into the one street office they are in, duplicate sibling area names (re-run onboarding
scripts left two 花园社区) are renamed instead of failing the unique index, and existing tenants get
the new policy lines."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade


def test_accounts_and_duplicate_area_names_of_before(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0032")
    t1, t2 = uuid.uuid4(), uuid.uuid4()
    street, c1, c2, c3 = (uuid.uuid4() for _ in range(4))
    alone, linked = uuid.uuid4(), uuid.uuid4()
    now = "2026-01-01 00:00:00"

    async def run() -> tuple[list[str], dict[str, str | None], int]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for i, tid in enumerate((t1, t2)):
                await conn.execute(sa.text(
                    "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                    "VALUES (:id, :slug, '旧街道', 'active', 1, :now)"), {"id": tid.hex, "slug": f"old{i}", "now": now})
            for aid, parent, name, at in ((street, None, "琅琊街道", "2026-01-01 00:00:00"),
                                          (c1, street, "花园社区", "2026-01-01 00:00:01"),
                                          (c2, street, "花园社区", "2026-01-01 00:00:02"),
                                          (c3, street, "花园社区", "2026-01-01 00:00:03")):
                await conn.execute(sa.text(
                    "INSERT INTO areas (tenant_id, id, created_at, parent_id, kind, name, path, depth, version) "
                    "VALUES (:t, :id, :at, :p, :k, :n, :path, 0, 1)"),
                    {"t": t1.hex, "id": aid.hex, "at": at, "p": parent.hex if parent else None,
                     "k": "street" if parent is None else "community", "n": name, "path": f"/{aid.hex}/"})
            for uid, name in ((alone, "langya.grid2"), (linked, "two.offices")):
                await conn.execute(sa.text("INSERT INTO users (id, username, display_name, created_at) "
                                           "VALUES (:id, :u, :u, :now)"), {"id": uid.hex, "u": name, "now": now})
            for tid, uid in ((t1, alone), (t1, linked), (t2, linked)):
                await conn.execute(sa.text("INSERT INTO members (tenant_id, id, created_at, user_id) "
                                           "VALUES (:t, :id, :now, :u)"),
                                   {"t": tid.hex, "id": uuid.uuid4().hex, "now": now, "u": uid.hex})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names = [n for (n,) in (await conn.execute(sa.text(
                "SELECT name FROM areas WHERE kind = 'community' ORDER BY created_at"))).all()]
            homes = {u: h for u, h in (await conn.execute(sa.text(
                "SELECT username, home_tenant_id FROM users"))).all()}
            lines = int((await conn.execute(sa.text(
                "SELECT count(*) FROM casbin_rules WHERE v2 IN ('user', 'property_firm', 'party_org', "
                "'owner_committee')"))).scalar_one())
        await engine.dispose()
        return names, homes, lines

    names, homes, lines = asyncio.run(run())
    assert names == ["花园社区", "花园社区（重名2）", "花园社区（重名3）"]
    assert homes["langya.grid2"] is not None and uuid.UUID(str(homes["langya.grid2"])) == t1
    assert homes["two.offices"] is None  # present in two tenants: an identity linked by the operator
    assert lines == 2 * 7  # 2 (accounts) + 5 (organisations) per tenant
