"""the rate facts folded in step by step, and by the step's own UPDATE on the hot path (issue #21)

Migration 0056's trigger on ``case_events`` recomputed all seven facts from the case's rows (six subqueries) on
every relevant step and, when a fact changed, wrote the case's row a second time after the step's own UPDATE:
≈ +0.17 ms of PostgreSQL on each of acceptCase and giveCaseFeedback (bench/RESULTS.md, h-rates tenth session).

Now the case's row also holds ``rate_seq``: the ``seq`` of a step whose facts are on the row (the last one folded
in). The trigger, for a step that is the case's latest (no step of a higher ``seq``: the normal case), folds the
step into the row's facts (``fold``: a response sets the first response's time if there was none, a closure
counts one more and sets the first closure's time if there was none, …) in ONE conditional UPDATE that writes
nothing when the row already says so — in particular when the step's own UPDATE folded it in already
(``rate_seq = NEW.seq``: resolvers/cases/steps_fast.py sets the facts and ``rate_seq`` beside the state, with
``resolvers.cases.rate_fold``, the same rule). A step out of order (an import, a statement of several steps: a
step of higher ``seq`` exists) recomputes everything from the rows as 0056 did, and sets ``rate_seq`` to the
highest ``seq`` it read. ``seq`` is unique per case, and ``rate_seq`` only ever names a step whose facts are on
the row; the facts on the row are those of every step before the latest (the triggers saw each), so the fold of
the latest equals the recompute (tests/cases/test_case_rate_fold.py compares them, step by step).

The fold is relative to the row (``rate_closes = rate_closes + 1``): two writers of one case's steps at once
serialise on its row lock and each adds its own. Only rows of the step's tenant are read, and the case is updated
by (tenant_id, id). SQLite keeps 0056's triggers (a full recompute per step; no step runs on the driver there):
``rate_seq`` is PostgreSQL's only. The stage triggers are unchanged.

Revision ID: 0057_case_rate_facts_folded
Revises: 0062_audit_detail_lz4
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import each_tenant

revision: str = "0057_case_rate_facts_folded"
down_revision: str | None = "0062_audit_detail_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of 0056's rule for this revision (its action lists, its expressions).
STEP_FACTS = ("rate_responded_at", "rate_returned", "rate_reworked", "rate_closes", "rate_closed_at",
              "rate_called_back")
RESPONSE = "('accept', 'reject')"
REWORK = "('reopen', 'rework')"


def step_facts(t: str, c: str) -> list[str]:
    """0056's expressions of ``STEP_FACTS`` for the case ``c`` of tenant ``t`` (a frozen copy)."""
    of = f"e.tenant_id = {t} AND e.case_id = {c}"
    closure = "{0}.to_state = 'closed' AND ({0}.from_state IS NULL OR {0}.from_state <> 'closed')"
    first_close = (f"SELECT {{}} FROM case_events x WHERE x.tenant_id = {t} AND x.case_id = {c} AND "
                   f"{closure.format('x')}")
    return [
        f"(SELECT e.created_at FROM case_events e WHERE {of} AND e.action IN {RESPONSE} ORDER BY e.seq LIMIT 1)",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND e.action = 'return')",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND (e.action IN {REWORK} OR e.to_state = 'reopened'))",
        f"(SELECT count(*) FROM case_events e WHERE {of} AND {closure.format('e')})",
        f"({first_close.format('x.created_at')} ORDER BY x.seq LIMIT 1)",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND e.action = 'callback'"
        f" AND e.seq >= ({first_close.format('min(x.seq)')})"
        f" AND e.created_at >= ({first_close.format('x.created_at')} ORDER BY x.seq LIMIT 1))",
    ]


def fold(action: str, from_state: str, to_state: str, at: str) -> list[str]:
    """The facts of ``STEP_FACTS`` after the case's latest step (its action, states and time as SQL expressions),
    from the row's facts before it (the columns): a frozen copy of ``resolvers.cases.rate_fold.fold_sql``."""
    closure = f"({to_state} IS NOT DISTINCT FROM 'closed' AND {from_state} IS DISTINCT FROM 'closed')"
    closed_at = f"CASE WHEN {closure} THEN coalesce(rate_closed_at, {at}) ELSE rate_closed_at END"
    return [
        f"CASE WHEN {action} IN {RESPONSE} THEN coalesce(rate_responded_at, {at}) ELSE rate_responded_at END",
        f"(rate_returned OR {action} = 'return')",
        f"(rate_reworked OR {action} IN {REWORK} OR {to_state} IS NOT DISTINCT FROM 'reopened')",
        f"CASE WHEN {closure} THEN rate_closes + 1 ELSE rate_closes END",
        closed_at,
        f"(rate_called_back OR ({action} = 'callback' AND coalesce(({closed_at}) <= {at}, false)))",
    ]


def _set(facts: Sequence[str], values: Sequence[str]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in zip(facts, values, strict=True))


_NEW_CASE = "WHERE tenant_id = NEW.tenant_id AND id = NEW.case_id"
_ROW = f"({', '.join(STEP_FACTS)})"
_FOLDED = fold("NEW.action", "NEW.from_state", "NEW.to_state", "NEW.created_at")
_LAST_SEQ = "(SELECT max(e.seq) FROM case_events e WHERE e.tenant_id = NEW.tenant_id AND e.case_id = NEW.case_id)"
PG_FUNCTION = f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_steps() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  f record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM case_events e WHERE e.tenant_id = NEW.tenant_id AND e.case_id = NEW.case_id
                 AND e.seq > NEW.seq) THEN
    -- the case's latest step: folded into the row's facts, unless it is already (rate_seq) or changes none
    UPDATE cases SET {_set(STEP_FACTS, _FOLDED)}, rate_seq = NEW.seq {_NEW_CASE}
       AND rate_seq IS DISTINCT FROM NEW.seq AND {_ROW} IS DISTINCT FROM ({', '.join(_FOLDED)});
    RETURN NULL;
  END IF;
  -- a step out of order: everything from the case's rows (0056)
  SELECT {', '.join(f'{v} AS {k}' for k, v in zip(STEP_FACTS, step_facts('NEW.tenant_id', 'NEW.case_id'),
                                                  strict=True))} INTO f;
  UPDATE cases SET {_set(STEP_FACTS, [f'f.{k}' for k in STEP_FACTS])}, rate_seq = {_LAST_SEQ} {_NEW_CASE}
     AND {_ROW} IS DISTINCT FROM ({', '.join(f'f.{k}' for k in STEP_FACTS)});
  RETURN NULL;
END $fn$"""

# 0056's function, restored by the downgrade (the same text as 0056's PG_FUNCTIONS[0])
PG_FUNCTION_0056 = f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_steps() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  f record;
BEGIN
  SELECT {', '.join(f'{v} AS {k}' for k, v in zip(STEP_FACTS, step_facts('NEW.tenant_id', 'NEW.case_id'),
                                                  strict=True))} INTO f;
  UPDATE cases SET {_set(STEP_FACTS, [f'f.{k}' for k in STEP_FACTS])} {_NEW_CASE}
     AND {_ROW} IS DISTINCT FROM ({', '.join(f'f.{k}' for k in STEP_FACTS)});
  RETURN NULL;
END $fn$"""

# Every case's rate_seq: the highest seq of its steps (the facts on its row are all its steps', 0056's fill and
# triggers), tenant by tenant under row-level security.
FILL = sa.text("UPDATE cases SET rate_seq = (SELECT max(e.seq) FROM case_events e WHERE e.tenant_id = :tenant"
               " AND e.case_id = cases.id) WHERE cases.tenant_id = :tenant"
               ).bindparams(sa.bindparam("tenant", type_=sa.Uuid()))


def fill(bind: sa.Connection) -> None:
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        bind.execute(FILL, {"tenant": tid})


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.add_column("cases", sa.Column("rate_seq", sa.Integer(), nullable=True))
    fill(bind)
    op.execute(PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_FUNCTION_0056)
    op.drop_column("cases", "rate_seq")
