"""ledgers: import jobs of household register files; policy lines for register import and ledger export

Revision ID: 0019_ledgers
Revises: 0017
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import each_tenant

revision: str = "0019_ledgers"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# Frozen copy of the policy lines this revision adds (policies/defaults.csv has the living ones).
NEW_RULES = (
    ("party_secretary", "register", "import", "scope"),
    ("street_admin", "register", "import", "all"),
    ("owner_committee_chair", "ledger", "export", "scope"),
    ("street_admin", "ledger", "export", "all"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("create_areas", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "validating", "importing", "succeeded", "rejected", "failed",
                    name="importstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("created_areas", sa.Integer(), nullable=False),
        sa.Column("created_households", sa.Integer(), nullable=False),
        sa.Column("created_persons", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("report_key", sa.String(length=200), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_import_jobs_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_import_jobs_user_id_users")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_import_jobs")),
    )
    op.create_index("ix_import_jobs_user", "import_jobs", ["tenant_id", "user_id"], unique=False)
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        op.execute("ALTER TABLE import_jobs ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON import_jobs USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON import_jobs TO {role};
              END IF;
            END $$;
        """)
    # Tenants provisioned before this revision get the new policy lines.
    now = datetime.now(UTC)
    t_rule = sa.table(
        "casbin_rules",
        *(sa.column(c) for c in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5", "created_at")),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
    )
    t_ten = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        for role_, obj, act, cond in NEW_RULES:
            bind.execute(t_rule.insert().values(tenant_id=tid, id=uuid.uuid4(), ptype="p", v0=role_, v1=str(tid),
                                                v2=obj, v3=act, v4=cond, v5="", created_at=now))
        bind.execute(t_ten.update().where(t_ten.c.id == tid).values(policy_version=t_ten.c.policy_version + 1))


def downgrade() -> None:
    op.drop_index("ix_import_jobs_user", table_name="import_jobs")
    op.drop_table("import_jobs")
