"""grid leaders and compounds (DESIGN.md §8, issue #23)

A grid's scope is its buildings and their households, and the compounds those buildings belong to for
everything public or shared in them. The new condition ``grid_compound`` (policies/roles.py) names it; the
grid leader's lines under it (inherited by the roles above) are added to every existing tenant: the
compound itself (area·read), its notices, activities and topics (votes go with topics), and the cases
located at it — read, report, accept, dispatch, start, resolve, close.

Revision ID: 0042_grid
Revises: 0034_organisations
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from tenants.migration_ops import add_policy_lines, remove_policy_lines

revision: str = "0042_grid"
down_revision: str | None = "0042_pipl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the lines this revision adds (policies/<domain>/policy.csv have the living ones).
NEW_RULES = (
    ("grid_leader", "area", "read", "grid_compound"),
    ("grid_leader", "case", "read", "grid_compound"),
    ("grid_leader", "case", "report", "grid_compound"),
    ("grid_leader", "case", "accept", "grid_compound"),
    ("grid_leader", "case", "dispatch", "grid_compound"),
    ("grid_leader", "case", "start", "grid_compound"),
    ("grid_leader", "case", "resolve", "grid_compound"),
    ("grid_leader", "case", "close", "grid_compound"),
    ("grid_leader", "notice", "read", "grid_compound"),
    ("grid_leader", "topic", "read", "grid_compound"),
    ("grid_leader", "topic", "propose", "grid_compound"),
    ("grid_leader", "activity", "read", "grid_compound"),
)


def upgrade() -> None:
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
