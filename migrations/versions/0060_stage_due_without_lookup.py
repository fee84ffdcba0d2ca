"""a case's first 受理 stage sets its due-time fact without reading case_stages (issue #21, op 4's two modes)

0056's trigger on ``case_stages`` read the case's first 受理 stage back (``ORDER BY seq LIMIT 1``) on every 受理
stage written — a report's included, though the report's own INSERT already sets ``rate_accept_due``
(resolvers/cases/report_fast.py). Its plan depends on the statistics: where they say ``case_stages`` is empty or
hold none of the tenant's rows (analyzed before the tenant's stages were written; autovacuum off or not yet
round), ``tenant_id = …`` is estimated at one row and the planner took the primary key's (tenant_id) prefix — a
bitmap scan of ALL the tenant's stage rows, dead ones too — over the (tenant_id, case_id, seq) key: 742 buffers
and 2–3 ms a report at 32,000 of the tenant's stage rows, growing with them (bench/RESULTS.md, eleventh session:
bench.compare's op 4 ran at 0.5 or 1.6 ms of PostgreSQL per report depending on when case_stages was last
analyzed).

A case's stages are numbered from 1 (resolvers/cases/stages.py), so an inserted stage numbered 1 is the case's
first: its own due time is the fact, with no statement. ``ck_case_stages_seq_from_one`` makes the numbering a
rule the trigger may rely on (added NOT VALID, then validated: no write is blocked while existing rows are
checked). Any other 受理 stage written or changed still reads the case's stages, as before. SQLite keeps 0056's
triggers (no planner statistics of this kind; its tables were built by these migrations with the same numbering).

Revision ID: 0060_stage_due_without_lookup
Revises: 0057_case_rate_facts_folded
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0060_stage_due_without_lookup"
down_revision: str | None = "0057_case_rate_facts_folded"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_case_stages_seq_from_one"
_NEW_CASE = "WHERE tenant_id = NEW.tenant_id AND id = NEW.case_id"
# Frozen copy of 0056's accept_due for the case of NEW.
_LOOKUP = ("(SELECT s.due_at FROM case_stages s WHERE s.tenant_id = NEW.tenant_id AND s.case_id = NEW.case_id"
           " AND s.stage = 'accept' ORDER BY s.seq LIMIT 1)")

PG_FUNCTION = f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_stage() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  due timestamptz;
BEGIN
  IF TG_OP = 'INSERT' AND NEW.seq = 1 THEN
    due := NEW.due_at;  -- the case's first stage ({CHECK}): no other 受理 stage comes before it
  ELSE
    due := {_LOOKUP};
  END IF;
  UPDATE cases SET rate_accept_due = due {_NEW_CASE} AND rate_accept_due IS DISTINCT FROM due;
  RETURN NULL;
END $fn$"""

# 0056's function, restored by the downgrade (the same text as 0056's PG_FUNCTIONS[1])
PG_FUNCTION_0056 = f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_stage() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  due timestamptz := {_LOOKUP};
BEGIN
  UPDATE cases SET rate_accept_due = due {_NEW_CASE} AND rate_accept_due IS DISTINCT FROM due;
  RETURN NULL;
END $fn$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE case_stages ADD CONSTRAINT {CHECK} CHECK (seq >= 1) NOT VALID")
    op.execute(f"ALTER TABLE case_stages VALIDATE CONSTRAINT {CHECK}")
    op.execute(PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_FUNCTION_0056)
    op.execute(f"ALTER TABLE case_stages DROP CONSTRAINT IF EXISTS {CHECK}")
