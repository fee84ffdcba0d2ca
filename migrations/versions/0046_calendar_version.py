"""a version of each tenant's working calendar (issue #21)

``tenants.calendar_version``: bumped in the transaction of every change of the tenant's calendar overrides
(setCalendarOverride, removeCalendarOverride) and, for every tenant, of every arrangement the platform
loads. Each request's first statement reads it with the tenant, so a process keeps the working calendar
it loaded per (tenant, version) and another process's change is seen on its next request.

Revision ID: 0046_perf2
Revises: 0042_handlers
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046_perf2"
down_revision: str | None = "0042_handlers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("calendar_version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("tenants", "calendar_version")
