"""wish release: a claim on a wish is given back by its claimant, or staff in scope (issue #23)

``wish · release``: residents who are party members (their own claims), grid leaders in scope, the
street admin. Tenants provisioned before this revision get the policy line. The
tenant is set with ``SET LOCAL`` (which Citus propagates, issue #27).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy lines this revision adds (policies/care/policy.csv has the living ones).
NEW_RULES = (("resident", "wish", "release", "party_member"), ("grid_leader", "wish", "release", "scope"),
             ("street_admin", "wish", "release", "all"))


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    now = datetime.now(UTC)
    t_rule = sa.table(
        "casbin_rules",
        *(sa.column(c) for c in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5", "created_at")),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
    )
    t_ten = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
    for (tenant_id,) in bind.execute(sa.text("SELECT id FROM tenants")).fetchall():
        tid = uuid.UUID(str(tenant_id))
        if pg:  # a UUID's text: safe as a literal
            bind.execute(sa.text(f"SET LOCAL app.tenant_id = '{tid}'"))
        for role_, obj, act, cond in NEW_RULES:
            bind.execute(t_rule.insert().values(tenant_id=tid, id=uuid.uuid4(), ptype="p", v0=role_, v1=str(tid),
                                                v2=obj, v3=act, v4=cond, v5="", created_at=now))
        bind.execute(t_ten.update().where(t_ten.c.id == tid).values(policy_version=t_ten.c.policy_version + 1))


def downgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    t_rule = sa.table("casbin_rules", sa.column("tenant_id", sa.Uuid()), sa.column("v2"), sa.column("v3"))
    for (tenant_id,) in bind.execute(sa.text("SELECT id FROM tenants")).fetchall():
        tid = uuid.UUID(str(tenant_id))
        if pg:
            bind.execute(sa.text(f"SET LOCAL app.tenant_id = '{tid}'"))
        bind.execute(t_rule.delete().where(t_rule.c.tenant_id == tid, t_rule.c.v2 == "wish",
                                           t_rule.c.v3 == "release"))
