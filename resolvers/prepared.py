"""SQL texts built once per process for the write path (issue #21).

A mutation's check statement built through the ORM costs ≈ 500–900 Python calls per request (the
statement and its predicates built, the tenant option added, the cache key walked, the ORM's execution
and result layers) around a query PostgreSQL answers in tens of microseconds. Here the same statement —
the resolvers' own predicates, unchanged — is rendered once per key into PostgreSQL text, with the
ORM's tenant filter on every table as tenants/session.py adds it (row-level security repeats it), and
later requests send only that text and their values on the driver, in the request's transaction (RLS,
the mutation's SAVEPOINT, statement counting and the observer apply as to every statement).

What the text inlines (the actor's grants and facts, the tenant, the day) must be in the key:
``actor_key`` gives it for an actor read from the request's first statement. Values that change per
request are ``param(n, pgtype)`` placeholders, numbered once rendered. ``rows`` returns None when the
path does not apply (SQLite, a session not on the driver, a partner system's actor): the caller then
runs the statement through the ORM as before, with the same predicates.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import literal, literal_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import TypeEngine

from models import TenantScoped
from resolvers.context import RequestContext
from tenants.session import fetch_rows

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_PARAM = re.compile(r"\$__p(\d+)__")
_SIZE = 1024
Bind = Callable[[int, str], ColumnElement[Any]]
_texts: OrderedDict[tuple[Any, ...], tuple[str, tuple[int, ...]]] = OrderedDict()


def param(n: int, pgtype: str, type_: TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    """The request's n-th value in the text, as ``$k::pgtype`` (numbered when rendered). Only types
    asyncpg has built-in codecs for (``text[]``, not ``uuid[]``: see tests/cases/test_connection_settings.py)."""
    return literal_column(f"$__p{n}__::{pgtype}", type_)


def actor_key(ctx: RequestContext) -> tuple[Any, ...] | None:
    """What a text inlining the actor's predicates depends on (as the compiled reads' plans key them),
    or None for an actor not read from the request's first statement (a partner system, SQLite)."""
    a = ctx.actor
    if a.source is None or a.partner_unit_id is not None:
        return None
    return (ctx.tenant.id, ctx.tenant.policy_version, a.user_id, a.source, a.today)


def usable(ctx: RequestContext) -> bool:
    """Whether ``rows`` runs here (PostgreSQL on the driver, an actor from the first statement)."""
    return bool(ctx.db.session.info.get("raw_driver")) and actor_key(ctx) is not None


def _render(ctx: RequestContext, stmt: Select[Any]) -> tuple[str, tuple[int, ...]]:
    tenant_id = ctx.tenant.id
    stmt = stmt.options(with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id,
                                             include_aliases=True))
    sql = str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    used: dict[int, int] = {}

    def number(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in used:
            used[n] = len(used) + 1
        return f"${used[n]}"

    sql = _PARAM.sub(number, sql)
    return sql, tuple(sorted(used, key=used.__getitem__))


async def rows(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[], Select[Any]],
               *values: Any) -> list[Any] | None:
    """Every row of ``build()`` for this request's ``values`` (``param(n, …)`` is ``values[n]``), from a
    text rendered once per (key, actor), or None when this path does not apply (see the module)."""
    who = actor_key(ctx)
    if who is None or not ctx.db.session.info.get("raw_driver"):
        return None
    full = (*key, *who)
    text = _texts.get(full)
    if text is None:
        text = _render(ctx, build())
        _texts[full] = text
        if len(_texts) > _SIZE:
            _texts.popitem(last=False)
    sql, order = text
    args = tuple(values[n] for n in order)
    session = ctx.db.session
    return await ctx.db.locked(lambda: fetch_rows(session, sql, *args))


async def fetch(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[Bind], Any],
                *values: Any) -> list[Any]:
    """Every row of ``build(p)``, where ``p(n, pgtype)`` stands for ``values[n]``: from the text rendered
    once per (key, actor) on PostgreSQL's driver path (``rows``), else the same statement through the ORM
    with the values bound. Rows are indexed by position (an asyncpg record or an ORM row): read them as
    plain values (a uuid as ``uuid.UUID(str(x))``, a boolean column rather than an enum)."""
    found = await rows(ctx, key, lambda: build(param), *values)
    if found is None:
        found = list(await ctx.db.all(build(lambda n, _pgtype: literal(values[n]))))
    return found


async def first(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[Bind], Any],
                *values: Any) -> Any:
    """The first row of ``fetch`` (None: no row)."""
    found = await fetch(ctx, key, build, *values)
    return found[0] if found else None


def uid(value: Any) -> uuid.UUID | None:
    """A uuid column's value as ``uuid.UUID`` (asyncpg gives its own type), None as None."""
    return None if value is None else value if type(value) is uuid.UUID else uuid.UUID(str(value))
