"""idempotency keys for the mutations portals retry most (issue #26)

``giveCaseFeedback``, ``castBallot``, ``signUpForActivity``, ``requestRedemption`` and
``recordVisit`` take an optional client-made ``idempotencyKey``, as ``reportCase`` does (migration
0002, ``cases.idempotency_key``): the key is kept on the row the mutation writes — the feedback's
timeline entry, the household's ballot, the sign-up, the redemption request, the visit — unique per
tenant and user, so concurrent retries with one key make one row. Nullable columns and unique
constraints only: row-level security and the app role's grants are unchanged (RLS policies are per
table; ``ALTER TABLE … ADD COLUMN`` keeps the grants).

Revision ID: 0028
Revises: 0027_platform_calendar
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027_platform_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → the column naming the user the key belongs to
KEYED = {
    "case_events": "actor_user_id",
    "vote_electors": "cast_by_user_id",
    "activity_signups": "user_id",
    "redemptions": "requested_by",
    "visits": "visitor_user_id",
}


def upgrade() -> None:
    for table, user_column in KEYED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(
                op.f(f"uq_{table}_tenant_id_{user_column}_idempotency_key"),
                ["tenant_id", user_column, "idempotency_key"])


def downgrade() -> None:
    for table, user_column in reversed(KEYED.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_tenant_id_{user_column}_idempotency_key"), type_="unique")
            batch_op.drop_column("idempotency_key")
