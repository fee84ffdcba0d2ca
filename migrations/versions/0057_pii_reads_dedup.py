"""audit_pii_reads looked up by a non-unique index of (tenant, person's id), not its three-column key (issue #21)

Every register page a grid worker reads in full writes one ``audit_pii_reads`` row per person it names (42 on the
bench's households page, 20 on its persons page). Their key ``(tenant_id, object_id, id)`` (migration 0049) was
the table's one index, and its insertions were the largest part of the rows' cost: each person's entries grow at
the end of their run of the key, one leaf per person named, and every one of them distinct, so a leaf splits
every few dozen pages read (bench/RESULTS.md h-hh: ≈ 0.5 ms of PostgreSQL per households page for the 42 rows).

Now the index is ``(tenant_id, object_id)`` and not unique: a person's entries are equal keys, which a B-tree
keeps as one tuple with a list of row pointers (PostgreSQL 13's deduplication), so an insertion adds a pointer
to a posting list and splits a page far less often. Measured on the portal mix's rows (bench/RESULTS.md h-reads),
backend CPU of one page's 42-row ``INSERT … SELECT … unnest`` with its COMMIT, alternated: ≈ 0.25 ms with the
key, ≈ 0.15 with this index, ≈ 0.07 with none. What personalDataReport asks is the same — the audit rows that
named this person, by the id's text (equality: leakproof, so the index serves it under row-level security) —
and it now reads each entry's ``id`` from the row (the heap) instead of from the index alone. Uniqueness was
never needed: the app writes a row once, with its audit row, and rows are only ever appended.

SQLite gets the same: the table rebuilt without the key, with the index.

Revision ID: 0057_pii_reads_dedup
Revises: 0055_actor_version
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0057_pii_reads_dedup"
down_revision: str | None = "0055_actor_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = "pk_audit_pii_reads"
_INDEX = "ix_audit_pii_reads_object"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_PK, "audit_pii_reads", type_="primary")
        op.create_index(_INDEX, "audit_pii_reads", ["tenant_id", "object_id"])
        op.execute("ANALYZE audit_pii_reads")
        return
    with op.batch_alter_table("audit_pii_reads", recreate="always") as batch:
        batch.drop_constraint(_PK, type_="primary")
        batch.create_index(_INDEX, ["tenant_id", "object_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(_INDEX, table_name="audit_pii_reads")
        op.create_primary_key(_PK, "audit_pii_reads", ["tenant_id", "object_id", "id"])
        return
    with op.batch_alter_table("audit_pii_reads", recreate="always") as batch:
        batch.drop_index(_INDEX)
        batch.create_primary_key(_PK, ["tenant_id", "object_id", "id"])
