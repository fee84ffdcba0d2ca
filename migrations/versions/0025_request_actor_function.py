"""the actor of a request in the request's first statement (issue #9, every request)

A request's first statement read the tenant and the user and set the transaction's tenant; a second
one read the user's active role assignments and own household, which needs that tenant set first
(row-level security). Every round trip costs the server more CPU than either query (a socket write
and read, the driver's message handling: ≈ 6 % of a node lookup each), so the second statement
becomes this function, called from the first: it sets ``app.tenant_id`` (and ``jit = off``, as the
first statement did) for the rest of the transaction and only then reads, so the policies apply to
its reads as to any statement after it. A transaction already bound to another tenant is refused,
never moved. It runs with the caller's rights (not SECURITY DEFINER):
it can read nothing the caller could not read after setting the tenant itself.

PostgreSQL only; SQLite has no row-level security and reads the actor with ORM statements
(policies/actor.py).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (assignments, own): the active role assignments with their scope areas, ordered by id, as a JSON
# array of [id, role, scope_area_id, path, name, kind, firm_id, valid_from, valid_until]; the user's
# own person as [person_id, household_id, building path, compound path]. policies/actor.py reads them.
FUNCTION = """
CREATE FUNCTION gongzhi_request_actor(p_tenant uuid, p_user uuid, p_now timestamptz,
                                      OUT assignments json, OUT own json)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $fn$
BEGIN
  -- It binds an unbound transaction or confirms a bound one; it never moves one to another tenant.
  IF coalesce(current_setting('app.tenant_id', true), '') NOT IN ('', p_tenant::text) THEN
    RAISE EXCEPTION 'gongzhi_request_actor: the transaction is bound to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- SET LOCAL, the form Citus sends to its workers (issue #27; this text was set_config until then).
  EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant::text);
  SET LOCAL jit = off;
  SELECT json_agg(json_build_array(ra.id, ra.role, ra.scope_area_id, a.path, a.name, a.kind, ra.firm_id,
                                   ra.valid_from, ra.valid_until) ORDER BY ra.id)
    INTO assignments
    FROM role_assignments ra
    JOIN areas a ON a.tenant_id = ra.tenant_id AND a.id = ra.scope_area_id
   WHERE ra.tenant_id = p_tenant AND ra.user_id = p_user AND ra.revoked_at IS NULL
     AND ra.valid_from <= p_now AND (ra.valid_until IS NULL OR ra.valid_until > p_now);
  SELECT json_build_array(m.person_id, p.household_id, b.path,
           (SELECT c.path FROM areas c
             WHERE c.tenant_id = b.tenant_id AND c.kind = 'compound' AND starts_with(b.path, c.path)
             LIMIT 1))
    INTO own
    FROM members m
    LEFT JOIN persons p ON p.tenant_id = m.tenant_id AND p.id = m.person_id
    LEFT JOIN households h ON h.tenant_id = p.tenant_id AND h.id = p.household_id
    LEFT JOIN areas b ON b.tenant_id = h.tenant_id AND b.id = h.building_id
   WHERE m.tenant_id = p_tenant AND m.user_id = p_user
   LIMIT 1;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    # PostGraphile (the benchmark's peer, bench/postgraphile) would publish it as a mutation.
    op.execute("COMMENT ON FUNCTION gongzhi_request_actor(uuid, uuid, timestamptz) IS "
               "'@omit\nThe actor of a request (gongzhi, issue #9); sets app.tenant_id.'")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION gongzhi_request_actor(uuid, uuid, timestamptz)")
