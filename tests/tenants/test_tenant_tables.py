"""tenants.migration_ops.create_tenant_table (issue #27): the table without its foreign keys, then
create_distributed_table on a Citus coordinator, then row-level security and the foreign keys. On
plain PostgreSQL and SQLite the result is the table ``op.create_table`` gives (keys, RLS on PostgreSQL);
with Citus (simulated: a recording create_distributed_table) it is distributed by tenant_id, colocated
with areas, before any foreign key exists."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

import tenants.migration_ops as mops
from tenants.rls import set_tenant_sql
from tests.support.harness import DbEnv
from tests.support.paths import ROOT


def _create(conn: sa.Connection, parent: str, child: str) -> None:
    ops = Operations(MigrationContext.configure(conn))
    mops.create_tenant_table(
        parent,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{parent}_tenant", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{parent}"),
        operations=ops)
    mops.create_tenant_table(
        child,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{child}_tenant", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "parent_id"], [f"{parent}.tenant_id", f"{parent}.id"],
                                name=f"fk_{child}_parent"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{child}"),
        operations=ops)


def _keys(conn: sa.Connection, table: str) -> set[tuple[str, tuple[str, ...], str]]:
    return {(fk["referred_table"], tuple(fk["constrained_columns"]), fk["options"].get("ondelete") or "")
            for fk in sa.inspect(conn).get_foreign_keys(table)}


async def test_a_tenant_table_gets_its_keys_and_on_postgresql_its_policy(db: DbEnv) -> None:
    parent, child = f"tt_parent_{uuid.uuid4().hex[:6]}", f"tt_child_{uuid.uuid4().hex[:6]}"
    try:
        async with db.owner_engine.begin() as conn:
            await conn.run_sync(_create, parent, child)
            keys = await conn.run_sync(_keys, child)
            assert keys == {("tenants", ("tenant_id",), "CASCADE"), (parent, ("tenant_id", "parent_id"), "")}
            assert await conn.run_sync(_keys, parent) == {("tenants", ("tenant_id",), "CASCADE")}
            if db.is_pg:
                rls = dict((await conn.execute(sa.text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE relname IN (:p, :c)"), {"p": parent, "c": child})).all())
                assert rls == {parent: True, child: True}
                policies = (await conn.execute(sa.text(
                    "SELECT count(*) FROM pg_policies WHERE tablename IN (:p, :c) AND policyname = 'tenant_isolation'"),
                    {"p": parent, "c": child})).scalar()
                assert policies == 2
            tid = uuid.uuid4()
            with pytest.raises(sa.exc.IntegrityError):  # the keys hold: no such tenant, no parent row
                async with conn.begin_nested():
                    if db.is_pg:
                        await conn.execute(sa.text(set_tenant_sql(tid)))  # RLS lets it through to the keys
                    row = sa.table(child, *(sa.column(c, sa.Uuid()) for c in ("tenant_id", "id", "parent_id")))
                    await conn.execute(row.insert().values(tenant_id=tid, id=tid, parent_id=tid))
    finally:
        async with db.owner_engine.begin() as conn:
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {child}"))
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {parent}"))


async def test_on_citus_the_table_is_distributed_before_its_foreign_keys(db: DbEnv,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL: Citus is a PostgreSQL extension")
    async with db.owner_engine.connect() as conn:
        real = await conn.run_sync(mops.citus_present)
    if real:
        # A real coordinator (scripts/citus-cluster.sh test): Citus's own create_distributed_table lives
        # in pg_catalog, which is searched before any stand-in, so it is asked of Citus's metadata instead.
        await _really_distributed_before_its_foreign_keys(db)
        return
    calls: list[Any] = []
    monkeypatch.setattr(mops, "citus_present", lambda bind: True)
    monkeypatch.setattr(mops, "distributed", lambda bind, table: table == "areas")
    parent, child = f"tt_parent_{uuid.uuid4().hex[:6]}", f"tt_child_{uuid.uuid4().hex[:6]}"
    log = f"tt_citus_calls_{uuid.uuid4().hex[:6]}"
    try:
        async with db.owner_engine.begin() as conn:
            # A stand-in for Citus's function with its signature, recording what it was given and how
            # many foreign keys and policies the table had at that moment.
            await conn.execute(sa.text(f"CREATE TABLE {log} (t text, col text, coloc text, fks int, policies int)"))
            await conn.execute(sa.text(f"""
                CREATE FUNCTION create_distributed_table(t regclass, col text, colocate_with text) RETURNS void
                LANGUAGE sql AS $$
                  INSERT INTO {log} SELECT t::text, col, colocate_with,
                    (SELECT count(*) FROM pg_constraint WHERE conrelid = t AND contype = 'f'),
                    (SELECT count(*) FROM pg_policy WHERE polrelid = t)
                $$"""))
            await conn.run_sync(_create, parent, child)
            calls = [tuple(r) for r in (await conn.execute(sa.text(f"SELECT * FROM {log}"))).all()]
            keys = await conn.run_sync(_keys, child)
    finally:
        async with db.owner_engine.begin() as conn:
            await conn.execute(sa.text("DROP FUNCTION IF EXISTS create_distributed_table(regclass, text, text)"))
            for t in (child, parent, log):
                await conn.execute(sa.text(f"DROP TABLE IF EXISTS {t}"))
    assert calls == [(parent, "tenant_id", "areas", 0, 0), (child, "tenant_id", "areas", 0, 0)]
    assert len(keys) == 2  # added after


async def _really_distributed_before_its_foreign_keys(db: DbEnv) -> None:
    """On a real Citus coordinator: both tables distributed by tenant_id in the colocation group of
    areas, with their policy and foreign keys. The order shows in that it worked at all: Citus refuses a
    foreign key from a local table to a distributed one, and distributing a table whose keys point at one
    (the child's key to the parent, a distributed table by then)."""
    parent, child = f"tt_parent_{uuid.uuid4().hex[:6]}", f"tt_child_{uuid.uuid4().hex[:6]}"
    try:
        async with db.owner_engine.begin() as conn:
            await conn.run_sync(_create, parent, child)
            rows = (await conn.execute(sa.text(
                "SELECT logicalrelid::text, partmethod::text, column_to_column_name(logicalrelid, partkey), "
                "colocationid = (SELECT colocationid FROM pg_dist_partition "
                "                WHERE logicalrelid = CAST('areas' AS regclass)) "
                "FROM pg_dist_partition WHERE logicalrelid IN (CAST(:p AS regclass), CAST(:c AS regclass)) "
                "ORDER BY 1"), {"p": parent, "c": child})).all()
            keys = await conn.run_sync(_keys, child)
            policies = (await conn.execute(sa.text(
                "SELECT count(*) FROM pg_policies WHERE tablename IN (:p, :c) AND policyname = 'tenant_isolation'"),
                {"p": parent, "c": child})).scalar()
    finally:
        async with db.owner_engine.begin() as conn:
            for t in (child, parent):
                await conn.execute(sa.text(f"DROP TABLE IF EXISTS {t}"))
    assert sorted(tuple(r) for r in rows) == sorted([(parent, "h", "tenant_id", True),
                                                      (child, "h", "tenant_id", True)])
    assert keys == {("tenants", ("tenant_id",), "CASCADE"), (parent, ("tenant_id", "parent_id"), "")}
    assert policies == 2


async def test_a_column_level_foreign_key_is_refused(db: DbEnv) -> None:
    def create(conn: sa.Connection) -> None:
        mops.create_tenant_table("tt_never", sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id")),
                                 operations=Operations(MigrationContext.configure(conn)))

    async with db.owner_engine.connect() as conn:
        with pytest.raises(ValueError, match="ForeignKeyConstraint"):
            await conn.run_sync(create)


async def test_on_citus_before_the_distribution_the_table_stays_local(db: DbEnv,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A database migrated on the coordinator before ``gongzhi citus distribute``: areas is not
    distributed yet, so the new table is not either (the command distributes it with the others)."""
    if not db.is_pg:
        pytest.skip("PostgreSQL")
    monkeypatch.setattr(mops, "citus_present", lambda bind: True)
    asked: list[str] = []

    def distributed(bind: Any, table: str) -> bool:
        asked.append(table)
        return False

    monkeypatch.setattr(mops, "distributed", distributed)
    parent, child = f"tt_parent_{uuid.uuid4().hex[:6]}", f"tt_child_{uuid.uuid4().hex[:6]}"
    try:
        async with db.owner_engine.begin() as conn:  # no create_distributed_table here: it would fail
            await conn.run_sync(_create, parent, child)
            assert len(await conn.run_sync(_keys, child)) == 2
    finally:
        async with db.owner_engine.begin() as conn:
            for t in (child, parent):
                await conn.execute(sa.text(f"DROP TABLE IF EXISTS {t}"))
    assert asked == ["areas", "areas"]


FIRST_CHECKED = 33  # migrations from 0033 on create tenant tables with the helper (issue #27)


def _calls(text: str, name: str) -> list[str]:
    """The argument texts of every ``name(…)`` call in ``text`` (parentheses matched)."""
    out = []
    for m in re.finditer(re.escape(name) + r"\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        out.append(text[m.end():i - 1])
    return out


def test_new_migrations_create_tenant_tables_with_the_helper() -> None:
    found = []
    for path in sorted((ROOT / "migrations" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")):
        if int(path.name[:4]) < FIRST_CHECKED:
            continue
        for args in _calls(path.read_text(), "op.create_table"):
            if '"tenant_id"' in args or "'tenant_id'" in args or "*columns" in args:
                found.append(f"{path.name}: op.create_table({args[:60].strip()}…)")
    assert not found, f"use tenants.migration_ops.create_tenant_table for a tenant table: {found}"
    assert _calls('op.create_table("x", sa.Column("tenant_id", f(1)))', "op.create_table") == [
        '"x", sa.Column("tenant_id", f(1))']
