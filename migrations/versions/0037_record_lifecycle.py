"""the whole life of a record (issue #23): edit, cancel, withdraw, retire, recategorise

Columns: an activity's cancellation (when, by whom, why), a meeting's and a topic's cancel reason
(their new CANCELLED state is a value of the existing string column), a notice's withdrawal (when,
by whom, why: withdrawn notices leave every wall and list but stay for the ledgers and audit), and
when a reward item or a care service was retired (``active`` false already hid them from lists).

Policy lines, for tenants provisioned before this revision (the tenant set with ``SET LOCAL``):
``activity · manage`` (edit, cancel) where ``activity · publish`` reaches, ``meeting · manage``
where ``meeting · convene`` reaches, ``notice · manage`` where ``notice · publish`` reaches,
``topic · manage`` where ``topic · accept`` reaches (a proposer edits and withdraws their own topic
without a line), and ``case · recategorise`` for the dispatchers (grid leader in scope, inherited by
the party secretary; the street admin everywhere), DESIGN.md §4.

Revision ID: 0033_record_lifecycle
Revises: 0033_case_source_rates
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import add_policy_lines, remove_policy_lines

revision: str = "0033_record_lifecycle"
down_revision: str | None = "0033_case_source_rates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the policy lines this revision adds (policies/<domain>/policy.csv has the living ones).
NEW_RULES = (
    ("property_firm", "activity", "manage", "served"),
    ("owner_committee_chair", "activity", "manage", "scope"),
    ("street_admin", "activity", "manage", "all"),
    ("owner_committee_chair", "meeting", "manage", "scope"),
    ("street_admin", "meeting", "manage", "all"),
    ("property_firm", "notice", "manage", "served"),
    ("owner_committee_chair", "notice", "manage", "scope"),
    ("street_admin", "notice", "manage", "all"),
    ("owner_committee_chair", "topic", "manage", "scope"),
    ("street_admin", "topic", "manage", "all"),
    ("grid_leader", "case", "recategorise", "scope"),
    ("street_admin", "case", "recategorise", "all"),
)


def upgrade() -> None:
    with op.batch_alter_table("activities") as b:
        b.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("cancelled_by", sa.Uuid(), nullable=True))
        b.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    for table in ("meetings", "topics"):
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("notices") as b:
        b.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("withdrawn_by", sa.Uuid(), nullable=True))
        b.add_column(sa.Column("withdraw_reason", sa.String(length=500), nullable=True))
    for table in ("reward_items", "care_services"):
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    add_policy_lines(op.get_bind(), NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    for table in ("reward_items", "care_services"):
        with op.batch_alter_table(table) as b:
            b.drop_column("retired_at")
    with op.batch_alter_table("notices") as b:
        b.drop_column("withdraw_reason")
        b.drop_column("withdrawn_by")
        b.drop_column("withdrawn_at")
    for table in ("meetings", "topics"):
        with op.batch_alter_table(table) as b:
            b.drop_column("cancel_reason")
    with op.batch_alter_table("activities") as b:
        b.drop_column("cancel_reason")
        b.drop_column("cancelled_by")
        b.drop_column("cancelled_at")
