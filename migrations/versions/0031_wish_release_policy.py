"""wish release: a claim on a wish is given back by its claimant, or staff in scope (issue #23)

``wish · release``: residents who are party members (their own claims), grid leaders in scope, the
street admin. Tenants provisioned before this revision get the policy line. The
tenant is set with ``SET LOCAL`` (which Citus propagates, issue #27).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from tenants.migration_ops import add_policy_lines, remove_policy_lines

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy lines this revision adds (policies/care/policy.csv has the living ones).
NEW_RULES = (("resident", "wish", "release", "party_member"), ("grid_leader", "wish", "release", "scope"),
             ("street_admin", "wish", "release", "all"))


def upgrade() -> None:
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
