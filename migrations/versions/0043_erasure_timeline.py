"""erasure reaches case timelines (issue #24): a narrowly-scoped SECURITY DEFINER function

``case_events`` is append-only: the app role may only SELECT and INSERT it (0002), so an erasure
could not clear the notes a timeline holds about the erased person. Two ways were open:

- ``GRANT UPDATE (note) ON case_events`` to the app role (as 0039 did for visits' findings): the app
  could then rewrite any note of any step to any text at any time — the timeline would no longer be
  an immutable record, only an editable one whose edits nobody sees;
- a function owned by the table owner, ``SECURITY DEFINER``, that does exactly one thing: replace
  with the fixed marker ``（已删除）`` the notes of the transaction's own tenant that were written by
  the given accounts or stand on cases they reported. It cannot write any other text, touch another
  column, or reach another tenant (it refuses a tenant other than the transaction's ``app.tenant_id``
  and names the tenant in every statement), and only the app role may execute it.

The function is the narrower grant, so it is the one taken: ``gongzhi_erase_timeline_notes(tenant,
accounts)`` returns how many notes it cleared. ``search_path`` is pinned (a definer function must
not resolve names through the caller's path). SQLite has no roles: there the app updates directly.

Revision ID: 0042_pipl
Revises: 0034_organisations
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0042_pipl"
down_revision: str | None = "0042_onb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKER = "（已删除）"  # resolvers.register.erasure.SCRUBBED
FUNCTION = "gongzhi_erase_timeline_notes(uuid, uuid[])"


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION gongzhi_erase_timeline_notes(p_tenant uuid, p_accounts uuid[])
        RETURNS integer
        LANGUAGE plpgsql
        SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $fn$
        DECLARE
          cleared integer;
        BEGIN
          IF p_tenant IS NULL
             OR p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
            RAISE EXCEPTION 'gongzhi_erase_timeline_notes: only in the transaction''s own tenant'
              USING ERRCODE = '42501';
          END IF;
          UPDATE public.case_events e
             SET note = '{MARKER}'
           WHERE e.tenant_id = p_tenant
             AND e.note IS NOT NULL AND e.note <> '{MARKER}'
             AND (e.actor_user_id = ANY (p_accounts)
                  OR e.case_id IN (SELECT c.id FROM public.cases c
                                    WHERE c.tenant_id = p_tenant AND c.reporter_user_id = ANY (p_accounts)));
          GET DIAGNOSTICS cleared = ROW_COUNT;
          RETURN cleared;
        END
        $fn$
    """)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT EXECUTE ON FUNCTION {FUNCTION} TO {role};
          END IF;
        END $$;
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
