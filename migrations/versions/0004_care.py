"""care

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 06:26:38.741491
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import each_tenant

NEW_TENANT_TABLES = (
    "care_service_records",
    "care_services",
    "care_settings",
    "lead_households",
    "neighbor_leads",
    "visits",
    "wishes",
)
TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"

# Frozen copy of the care policy lines at this revision (policies/defaults.csv has the living ones).
NEW_RULES = (
    ("neighbor_lead", "visit", "read", "assigned"),
    ("grid_leader", "visit", "read", "scope"),
    ("street_admin", "visit", "read", "all"),
    ("grid_leader", "visit", "appoint_lead", "scope"),
    ("street_admin", "visit", "appoint_lead", "all"),
    ("street_admin", "care_tag", "manage", "all"),
    ("grid_leader", "care_service", "read", "scope"),
    ("street_admin", "care_service", "read", "all"),
    ("party_secretary", "care_service", "manage", "scope"),
    ("street_admin", "care_service", "manage", "all"),
    ("grid_leader", "care_service", "record", "scope"),
    ("street_admin", "care_service", "record", "all"),
    ("resident", "wish", "read", "own"),
    ("resident", "wish", "read", "party_member"),
    ("grid_leader", "wish", "read", "scope"),
    ("street_admin", "wish", "read", "all"),
    ("resident", "wish", "claim", "party_member"),
    ("resident", "wish", "fulfil", "party_member"),
    ("grid_leader", "wish", "fulfil", "scope"),
    ("street_admin", "wish", "fulfil", "all"),
    ("resident", "wish", "confirm", "own"),
    ("grid_leader", "wish", "cancel", "scope"),
    ("street_admin", "wish", "cancel", "all"),
    ("street_admin", "care", "configure", "all"),
    ("neighbor_lead", "household", "read", "assigned"),
    ("neighbor_lead", "person", "read", "assigned"),
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
    role = _app_role()
    tables = ", ".join(t for t in NEW_TENANT_TABLES if t not in ("visits", "care_service_records"))
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role};
            -- Visits and service records are a ledger (台账): appended and read, never changed.
            GRANT SELECT, INSERT ON visits, care_service_records TO {role};
          END IF;
        END $$;
    """)


def _seed_existing_tenants() -> None:
    """Tenants provisioned before this revision get the care settings and the new policy lines."""
    import uuid
    from datetime import UTC, datetime

    bind = op.get_bind()
    now = datetime.now(UTC)
    t_set = sa.table(
        "care_settings",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("lead_min_households"),
        sa.column("lead_max_households"),
        sa.column("key_visit_days"),
        sa.column("routine_visit_days"),
        sa.column("created_at"),
    )
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
    t_ten = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_version"))
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        bind.execute(
            t_set.insert().values(
                tenant_id=tid,
                id=uuid.uuid4(),
                lead_min_households=5,
                lead_max_households=15,
                key_visit_days=7,
                routine_visit_days=90,
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


revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "care_settings",
        sa.Column("lead_min_households", sa.Integer(), nullable=False),
        sa.Column("lead_max_households", sa.Integer(), nullable=False),
        sa.Column("key_visit_days", sa.Integer(), nullable=False),
        sa.Column("routine_visit_days", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_care_settings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_care_settings")),
    )
    op.create_table(
        "care_services",
        sa.Column("tag_code", sa.String(length=32), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("area_path", sa.String(length=400), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("frequency", sa.String(length=50), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_care_services_tenant_id_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_care_services_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_care_services")),
    )
    with op.batch_alter_table("care_services", schema=None) as batch_op:
        batch_op.create_index("ix_care_services_tag", ["tenant_id", "tag_code"], unique=False)

    op.create_table(
        "visits",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("building_id", sa.Uuid(), nullable=False),
        sa.Column("visitor_user_id", sa.Uuid(), nullable=False),
        sa.Column("visitor_role", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("routine", "key_household", "care", "follow_up", name="visitkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"], name=op.f("fk_visits_tenant_id_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "household_id"],
            ["households.tenant_id", "households.id"],
            name=op.f("fk_visits_tenant_id_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_visits_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["visitor_user_id"], ["users.id"], name=op.f("fk_visits_visitor_user_id_users")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_visits")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_household_at", ["tenant_id", "household_id", "visited_at"], unique=False)
        batch_op.create_index("ix_visits_visited_at", ["tenant_id", "visited_at"], unique=False)

    op.create_table(
        "care_service_records",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("provided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provided_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("recorder_user_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorder_user_id"], ["users.id"], name=op.f("fk_care_service_records_recorder_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_care_service_records_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "service_id"],
            ["care_services.tenant_id", "care_services.id"],
            name=op.f("fk_care_service_records_tenant_id_service_id_care_services"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_care_service_records_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_care_service_records")),
    )
    with op.batch_alter_table("care_service_records", schema=None) as batch_op:
        batch_op.create_index("ix_care_service_records_person", ["tenant_id", "person_id"], unique=False)

    op.create_table(
        "neighbor_leads",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column(
            "title",
            sa.Enum("neighbor", "building", "unit", name="leadtitle", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("area_path", sa.String(length=400), nullable=False),
        sa.Column("role_assignment_id", sa.Uuid(), nullable=True),
        sa.Column("appointed_by", sa.Uuid(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "area_id"],
            ["areas.tenant_id", "areas.id"],
            name=op.f("fk_neighbor_leads_tenant_id_area_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_neighbor_leads_tenant_id_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_assignment_id"],
            ["role_assignments.tenant_id", "role_assignments.id"],
            name=op.f("fk_neighbor_leads_tenant_id_role_assignment_id_role_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_neighbor_leads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_neighbor_leads_user_id_users")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_neighbor_leads")),
    )
    with op.batch_alter_table("neighbor_leads", schema=None) as batch_op:
        batch_op.create_index("ix_neighbor_leads_user", ["tenant_id", "user_id"], unique=False)

    op.create_table(
        "wishes",
        sa.Column("beneficiary_person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("building_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("poster_user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open", "claimed", "fulfilled", "confirmed", "cancelled", name="wishstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("claimant_user_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfil_note", sa.String(length=1000), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claimant_user_id"], ["users.id"], name=op.f("fk_wishes_claimant_user_id_users")),
        sa.ForeignKeyConstraint(["poster_user_id"], ["users.id"], name=op.f("fk_wishes_poster_user_id_users")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "beneficiary_person_id"],
            ["persons.tenant_id", "persons.id"],
            name=op.f("fk_wishes_tenant_id_beneficiary_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "household_id"],
            ["households.tenant_id", "households.id"],
            name=op.f("fk_wishes_tenant_id_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_wishes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_wishes")),
    )
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.create_index("ix_wishes_building", ["tenant_id", "building_id"], unique=False)
        batch_op.create_index("ix_wishes_state", ["tenant_id", "state"], unique=False)

    op.create_table(
        "lead_households",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "household_id"],
            ["households.tenant_id", "households.id"],
            name=op.f("fk_lead_households_tenant_id_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["neighbor_leads.tenant_id", "neighbor_leads.id"],
            name=op.f("fk_lead_households_tenant_id_lead_id_neighbor_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_lead_households_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_lead_households")),
        sa.UniqueConstraint("tenant_id", "household_id", name=op.f("uq_lead_households_tenant_id_household_id")),
    )
    with op.batch_alter_table("lead_households", schema=None) as batch_op:
        batch_op.create_index("ix_lead_households_lead", ["tenant_id", "lead_id"], unique=False)

    # ### end Alembic commands ###
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()
    _seed_existing_tenants()


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("lead_households", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_households_lead")

    op.drop_table("lead_households")
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.drop_index("ix_wishes_state")
        batch_op.drop_index("ix_wishes_building")

    op.drop_table("wishes")
    with op.batch_alter_table("neighbor_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_neighbor_leads_user")

    op.drop_table("neighbor_leads")
    with op.batch_alter_table("care_service_records", schema=None) as batch_op:
        batch_op.drop_index("ix_care_service_records_person")

    op.drop_table("care_service_records")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_visited_at")
        batch_op.drop_index("ix_visits_household_at")

    op.drop_table("visits")
    with op.batch_alter_table("care_services", schema=None) as batch_op:
        batch_op.drop_index("ix_care_services_tag")

    op.drop_table("care_services")
    op.drop_table("care_settings")
    # ### end Alembic commands ###
