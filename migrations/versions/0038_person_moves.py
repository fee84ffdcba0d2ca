"""persons moved, moved out (迁出), moved in (迁入) and deceased (注销) — archived, never deleted (issue #23)

``persons.status`` (active, moved_out, deceased; every existing person is active) and
``persons.left_on``; ``person_moves``, the residence history: one row per change of household or of
status, append-only (the app role may only SELECT and INSERT it), a tenant table with forced
row-level security like the others. No policy line: moves are ``person · write`` (grid leader in
scope, the street admin), as editing a person is.

Revision ID: 0034_person_moves
Revises: 0033_record_lifecycle
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from functools import partial

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import create_tenant_table

revision: str = "0034_person_moves"
down_revision: str | None = "0033_record_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Issue #27: a new tenant table is created without its foreign keys, distributed on a Citus cluster, then
# keyed (tenants.migration_ops); its row-level security is set up below, as before.
_create = partial(create_tenant_table, rls=False)

TABLE = "person_moves"
TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def upgrade() -> None:
    with op.batch_alter_table("persons") as b:
        b.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="active"))
        b.add_column(sa.Column("left_on", sa.Date(), nullable=True))
    _create(
        TABLE,
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_household_id", sa.Uuid(), nullable=True),
        sa.Column("to_household_id", sa.Uuid(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TABLE}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f(f"fk_{TABLE}_tenant_id_person_id_persons")),
        sa.ForeignKeyConstraint(["tenant_id", "from_household_id"], ["households.tenant_id", "households.id"],
                                name=op.f(f"fk_{TABLE}_tenant_id_from_household_id_households")),
        sa.ForeignKeyConstraint(["tenant_id", "to_household_id"], ["households.tenant_id", "households.id"],
                                name=op.f(f"fk_{TABLE}_tenant_id_to_household_id_households")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index("ix_person_moves_person", TABLE, ["tenant_id", "person_id", "effective_on"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {TABLE} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT ON {TABLE} TO {role};
          END IF;
        END $$;
    """)


def downgrade() -> None:
    op.drop_index("ix_person_moves_person", table_name=TABLE)
    op.drop_table(TABLE)
    with op.batch_alter_table("persons") as b:
        b.drop_column("left_on")
        b.drop_column("status")
