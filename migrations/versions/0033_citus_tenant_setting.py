"""gongzhi_request_actor: the tenant set with SET LOCAL, every read bound to the parameter's tenant (issue #27)

On a Citus cluster a ``set_config`` call on ``app.tenant_id`` never reaches the workers (only ``SET
LOCAL`` is propagated, with ``citus.propagate_set_commands = 'local'``): the policies on the shards saw
no tenant and every request read empty lists. The function now sets the tenant with ``SET LOCAL``
(``EXECUTE format(… %L …)``: SET takes no parameters; ``p_tenant`` is a uuid, so its text is safe).
Every table it reads carries ``tenant_id = p_tenant`` — the own-household read's compound lookup joined
on ``b.tenant_id`` before, which Citus could not route: it went to every shard on every request. With
the parameter each statement is a router query on the tenant's one shard. Same results on plain
PostgreSQL. Migration 0025 now creates the SET LOCAL form too (fresh databases); this revision
replaces the function of databases already past 0025.

Revision ID: 0033_citus_tenant_setting
Revises: 0032
Create Date: 2026-12-05
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0033_citus_tenant_setting"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION gongzhi_request_actor(p_tenant uuid, p_user uuid, p_now timestamptz,
                                                 OUT assignments json, OUT own json)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $fn$
BEGIN
  -- It binds an unbound transaction or confirms a bound one; it never moves one to another tenant.
  IF coalesce(current_setting('app.tenant_id', true), '') NOT IN ('', p_tenant::text) THEN
    RAISE EXCEPTION 'gongzhi_request_actor: the transaction is bound to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- SET LOCAL (not set_config): the form Citus propagates to the workers' transactions.
  EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant::text);
  SET LOCAL jit = off;
  SELECT json_agg(json_build_array(ra.id, ra.role, ra.scope_area_id, a.path, a.name, a.kind, ra.firm_id,
                                   ra.valid_from, ra.valid_until) ORDER BY ra.id)
    INTO assignments
    FROM role_assignments ra
    JOIN areas a ON a.tenant_id = p_tenant AND a.id = ra.scope_area_id
   WHERE ra.tenant_id = p_tenant AND ra.user_id = p_user AND ra.revoked_at IS NULL
     AND ra.valid_from <= p_now AND (ra.valid_until IS NULL OR ra.valid_until > p_now);
  SELECT json_build_array(m.person_id, p.household_id, b.path,
           (SELECT c.path FROM areas c
             WHERE c.tenant_id = p_tenant AND c.kind = 'compound' AND starts_with(b.path, c.path)
             LIMIT 1))
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


def _revision_0025() -> str:
    path = Path(__file__).with_name("0025_request_actor_function.py")
    spec = importlib.util.spec_from_file_location("gongzhi_migration_0025", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_revision_0025())
