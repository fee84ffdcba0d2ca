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


async def tenant_setting_problem(conn: Any, *, citus: bool | None = None) -> str | None:
    """Whether the tenant setting reaches the data it guards (issue #27): None when it does, else why not.

    On a Citus cluster whose workers do not get the transaction's ``SET LOCAL`` (no
    ``citus.propagate_set_commands = 'local'``), row-level security on the shards sees no tenant:
    every request answered 200 with empty lists. So, in a transaction on ``conn`` (an
    ``AsyncConnection``, rolled back here): one tenant's id (the platform's ``tenants`` table has no
    row-level security), the tenant set as requests set it, and a read of that tenant's root area —
    every tenant has one from provisioning on — which only row-level security with the setting in
    force lets through. Also, on Citus (the extension installed), ``citus.multi_shard_modify_mode`` must
    be ``sequential`` (a transaction that writes a distributed table and then the ``users`` reference
    table fails otherwise). Three short statements; PostgreSQL only (SQLite has no row-level security).
    ``citus``: whether to hold the database to Citus's settings; None (the default) asks ``pg_extension``.
    """
    from sqlalchemy import text

    if conn.dialect.name != "postgresql":
        return None
    async with conn.begin() as tx:
        row = (await conn.execute(text(
            "SELECT (SELECT id FROM tenants ORDER BY id LIMIT 1), "
            # only where the extension is installed: a server preloading citus has the setting in
            # every database, the plain ones included (seen on the cluster run, issue #27)
            "CASE WHEN COALESCE(:citus, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')) "
            "THEN current_setting('citus.multi_shard_modify_mode', true) END"), {"citus": citus})).one()
        tenant_id, modify_mode = row
        if modify_mode is not None and modify_mode != "sequential":
            await tx.rollback()
            return f"citus.multi_shard_modify_mode is {modify_mode!r}, not 'sequential'"
        if tenant_id is None:
            await tx.rollback()
            return None  # no tenant: nothing is guarded yet
        await conn.execute(text(set_tenant_sql(tenant_id)))
        root = "SELECT EXISTS (SELECT 1 FROM areas WHERE tenant_id = :t AND parent_id IS NULL)"
        seen = (await conn.execute(text(root), {"t": tenant_id})).scalar()
        await tx.rollback()
    if not seen:
        return "the tenant setting (SET LOCAL app.tenant_id) does not reach the rows it guards"
    return None


_CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
_ASKED = "gongzhi_citus"  # on the engine's dialect: what its first connection found


def ask_citus(engine: Any) -> None:
    """Have the engine's first connection ask, once, whether the database is a Citus coordinator (``on_citus``):
    one statement on the new connection, outside any transaction, before the pool hands it out."""
    from sqlalchemy import event
    from sqlalchemy.util import await_only

    def first(dbapi_conn: Any, _record: Any) -> None:
        try:
            found = await_only(dbapi_conn.driver_connection.fetchval(_CITUS))
        except Exception:  # not answered: the engine counts as Citus (the form every database takes)
            return
        setattr(engine.dialect, _ASKED, bool(found))

    event.listen(engine, "first_connect", first)


def on_citus(engine: Any) -> bool:
    """Whether ``engine``'s database may be a Citus coordinator: True unless its first connection found no ``citus``
    extension (``ask_citus``) — an engine not asked, or not connected yet, counts as one. Statements whose plain
    PostgreSQL form Citus refuses (an ``INSERT … SELECT`` into a table with row-level security, which it runs as a
    COPY: issue #27) take the form it routes where this is True."""
    return getattr(engine.sync_engine.dialect, _ASKED, True) is not False
