"""evaluations (issue #6, part 2): the items and weights each period opened with
(evaluation_period_items), so that the street admin's changes apply to the next periods only.

Periods that exist already get a snapshot of their tenant's active items.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import each_tenant

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evaluation_period_items"
TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _postgres_security() -> None:
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {TABLE} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {role};
          END IF;
        END $$;
    """)


def _snapshot_existing_periods() -> None:
    import uuid
    from datetime import UTC, datetime

    bind = op.get_bind()
    now = datetime.now(UTC)
    t_pi = sa.table(
        TABLE,
        *(sa.column(c, sa.Uuid()) for c in ("tenant_id", "id", "period_id")),
        *(sa.column(c) for c in ("target", "code", "name", "weight", "created_at")),
    )
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        by_tenant = sa.bindparam("t", tid, type_=sa.Uuid())
        periods = bind.execute(
            sa.text("SELECT id FROM evaluation_periods WHERE tenant_id = :t").bindparams(by_tenant)
        ).fetchall()
        items = bind.execute(
            sa.text("SELECT target, code, name, weight FROM evaluation_items WHERE tenant_id = :t AND active")
            .bindparams(by_tenant)
        ).fetchall()
        for (period_id,) in periods:
            for target, code, name, weight in items:
                bind.execute(t_pi.insert().values(
                    tenant_id=tid, id=uuid.uuid4(), period_id=uuid.UUID(str(period_id)), target=target, code=code,
                    name=name, weight=weight, created_at=now))


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("period_id", sa.Uuid(), nullable=False),
        sa.Column(
            "target",
            sa.Enum("property_firm", "owner_committee", name="evaluationtarget", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weight > 0", name=op.f("ck_evaluation_period_items_weight_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "period_id"],
            ["evaluation_periods.tenant_id", "evaluation_periods.id"],
            name=op.f("fk_evaluation_period_items_tenant_id_period_id_evaluation_periods"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_evaluation_period_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_evaluation_period_items")),
        sa.UniqueConstraint(
            "tenant_id", "period_id", "target", "code",
            name=op.f("uq_evaluation_period_items_tenant_id_period_id_target_code"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()
    _snapshot_existing_periods()


def downgrade() -> None:
    op.drop_table(TABLE)
