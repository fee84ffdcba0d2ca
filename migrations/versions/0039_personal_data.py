"""personal data as PIPL asks (issue #24): erased persons, retention, consents for partner units

``person_erasures`` lists every erased person (ids, time, who, reason — nothing personal; no foreign
key, so the list outlives what it names and ``gongzhi pii reapply-erasures`` can clean a restored
backup again); ``privacy_settings`` holds a tenant's retention of closed matters (no row: the default
36 months); ``personal_data_consents`` records a person's consent that a partner unit may receive
their personal data (PIPL art. 23). The app role may now update the free text of visits
(findings, needs) and of care service records (note) — and nothing else of those append-only rows —
which erasure and the retention job clear. Tenant tables with forced row-level security. Existing tenants get
the street admin's policy lines (person · report, erase, consent; privacy · manage).

Revision ID: 0033_personal_data
Revises: 0034_person_moves
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, remove_policy_lines

revision: str = "0033_personal_data"
down_revision: str | None = "0034_person_moves"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Issue #27: a new tenant table is created without its foreign keys, distributed on a Citus cluster, then
# keyed (tenants.migration_ops); its row-level security is set up below, as before.
_create = partial(create_tenant_table, rls=False)

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
NEW_TABLES = ("person_erasures", "privacy_settings", "personal_data_consents")
# Frozen copy of the policy lines this revision adds (policies/register/policy.csv has the living ones).
NEW_RULES = (("street_admin", "person", "report", "all"), ("street_admin", "person", "erase", "all"),
             ("street_admin", "person", "consent", "all"), ("street_admin", "privacy", "manage", "all"))


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _tenant_columns(name: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
    ]


def upgrade() -> None:
    _create(
        "person_erasures",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Enum("subject_request", "deceased", "moved_away", "other", name="erasurereason",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        *_tenant_columns("person_erasures"),
        sa.UniqueConstraint("tenant_id", "person_id", name=op.f("uq_person_erasures_tenant_id_person_id")),
    )
    _create(
        "privacy_settings",
        sa.Column("retention_months", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        *_tenant_columns("privacy_settings"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_privacy_settings_tenant_id")),
    )
    _create(
        "personal_data_consents",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("partner_unit_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("withdrawn_by", sa.Uuid(), nullable=True),
        *_tenant_columns("personal_data_consents"),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f("fk_personal_data_consents_tenant_id_person_id_persons")),
        sa.ForeignKeyConstraint(["tenant_id", "partner_unit_id"], ["partner_units.tenant_id", "partner_units.id"],
                                name=op.f("fk_personal_data_consents_tenant_id_partner_unit_id_partner_units")),
    )
    op.create_index("ix_personal_data_consents_unit", "personal_data_consents", ["tenant_id", "partner_unit_id"])
    op.create_index("ix_personal_data_consents_person", "personal_data_consents", ["tenant_id", "person_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT, UPDATE ON privacy_settings, personal_data_consents TO {role};
                -- The erasure list is appended and read, never changed or removed by the app.
                GRANT SELECT, INSERT ON person_erasures TO {role};
                -- Visits and service records stay append-only but for the free text an erasure or
                -- the retention job clears (their facts never change).
                GRANT UPDATE (findings, needs) ON visits TO {role};
                GRANT UPDATE (note) ON care_service_records TO {role};
              END IF;
            END $$;
        """)
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                REVOKE UPDATE (findings, needs) ON visits FROM {role};
                REVOKE UPDATE (note) ON care_service_records FROM {role};
              END IF;
            END $$;
        """)
    remove_policy_lines(op.get_bind(), NEW_RULES)
    op.drop_index("ix_personal_data_consents_person", table_name="personal_data_consents")
    op.drop_index("ix_personal_data_consents_unit", table_name="personal_data_consents")
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
