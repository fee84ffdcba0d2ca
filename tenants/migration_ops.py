"""What data migrations do again and again, written once (used by migrations 0026 and later).

``add_policy_lines``: every tenant provisioned before a revision gets the default policy lines the
revision adds, and its policy version moves on (each server process reloads the policy on its next
request). The tenant is set per tenant with ``SET LOCAL app.tenant_id`` — row-level security lets
the owner's data step see only that tenant's rows, and it is the form Citus sends to its workers
(issue #27), unlike ``set_config``. A revision passes a frozen copy of its lines: the living ones in
``policies/<domain>/policy.csv`` may change later, a revision must not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenants.rls import set_tenant_sql

PolicyLine = tuple[str, str, str, str]  # role, resource, action, condition

_RULES = sa.table(
    "casbin_rules",
    *(sa.column(c) for c in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5", "created_at")),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
)
_TENANTS = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))


def each_tenant(bind: Connection) -> Iterator[uuid.UUID]:
    """Every tenant's id, with the transaction's tenant set to it while the caller works on it."""
    pg = bind.dialect.name == "postgresql"
    for (tenant_id,) in bind.execute(sa.text("SELECT id FROM tenants")).fetchall():
        tid = uuid.UUID(str(tenant_id))
        if pg:
            bind.execute(sa.text(set_tenant_sql(tid)))
        yield tid


def add_policy_lines(bind: Connection, lines: Iterable[PolicyLine]) -> None:
    lines = tuple(lines)
    now = datetime.now(UTC)
    for tid in each_tenant(bind):
        for role, resource, action, condition in lines:
            bind.execute(_RULES.insert().values(tenant_id=tid, id=uuid.uuid4(), ptype="p", v0=role, v1=str(tid),
                                                v2=resource, v3=action, v4=condition, v5="", created_at=now))
        bind.execute(_TENANTS.update().where(_TENANTS.c.id == tid)
                     .values(policy_version=_TENANTS.c.policy_version + 1))


def remove_policy_lines(bind: Connection, lines: Iterable[PolicyLine]) -> None:
    lines = tuple(lines)
    for tid in each_tenant(bind):
        for role, resource, action, condition in lines:
            bind.execute(_RULES.delete().where(_RULES.c.tenant_id == tid, _RULES.c.ptype == "p",
                                               _RULES.c.v0 == role, _RULES.c.v2 == resource,
                                               _RULES.c.v3 == action, _RULES.c.v4 == condition))
        bind.execute(_TENANTS.update().where(_TENANTS.c.id == tid)
                     .values(policy_version=_TENANTS.c.policy_version + 1))


# -- new tenant tables (issue #27): distributed by tenant_id when the database is a Citus coordinator


def citus_present(bind: Connection) -> bool:
    """True when the ``citus`` extension is installed in this database (a Citus coordinator)."""
    if bind.dialect.name != "postgresql":
        return False
    return bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first() is not None


TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def create_tenant_table(name: str, *elements: Any, colocate_with: str = "areas", rls: bool = True,
                        operations: Any = None, **kw: Any) -> None:
    """Create a tenant table the way every new migration does (docs/adding-a-module.md).

    PostgreSQL: the table without its foreign keys; on a Citus coordinator
    ``create_distributed_table(name, 'tenant_id', colocate_with => colocate_with)`` (every tenant table
    sits in the one colocation group of ``areas``, so joins on ``tenant_id`` stay on one shard); then
    row-level security (``rls``: the ``tenant_isolation`` policy of every tenant table, forced); then
    the foreign keys — Citus refuses a distributed table's foreign keys made before it is
    distributed, and a ``CREATE TABLE`` with inline keys to distributed tables fails. Without Citus the
    result is the same table as one ``op.create_table`` gives. SQLite: one ``op.create_table`` with
    the keys inline (its ALTER TABLE cannot add them later).

    Foreign keys go as ``sa.ForeignKeyConstraint`` elements (to another tenant table: on
    ``(tenant_id, …)``, as everywhere); a column's inline ``ForeignKey`` is refused.
    ``operations``: an ``alembic.operations.Operations`` (default: the running migration's ``op``).
    """
    if operations is None:
        from alembic import op as operations
    for e in elements:
        if isinstance(e, sa.Column) and e.foreign_keys:
            raise ValueError(f"{name}.{e.name}: give foreign keys as sa.ForeignKeyConstraint elements")
    if not any(isinstance(e, sa.Column) and e.name == "tenant_id" for e in elements):
        raise ValueError(f"{name}: a tenant table has a tenant_id column")
    bind = operations.get_bind()
    if bind.dialect.name != "postgresql":
        operations.create_table(name, *elements, **kw)
        return
    keys = [e for e in elements if isinstance(e, sa.ForeignKeyConstraint)]
    operations.create_table(name, *(e for e in elements if not isinstance(e, sa.ForeignKeyConstraint)), **kw)
    if citus_present(bind):
        bind.execute(sa.text("SELECT create_distributed_table(CAST(:t AS regclass), 'tenant_id', "
                             "colocate_with => :c)"), {"t": name, "c": colocate_with})
    if rls:
        operations.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        operations.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        operations.execute(f"CREATE POLICY tenant_isolation ON {name} USING ({TENANT_CHECK}) "
                           f"WITH CHECK ({TENANT_CHECK})")
    for fk in keys:
        targets = [el.target_fullname for el in fk.elements]
        referent = targets[0].rsplit(".", 1)[0]
        operations.create_foreign_key(
            fk.name, name, referent, list(fk.column_keys), [t.rsplit(".", 1)[1] for t in targets],
            ondelete=fk.ondelete, onupdate=fk.onupdate, deferrable=fk.deferrable, initially=fk.initially)
