"""case withdrawal: a reporter takes back a report nobody has accepted yet (issue #23)

``case · withdraw · own_reports`` for residents, inherited by every role above them (a report is
withdrawn by whoever made it). Tenants provisioned before this revision get the policy line. The
tenant is set with ``SET LOCAL`` (which Citus propagates, issue #27).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from tenants.migration_ops import add_policy_lines, remove_policy_lines

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy line this revision adds (policies/cases/policy.csv has the living one).
NEW_RULES = (("resident", "case", "withdraw", "own_reports"),)


def upgrade() -> None:
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
