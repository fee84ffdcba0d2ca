"""The audit tables analyzed by a fixed count of new rows, not a share of the table (issue #21)

personalDataReport finds a person's full reads through ``audit_pii_reads`` and each read's ``audit_log`` row
(resolvers.register.full_read_filters). Its plan is made from ``audit_log``'s statistics: when they say the
tenant has few entries — a tenant grown since the last ANALYZE — the plan scans the tenant's whole log and filters
it instead of looking up the person's reads (bench/RESULTS.md, h-reads tenth: 3.96 ms against 0.91 on one
statement; 2.7 against 1.1 ms of PostgreSQL per report in the app). Autovacuum analyzes a table after
``autovacuum_analyze_scale_factor`` (10 %) of its rows plus 50 have changed: for a log shared by every tenant and
only ever appended to, that is longer the larger the log grows — at ten million entries, a million new ones. Here
both tables are analyzed after a fixed count of new rows whatever their size: audit_log after 10,000 (a few
minutes of a busy street's requests; ANALYZE samples 30,000 rows, once a minute at most by autovacuum's naptime),
audit_pii_reads after 100,000 (each full read writes one row per person it names, 20–40 a register page).

PostgreSQL only (storage parameters; SQLite has no autovacuum). On a Citus coordinator too: autovacuum analyzes the
shards on the workers (the coordinator's tables are empty shells there), and Citus 13.2 propagates ``ALTER TABLE … SET
/ RESET (…)`` to every shard, as ``create_distributed_table`` copies a table's storage parameters into the shards it
makes. So the settings reach the shards whether the database was distributed before this revision or after it
(docs/scaling.md, run H: an earlier form of this file skipped Citus, and a database migrated through it after the
distribution had the settings on no shard).

Revision ID: 0059_audit_analyze
Revises: 0060_stage_due_without_lookup
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0059_audit_analyze"
down_revision: str | None = "0060_stage_due_without_lookup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: new rows between two ANALYZEs
ANALYZE_EVERY = {"audit_log": 10_000, "audit_pii_reads": 100_000}


def _applies() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _applies():
        for table, rows in ANALYZE_EVERY.items():
            op.execute(f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = 0, "
                       f"autovacuum_analyze_threshold = {rows})")


def downgrade() -> None:
    if _applies():
        for table in ANALYZE_EVERY:
            op.execute(f"ALTER TABLE {table} RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)")
