"""index cases by scope and report time, for the figures of a period (issue #21, operation 3)

The compiled figures (compiled/statistics.py ``by_index``) write the grant's scope as branches an index
can read under row-level security: the scope path's prefix as starts_with (leakproof) and the buildings
its grids cover as ``area_id = ANY(ARRAY(…))``. With the period's range in the same indexes PostgreSQL
ORs the two branches' bitmaps and reads only the scope's cases of the period (767 of a community's
month), where ``ix_cases_tenant_created`` (0023) read every case of the tenant's month (7,417) from the
table and tested each. Each new index takes the place of the one it extends — the same entries, one
column longer — so a case write keeps as many indexes as before: ``ix_cases_tenant_area_path`` (0002,
PostgreSQL only) and ``ix_cases_tenant_area`` (0002; every read by building still finds its cases by the
new index's leading columns).

Revision ID: 0052_cases_scope_period
Revises: 0051_pii_reads_lean
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0052_cases_scope_period"
down_revision: str | None = "0051_pii_reads_lean"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    op.create_index("ix_cases_tenant_area_created", "cases", ["tenant_id", "area_id", "created_at"])
    op.drop_index("ix_cases_tenant_area", table_name="cases")
    if _postgresql():
        op.execute("CREATE INDEX ix_cases_tenant_area_path_created ON cases "
                   "(tenant_id, area_path text_pattern_ops, created_at)")
        op.execute("DROP INDEX ix_cases_tenant_area_path")


def downgrade() -> None:
    if _postgresql():
        op.execute("CREATE INDEX ix_cases_tenant_area_path ON cases (tenant_id, area_path text_pattern_ops)")
        op.execute("DROP INDEX ix_cases_tenant_area_path_created")
    op.create_index("ix_cases_tenant_area", "cases", ["tenant_id", "area_id"])
    op.drop_index("ix_cases_tenant_area_created", table_name="cases")
