"""volunteering and evaluations (issue #6): activities, sign-ups, the points ledger, the reward
catalogue, redemptions, evaluation items, periods and ratings.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22 06:26:35.938934
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import each_tenant

NEW_TENANT_TABLES = (
    "activities",
    "activity_signups",
    "evaluation_items",
    "evaluation_periods",
    "evaluation_ratings",
    "points_accounts",
    "points_entries",
    "redemptions",
    "reward_items",
    "volunteer_settings",
)
APPEND_ONLY = ("points_entries",)
TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"

# Frozen copies of the defaults at this revision (tenants/provisioning.py has the living ones).
POINTS_PER_HOUR = 10
EVALUATION_ITEMS = (
    ("property_firm", "cleanliness", "环境卫生", 30),
    ("property_firm", "security", "秩序安全", 25),
    ("property_firm", "repairs", "维修养护", 25),
    ("property_firm", "attitude", "服务态度", 20),
    ("owner_committee", "duties", "履职尽责", 40),
    ("owner_committee", "transparency", "公开透明", 30),
    ("owner_committee", "liaison", "沟通协调", 30),
)
NEW_RULES = (
    ("resident", "activity", "read", "own_compound"),
    ("property_firm", "activity", "read", "served"),
    ("owner_committee_chair", "activity", "read", "scope"),
    ("street_admin", "activity", "read", "all"),
    ("resident", "points", "read", "own"),
    ("resident", "points", "redeem", "own"),
    ("grid_leader", "points", "read", "scope"),
    ("grid_leader", "points", "approve_redemption", "scope"),
    ("street_admin", "points", "read", "all"),
    ("street_admin", "points", "approve_redemption", "all"),
    ("party_secretary", "points", "manage_catalogue", "scope"),
    ("street_admin", "points", "manage_catalogue", "all"),
    ("street_admin", "evaluation", "manage", "all"),
    ("resident", "evaluation", "read", "own_compound"),
    ("property_firm", "evaluation", "read", "served"),
    ("owner_committee_chair", "evaluation", "read", "scope"),
    ("street_admin", "evaluation", "read", "all"),
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
    op.execute("CREATE INDEX ix_activities_tenant_area_path ON activities (tenant_id, area_path text_pattern_ops)")
    role = _app_role()
    tables = ", ".join(t for t in NEW_TENANT_TABLES if t not in APPEND_ONLY)
    append_only = ", ".join(APPEND_ONLY)
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role};
            -- The points ledger is append-only: entries are inserted and read, never changed.
            GRANT SELECT, INSERT ON {append_only} TO {role};
          END IF;
        END $$;
    """)


def _seed_existing_tenants() -> None:
    """Tenants provisioned before this revision get the points rule, evaluation items and rules."""
    import uuid
    from datetime import UTC, datetime

    bind = op.get_bind()
    now = datetime.now(UTC)
    t_set = sa.table(
        "volunteer_settings",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("points_per_hour"),
        sa.column("created_at"),
    )
    t_item = sa.table(
        "evaluation_items",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("target"),
        sa.column("code"),
        sa.column("name"),
        sa.column("weight"),
        sa.column("active"),
        sa.column("created_at"),
    )
    t_rule = sa.table(
        "casbin_rules",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("ptype"),
        *(sa.column(f"v{i}") for i in range(6)),
        sa.column("created_at"),
    )
    t_ten = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        bind.execute(
            t_set.insert().values(tenant_id=tid, id=uuid.uuid4(), points_per_hour=POINTS_PER_HOUR, created_at=now)
        )
        for target, code, name, weight in EVALUATION_ITEMS:
            bind.execute(
                t_item.insert().values(
                    tenant_id=tid,
                    id=uuid.uuid4(),
                    target=target,
                    code=code,
                    name=name,
                    weight=weight,
                    active=True,
                    created_at=now,
                )
            )
        for role, obj, act, cond in NEW_RULES:
            bind.execute(
                t_rule.insert().values(
                    tenant_id=tid,
                    id=uuid.uuid4(),
                    ptype="p",
                    v0=role,
                    v1=str(tid),
                    v2=obj,
                    v3=act,
                    v4=cond,
                    v5="",
                    created_at=now,
                )
            )
        bind.execute(t_ten.update().where(t_ten.c.id == tid).values(policy_version=t_ten.c.policy_version + 1))


revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "evaluation_items",
        sa.Column(
            "target",
            sa.Enum("property_firm", "owner_committee", name="evaluationtarget", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weight > 0", name=op.f("ck_evaluation_items_weight_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evaluation_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_evaluation_items")),
        sa.UniqueConstraint("tenant_id", "target", "code", name=op.f("uq_evaluation_items_tenant_id_target_code")),
    )
    op.create_table(
        "evaluation_periods",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("state", sa.Enum("open", "closed", name="periodstate", native_enum=False, length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evaluation_periods_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_evaluation_periods")),
        sa.UniqueConstraint("tenant_id", "month", name=op.f("uq_evaluation_periods_tenant_id_month")),
    )
    op.create_table(
        "volunteer_settings",
        sa.Column("points_per_hour", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_volunteer_settings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_volunteer_settings")),
    )
    op.create_table(
        "evaluation_ratings",
        sa.Column("period_id", sa.Uuid(), nullable=False),
        sa.Column(
            "target",
            sa.Enum("property_firm", "owner_committee", name="evaluationtarget", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("compound_id", sa.Uuid(), nullable=False),
        sa.Column("compound_path", sa.String(length=400), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=True),
        sa.Column("rater_user_id", sa.Uuid(), nullable=False),
        sa.Column("rater_role", sa.String(length=32), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "compound_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_evaluation_ratings_tenant_id_compound_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "firm_id"],
            ["property_firms.tenant_id", "property_firms.id"],
            name=op.f("fk_evaluation_ratings_tenant_id_firm_id_property_firms"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "period_id"],
            ["evaluation_periods.tenant_id", "evaluation_periods.id"],
            name=op.f("fk_evaluation_ratings_tenant_id_period_id_evaluation_periods"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evaluation_ratings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_evaluation_ratings")),
        sa.UniqueConstraint(
            "tenant_id",
            "period_id",
            "target",
            "compound_id",
            "rater_user_id",
            name=op.f("uq_evaluation_ratings_tenant_id_period_id_target_compound_id_rater_user_id"),
        ),
    )
    with op.batch_alter_table("evaluation_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_evaluation_ratings_period", ["tenant_id", "period_id", "target"], unique=False)

    op.create_table(
        "reward_items",
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("community_path", sa.String(length=400), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_reward_items_points_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_reward_items_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "community_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_reward_items_tenant_id_community_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reward_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reward_items")),
        sa.UniqueConstraint(
            "tenant_id", "community_id", "name", name=op.f("uq_reward_items_tenant_id_community_id_name")
        ),
    )
    op.create_table(
        "activities",
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("area_path", sa.String(length=400), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("signed_up", sa.Integer(), nullable=False),
        sa.Column(
            "organiser_kind",
            sa.Enum(
                "party_org",
                "community",
                "owner_committee",
                "property_firm",
                "partner_unit",
                name="organiserkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("organiser_party_org_id", sa.Uuid(), nullable=True),
        sa.Column("organiser_area_id", sa.Uuid(), nullable=True),
        sa.Column("organiser_firm_id", sa.Uuid(), nullable=True),
        sa.Column("organiser_name", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum("published", "cancelled", name="activitystate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("published_by", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("signed_up >= 0 AND signed_up <= capacity", name=op.f("ck_activities_capacity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_activities_tenant_id_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organiser_area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_activities_tenant_id_organiser_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organiser_firm_id"],
            ["property_firms.tenant_id", "property_firms.id"],
            name=op.f("fk_activities_tenant_id_organiser_firm_id_property_firms"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organiser_party_org_id"],
            ["party_orgs.tenant_id", "party_orgs.id"],
            name=op.f("fk_activities_tenant_id_organiser_party_org_id_party_orgs"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_activities_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_tenant_starts", ["tenant_id", "starts_at"], unique=False)

    op.create_table(
        "activity_signups",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "signed_up",
                "cancelled",
                "checked_in",
                "checked_out",
                "confirmed",
                name="signupstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hours", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "activity_id"],
            ["activities.tenant_id", "activities.id"],
            name=op.f("fk_activity_signups_tenant_id_activity_id_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_activity_signups_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_activity_signups_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_activity_signups")),
        sa.UniqueConstraint(
            "tenant_id", "activity_id", "person_id", name=op.f("uq_activity_signups_tenant_id_activity_id_person_id")
        ),
    )
    with op.batch_alter_table("activity_signups", schema=None) as batch_op:
        batch_op.create_index("ix_activity_signups_person", ["tenant_id", "person_id"], unique=False)

    op.create_table(
        "points_accounts",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_points_accounts_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_points_accounts_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_points_accounts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_points_accounts")),
        sa.UniqueConstraint("tenant_id", "person_id", name=op.f("uq_points_accounts_tenant_id_person_id")),
    )
    op.create_table(
        "redemptions",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested", "approved", "rejected", "cancelled", name="redemptionstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "item_id"],
            ["reward_items.tenant_id", "reward_items.id"],
            name=op.f("fk_redemptions_tenant_id_item_id_reward_items"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_redemptions_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_redemptions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_redemptions")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index("ix_redemptions_person", ["tenant_id", "person_id"], unique=False)

    op.create_table(
        "points_entries",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("hours", "manual", "redemption", "reversal", name="entrykind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("signup_id", sa.Uuid(), nullable=True),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_points_entries_delta_not_zero")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_points_entries_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "redemption_id"],
            ["redemptions.tenant_id", "redemptions.id"],
            name=op.f("fk_points_entries_tenant_id_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reverses_id"],
            ["points_entries.tenant_id", "points_entries.id"],
            name=op.f("fk_points_entries_tenant_id_reverses_id_points_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "signup_id"],
            ["activity_signups.tenant_id", "activity_signups.id"],
            name=op.f("fk_points_entries_tenant_id_signup_id_activity_signups"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_points_entries_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("tenant_id", "redemption_id", name=op.f("uq_points_entries_tenant_id_redemption_id")),
        sa.UniqueConstraint("tenant_id", "reverses_id", name=op.f("uq_points_entries_tenant_id_reverses_id")),
        sa.UniqueConstraint("tenant_id", "signup_id", name=op.f("uq_points_entries_tenant_id_signup_id")),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_person", ["tenant_id", "person_id"], unique=False)

    # ### end Alembic commands ###
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()
    _seed_existing_tenants()


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_person")

    op.drop_table("points_entries")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_person")

    op.drop_table("redemptions")
    op.drop_table("points_accounts")
    with op.batch_alter_table("activity_signups", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_signups_person")

    op.drop_table("activity_signups")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_tenant_starts")

    op.drop_table("activities")
    op.drop_table("reward_items")
    with op.batch_alter_table("evaluation_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluation_ratings_period")

    op.drop_table("evaluation_ratings")
    op.drop_table("volunteer_settings")
    op.drop_table("evaluation_periods")
    op.drop_table("evaluation_items")
    # ### end Alembic commands ###
