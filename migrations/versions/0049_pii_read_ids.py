"""audit_pii_reads: which full read of personal data named which person (issue #21)

``personalDataReport`` lists every full read of the person: the ``audit_log`` rows of action
``person.read_pii`` whose ``object_ids`` (JSON) hold the person's id. 0047's partial index narrowed the
scan to the tenant's full reads, but it still read every one of them — and in the portal mix every
request of a register list writes one (persons, households: 20–40 ids each), so the report's cost grew
with the tenant's whole history of reads (≈ 2.7 µs of PostgreSQL CPU per full read: at 5,700 of them
16 of the report's 20 ms, for a person read by none of them; bench/RESULTS.md h-pdr). No index on the
JSON can serve it: the app role reads under row-level security, where PostgreSQL uses an index only
for leakproof operators, and neither LIKE nor jsonb containment (nor ``?``) is; a SECURITY DEFINER
function would not escape it either (RLS is forced on the owner too).

So a tenant table of its own, ``audit_pii_reads`` (tenant_id, object_id, id — the audit row's —, and its
created_at): one row per distinct id of a full-read row, written with that row (in the request's one
audit statement, gongzhi.http.state.audit_and_notify_sql, or the ORM's flush, models.access), looked up
by text equality — leakproof — on its key ``(tenant_id, object_id, id)``, its only index. The report
keeps its filters on the audit row as they were; the table only says which rows to test. Existing full
reads are copied in here, per tenant. The app role may SELECT and INSERT it (as audit_log). SQLite gets
the same table and rows.

Revision ID: 0049_pii_read_ids
Revises: 0048_actor_compound
Create Date: 2026-12-06
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import create_tenant_table, each_tenant

revision: str = "0049_pii_read_ids"
down_revision: str | None = "0048_actor_compound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READ = "person.read_pii"


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


_AUDIT = sa.table("audit_log", sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                  sa.column("created_at", sa.DateTime(timezone=True)), sa.column("action", sa.String()),
                  sa.column("object_ids", sa.JSON()))
_READS = sa.table("audit_pii_reads", sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                  sa.column("created_at", sa.DateTime(timezone=True)), sa.column("object_id", sa.String()))

# PostgreSQL: the tenant's full reads' distinct string ids, in one statement per tenant.
_FILL_PG = f"""
INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id)
SELECT a.tenant_id, a.id, a.created_at, e.v
  FROM audit_log a
 CROSS JOIN LATERAL (SELECT DISTINCT x #>> '{{}}' AS v FROM json_array_elements(a.object_ids) x
                      WHERE json_typeof(x) = 'string' AND length(x #>> '{{}}') <= 64) e
 WHERE a.tenant_id = :tenant AND a.action = '{_READ}' AND json_typeof(a.object_ids) = 'array'"""


def upgrade() -> None:
    create_tenant_table(
        "audit_pii_reads",
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_pii_reads_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "object_id", "id", name=op.f("pk_audit_pii_reads")),
    )
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT ON audit_pii_reads TO {role};
              END IF;
            END $$;
        """)
    if pg:
        # The planner's estimate of one person's full reads: as if each id were read once. The report is a
        # prepared statement; PostgreSQL keeps planning it afresh (≈ 4 ms a run: 40 tables, RLS) while its
        # generic plan looks dearer than a custom one, and with the sample's few ids (a register page
        # names the same 20 persons on every request) the generic estimate was ~1,700 reads, each with
        # its request's siblings to look up. A person's reads are few beside the table's rows.
        op.execute("ALTER TABLE audit_pii_reads ALTER COLUMN object_id SET (n_distinct = -1)")
    for tid in each_tenant(bind):
        if pg:
            bind.execute(sa.text(_FILL_PG), {"tenant": tid})
            continue
        rows = bind.execute(sa.select(_AUDIT.c.id, _AUDIT.c.created_at, _AUDIT.c.object_ids)
                            .where(_AUDIT.c.tenant_id == tid, _AUDIT.c.action == _READ)).all()
        out = []
        for audit_id, created_at, ids in rows:
            ids = json.loads(ids) if isinstance(ids, str) else ids
            named = ids if isinstance(ids, list) else []
            for object_id in dict.fromkeys(i for i in named if isinstance(i, str) and len(i) <= 64):
                out.append({"tenant_id": tid, "id": audit_id, "created_at": created_at, "object_id": object_id})
        if out:
            bind.execute(_READS.insert(), out)
    if pg:
        op.execute("ANALYZE audit_pii_reads")  # the statistics, with the estimate above, at once


def downgrade() -> None:
    op.drop_table("audit_pii_reads")
