"""New rows written without the ORM's unit of work (issue #21).

An ORM flush of one new row costs several hundred Python calls (the unit of work sorted, the mapper's
insert built and executed through SQLAlchemy's layers, the row's state brought back) around an INSERT
PostgreSQL takes in microseconds. ``insert`` writes the row as the flush would — the same columns and
values (the column types' own bind processing), the tenant stamped as tenants/session.py stamps it, the
audit change record the flush hook would make (``object_insert_change``) — with one INSERT text per table, on
the driver in the request's transaction (inside the mutation's SAVEPOINT, RLS, counted and observed as
every statement), and then puts the object in the session as a loaded, persistent row.

It takes the ORM's flush instead whenever that path would differ: SQLite, a session not on the driver,
other pending changes in the session (the flush would write them first), a column left unset that has a
default or a server default the object would not know. A constraint violation is raised as SQLAlchemy's
``IntegrityError``, as from the flush.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import insert as sql_insert
from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from models import TenantScoped
from resolvers.context import RequestContext
from tenants.session import TenantMismatch, fetch_rows, object_insert_change

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
# per mapped class: the INSERT text, its columns' attribute keys in parameter order, their bind processors
_plans: dict[type, tuple[str, tuple[str, ...], tuple[Any, ...]] | None] = {}


def _plan(cls: type) -> tuple[str, tuple[str, ...], tuple[Any, ...]] | None:
    if cls in _plans:
        return _plans[cls]
    mapper: Any = inspect(cls)
    table = mapper.local_table
    keys: list[str] = []
    columns = []
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1 or prop.columns[0].table is not table:
            _plans[cls] = None
            return None
        keys.append(prop.key)
        columns.append(prop.columns[0])
    compiled = sql_insert(table).compile(dialect=_DIALECT, column_keys=[c.key for c in columns])
    order = compiled.positiontup or []
    by_name = {c.key: (k, c) for k, c in zip(keys, columns, strict=True)}
    if sorted(order) != sorted(by_name):
        _plans[cls] = None
        return None
    found = (str(compiled), tuple(by_name[n][0] for n in order),
             tuple(by_name[n][1].type._cached_bind_processor(_DIALECT) for n in order))
    _plans[cls] = found
    return found


def _unset_with_default(obj: Any) -> bool:
    """A column the object leaves unset that has a default other than the id's or a server default:
    the flush would fill it in, this path would not know it."""
    values = inspect(obj).dict
    for prop in inspect(type(obj)).column_attrs:
        column = prop.columns[0]
        if values.get(prop.key) is None and prop.key != "id" and (
                column.default is not None or column.server_default is not None):
            return True
    return False


def direct(ctx: RequestContext, obj: Any) -> bool:
    """Whether ``insert`` writes ``obj`` on the driver (else through the ORM's flush). On the driver a failed
    INSERT leaves the session as it was (the object not added): a SAVEPOINT of the request's own — a
    mutation's, ``idempotency.once``'s — undoes the transaction's error, none is needed around it alone."""
    session = ctx.db.session
    return not (not isinstance(obj, TenantScoped) or _plan(type(obj)) is None or not session.info.get("raw_driver")
                or session.new or session.dirty or session.deleted or _unset_with_default(obj))


async def insert(ctx: RequestContext, obj: Any) -> None:
    """Write ``obj`` (a new row of a tenant's table) as ``ctx.db.flush(obj)`` would (see the module)."""
    session = ctx.db.session
    plan = _plan(type(obj)) if isinstance(obj, TenantScoped) else None
    if plan is None or not direct(ctx, obj):
        await ctx.db.flush(obj)
        return
    sql, keys, processors = plan
    tenant_id = session.info.get("tenant_id")
    if obj.tenant_id is None:
        if tenant_id is None:
            raise TenantMismatch(f"{type(obj).__name__} written by a session bound to no tenant")
        obj.tenant_id = tenant_id
    elif tenant_id is not None and obj.tenant_id != tenant_id:
        raise TenantMismatch(f"{type(obj).__name__} of another tenant")
    entry = object_insert_change(obj)  # also gives the row its id, as the flush hook does
    values = inspect(obj).dict
    args = tuple(v if p is None or v is None else p(v)
                 for v, p in ((values.get(k), p) for k, p in zip(keys, processors, strict=True)))

    async def run() -> None:
        try:
            await fetch_rows(session, sql, *args)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(sql, args, e) from e
        for k in keys:  # every column now holds what the row holds: nothing left to load
            if k not in values:
                setattr(obj, k, None)
        make_transient_to_detached(obj)
        session.add(obj)

    await ctx.db.locked(run)
    if entry is not None:
        session.info.setdefault("audit_changes", []).append(entry)
