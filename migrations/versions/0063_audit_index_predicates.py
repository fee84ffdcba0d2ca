"""a full read's audit entry enters 3 of audit_log's indexes, not 5 (issue #21, the audited register pages)

Every register page read in full (households, persons: bench.mix's slowest fields) writes one ``audit_log`` entry of
action ``person.read_pii`` in its own transaction, and personalDataReport one of ``person.report``. Each entered all
five of the log's indexes that an unsealed entry enters. Two of them can never be read for such an entry:

- ``ix_audit_log_tenant_area_path`` (0007): what a party secretary's audit list reads by scope — ``area_path``
  under one of their scope's paths (resolvers.audit.audit_predicate: ``starts_with``/``LIKE``, strict in the
  column). Only a case's entries have a path: a full read's and a report's are NULL, and the index held every one
  of them. Now partial, ``WHERE area_path IS NOT NULL``: every reader is strict in the column, so its plan — a
  generic one too — still implies the predicate.
- ``ix_audit_log_tenant_request`` (0054): how personalDataReport names a full read's request by that request's
  OTHER entries (compiled/personal_data.py ``_via``, resolvers/register/personal_data.py), both of which look them
  up with ``action <> 'person.read_pii'`` written in the text. A full read's own entry is never looked up by its
  request, so the index leaves it out: ``WHERE request_id IS NOT NULL AND action <> 'person.read_pii'``.

A full read's entry: 6 → 4 WAL records of its INSERT (the heap's and 3 indexes'); a report's: 6 → 5; a case
report's (it has a path and a request) 6, as before. Replayed as the app role (bench/RESULTS.md, h-pii): the
audit_log row's part of the audit statement ≈ 70 → 60 µs of backend CPU. Nothing is read differently: the
entries the indexes still hold are every entry any of their readers asks for (tests/cases/test_report_indexes.py
READERS, generic plans).

Both indexes are rebuilt under their own names, in the migration's transaction (as 0054 built the request's):
writes to audit_log wait for the build. PostgreSQL and SQLite (SQLite has the request's index only: 0007's is
PostgreSQL's). On Citus both statements propagate to the shards like any index (docs/scaling.md run I: on
every shard with the predicate, migrated after the distribution too; downgrade and upgrade on the cluster).

Revision ID: 0063_audit_index_predicates
Revises: 0059_audit_analyze
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0063_audit_index_predicates"
down_revision: str | None = "0059_audit_analyze"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REQUEST = "ix_audit_log_tenant_request"
_AREA = "ix_audit_log_tenant_area_path"
_WITHOUT_READS = "request_id IS NOT NULL AND action <> 'person.read_pii'"
_ANY_REQUEST = "request_id IS NOT NULL"


def _request_index(where: str) -> None:
    op.drop_index(_REQUEST, table_name="audit_log")
    op.create_index(_REQUEST, "audit_log", ["tenant_id", "request_id"], postgresql_where=sa.text(where),
                    sqlite_where=sa.text(where))


def upgrade() -> None:
    _request_index(_WITHOUT_READS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {_AREA}")
        op.execute(f"CREATE INDEX {_AREA} ON audit_log (tenant_id, area_path text_pattern_ops) "
                   "WHERE area_path IS NOT NULL")


def downgrade() -> None:
    _request_index(_ANY_REQUEST)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {_AREA}")
        op.execute(f"CREATE INDEX {_AREA} ON audit_log (tenant_id, area_path text_pattern_ops)")
