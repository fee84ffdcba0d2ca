"""audit log: a hash chain per tenant, its head and purge checkpoints (issue #24)

Each ``audit_log`` row gets ``seq``, ``prev_hash`` and ``hash`` from the sealing job (requests insert
rows as before, without them). What the database enforces, on PostgreSQL for the app role:

- INSERT of unsealed rows only (a trigger: only the owner, importing a tenant, inserts sealed ones);
- UPDATE only of ``seq``, ``prev_hash``, ``hash`` — and a trigger (for every role, the owner too)
  refuses an UPDATE of a row whose ``hash`` is set, one that leaves the seal columns empty or that
  changes a content column: a row is sealed once, and never changed after;
- no DELETE (as since 0001): archived rows are purged by the owner (``gongzhi audit purge``).

``audit_chain_heads`` (one row per tenant, the last sealed seq and hash; the app role reads, inserts
and updates it, a trigger refuses moving it back) and ``audit_checkpoints`` (where the chain starts
again after a purge; the app role only reads it) are tenant tables with forced row-level security.

SQLite gets the same two triggers (no roles there). Existing rows are sealed by the first run of the
job, oldest first.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# The columns a request writes (every column but the seal's), frozen for this revision: sealing
# may not change them.
CONTENT = ("tenant_id", "id", "created_at", "user_id", "roles", "action", "object_type", "object_ids", "detail",
           "request_id", "client_addr", "area_path")
SEAL = ("seq", "prev_hash", "hash")


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _pg_changed(columns: Sequence[str]) -> str:
    """True when an UPDATE changes one of these columns (json compared as text)."""
    def side(prefix: str) -> str:
        return ", ".join(f"{prefix}.{c}::text" if c in ("object_ids", "detail") else f"{prefix}.{c}" for c in columns)
    return f"ROW({side('NEW')}) IS DISTINCT FROM ROW({side('OLD')})"


PG_TRIGGERS = (
    f"""CREATE FUNCTION gongzhi_audit_log_seal_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.hash IS NOT NULL THEN
    RAISE EXCEPTION 'audit_log row % is sealed: it cannot be changed', OLD.id USING ERRCODE = '42501';
  END IF;
  IF NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL OR {_pg_changed(CONTENT)} THEN
    RAISE EXCEPTION 'audit_log row %: only sealing (seq, prev_hash, hash) may update it', OLD.id
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER audit_log_seal_once BEFORE UPDATE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION gongzhi_audit_log_seal_once()",
    # Only the owner (tenant import) inserts rows sealed already. The WHEN clause keeps the function out
    # of every request's INSERT (the ORM names every column, so a column grant cannot say it).
    """CREATE FUNCTION gongzhi_audit_log_insert_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION 'audit_log rows are inserted unsealed (seq, prev_hash, hash empty)' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER audit_log_insert_unsealed BEFORE INSERT ON audit_log FOR EACH ROW"
    " WHEN (NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL)"
    " EXECUTE FUNCTION gongzhi_audit_log_insert_unsealed()",
    """CREATE FUNCTION gongzhi_audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq < OLD.seq OR NEW.tenant_id <> OLD.tenant_id OR NEW.id <> OLD.id THEN
    RAISE EXCEPTION 'audit chain head of tenant % moves forward only', OLD.tenant_id USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER audit_chain_heads_forward BEFORE UPDATE ON audit_chain_heads"
    " FOR EACH ROW EXECUTE FUNCTION gongzhi_audit_chain_head_forward()",
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_seal_once BEFORE UPDATE ON audit_log WHEN OLD.hash IS NOT NULL"
    " OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)
    + " BEGIN SELECT RAISE(ABORT, 'audit_log row is sealed: only sealing may update it, once'); END",
    "CREATE TRIGGER audit_chain_heads_forward BEFORE UPDATE ON audit_chain_heads"
    " WHEN NEW.seq < OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id OR NEW.id IS NOT OLD.id"
    " BEGIN SELECT RAISE(ABORT, 'the audit chain head moves forward only'); END",
)


def _tenant_table(name: str, *columns: sa.Column, unique: Sequence[str]) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        *columns,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{'_'.join(unique)}")),
    )


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index("ux_audit_log_tenant_seq", "audit_log", ["tenant_id", "seq"], unique=True)
    op.create_index("ix_audit_log_unsealed", "audit_log", ["tenant_id", "created_at", "id"],
                    postgresql_where=sa.text("hash IS NULL"), sqlite_where=sa.text("hash IS NULL"))
    _tenant_table("audit_chain_heads",
                  sa.Column("seq", sa.BigInteger(), nullable=False),
                  sa.Column("hash", sa.String(length=64), nullable=False),
                  sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
                  unique=("tenant_id",))
    _tenant_table("audit_checkpoints",
                  sa.Column("seq", sa.BigInteger(), nullable=False),
                  sa.Column("hash", sa.String(length=64), nullable=False),
                  sa.Column("first_seq", sa.BigInteger(), nullable=False),
                  sa.Column("row_count", sa.Integer(), nullable=False),
                  sa.Column("purged_before", sa.DateTime(timezone=True), nullable=False),
                  sa.Column("archive_sha256", sa.String(length=64), nullable=False),
                  sa.Column("archive_name", sa.String(length=200), nullable=False),
                  unique=("tenant_id", "seq"))
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        return
    for table in ("audit_chain_heads", "audit_checkpoints"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    for statement in PG_TRIGGERS:
        op.execute(statement)
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role};
            GRANT UPDATE ({', '.join(SEAL)}) ON audit_log TO {role};
            GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO {role};
            GRANT SELECT ON audit_checkpoints TO {role};
          END IF;
        END $$;
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                REVOKE UPDATE ON audit_log FROM {role};
              END IF;
            END $$;
        """)
        for trigger, function in (("audit_log_seal_once", "gongzhi_audit_log_seal_once"),
                                  ("audit_log_insert_unsealed", "gongzhi_audit_log_insert_unsealed")):
            op.execute(f"DROP TRIGGER {trigger} ON audit_log")
            op.execute(f"DROP FUNCTION {function}()")
    else:
        op.execute("DROP TRIGGER audit_log_seal_once")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_heads")  # its trigger goes with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION gongzhi_audit_chain_head_forward()")
    op.drop_index("ix_audit_log_unsealed", table_name="audit_log")
    op.drop_index("ux_audit_log_tenant_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
