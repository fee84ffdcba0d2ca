"""cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:06:22.636989
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import each_tenant

NEW_TENANT_TABLES = (
    "attachments",
    "calendar_overrides",
    "case_categories",
    "case_events",
    "case_reviews",
    "case_settings",
    "cases",
    "notifications",
    "sla_rules",
)
TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"

# Frozen copies of the defaults at this revision (tenants/provisioning.py has the living ones).
CATEGORIES = (
    ("drainage", "管道堵塞/污水外溢"),
    ("fly_wire", "飞线充电"),
    ("garbage", "垃圾清运"),
    ("lighting", "路灯照明"),
    ("parking", "车辆乱停"),
    ("noise", "噪音扰民"),
    ("dispute", "邻里纠纷"),
    ("facility", "公共设施损坏"),
    ("safety", "安全隐患"),
    ("greening", "绿化养护"),
    ("other", "其他"),
)
SLA = (
    (None, "urgent", 4.0, "working_hours"),
    (None, "high", 1.0, "working_days"),
    (None, "normal", 3.0, "working_days"),
    (None, "low", 5.0, "working_days"),
    ("drainage", "high", 8.0, "working_hours"),
    ("drainage", "urgent", 2.0, "working_hours"),
    ("safety", "urgent", 2.0, "working_hours"),
    ("fly_wire", "high", 4.0, "working_hours"),
)
NEW_RULES = (
    ("p", "grid_leader", "case", "review"),
    ("p", "street_admin", "case", "review"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _postgres_security() -> None:
    for table in NEW_TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    op.execute("CREATE INDEX ix_cases_tenant_area_path ON cases (tenant_id, area_path text_pattern_ops)")
    role = _app_role()
    tables = ", ".join(t for t in NEW_TENANT_TABLES if t != "case_events")
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role};
            -- The timeline is immutable: entries are appended and read, never changed.
            GRANT SELECT, INSERT ON case_events TO {role};
          END IF;
        END $$;
    """)


def _seed_existing_tenants() -> None:
    """Tenants provisioned before this revision get the default catalogue, SLA and new rules."""
    import uuid
    from datetime import UTC, datetime

    bind = op.get_bind()
    now = datetime.now(UTC)
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        t_cat = sa.table(
            "case_categories",
            sa.column("tenant_id", sa.Uuid()),
            sa.column("id", sa.Uuid()),
            sa.column("code"),
            sa.column("name"),
            sa.column("active"),
            sa.column("created_at"),
        )
        for code, name in CATEGORIES:
            bind.execute(
                t_cat.insert().values(tenant_id=tid, id=uuid.uuid4(), code=code, name=name, active=True, created_at=now)
            )
        t_sla = sa.table(
            "sla_rules",
            sa.column("tenant_id", sa.Uuid()),
            sa.column("id", sa.Uuid()),
            sa.column("category_code"),
            sa.column("priority"),
            sa.column("amount"),
            sa.column("unit"),
            sa.column("created_at"),
        )
        for cat, prio, amount, unit in SLA:
            bind.execute(
                t_sla.insert().values(
                    tenant_id=tid,
                    id=uuid.uuid4(),
                    category_code=cat,
                    priority=prio,
                    amount=amount,
                    unit=unit,
                    created_at=now,
                )
            )
        t_set = sa.table(
            "case_settings",
            sa.column("tenant_id", sa.Uuid()),
            sa.column("id", sa.Uuid()),
            sa.column("feedback_wait_days"),
            sa.column("created_at"),
        )
        bind.execute(t_set.insert().values(tenant_id=tid, id=uuid.uuid4(), feedback_wait_days=7, created_at=now))
        t_rule = sa.table(
            "casbin_rules",
            sa.column("tenant_id", sa.Uuid()),
            sa.column("id", sa.Uuid()),
            sa.column("ptype"),
            sa.column("v0"),
            sa.column("v1"),
            sa.column("v2"),
            sa.column("v3"),
            sa.column("v4"),
            sa.column("v5"),
            sa.column("created_at"),
        )
        for ptype, role, obj, act in NEW_RULES:
            cond = "all" if role == "street_admin" else "scope"
            bind.execute(
                t_rule.insert().values(
                    tenant_id=tid,
                    id=uuid.uuid4(),
                    ptype=ptype,
                    v0=role,
                    v1=str(tid),
                    v2=obj,
                    v3=act,
                    v4=cond,
                    v5="",
                    created_at=now,
                )
            )
        t_ten = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
        bind.execute(t_ten.update().where(t_ten.c.id == tid).values(policy_version=t_ten.c.policy_version + 1))


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_calendar_overrides_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_calendar_overrides")),
        sa.UniqueConstraint("tenant_id", "day", name=op.f("uq_calendar_overrides_tenant_id_day")),
    )
    op.create_table(
        "case_categories",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_case_categories_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_categories")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_case_categories_tenant_id_code")),
    )
    op.create_table(
        "case_settings",
        sa.Column("feedback_wait_days", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_case_settings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_settings")),
    )
    op.create_table(
        "sla_rules",
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column(
            "priority",
            sa.Enum("low", "normal", "high", "urgent", name="casepriority", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum("working_days", "working_hours", "calendar_hours", name="slaunit", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sla_rules_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sla_rules")),
        sa.UniqueConstraint(
            "tenant_id", "category_code", "priority", name=op.f("uq_sla_rules_tenant_id_category_code_priority")
        ),
    )
    op.create_table(
        "case_reviews",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=True),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_case_reviews_tenant_id_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_case_reviews_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_reviews")),
        sa.UniqueConstraint(
            "tenant_id",
            "area_id",
            "period_start",
            "period_end",
            name=op.f("uq_case_reviews_tenant_id_area_id_period_start_period_end"),
        ),
    )
    op.create_table(
        "cases",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("area_path", sa.String(length=400), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column(
            "priority",
            sa.Enum("low", "normal", "high", "urgent", name="casepriority", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location_text", sa.String(length=200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "reported",
                "accepted",
                "rejected",
                "dispatched",
                "in_progress",
                "resolved",
                "closed",
                "reopened",
                name="casestate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reporter_user_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_role", sa.String(length=32), nullable=False),
        sa.Column("on_wall", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column(
            "handler_kind",
            sa.Enum("property_firm", "community", "partner_unit", name="handlerkind", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("handler_firm_id", sa.Uuid(), nullable=True),
        sa.Column("handler_area_id", sa.Uuid(), nullable=True),
        sa.Column("handler_name", sa.String(length=100), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("supervised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to_area_id", sa.Uuid(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("feedback_comment", sa.String(length=500), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"], name=op.f("fk_cases_tenant_id_area_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "escalated_to_area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_cases_tenant_id_escalated_to_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "handler_area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_cases_tenant_id_handler_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "handler_firm_id"],
            ["property_firms.tenant_id", "property_firms.id"],
            name=op.f("fk_cases_tenant_id_handler_firm_id_property_firms"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_cases_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_cases")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_cases_tenant_id_number")),
        sa.UniqueConstraint(
            "tenant_id",
            "reporter_user_id",
            "idempotency_key",
            name=op.f("uq_cases_tenant_id_reporter_user_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_tenant_area", ["tenant_id", "area_id"], unique=False)
        batch_op.create_index("ix_cases_tenant_firm", ["tenant_id", "handler_firm_id"], unique=False)
        batch_op.create_index("ix_cases_tenant_state", ["tenant_id", "state"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("uploader_user_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_attachments_tenant_id_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attachments_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attachments")),
    )
    op.create_table(
        "case_events",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_case_events_tenant_id_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_case_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("tenant_id", "case_id", "seq", name=op.f("uq_case_events_tenant_id_case_id_seq")),
    )
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("firm_id", sa.Uuid(), nullable=True),
        sa.Column("area_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_notifications_tenant_id_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_notifications_tenant_id_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "firm_id"],
            ["property_firms.tenant_id", "property_firms.id"],
            name=op.f("fk_notifications_tenant_id_firm_id_property_firms"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user", ["tenant_id", "user_id"], unique=False)

    # ### end Alembic commands ###
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()
    _seed_existing_tenants()


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user")

    op.drop_table("notifications")
    op.drop_table("case_events")
    op.drop_table("attachments")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_tenant_state")
        batch_op.drop_index("ix_cases_tenant_firm")
        batch_op.drop_index("ix_cases_tenant_area")

    op.drop_table("cases")
    op.drop_table("case_reviews")
    op.drop_table("sla_rules")
    op.drop_table("case_settings")
    op.drop_table("case_categories")
    op.drop_table("calendar_overrides")
    # ### end Alembic commands ###
