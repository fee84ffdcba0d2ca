"""The one way the transaction's tenant is set for row-level security (issue #27).

``SET LOCAL app.tenant_id = '<uuid>'``, never the ``set_config`` function on that setting: Citus sends
``SET LOCAL`` to its workers (with ``citus.propagate_set_commands = 'local'``) and never a
``set_config`` call, so on a distributed database the policies on the shards would see no tenant and
match nothing — silently (empty lists, 0 rows updated). ``SET`` takes no bind parameters, so the value
is interpolated: only the text of a parsed UUID is, never the caller's string. Transaction-scoped, as
before: pgbouncer in transaction mode is fine. tests/tenants/test_tenant_setting.py fails on any
``set_config`` for the tenant in the repository.
"""

from __future__ import annotations

import uuid
from typing import Any

SETTING = "app.tenant_id"


def tenant_text(tenant_id: Any) -> str:
    """The canonical text of a tenant id (a UUID or its text); ValueError for anything else."""
    if isinstance(tenant_id, uuid.UUID):
        return str(tenant_id)
    if not isinstance(tenant_id, str):
        raise ValueError(f"a tenant id must be a UUID, not {type(tenant_id).__name__}")
    return str(uuid.UUID(tenant_id))  # the parsed value's text: never the caller's characters


def set_tenant_sql(tenant_id: Any) -> str:
    """``SET LOCAL app.tenant_id = '<uuid>'`` for this tenant; ``None`` unbinds (the empty setting,
    which no policy matches)."""
    value = "" if tenant_id is None else tenant_text(tenant_id)
    return f"SET LOCAL {SETTING} = '{value}'"
