"""platform calendar: the State Council's yearly holiday arrangements, loaded by the operator for every
tenant (issue #22); the policy line that lets every role read the working calendar

Two platform tables (no tenant_id, no row-level security, like ``tenants``): ``platform_calendars``
(one row per year: the notice's title, number, date) and ``platform_calendar_days`` (its days off and
调休 make-up working days). The operator writes them as the database owner (CLI, platform API); the
app role only reads them.

Revision ID: 0027_platform_calendar
Revises: 0026
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines

revision: str = "0027_platform_calendar"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy lines this revision adds (policies/cases/policy.csv has the living ones).
NEW_RULES = (
    ("resident", "calendar", "read", "all"),
    ("partner_unit", "calendar", "read", "all"),
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
        "platform_calendars",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("loaded_by", sa.String(length=100), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_platform_calendars")),
    )
    op.create_table(
        "platform_calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("holiday", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["year"], ["platform_calendars.year"],
                                name=op.f("fk_platform_calendar_days_year_platform_calendars"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_platform_calendar_days")),
    )
    op.create_index(op.f("ix_platform_calendar_days_year"), "platform_calendar_days", ["year"], unique=False)
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        # Platform tables: no RLS (every tenant reads the same arrangement); the app role reads only.
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT ON platform_calendars, platform_calendar_days TO {role};
              END IF;
            END $$;
        """)
    # Tenants provisioned before this revision get the new policy lines.
    add_policy_lines(bind, NEW_RULES)


def downgrade() -> None:
    # The policy lines stay, as with every earlier revision's lines: a street admin may have edited them.
    op.drop_index(op.f("ix_platform_calendar_days_year"), table_name="platform_calendar_days")
    op.drop_table("platform_calendar_days")
    op.drop_table("platform_calendars")
