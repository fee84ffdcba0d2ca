"""index cases by tenant and report time, for statistics of a period (issue #9, operation 3)

Under row-level security PostgreSQL uses an index only for leakproof conditions: the area's path
prefix (LIKE) cannot narrow the scan, the period's time range can. Without this index the monthly
figures of one community read every case of the tenant.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_tenant_created", "cases", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_tenant_created", table_name="cases")
