"""indexes of cases, case_events and audit_log that a new report no longer enters (issue #21, bench op 4)

A report (``reportCase``) inserts a case with no handler firm, no partner unit and no 12345 work-order
number, and its timeline entry with no idempotency key (the report's key is on the case). It entered all
twelve indexes of ``cases`` and all three of ``case_events``; four of those only to hold an entry no reader
ever looks up: the NULL firm, the NULL partner, the NULL ticket, the NULL key. Each is one more index
insertion per report (≈ 5–10 µs of PostgreSQL CPU), and for every report of a tenant (or of one actor) they
land on the same leaf page (NULL sorts last, equal keys in heap order), which concurrent reports take in
turn. Each is now partial: the same key, without the NULL entries. A report enters 9 + 2 (was 12 + 3); every
case step's timeline entry without a key (accept, dispatch, …) one fewer too. The same for the audit chain's
``seq`` below: every audited write's entry enters 4 of ``audit_log``'s indexes (was 5).

Readers (grep of resolvers/, compiled/, policies/, gongzhi/, and the foreign keys' checks), each strict in the
column, so each implies ``IS NOT NULL`` and can use the partial index as before (EXPLAIN at bench scale 1,
generic plans included; the plans' index asserted in tests/cases/test_report_indexes.py):

- ``ix_cases_tenant_firm (tenant_id, handler_firm_id) WHERE handler_firm_id IS NOT NULL``: a firm's cases
  ``handler_firm_id = $1`` (resolvers/cases/reads.py, compiled/case_filters.py), a firm actor's
  ``handler_firm_id IN (…)`` / ``= ANY($1)`` (policies/cases/filters.py, reads.py, case_filters.py), and the
  check of ``fk_cases_tenant_id_handler_firm_id_property_firms`` when a firm row is deleted or its key
  changes (``$2 = handler_firm_id … FOR KEY SHARE``).
- ``ix_cases_tenant_partner (tenant_id, handler_partner_id) WHERE handler_partner_id IS NOT NULL``: the same
  for partner units (a partner's own cases, reads.py, policies; ``fk_cases_tenant_id_partner_units``).
- ``uq_cases_tenant_external_ticket``: the unique constraint becomes a unique index of the same name
  ``WHERE external_ticket_no IS NOT NULL``. NULLs were never equal to each other in it, so it refuses exactly
  what it refused; readers ``external_ticket_no = $1`` (resolvers/cases/sources.py, reads.py) and ``IN (…)``
  (hotline_import.py). No ``ON CONFLICT`` names it, and no code reads the violation's constraint name.
- ``uq_case_events_tenant_id_actor_user_id_idempotency_key`` (0028): the same, ``WHERE idempotency_key IS NOT
  NULL``; readers the steps' retry lookups ``actor_user_id = $a AND idempotency_key = $k``
  (resolvers/cases/steps_fast.py and the general path's feedback). No ``ON CONFLICT`` names it.

- ``ux_audit_log_tenant_seq (tenant_id, seq) WHERE seq IS NOT NULL`` (0032): every audited write's row
  (a report's audit entry included) is inserted unsealed, ``seq`` NULL, and entered the chain's unique index
  with it; the sealing job's UPDATE that sets ``seq`` enters it as before (that update was never HOT: it sets
  ``hash``, in ``ix_audit_log_unsealed``'s predicate). Readers (resolvers/audit/chain.py): ``seq > $1 …
  ORDER BY seq LIMIT``, ``min(seq) … seq > $1``, ``seq <= $1 ORDER BY seq LIMIT 1`` — strict — and
  ``max(seq)``, which PostgreSQL plans as ``… WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1``. A NULL was
  never equal to another in it: it refuses what it refused.

Not changed: ``ix_cases_tenant_state (tenant_id, state)`` — a report enters it, but it has readers: at bench
scale 1 the retention job's ``state = 'closed'`` (resolvers/register/retention.py) and a count of one state
read it; a partial ``WHERE state <> 'reported'`` would serve literal states only, not a generic plan's
``state = $1``. The other indexes back a foreign key, a unique key, the open-case lists, a period's
statistics or the scope by area path.

Revision ID: 0050_report_indexes
Revises: 0049_pii_read_ids
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050_report_indexes"
down_revision: str | None = "0049_pii_read_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, name, columns, unique, the rows it keeps (models/cases.py and models/access.py say the same)
PARTIAL = (
    ("cases", "ix_cases_tenant_firm", ["tenant_id", "handler_firm_id"], False, "handler_firm_id IS NOT NULL"),
    ("cases", "ix_cases_tenant_partner", ["tenant_id", "handler_partner_id"], False, "handler_partner_id IS NOT NULL"),
    ("audit_log", "ux_audit_log_tenant_seq", ["tenant_id", "seq"], True, "seq IS NOT NULL"),
)
# unique constraints that become unique indexes of the same name: table, name, columns, the rows it keeps
UNIQUE = (
    ("cases", "uq_cases_tenant_external_ticket", ["tenant_id", "external_ticket_no"], "external_ticket_no IS NOT NULL"),
    ("case_events", "uq_case_events_tenant_id_actor_user_id_idempotency_key",
     ["tenant_id", "actor_user_id", "idempotency_key"], "idempotency_key IS NOT NULL"),
)


def upgrade() -> None:
    for table, name, columns, unique, where in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=unique, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))
    for table, name, columns, where in UNIQUE:
        if op.get_bind().dialect.name == "sqlite":
            with op.batch_alter_table(table) as batch_op:  # SQLite drops a table's constraint by rebuilding it
                batch_op.drop_constraint(name, type_="unique")
        else:
            op.drop_constraint(name, table, type_="unique")
        op.create_index(name, table, columns, unique=True, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))


def downgrade() -> None:
    for table, name, columns, _ in reversed(UNIQUE):
        op.drop_index(name, table_name=table)
        if op.get_bind().dialect.name == "sqlite":
            with op.batch_alter_table(table) as batch_op:
                batch_op.create_unique_constraint(name, columns)
        else:
            op.create_unique_constraint(name, table, columns)
    for table, name, columns, unique, _ in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=unique)
