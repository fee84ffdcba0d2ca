"""self-governing zones and groups (自治片区、自治小组) with their central party-member households
(党员中心户); onboarding workbook imports as jobs (issue #23)

- ``self_governing_units`` (a compound's or building's zones and groups, a group in a zone) and
  ``central_households`` (a group's party-member household, the party member named): tenant tables
  with forced row-level security, made by ``create_tenant_table``.
- ``import_jobs.created_firms`` / ``created_contracts``: the onboarding workbook (areas, firms,
  contracts) runs as an import job like the register's; its counts.
- The policy lines ``self_governing · manage`` (party secretary in scope, street admin), added to
  every existing tenant.

Revision ID: 0042_onb
Revises: 0034_organisations
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, remove_policy_lines

revision: str = "0042_onb"
down_revision: str | None = "0034_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("self_governing_units", "central_households")
# Frozen copy of the lines this revision adds (policies/register/policy.csv has the living ones).
NEW_RULES = (
    ("party_secretary", "self_governing", "manage", "scope"),
    ("street_admin", "self_governing", "manage", "all"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _base(name: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
    ]


def upgrade() -> None:
    create_tenant_table(
        "self_governing_units",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Enum("zone", "group", name="selfgoverningkind", native_enum=False, length=16),
                  nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        *_base("self_governing_units"),
        sa.ForeignKeyConstraint(["tenant_id", "area_id"], ["areas.tenant_id", "areas.id"],
                                name=op.f("fk_self_governing_units_tenant_id_area_id_areas")),
        sa.ForeignKeyConstraint(["tenant_id", "parent_id"],
                                ["self_governing_units.tenant_id", "self_governing_units.id"],
                                name=op.f("fk_self_governing_units_tenant_id_parent_id_self_governing_units")),
        sa.UniqueConstraint("tenant_id", "area_id", "name",
                            name=op.f("uq_self_governing_units_tenant_id_area_id_name")),
    )
    create_tenant_table(
        "central_households",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("appointed_on", sa.Date(), nullable=True),
        *_base("central_households"),
        sa.ForeignKeyConstraint(["tenant_id", "unit_id"], ["self_governing_units.tenant_id", "self_governing_units.id"],
                                name=op.f("fk_central_households_tenant_id_unit_id_self_governing_units")),
        sa.ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"],
                                name=op.f("fk_central_households_tenant_id_household_id_households")),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f("fk_central_households_tenant_id_person_id_persons")),
        sa.UniqueConstraint("tenant_id", "unit_id", "household_id",
                            name=op.f("uq_central_households_tenant_id_unit_id_household_id")),
    )
    op.create_index("ix_central_households_household", "central_households", ["tenant_id", "household_id"])
    op.create_index("ix_central_households_person", "central_households", ["tenant_id", "person_id"])
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("created_firms", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("created_contracts", sa.Integer(), nullable=False, server_default="0"))
    bind = op.get_bind()
    add_policy_lines(bind, NEW_RULES)
    if bind.dialect.name != "postgresql":
        return
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {role};
          END IF;
        END $$;
    """)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("created_contracts")
        batch.drop_column("created_firms")
    op.drop_index("ix_central_households_person", table_name="central_households")
    op.drop_index("ix_central_households_household", table_name="central_households")
    op.drop_table("central_households")
    op.drop_table("self_governing_units")
