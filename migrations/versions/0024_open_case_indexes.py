"""index open cases by building and by reporter, newest first (issue #9, operation 1)

A grid leader's list of open cases is the newest of: cases under the grid's path, cases in the
buildings the grid covers, cases the leader reported. Read in id order from the primary key, the
list filtered thousands of rows to find its page; each branch now reads its newest open cases from
one of these (index-only), and the page is the newest of those (schema/compiled.py).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')"


def upgrade() -> None:
    for name, column in (("ix_cases_open_area", "area_id"), ("ix_cases_open_reporter", "reporter_user_id")):
        op.create_index(name, "cases", ["tenant_id", column, "id"], postgresql_where=sa.text(OPEN),
                        sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_cases_open_reporter", table_name="cases")
    op.drop_index("ix_cases_open_area", table_name="cases")
