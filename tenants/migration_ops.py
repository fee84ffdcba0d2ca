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
