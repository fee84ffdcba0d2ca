"""The ids of full reads of personal data (``audit_pii_reads``, migration 0049; issue #21): every audit row
of a full read gets one row per id it names, written with it — the request's one audit statement on
PostgreSQL, the ORM's flush on SQLite — and the report's full reads, looked up through them, are exactly
the rows the filter on the audit row alone finds (the action and the id in the ids' JSON text), for every
person. The migration fills the table for the full reads written before it."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import String, cast, literal_column, select
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import alembic_config, upgrade
from models import AuditEntry, AuditPiiRead
from models.access import pii_read_ids
from resolvers.ids import encode_global_id
from resolvers.register import full_read_filters
from tenants.rls import on_citus
from tenants.session import bind_tenant, count_statements
from tests.support.harness import Api, DbEnv, World

PERSONS = "{ persons(first: 100) { totalCount nodes { id phone } } }"
PERSON = "query ($id: ID!) { node(id: $id) { ... on Person { id phone } } }"
REPORT = "query ($p: ID!) { personalDataReport(personId: $p) { fullReads { at userName requestId } } }"


async def test_each_full_read_writes_its_ids_and_the_report_finds_the_same_reads(
        api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await api.gql(a, "admin", PERSONS)  # a full read of everyone
    await api.gql(a, "admin", PERSON, {"id": encode_global_id("Person", a.persons["h1b"])})  # of one
    await api.gql(a, "grid1", PERSONS)  # of the grid's own
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            audit = (await s.execute(select(AuditEntry.id, AuditEntry.created_at, AuditEntry.object_ids)
                                     .where(AuditEntry.action == "person.read_pii"))).all()
            rows = (await s.execute(select(AuditPiiRead.id, AuditPiiRead.created_at,
                                           AuditPiiRead.object_id))).all()
            assert len(audit) >= 3
            assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
                (e[0], e[1], i) for e in audit for i in set(e[2]))
            old = [AuditEntry.action == literal_column("'person.read_pii'"),
                   cast(AuditEntry.object_ids, String).contains(sa.bindparam("needle"))]
            found = 0
            for person in [*a.persons.values(), uuid.uuid4()]:
                needle = f'"{person}"'
                new = set((await s.scalars(select(AuditEntry.id).where(
                    *full_read_filters(needle, str(person), a.tenant_id)))).all())
                assert new == set((await s.scalars(select(AuditEntry.id).where(*old), {"needle": needle})).all())
                found += len(new)
            assert found >= len(a.persons)
    body = await api.gql(a, "admin", REPORT, {"p": encode_global_id("Person", a.persons["h1b"])})
    assert len(body["data"]["personalDataReport"]["fullReads"]) == sum(
        str(a.persons["h1b"]) in e[2] for e in audit)


_INSERT_TENANT = ("INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                  "VALUES (:id, 'old', '旧街道', 'active', 1, '2026-01-01 00:00:00')")
_INSERT_AUDIT = ("INSERT INTO audit_log (tenant_id, id, created_at, user_id, roles, action, object_type, object_ids, "
                 "detail) VALUES (:t, :id, '2026-02-01 00:00:00', NULL, '', :action, 'person', :ids, '{}')")


def test_the_migration_fills_the_ids_of_earlier_full_reads(tmp_path: Path) -> None:
    """SQLite (PostgreSQL's statement per tenant ran on the portal mix's database: 176,698 rows, each an
    id of its full read, bench/RESULTS.md h-pdr); down again drops the table."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0048_actor_compound")
    tenant, p1, p2 = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    reads = {uuid.uuid4(): [p1, p2, p1], uuid.uuid4(): [p2]}  # a repeated id is one row

    async def run() -> list[tuple[str, str]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(_INSERT_TENANT), {"id": tenant.hex})
            for audit_id, ids in reads.items():
                await conn.execute(sa.text(_INSERT_AUDIT), {"t": tenant.hex, "id": audit_id.hex,
                                                            "action": "person.read_pii", "ids": json.dumps(ids)})
            await conn.execute(sa.text(_INSERT_AUDIT), {"t": tenant.hex, "id": uuid.uuid4().hex,
                                                        "action": "updatePerson", "ids": json.dumps([p1])})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            got = [(str(r[0]), str(r[1])) for r in (await conn.execute(sa.text(
                "SELECT id, object_id FROM audit_pii_reads WHERE tenant_id = :t"), {"t": tenant.hex})).all()]
        await engine.dispose()
        return got

    got = asyncio.run(run())
    assert sorted(got) == sorted((a.hex, i) for a, ids in reads.items() for i in set(ids))

    command.downgrade(alembic_config(url), "0048_actor_compound")
    conn = sqlite3.connect(tmp_path / "old.db")
    try:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'audit_pii_reads'").fetchone() == (0,)
    finally:
        conn.close()


def test_the_ids_of_a_row_are_its_strings_once_and_none_longer_than_the_column() -> None:
    """What the request's audit statement writes (a longer string cannot be a person's id, and must not fail it)."""
    assert pii_read_ids(["b", "a" * 65, "b", 3, None, "c"]) == ["b", "c"]
    assert pii_read_ids({"not": "a list"}) == []


async def test_a_full_reads_ids_are_written_without_a_check_per_row(api: Api, db: DbEnv, fresh: World) -> None:
    """Migration 0051: a page's 20–40 ids are written without a foreign-key check each (their audit row's key
    is checked once) and the audit log keeps no index of full reads by time (0047's: the report reads them
    through audit_pii_reads) — both were PostgreSQL time on every register page; the ids are still all written
    (the test above)."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalogue")
    a = fresh.a
    await api.gql(a, "grid1", PERSONS)
    async with db.owner_engine.connect() as conn:
        keys = (await conn.scalars(sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'audit_pii_reads'::regclass AND contype = 'f'"))).all()
        # (Citus's own statement trigger on a distributed table, forwarding TRUNCATE to the shards, is no check)
        checks = (await conn.scalars(sa.text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_pii_reads'::regclass"
            " AND tgfoid::regproc::text <> 'citus_truncate_trigger'"))).all()
        index = await conn.scalar(sa.text("SELECT to_regclass('ix_audit_log_pii_reads')"))
    assert (keys, checks, index) == ([], [], None)


async def test_a_full_reads_ids_are_one_parameter_whatever_their_count(api: Api, db: DbEnv, fresh: World) -> None:
    """On PostgreSQL without Citus the full read's ids go as one ``text[]`` parameter (``INSERT … SELECT … FROM
    unnest``): pages naming 1, 3 and every person send ONE audit statement text — one prepared statement and one
    cached plan per connection, not one per count of ids (issue #21; the base sent three texts, 56 parameters for
    a 42-person page). On Citus, which runs such an INSERT … SELECT as a COPY refused under row-level security
    (issue #27), the ids stay rows of VALUES: a text per count. Every id is written either way."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's audit statement")
    a = fresh.a
    with count_statements() as statements:
        for first in (1, 3, 100):
            await api.gql(a, "admin", f"{{ persons(first: {first}) {{ nodes {{ id phone }} }} }}")
    texts = [s for s in statements if "INSERT INTO audit_pii_reads" in s]
    async with db.owner_engine.connect() as conn:
        citus = await conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"))
    assert on_citus(db.engine) is citus  # asked by the engine's first connection
    assert len(texts) == 3 and len(set(texts)) == (3 if citus else 1), texts
    if not citus:
        assert "FROM unnest(" in texts[0] and "VALUES ($1::uuid, $2" not in texts[0].split("audit_pii_reads")[1]
        assert max(int(n) for n in re.findall(r"\$(\d+)", texts[0])) == 15  # 12 + channel, payloads, the ids
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            audit = (await s.execute(select(AuditEntry.id, AuditEntry.object_ids).where(
                AuditEntry.action == "person.read_pii").order_by(AuditEntry.id.desc()).limit(3))).all()
            rows = (await s.execute(select(AuditPiiRead.id, AuditPiiRead.object_id).where(
                AuditPiiRead.id.in_([e[0] for e in audit])))).all()
    assert len({len(e[1]) for e in audit}) == 3  # three counts of ids
    assert sorted(rows) == sorted((e[0], i) for e in audit for i in set(e[1]))


async def test_the_ids_have_one_index_not_unique_led_by_the_tenant(api: Api, db: DbEnv, fresh: World) -> None:
    """Migration 0064: no primary key, one non-unique index (tenant_id, object_id) — a person every register page
    reads is one entry of it with a list of rows (B-tree deduplication), where the unique key (tenant_id, object_id,
    id) was an entry per read — and a page's ids still land once each (the test above), found by that index (the
    report's plan test, tests/register/test_personal_data_shape.py)."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's catalogue (SQLite's: the migration test below)")
    await api.gql(fresh.a, "grid1", PERSONS)
    async with db.owner_engine.connect() as conn:
        keys = (await conn.scalars(sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'audit_pii_reads'::regclass AND contype IN ('p', 'u')"
        ))).all()
        indexes = (await conn.execute(sa.text(
            "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'audit_pii_reads'::regclass"))).all()
    assert keys == []
    assert [(name, unique) for name, unique, _ in indexes] == [("ix_audit_pii_reads_tenant_object", False)]
    assert indexes[0][2].endswith("USING btree (tenant_id, object_id)"), indexes


def test_migration_0064_keeps_the_ids_both_ways(tmp_path: Path) -> None:
    """SQLite's table is rebuilt without its key (and with it again, down): the rows stay, the index is there."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ids.db'}"
    upgrade(url, revision="0061_open_wall_index")
    tenant, audit_id = uuid.uuid4(), uuid.uuid4()
    path = tmp_path / "ids.db"

    def rows_and_indexes() -> tuple[list[tuple[str, str]], list[str], str]:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT id, object_id FROM audit_pii_reads").fetchall()
            names = [r[1] for r in conn.execute("PRAGMA index_list('audit_pii_reads')").fetchall()]
            ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_pii_reads'").fetchone()[0]
        finally:
            conn.close()
        return rows, names, ddl

    conn = sqlite3.connect(path)
    try:
        conn.execute(_INSERT_TENANT.replace(":id", f"'{tenant.hex}'"))
        for person in ("p1", "p2"):
            conn.execute("INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id) VALUES (?, ?, ?, ?)",
                         (tenant.hex, audit_id.hex, "2026-02-01 00:00:00", person))
        conn.commit()
    finally:
        conn.close()
    before, _, ddl = rows_and_indexes()
    assert "PRIMARY KEY" in ddl
    upgrade(url)
    after, names, ddl = rows_and_indexes()
    assert sorted(after) == sorted(before) and len(after) == 2
    assert names == ["ix_audit_pii_reads_tenant_object"] and "PRIMARY KEY" not in ddl, (names, ddl)
    command.downgrade(alembic_config(url), "0061_open_wall_index")
    down, names, ddl = rows_and_indexes()
    assert sorted(down) == sorted(before) and "PRIMARY KEY" in ddl and "ix_audit_pii_reads_tenant_object" not in names
