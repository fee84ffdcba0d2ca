"""a version of what each tenant's actors are read from; the first statement reads them only when it moved (issue #21)

Every request's first statement called ``gongzhi_request_actor``: two queries under row-level security (the
user's role assignments with their scope areas; the user's own person, household, building and compound) —
≈ 110 µs of PostgreSQL's CPU on a quiet machine, 15 % of a report's and about a fifth of a node lookup's
(bench/RESULTS.md, h-op4), to find, request after request, the same rows.

- ``tenants.actor_version``: set to the writing transaction's id, in that transaction, by every change of a row
  those two queries read — a role assignment or a membership written or deleted; a person's household, a
  household's building, an area's path, name or kind changed; an area, a person or a household deleted; an area
  added (row triggers below, deferred to the commit; one bump per tenant and transaction:
  ``gongzhi.actor_changed`` remembers the tenant bumped last). Whatever writes them — a resolver, the onboarding
  import, an operator's SQL — the version moves: no code path can forget it.
- ``gongzhi_request_actor_unless_kept(tenant, user, now, kept)``: ``gongzhi_request_actor`` with one more
  argument. It binds the tenant as before; when ``kept`` is true (the first statement passes
  ``t.id = <kept tenant> AND t.actor_version = <kept version>``) it reads nothing more and says so (``kept``);
  else it reads the actor as before and also the interval of ``now`` over which the user's assignments
  held stay the same (``held_from`` ≤ now < ``held_until``: the nearest start or end of any of the user's
  unrevoked assignments either side of now), so a process keeps the actor per (tenant, user) with the
  version and that interval, and an assignment that starts or ends reads the actor again.

A revocation, a deactivated membership, a moved household take effect on the next request, as before: that
request's first statement reads the bumped version in the same snapshot as the tenant and the user, so it
reads the actor afresh (a change committed after that snapshot was not seen before either). The version is
read from the statement's snapshot and the actor later (the function's own snapshots), so a kept actor is
never older than its version. Deactivated users and suspended tenants are still refused from the rows the
statement reads every time.

On Citus the triggers would run on the workers' shards and write the reference table ``tenants`` from there;
they do nothing when the ``citus`` extension is present, and the app never keeps the actor there
(tenants.rls.on_citus): every request reads it, as before. SQLite has no function: the app reads the actor
with ORM statements there, as before.

Revision ID: 0055_actor_version
Revises: 0054_audit_request
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0055_actor_version"
down_revision: str | None = "0054_audit_request"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (assignments, own) exactly as gongzhi_request_actor (0048) gives them; the assignments' JSON only of those held
# at p_now (the FILTER), the interval over every unrevoked one of the user's.
FUNCTION = """
CREATE OR REPLACE FUNCTION gongzhi_request_actor_unless_kept(
    p_tenant uuid, p_user uuid, p_now timestamptz, p_kept boolean,
    OUT kept boolean, OUT assignments json, OUT own json, OUT held_from timestamptz, OUT held_until timestamptz)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $fn$
BEGIN
  -- It binds an unbound transaction or confirms a bound one; it never moves one to another tenant.
  IF coalesce(current_setting('app.tenant_id', true), '') NOT IN ('', p_tenant::text) THEN
    RAISE EXCEPTION 'gongzhi_request_actor_unless_kept: the transaction is bound to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- SET LOCAL (not set_config): the form Citus propagates to the workers' transactions.
  EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant::text);
  SET LOCAL jit = off;
  kept := coalesce(p_kept, false);
  IF kept THEN
    RETURN;
  END IF;
  SELECT json_agg(json_build_array(ra.id, ra.role, ra.scope_area_id, a.path, a.name, a.kind, ra.firm_id,
                                   ra.valid_from, ra.valid_until) ORDER BY ra.id)
           FILTER (WHERE ra.valid_from <= p_now AND (ra.valid_until IS NULL OR ra.valid_until > p_now)),
         max(greatest(CASE WHEN ra.valid_from <= p_now THEN ra.valid_from END,
                      CASE WHEN ra.valid_until <= p_now THEN ra.valid_until END)),
         min(least(CASE WHEN ra.valid_from > p_now THEN ra.valid_from END,
                   CASE WHEN ra.valid_until > p_now THEN ra.valid_until END))
    INTO assignments, held_from, held_until
    FROM role_assignments ra
    JOIN areas a ON a.tenant_id = p_tenant AND a.id = ra.scope_area_id
   WHERE ra.tenant_id = p_tenant AND ra.user_id = p_user AND ra.revoked_at IS NULL;
  SELECT json_build_array(m.person_id, p.household_id, b.path,
           CASE WHEN b.path IS NOT NULL THEN
           (SELECT c.path FROM areas c
             WHERE c.tenant_id = p_tenant AND c.kind = 'compound'
               AND c.path = ANY (ARRAY(SELECT array_to_string(s.parts[1:n], '/') || '/'
                                         FROM (SELECT string_to_array(b.path, '/') AS parts) s,
                                              generate_series(2, cardinality(s.parts) - 1) n))
             LIMIT 1) END)
    INTO own
    FROM members m
    LEFT JOIN persons p ON p.tenant_id = p_tenant AND p.id = m.person_id
    LEFT JOIN households h ON h.tenant_id = p_tenant AND h.id = p.household_id
    LEFT JOIN areas b ON b.tenant_id = p_tenant AND b.id = h.building_id
   WHERE m.tenant_id = p_tenant AND m.user_id = p_user
   LIMIT 1;
END
$fn$
"""

# The new version is the bumping transaction's id (txid_current(): 64 bits, never reused in the cluster), not the old
# one + 1: a version names one committed change, so two databases of one cluster that share a tenant's history up
# to a point (a copy made with CREATE DATABASE … TEMPLATE, a test world restored) and then change it apart never
# show one version for two different sets of rows to a process that reads both — a counter would (both at 2).
# One bump per tenant and transaction: the setting (transaction-local, undone with a rolled-back savepoint as the
# bump is) remembers the tenant bumped last; a second bump would write the same value. A row of a tenant being
# deleted bumps nothing: its tenants row is gone from the statement's view (0 rows updated).
CHANGED = """
CREATE OR REPLACE FUNCTION gongzhi_actor_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  t uuid;
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    IF TG_OP = 'DELETE' THEN
      t := OLD.tenant_id;
    ELSE
      t := NEW.tenant_id;
    END IF;
    IF current_setting('gongzhi.actor_changed', true) IS NOT DISTINCT FROM t::text THEN
      RETURN NULL;  -- bumped already in this transaction (a bulk import's rows: one bump)
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
    RETURN NULL;  -- on a worker's shard; the app reads the actor per request on Citus
  END IF;
  IF TG_LEVEL = 'STATEMENT' THEN  -- TRUNCATE: every tenant
    UPDATE tenants SET actor_version = txid_current();
    RETURN NULL;
  END IF;
  UPDATE tenants SET actor_version = txid_current() WHERE id = t;
  PERFORM set_config('gongzhi.actor_changed', t::text, true);
  RETURN NULL;
END
$fn$
"""

# table → (the row events that bump, the UPDATE's WHEN or None for every update)
TRIGGERS: dict[str, tuple[str, str | None]] = {
    "role_assignments": ("INSERT OR DELETE", None),
    "members": ("INSERT OR DELETE", None),
    "persons": ("DELETE", "OLD.household_id IS DISTINCT FROM NEW.household_id"),
    "households": ("DELETE", "OLD.building_id IS DISTINCT FROM NEW.building_id"),
    "areas": ("INSERT OR DELETE", "(OLD.path, OLD.name, OLD.kind) IS DISTINCT FROM (NEW.path, NEW.name, NEW.kind)"),
}


# The row triggers are constraint triggers, deferred to the commit: the tenants row is locked (FOR NO KEY UPDATE) only
# while the transaction commits, after every other lock it takes. Bumped at the first change instead, a long
# transaction (an onboarding import) would hold it to its end — every other transaction of the tenant that changes
# one of these rows (a role granted, an area renamed), and any update of the tenant's row (a policy edit), waiting on
# it until their lock_timeout — and two such transactions could deadlock on it (each holding a row the other
# changes next). The rows and the bump still commit together.
DEFERRED = "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"


def _statements() -> list[str]:
    out = []
    for table, (events, when) in TRIGGERS.items():
        out.append(f"CREATE CONSTRAINT TRIGGER {table}_actor_changed AFTER {events} ON {table} "
                   f"{DEFERRED} EXECUTE FUNCTION gongzhi_actor_changed()")
        condition = f" WHEN ({when})" if when else ""
        out.append(f"CREATE CONSTRAINT TRIGGER {table}_actor_updated AFTER UPDATE ON {table} "
                   f"{DEFERRED}{condition} EXECUTE FUNCTION gongzhi_actor_changed()")
        out.append(f"CREATE TRIGGER {table}_actor_truncated AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION gongzhi_actor_changed()")
    return out


def upgrade() -> None:
    op.add_column("tenants", sa.Column("actor_version", sa.BigInteger(), nullable=False, server_default="1"))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(CHANGED)
    for statement in _statements():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGGERS:
            for suffix in ("changed", "updated", "truncated"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_actor_{suffix} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS gongzhi_actor_changed()")
        op.execute("DROP FUNCTION IF EXISTS gongzhi_request_actor_unless_kept(uuid, uuid, timestamptz, boolean)")
    op.drop_column("tenants", "actor_version")
