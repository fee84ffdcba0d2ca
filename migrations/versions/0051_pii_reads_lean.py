"""audit_pii_reads without its per-row key check, the audit log without 0047's index (issue #21)

Every register page a grid worker reads in full writes one ``audit_pii_reads`` row per person it names
(20–40 a page, migration 0049), in the request's audit statement. Each row paid for a foreign-key check to
``tenants`` — PostgreSQL's RI trigger, one ``SELECT … FOR KEY SHARE`` of the tenant's row per inserted row:
≈ 2–3 µs each, 0.06–0.08 ms of PostgreSQL per households page (bench/RESULTS.md, h-hh). The key adds nothing
here: a row is only ever written in the same statement as its audit row, whose own key to ``tenants`` is
checked (once), and row-level security's WITH CHECK pins the row to the transaction's tenant. Both tables
are append-only for the app role. What the key also did: a tenant deleted (the app never deletes one) took
these rows with it by cascade; now they must be deleted with the tenant, as its audit rows by audit_log's.

0047's partial index ``ix_audit_log_pii_reads`` (the tenant's full reads by time) served personalDataReport
until 0049; since then the report finds a person's full reads through ``audit_pii_reads`` and the audit log's
key, and no statement reads the index (tests/register/test_personal_data_shape.py holds the report's plan to
that). One index entry less per full-read audit row.

Revision ID: 0051_pii_reads_lean
Revises: 0050_report_indexes
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0051_pii_reads_lean"
down_revision: str | None = "0050_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READS = "action = 'person.read_pii'"
_FK = "fk_audit_pii_reads_tenant_id_tenants"


def upgrade() -> None:
    op.drop_index("ix_audit_log_pii_reads", table_name="audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_FK, "audit_pii_reads", type_="foreignkey")
    else:  # SQLite: the table rebuilt without the key
        with op.batch_alter_table("audit_pii_reads") as batch:
            batch.drop_constraint(_FK, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(_FK, "audit_pii_reads", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE")
    else:
        with op.batch_alter_table("audit_pii_reads") as batch:
            batch.create_foreign_key(_FK, "tenants", ["tenant_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_audit_log_pii_reads", "audit_log", ["tenant_id", "created_at"],
                    postgresql_where=sa.text(_READS), sqlite_where=sa.text(_READS))
