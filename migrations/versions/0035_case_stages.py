"""case stages: time limits per stage, the stages a case passes, new steps, honest closure (issue #22)

- ``case_stage_limits``: limits of 受理 (accept), 派遣 (dispatch) and 回访 (callback) per category and
  urgency tier; the 处置 stage keeps using ``sla_rules``;
- ``case_stages``: one row per passage of a case through a stage, with its due time;
- ``case_workflow_settings``: 督办 on overdue, the shortest believable handling time;
- ``case_category_rules``: categories whose resolution needs a photo;
- ``cases``: ``closure_flagged``, ``return_count``, ``callback_result``, ``callback_at``;
- the policy lines of the new steps (return, request/decide extension, transfer, rework, callback), and
  the default limits and settings, for every tenant provisioned before (frozen copies below).

Revision ID: 0033_case_stages
Revises: 0033_citus_tenant_setting
Create Date: 2026-12-05
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, each_tenant, remove_policy_lines

revision: str = "0033_case_stages"
down_revision: str | None = "0033_citus_tenant_setting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TABLES = ("case_stage_limits", "case_stages", "case_workflow_settings", "case_category_rules")

# Frozen copies (policies/cases/policy.csv and tenants/provisioning.py have the living ones).
NEW_RULES = (
    ("property_firm", "case", "return", "assigned"),
    ("grid_leader", "case", "return", "scope"),
    ("street_admin", "case", "return", "all"),
    ("property_firm", "case", "request_extension", "assigned"),
    ("grid_leader", "case", "request_extension", "scope"),
    ("street_admin", "case", "request_extension", "all"),
    ("grid_leader", "case", "decide_extension", "scope"),
    ("street_admin", "case", "decide_extension", "all"),
    ("grid_leader", "case", "transfer", "scope"),
    ("street_admin", "case", "transfer", "all"),
    ("grid_leader", "case", "rework", "scope"),
    ("street_admin", "case", "rework", "all"),
    ("grid_leader", "case", "callback", "scope"),
    ("street_admin", "case", "callback", "all"),
)
LIMITS = (
    ("accept", "urgent", 1.0, "working_hours"),
    ("accept", "expedited", 2.0, "working_hours"),
    ("accept", "ordinary", 4.0, "working_hours"),
    ("dispatch", "urgent", 1.0, "working_hours"),
    ("dispatch", "expedited", 2.0, "working_hours"),
    ("dispatch", "ordinary", 4.0, "working_hours"),
    ("callback", "urgent", 1.0, "calendar_days"),
    ("callback", "expedited", 1.0, "working_days"),
    ("callback", "ordinary", 1.0, "working_days"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _tenant_table(name: str, *columns: sa.Column, unique: Sequence[str]) -> None:  # type: ignore[type-arg]
    create_tenant_table(  # issue #27: distributed before its foreign keys on Citus; RLS below, as before
        name,
        *columns,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{'_'.join(unique)}")),
        rls=False,
    )


STAGE = ("accept", "dispatch", "handle", "callback")
TIER = ("urgent", "expedited", "ordinary")
UNIT = ("working_days", "working_hours", "calendar_hours", "calendar_days")


def upgrade() -> None:
    _tenant_table("case_stage_limits",
                  sa.Column("stage", _enum("casestagekind", *STAGE), nullable=False),
                  sa.Column("tier", _enum("urgencytier", *TIER), nullable=False),
                  sa.Column("category_code", sa.String(length=32), nullable=True),
                  sa.Column("amount", sa.Float(), nullable=False),
                  sa.Column("unit", _enum("slaunit", *UNIT), nullable=False),
                  unique=("tenant_id", "stage", "tier", "category_code"))
    _tenant_table("case_workflow_settings",
                  sa.Column("auto_supervise_overdue", sa.Boolean(), nullable=False),
                  sa.Column("min_handling_minutes", sa.Integer(), nullable=False),
                  unique=("tenant_id",))
    _tenant_table("case_category_rules",
                  sa.Column("category_code", sa.String(length=32), nullable=False),
                  sa.Column("requires_photo", sa.Boolean(), nullable=False),
                  unique=("tenant_id", "category_code"))
    _tenant_table("case_stages",
                  sa.Column("case_id", sa.Uuid(), nullable=False),
                  sa.Column("seq", sa.Integer(), nullable=False),
                  sa.Column("stage", _enum("casestagekind", *STAGE), nullable=False),
                  sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
                  sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
                  sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
                  sa.Column("outcome", sa.String(length=32), nullable=True),
                  sa.Column("requested_due_at", sa.DateTime(timezone=True), nullable=True),
                  sa.Column("extensions", sa.Integer(), nullable=False),
                  sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
                  sa.ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"],
                                          name=op.f("fk_case_stages_tenant_id_cases")),
                  unique=("tenant_id", "case_id", "seq"))
    op.create_index("ix_case_stages_open_due", "case_stages", ["tenant_id", "due_at"],
                    postgresql_where=sa.text("completed_at IS NULL"), sqlite_where=sa.text("completed_at IS NULL"))
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("closure_flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("return_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("callback_result", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {role};
              END IF;
            END $$;
        """)
    add_policy_lines(bind, NEW_RULES)
    limits = sa.table("case_stage_limits", *(sa.column(c) for c in (
        "stage", "tier", "category_code", "amount", "unit", "created_at")), sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()))
    settings = sa.table("case_workflow_settings", sa.column("auto_supervise_overdue"),
                        sa.column("min_handling_minutes"), sa.column("created_at"),
                        sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()))
    now = datetime.now(UTC)
    for tid in each_tenant(bind):
        for stage, tier, amount, unit in LIMITS:
            bind.execute(limits.insert().values(tenant_id=tid, id=uuid.uuid4(), stage=stage, tier=tier,
                                                category_code=None, amount=amount, unit=unit, created_at=now))
        bind.execute(settings.insert().values(tenant_id=tid, id=uuid.uuid4(), auto_supervise_overdue=True,
                                              min_handling_minutes=30, created_at=now))


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("callback_at")
        batch_op.drop_column("callback_result")
        batch_op.drop_column("return_count")
        batch_op.drop_column("closure_flagged")
    op.drop_index("ix_case_stages_open_due", table_name="case_stages")
    for table in reversed(TABLES):
        op.drop_table(table)
