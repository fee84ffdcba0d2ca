"""A transition's conditional UPDATE on the driver (issue #21: claimWish, checkInActivity and every other
``resolvers.transitions.transition`` on PostgreSQL).

Through the ORM, ``update(model).where(…).values(…)`` costs ≈ 1,000 Python calls per request (the statement
built, the tenant criteria added, the cache key walked, the ORM's bulk-update and execution layers) around an
UPDATE PostgreSQL takes in microseconds. Here the same statement — the same SET columns, the same WHERE
(id, state, version when versioned, and the tenant as tenants/session.py adds it; row-level security repeats
it), the values through the columns' own bind processors (a sealed column is sealed as the ORM seals it) —
is compiled once per (model, state column, versioned, columns set) and sent on the request's driver
connection, in its transaction (inside the mutation's SAVEPOINT, counted and observed as every statement).
``RETURNING id`` gives the row count the ORM's rowcount gave.

``text_for`` is None — the caller takes the ORM's statement as before — where that path could differ:
SQLite or a session not on the driver, a session bound to no tenant, anything waiting to be flushed (the ORM
statement would flush it first), a value that is an SQL expression, a column the mapper maps oddly, or a
table with an ``onupdate`` default the Core UPDATE would add.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import bindparam, inspect, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ClauseElement

from resolvers.context import Db
from tenants.session import fetch_rows

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
Plan = tuple[str, tuple[str, ...], tuple[Any, ...]]  # the text, its bind names in order, their processors
_plans: dict[tuple[Any, ...], Plan | None] = {}


def _plan(model: type[Any], column: str, versioned: bool, keys: tuple[str, ...]) -> Plan | None:
    found_key = (model, column, versioned, keys)
    if found_key in _plans:
        return _plans[found_key]
    mapper: Any = inspect(model)
    table = mapper.local_table
    plan: Plan | None = None
    attrs = mapper.column_attrs
    wanted = ("id", column, "tenant_id", *(("version",) if versioned else ()), *keys)
    if (all(k in attrs and len(attrs[k].columns) == 1 and attrs[k].columns[0].table is table for k in wanted)
            and not any(c.onupdate is not None or c.server_onupdate is not None for c in table.columns)):
        col = {k: attrs[k].columns[0] for k in wanted}
        cond = [col["id"] == bindparam("w_id", type_=col["id"].type),
                col[column] == bindparam("w_from", type_=col[column].type)]
        if versioned:
            cond.append(col["version"] == bindparam("w_version", type_=col["version"].type))
        cond.append(col["tenant_id"] == bindparam("w_tenant", type_=col["tenant_id"].type))
        stmt = (update(table).where(*cond)
                .values({col[k]: bindparam(f"v_{k}", type_=col[k].type) for k in keys}).returning(col["id"]))
        compiled = stmt.compile(dialect=_DIALECT)
        names = tuple(compiled.positiontup or ())
        plan = (str(compiled), names,
                tuple(compiled.binds[n].type._cached_bind_processor(_DIALECT) for n in names))
    _plans[found_key] = plan
    return plan


def text_for(db: Db, model: type[Any], row_id: Any, *, column: str, from_state: Any, seen_version: int | None,
             values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """The UPDATE's text and parameters on the driver, or None: the ORM's statement (see the module)."""
    session = db.session
    tenant_id = session.info.get("tenant_id")
    if (not session.info.get("raw_driver") or tenant_id is None or not session.sync_session._is_clean()
            or any(isinstance(v, ClauseElement) for v in values.values())):
        return None
    plan = _plan(model, column, seen_version is not None, tuple(values))
    if plan is None:
        return None
    sql, names, processors = plan
    given = {"w_id": row_id, "w_from": from_state, "w_version": seen_version, "w_tenant": tenant_id}
    for k, v in values.items():
        given[f"v_{k}"] = v
    return sql, tuple(v if p is None or v is None else p(v)
                      for v, p in ((given[n], p) for n, p in zip(names, processors, strict=True)))


async def write(db: Db, sql: str, args: tuple[Any, ...]) -> bool:
    """Send the UPDATE; whether it moved the row (False: someone moved it first). A constraint violation is
    SQLAlchemy's ``IntegrityError``, as from the ORM's statement."""
    session = db.session

    async def run() -> list[Any]:
        try:
            return await fetch_rows(session, sql, *args)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(sql, args, e) from e

    return len(await db.locked(run)) == 1
