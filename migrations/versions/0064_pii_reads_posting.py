"""audit_pii_reads: a non-unique index on (tenant_id, object_id) in place of the primary key (issue #21)

Every register page read in full (households, persons: bench.mix's slowest fields) writes one ``audit_pii_reads`` row
per person it read in full (0049): 20–42 rows a page, in the page's own statement (gongzhi/http/read_audit.py). The
rows' one index was the primary key ``(tenant_id, object_id, id)``. A unique btree keeps one entry per row: the
persons a register page reads are read again by every page after it, so the key's leading ``(tenant_id,
object_id)`` repeats hundreds of thousands of times (648,774 rows for a few hundred persons in the mix's database),
and each insert walks and splits a large index. A non-unique btree on ``(tenant_id, object_id)`` — what the
report looks a person's reads up by — stores a repeated key once with a list of its rows (PostgreSQL's
deduplication, 13 and later), so the same inserts touch a few small pages.

Measured as the app role, 42 rows into a copy of the mix's 648,774 (backend CPU per statement, BEGIN and ROLLBACK
included, 3 rounds): primary key 0.34–0.42 ms; this index 0.20–0.21 ms; the key reordered to (tenant_id, id,
object_id) beside this index 0.28–0.34 ms; no index 0.13–0.14 ms (bench/RESULTS.md, fourteenth session).

Nothing needed the key's uniqueness: an entry's ids are made distinct where they are written (read_audit's ``ids``
``array_agg(DISTINCT …)``, gongzhi.http.state ``audit_rows``, models.access ``pii_read_ids``), nothing upserts the
table, and the report reads it by ``(tenant_id, object_id)`` only. The table keeps ``tenant_id`` leading its one
index (the tenant's rows together; Citus distributes it by ``tenant_id``, as before: a table without a primary key
is distributed the same way, and the index is created on every shard).

PostgreSQL: the constraint dropped and the index built in the migration's transaction (writes of full reads wait
for it: ≈ 1 s at the mix's 648,774 rows). SQLite: the table rebuilt without the key (batch), the same index.

Revision ID: 0064_pii_reads_posting
Revises: 0061_open_wall_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0064_pii_reads_posting"
down_revision: str | None = "0061_open_wall_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = "pk_audit_pii_reads"
_INDEX = "ix_audit_pii_reads_tenant_object"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_PK, "audit_pii_reads", type_="primary")
    else:
        with op.batch_alter_table("audit_pii_reads", recreate="always") as batch:
            batch.drop_constraint(_PK, type_="primary")
    op.create_index(_INDEX, "audit_pii_reads", ["tenant_id", "object_id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="audit_pii_reads")
    if op.get_bind().dialect.name == "postgresql":
        op.create_primary_key(_PK, "audit_pii_reads", ["tenant_id", "object_id", "id"])
    else:
        with op.batch_alter_table("audit_pii_reads", recreate="always") as batch:
            batch.create_primary_key(_PK, ["tenant_id", "object_id", "id"])
