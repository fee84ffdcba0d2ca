"""an index of the audit log's full reads of personal data (issue #21)

``personalDataReport`` lists every full read of the person (``action = 'person.read_pii'``): without an
index PostgreSQL scanned the tenant's whole log for it on every report — the largest table, and in the
portal mix's database 1.5 of the report's 6.8 ms of PostgreSQL CPU at 3.6k rows, growing with every
audited request (bench/RESULTS.md, h-pdr). A partial index on the tenant's full reads by time: the
report reads only those rows. Not on the ids themselves: the app role reads under row-level security,
where PostgreSQL uses an index only for leakproof operators, and neither LIKE nor jsonb containment is.

Revision ID: 0047_pii_reads
Revises: 0046_perf2
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0047_pii_reads"
down_revision: str | None = "0046_perf2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READS = "action = 'person.read_pii'"


def upgrade() -> None:
    op.create_index("ix_audit_log_pii_reads", "audit_log", ["tenant_id", "created_at"],
                    postgresql_where=sa.text(_READS), sqlite_where=sa.text(_READS))


def downgrade() -> None:
    op.drop_index("ix_audit_log_pii_reads", table_name="audit_log")
