"""platform audit log: what platform administrators did to tenants (issue #10)

Revision ID: 0018_ops
Revises: 0017
Create Date: 2026-11-22
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0018_ops"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_audit",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("tenant_slug", sa.String(63), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("client_addr", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_platform_audit_created", "platform_audit", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        # A platform table (no tenant_id, no RLS). Append-only for the app role.
        role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT ON platform_audit TO {role};
              END IF;
            END $$;
        """)


def downgrade() -> None:
    op.drop_index("ix_platform_audit_created", table_name="platform_audit")
    op.drop_table("platform_audit")
