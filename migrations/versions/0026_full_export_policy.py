"""full export: the street admin's separate action that exports personal data unmasked (issue #24)

Every export is masked for everyone now (DESIGN.md §8); exporting ID numbers, phones and rooms in full
is ``ledger · export_full``, the street admin's only. Tenants provisioned before this revision get
the policy line. The tenant is set with ``SET LOCAL`` (which Citus propagates, issue #27).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from tenants.migration_ops import add_policy_lines, remove_policy_lines

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy line this revision adds (policies/ledgers/policy.csv has the living one).
NEW_RULES = (("street_admin", "ledger", "export_full", "all"),)


def upgrade() -> None:
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
