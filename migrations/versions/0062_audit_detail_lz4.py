"""audit entries' detail compressed with lz4 instead of pglz (issue #21, bench.compare op 4)

A report's audit entry records the case's 34 columns, its timeline entry and its first stage: ≈ 2.4 kB of
``detail``, over PostgreSQL's 2 kB threshold, so every report's entry was compressed with pglz in the
writing backend — ``toast_compress_datum`` was 2.9 % of that backend's CPU under `bench.inproc op4` (perf, 2026-12-07),
the largest single avoidable item in it. lz4 compresses the same entry to about the same size (965 vs 918 bytes)
in a fraction of the time, and reads it back faster. Only ``audit_log.detail`` holds compressed values in a grown
database (every text, json and bytea column of the bench's database checked): no other column changes.

New entries only: the rows written before keep pglz, which PostgreSQL reads as before (each value names its
method). Nothing on SQLite. Nothing on a server built without lz4 (``default_toast_compression`` does not offer it)
nor on a Citus coordinator (the shards' definitions are Citus's to propagate; the gain is an optimisation only).

Revision ID: 0062_audit_detail_lz4
Revises: 0056_case_rate_facts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0062_audit_detail_lz4"
down_revision: str | None = "0056_case_rate_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _applies() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    if bind.execute(sa.text("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'")).first():
        return False
    return bool(bind.execute(sa.text(
        "SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    )).first())


def upgrade() -> None:
    if _applies():
        op.execute("ALTER TABLE audit_log ALTER COLUMN detail SET COMPRESSION lz4")


def downgrade() -> None:
    if _applies():
        op.execute("ALTER TABLE audit_log ALTER COLUMN detail SET COMPRESSION DEFAULT")
