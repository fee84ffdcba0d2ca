"""tenants.migration_ops.create_tenant_table (issue #27): the table without its foreign keys, then
create_distributed_table on a Citus coordinator, then row-level security and the foreign keys. On
plain PostgreSQL and SQLite the result is the table ``op.create_table`` gives (keys, RLS on PostgreSQL);
with Citus (simulated: a recording create_distributed_table) it is distributed by tenant_id, colocated
with areas, before any foreign key exists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

import tenants.migration_ops as mops
from tenants.rls import set_tenant_sql
from tests.support.harness import DbEnv


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
    calls: list[Any] = []
    monkeypatch.setattr(mops, "citus_present", lambda bind: True)
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


async def test_a_column_level_foreign_key_is_refused(db: DbEnv) -> None:
    def create(conn: sa.Connection) -> None:
        mops.create_tenant_table("tt_never", sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id")),
                                 operations=Operations(MigrationContext.configure(conn)))

    async with db.owner_engine.connect() as conn:
        with pytest.raises(ValueError, match="ForeignKeyConstraint"):
            await conn.run_sync(create)
