"""case configuration: the street admin's case · configure policy line for existing tenants

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import each_tenant

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    rules = sa.table("casbin_rules", sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                     sa.column("ptype"), sa.column("v0"), sa.column("v1"), sa.column("v2"), sa.column("v3"),
                     sa.column("v4"), sa.column("v5"), sa.column("created_at", sa.DateTime(timezone=True)))
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
    for tenant_id in each_tenant(bind):  # RLS: act as the tenant (SET LOCAL, issue #27)
        bind.execute(rules.insert().values(
            tenant_id=tenant_id, id=uuid.uuid4(), ptype="p", v0="street_admin", v1=str(tenant_id), v2="case",
            v3="configure", v4="all", v5="", created_at=datetime.now(UTC)))
        bind.execute(tenants.update().where(tenants.c.id == tenant_id)
                     .values(policy_version=tenants.c.policy_version + 1))


def downgrade() -> None:
    rules = sa.table("casbin_rules", sa.column("v2"), sa.column("v3"))
    op.get_bind().execute(rules.delete().where(rules.c.v2 == "case", rules.c.v3 == "configure"))
