"""each case's rate facts on its row, kept by triggers on its timeline and stages (issue #21, caseRates)

``caseRates`` and ``handlingUnitRanking`` (resolvers/cases/rates.py) counted every case of their period with its
first 受理 stage's due time (an index probe into ``case_stages`` per case) and its timeline steps (a probe into
``case_events`` per case, then window functions): ≈ 50 ms of PostgreSQL per request at 3,600 cases in a month
(bench/RESULTS.md, h-rates tenth session), growing with the cases. What the rates read of the stages and the
steps is now on the case's row, so the period's cases are one range scan of ``cases``:

- ``rate_accept_due``: the due time of the case's first (by seq) 受理 stage (NULL: none, or none set);
- ``rate_responded_at``: the time of its first (by seq) response step (accept or reject);
- ``rate_returned``: a 退单 step (return); ``rate_reworked``: a reopening or 重办 (reopen, rework, or a step
  into ``reopened``);
- ``rate_closes``: how many steps into ``closed`` from another state it has; ``rate_closed_at``: the first
  one's time; ``rate_called_back``: a 回访 (callback) at or after that first closure, in time and in the
  timeline. A case closed more than once has its closure in the period counted from its steps (rare: a
  reopened case closed again), by the statement itself.

Whatever writes the steps or the stages — a resolver, a step on the driver (steps_fast), the general path's
ORM, a job, the 12345 import, a tenant's import, an operator's SQL — the triggers below set the facts from the
case's rows in the same statement (AFTER ROW, so they see every row the statement wrote): no code path can
forget them. They are recomputed from all the case's steps or stages (not incremented), and on PostgreSQL only
written when they change (a step that changes none rewrites no row). Timeline steps are never updated except
their note and never deleted but with their case (the app role may only insert and read them, 0002, 0043); a
stage's stage, seq or due time changed recomputes the due time.

The columns are not mapped on ``models.Case``: the steps' guards (resolvers/cases/kept_cases.py) compare every
mapped column with what the process kept, and these change behind the ORM's back. ``models.cases`` names them
for the readers (``RATE_FACTS``). SQLite gets the same triggers. The existing cases are filled from their rows
(``FILL``, the same expressions as the triggers').

Revision ID: 0056_case_rate_facts
Revises: 0055_actor_version
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import each_tenant

revision: str = "0056_case_rate_facts"
down_revision: str | None = "0055_actor_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of resolvers/cases/rates.py's action lists for this revision.
RESPONSE = "('accept', 'reject')"
REWORK = "('reopen', 'rework')"
# the steps that change a fact: a response, a return, a rework, a callback, a step into reopened or closed
RELEVANT = ("NEW.action IN ('accept', 'reject', 'return', 'reopen', 'rework', 'callback')"
            " OR NEW.to_state IN ('reopened', 'closed')")
STEP_FACTS = ("rate_responded_at", "rate_returned", "rate_reworked", "rate_closes", "rate_closed_at",
              "rate_called_back")


def _closure(e: str) -> str:
    return f"{e}.to_state = 'closed' AND ({e}.from_state IS NULL OR {e}.from_state <> 'closed')"


def step_facts(t: str, c: str) -> list[str]:
    """The expressions of ``STEP_FACTS`` for the case ``c`` of tenant ``t`` (SQL expressions), on both backends."""
    of = f"e.tenant_id = {t} AND e.case_id = {c}"
    first_close = f"SELECT {{}} FROM case_events x WHERE x.tenant_id = {t} AND x.case_id = {c} AND {_closure('x')}"
    return [
        f"(SELECT e.created_at FROM case_events e WHERE {of} AND e.action IN {RESPONSE} ORDER BY e.seq LIMIT 1)",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND e.action = 'return')",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND (e.action IN {REWORK} OR e.to_state = 'reopened'))",
        f"(SELECT count(*) FROM case_events e WHERE {of} AND {_closure('e')})",
        f"({first_close.format('x.created_at')} ORDER BY x.seq LIMIT 1)",
        f"EXISTS (SELECT 1 FROM case_events e WHERE {of} AND e.action = 'callback'"
        f" AND e.seq >= ({first_close.format('min(x.seq)')})"
        f" AND e.created_at >= ({first_close.format('x.created_at')} ORDER BY x.seq LIMIT 1))",
    ]


def accept_due(t: str, c: str) -> str:
    return (f"(SELECT s.due_at FROM case_stages s WHERE s.tenant_id = {t} AND s.case_id = {c} AND s.stage = 'accept'"
            " ORDER BY s.seq LIMIT 1)")


def _set(facts: Sequence[str], values: Sequence[str]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in zip(facts, values, strict=True))


# A tenant's cases' facts from their rows (the upgrade, tenant by tenant under row-level security, as the owner;
# tests/cases/test_case_rate_facts.py runs it on cases whose facts were wiped).
FILL = sa.text(f"UPDATE cases SET {_set(STEP_FACTS, step_facts(':tenant', 'cases.id'))}, "
               f"rate_accept_due = {accept_due(':tenant', 'cases.id')} WHERE cases.tenant_id = :tenant"
               ).bindparams(sa.bindparam("tenant", type_=sa.Uuid()))


def fill(bind: sa.Connection) -> None:
    for tid in each_tenant(bind):  # SET LOCAL app.tenant_id per tenant (issue #27)
        bind.execute(FILL, {"tenant": tid})

_NEW_CASE = "WHERE tenant_id = NEW.tenant_id AND id = NEW.case_id"
PG_FUNCTIONS = (
    f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_steps() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  f record;
BEGIN
  SELECT {', '.join(f'{v} AS {k}' for k, v in zip(STEP_FACTS, step_facts('NEW.tenant_id', 'NEW.case_id'),
                                                  strict=True))} INTO f;
  UPDATE cases SET {_set(STEP_FACTS, [f'f.{k}' for k in STEP_FACTS])} {_NEW_CASE}
     AND ({', '.join(STEP_FACTS)}) IS DISTINCT FROM ({', '.join(f'f.{k}' for k in STEP_FACTS)});
  RETURN NULL;
END $fn$""",
    f"""CREATE OR REPLACE FUNCTION gongzhi_case_rate_stage() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  due timestamptz := {accept_due('NEW.tenant_id', 'NEW.case_id')};
BEGIN
  UPDATE cases SET rate_accept_due = due {_NEW_CASE} AND rate_accept_due IS DISTINCT FROM due;
  RETURN NULL;
END $fn$""",
)
PG_TRIGGERS = (
    f"CREATE TRIGGER case_events_rate_facts AFTER INSERT ON case_events FOR EACH ROW WHEN ({RELEVANT})"
    " EXECUTE FUNCTION gongzhi_case_rate_steps()",
    "CREATE TRIGGER case_stages_rate_facts AFTER INSERT ON case_stages FOR EACH ROW WHEN (NEW.stage = 'accept')"
    " EXECUTE FUNCTION gongzhi_case_rate_stage()",
    "CREATE TRIGGER case_stages_rate_facts_updated AFTER UPDATE OF stage, seq, due_at ON case_stages FOR EACH ROW"
    " WHEN (NEW.stage = 'accept' OR OLD.stage = 'accept') EXECUTE FUNCTION gongzhi_case_rate_stage()",
)
_STAGE_SET = f"UPDATE cases SET rate_accept_due = {accept_due('NEW.tenant_id', 'NEW.case_id')} {_NEW_CASE};"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER case_events_rate_facts AFTER INSERT ON case_events WHEN {RELEVANT} BEGIN"
    f" UPDATE cases SET {_set(STEP_FACTS, step_facts('NEW.tenant_id', 'NEW.case_id'))} {_NEW_CASE}; END",
    f"CREATE TRIGGER case_stages_rate_facts AFTER INSERT ON case_stages WHEN NEW.stage = 'accept' BEGIN"
    f" {_STAGE_SET} END",
    "CREATE TRIGGER case_stages_rate_facts_updated AFTER UPDATE OF stage, seq, due_at ON case_stages"
    f" WHEN NEW.stage = 'accept' OR OLD.stage = 'accept' BEGIN {_STAGE_SET} END",
)
TRIGGERS = (("case_events_rate_facts", "case_events"), ("case_stages_rate_facts", "case_stages"),
            ("case_stages_rate_facts_updated", "case_stages"))


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    for column in (sa.Column("rate_accept_due", ts, nullable=True),
                   sa.Column("rate_responded_at", ts, nullable=True),
                   sa.Column("rate_returned", sa.Boolean(), nullable=False, server_default=sa.false()),
                   sa.Column("rate_reworked", sa.Boolean(), nullable=False, server_default=sa.false()),
                   sa.Column("rate_closes", sa.Integer(), nullable=False, server_default="0"),
                   sa.Column("rate_closed_at", ts, nullable=True),
                   sa.Column("rate_called_back", sa.Boolean(), nullable=False, server_default=sa.false())):
        op.add_column("cases", column)
    fill(op.get_bind())
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        return
    for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger, table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS gongzhi_case_rate_steps()")
        op.execute("DROP FUNCTION IF EXISTS gongzhi_case_rate_stage()")
    for column in ("rate_called_back", "rate_closed_at", "rate_closes", "rate_reworked", "rate_returned",
                   "rate_responded_at", "rate_accept_due"):
        op.drop_column("cases", column)  # SQLite ≥ 3.35 drops a column in place (no index or trigger reads them now)
