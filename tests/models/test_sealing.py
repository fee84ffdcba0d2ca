"""Personal data at rest: a database dump holds no plaintext ID number or phone; the API still
answers them to those who may read them; keys rotate; the migration seals existing rows."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade
from gongzhi.ops.rotate import rotate_keys
from models import Base, sealing
from resolvers.ids import encode_global_id

# The module's own `db`, `world`, `api`: the key rotation goes through every tenant
# (tests/support/databases.py; CI time, issue #21).
from tests.support.databases import module_api, module_db, module_world  # noqa: F401
from tests.support.harness import Api, DbEnv, World, pg_admin_url


async def _dump(db: DbEnv) -> str:
    """Every text value of every table, as a superuser's dump sees it: on PostgreSQL the admin role
    (row-level security does not restrict a superuser, so one pass reads every tenant's rows), on
    SQLite the file's owner."""
    admin = sa.engine.make_url(pg_admin_url(db.app_url.rsplit("/", 1)[1])).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(admin) if db.is_pg else db.owner_engine
    chunks: list[str] = []
    try:
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(sa.text(f"SELECT * FROM {table.name}"))).all()
                chunks.extend(str(v) for r in rows for v in r)
    finally:
        if engine is not db.owner_engine:
            await engine.dispose()
    return "\n".join(chunks)


async def test_a_dump_reveals_no_id_number_or_phone(db: DbEnv, api: Api, fresh: World) -> None:
    a = fresh.a
    # the API still gives them in full to a reader with the right
    body = await api.gql(a, "grid1", "query($p: ID!) { node(id: $p) { ... on Person { idCardNo phone } } }",
                         {"p": encode_global_id("Person", a.persons["h1a"])})
    assert body["data"]["node"] == {"idCardNo": a.id_cards["h1a"], "phone": a.phones["h1a"]}
    dump = await _dump(db)
    assert "v1:dev:" in dump  # the sealed values are there …
    for secret in [*a.id_cards.values(), *a.phones.values()]:
        assert secret not in dump, secret  # … and nothing in clear


@pytest.fixture
async def new_key(db: DbEnv) -> AsyncIterator[tuple[str, bytes]]:
    saved = list(sealing.KEYRING.keys)
    key = ("k2", base64.b64decode(base64.b64encode(b"n" * 32)))
    yield key
    # Rotation re-seals every tenant's rows, the session-shared world's too: seal them back with the
    # saved key while k2 can still open them, or the tests that run after this one read values no key opens.
    sealing.KEYRING.keys = [*saved, key]
    await rotate_keys(db.sessionmaker)
    sealing.KEYRING.keys = saved


async def test_keys_rotate(db: DbEnv, api: Api, fresh: World, new_key: tuple[str, bytes]) -> None:
    a = fresh.a
    old = list(sealing.KEYRING.keys)
    sealing.KEYRING.keys = [new_key, *old]
    assert await rotate_keys(db.sessionmaker) >= len(a.persons)
    assert await rotate_keys(db.sessionmaker) == 0  # nothing left under the old key
    sealing.KEYRING.keys = [new_key]  # the old key retired
    body = await api.gql(a, "admin", "query($p: ID!) { node(id: $p) { ... on Person { idCardNo phone } } }",
                         {"p": encode_global_id("Person", a.persons["h2a"])})
    assert body["data"]["node"] == {"idCardNo": a.id_cards["h2a"], "phone": a.phones["h2a"]}


def test_a_value_opens_only_with_its_key() -> None:
    ring = sealing.Keyring(keys=[("a", b"a" * 32)])
    stored = ring.seal("13800001111")
    assert stored.startswith("v1:a:") and ring.open(stored) == "13800001111"
    assert ring.seal("13800001111") != stored  # a fresh nonce every time
    with pytest.raises(sealing.SealError):
        sealing.Keyring(keys=[("b", b"b" * 32)]).open(stored)


def test_the_migration_seals_existing_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0008")
    tid, area, hh, pid = (uuid.uuid4() for _ in range(4))

    async def run() -> tuple[str, str | None]:
        engine = create_async_engine(url)
        async with engine.begin() as c:
            await c.execute(sa.text("INSERT INTO tenants VALUES (:id, 'old', '旧', 'active', 1, '2025-01-01')"),
                            {"id": tid.hex})
            await c.execute(sa.text(
                "INSERT INTO areas (tenant_id, id, created_at, parent_id, kind, name, path, depth) "
                "VALUES (:t, :id, '2025-01-01', NULL, 'building', '1栋', :p, 0)"),
                {"t": tid.hex, "id": area.hex, "p": f"/{area.hex}/"})
            await c.execute(sa.text(
                "INSERT INTO households (tenant_id, id, created_at, building_id, unit, room, tenure) "
                "VALUES (:t, :id, '2025-01-01', :b, '1', '101', 'owner')"), {"t": tid.hex, "id": hh.hex, "b": area.hex})
            await c.execute(sa.text(
                "INSERT INTO persons (tenant_id, id, created_at, household_id, name, id_card_no, phone, party_member,"
                " in_service_party_member) VALUES (:t, :id, '2025-01-01', :h, '老王', '11010519491231002X',"
                " '13800001111', 0, 0)"), {"t": tid.hex, "id": pid.hex, "h": hh.hex})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as c:
            card, index = (await c.execute(sa.text("SELECT id_card_no, id_card_index FROM persons"))).one()
        await engine.dispose()
        return str(card), index

    card, index = asyncio.run(run())
    assert card.startswith("v1:") and sealing.KEYRING.open(card) == "11010519491231002X"
    assert index == sealing.KEYRING.blind_index("11010519491231002X")
