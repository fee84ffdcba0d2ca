"""real handlers and per-user read state of notifications (issue #22)

- ``cases.handler_partner_id``: a case dispatched to a partner unit names its record (until now a
  free-text name, which old cases keep); ``HandlerKind`` gains ``grid`` (``handler_area_id`` names it) —
  a plain string column, nothing to migrate for it.
- ``notifications.partner_unit_id``: a notification addressed to a partner unit's systems.
- ``notification_reads``: one row per user who marked a notification read. A notification marked
  read before this revision (``notifications.read_at``) stays read for everyone it reaches — that was
  its state for all of them — so no data moves.
- The partner unit's policy lines on cases dispatched to it (condition ``assigned``: read, start,
  resolve, return, request_extension), for every tenant provisioned before (frozen copy below).

Revision ID: 0042_handlers
Revises: 0034_organisations
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, remove_policy_lines

revision: str = "0042_handlers"
down_revision: str | None = "0042_grid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy (policies/cases/policy.csv has the living lines).
NEW_RULES = (
    ("partner_unit", "case", "read", "assigned"),
    ("partner_unit", "case", "start", "assigned"),
    ("partner_unit", "case", "resolve", "assigned"),
    ("partner_unit", "case", "return", "assigned"),
    ("partner_unit", "case", "request_extension", "assigned"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("handler_partner_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_cases_tenant_id_partner_units", "partner_units",
                                    ["tenant_id", "handler_partner_id"], ["tenant_id", "id"])
    op.create_index("ix_cases_tenant_partner", "cases", ["tenant_id", "handler_partner_id"])
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("partner_unit_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_notifications_tenant_id_partner_units", "partner_units",
                                    ["tenant_id", "partner_unit_id"], ["tenant_id", "id"])
    create_tenant_table(
        "notification_reads",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_notification_reads_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "notification_id"], ["notifications.tenant_id", "notifications.id"],
                                name=op.f("fk_notification_reads_tenant_id_notifications"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notification_reads")),
        sa.UniqueConstraint("tenant_id", "notification_id", "user_id",
                            name=op.f("uq_notification_reads_tenant_id_notification_id_user_id")),
    )
    op.create_index("ix_notification_reads_user", "notification_reads", ["tenant_id", "user_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON notification_reads TO {role};
              END IF;
            END $$;
        """)
    add_policy_lines(bind, NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    op.drop_index("ix_notification_reads_user", table_name="notification_reads")
    op.drop_table("notification_reads")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint("fk_notifications_tenant_id_partner_units", type_="foreignkey")
        batch_op.drop_column("partner_unit_id")
    op.drop_index("ix_cases_tenant_partner", table_name="cases")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("fk_cases_tenant_id_partner_units", type_="foreignkey")
        batch_op.drop_column("handler_partner_id")
