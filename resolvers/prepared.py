"""SQL texts built once per process for the write path (issue #21).

A mutation's check statement built through the ORM costs ≈ 500–900 Python calls per request (the
statement and its predicates built, the tenant option added, the cache key walked, the ORM's execution
and result layers) around a query PostgreSQL answers in tens of microseconds. Here the same statement —
the resolvers' own predicates, unchanged — is rendered once per key into PostgreSQL text, with the
ORM's tenant filter on every table as tenants/session.py adds it (row-level security repeats it), and
later requests send only that text and their values on the driver, in the request's transaction (RLS,
the mutation's SAVEPOINT, statement counting and the observer apply as to every statement).

What the text inlines (the actor's grants, the tenant, the day) must be in the key. The actor's facts
(ids, paths) are parameters where resolvers/stand_in.py shows that safe: one text per actor *shape* (roles,
area kinds), not per actor — a text per actor was rendered at nearly every owner's request (≈ 4 ms, more
than it saved). Otherwise ``actor_key`` keys the text per actor read from the request's first statement.
Values that change per request are ``param(n, pgtype)`` placeholders, numbered once rendered. ``rows``
returns None when the path does not apply (SQLite, a session not on the driver, a partner system's actor):
the caller then runs the statement through the ORM as before, with the same predicates.
"""

from __future__ import annotations

import enum
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, ColumnDefault, Table, TypeDecorator, inspect, literal, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import make_transient_to_detached, with_loader_criteria
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import ColumnElement, Select, sqltypes
from sqlalchemy.types import TypeEngine

from models import TenantScoped, uuid7
from models.bounded import keep
from models.jsontext import json_text
from policies.actor import Actor
from resolvers import stand_in
from resolvers.context import ACTOR_VERSION_MOVES, RequestContext
from tenants.session import fetch_rows

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_PARAM = re.compile(r"\$__([pa])(\d+)__")
_SIZE = 1024
Bind = Callable[[int, str], ColumnElement[Any]]
# per key: the text, where its parameters come from (n ≥ 0: the request's values[n]; -1 - k: the actor's
# fact of getters[k]) and the getters; _PER_ACTOR for a key whose text cannot be shared (stand_in)
Text = tuple[str, tuple[int, ...], tuple[Callable[[Actor], Any], ...]]
_PER_ACTOR: Text = ("", (), ())
_texts: OrderedDict[tuple[Any, ...], Text] = OrderedDict()


_GUARDS: dict[tuple[str, str], str] = {}  # (kind, the checks' text) → the guard's


def guard(kind: str, checks: str, make: Callable[[], str]) -> str:
    """A write's guard (its checks as its first WITH, e.g. ``report_fast._guard``): ``make()``, made once per kind
    and checks' text in the process (a few actor shapes per kind)."""
    found = _GUARDS.get((kind, checks))
    return found if found is not None else keep(_GUARDS, (kind, checks), make(), 4096)


def param(n: int, pgtype: str, type_: TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    """The request's n-th value in the text, as ``$k::pgtype`` (numbered when rendered). Only types
    asyncpg has built-in codecs for (``text[]``, not ``uuid[]``: see tests/cases/test_connection_settings.py)."""
    return literal_column(f"$__p{n}__::{pgtype}", type_)


def param_uuids(n: int) -> ColumnElement[Any]:
    """The request's n-th value, a ``text[]`` of ids, as a ``uuid[]`` for ``= ANY(…)``:
    ``ARRAY(SELECT unnest($k::text[])::uuid)``, an InitPlan whose result the primary key's index takes on a
    generic plan too. ``CAST($k::text[] AS UUID[])`` is matched to the index on a custom plan only (its values
    folded): on the generic plan markNotificationsRead's check became a Seq Scan of the tenant's notifications,
    7.9 ms against 0.23 with 5,500 of them (bench/RESULTS.md, h-moves)."""
    return literal_column(f"ARRAY(SELECT unnest($__p{n}__::text[])::uuid)", postgresql.ARRAY(sqltypes.Uuid()))


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


def _compile(ctx: RequestContext, stmt: Select[Any]) -> str:
    tenant_id = ctx.tenant.id
    stmt = stmt.options(with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id,
                                             include_aliases=True))
    return str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _numbered(sql: str, getters: tuple[Callable[[Actor], Any], ...] = ()) -> Text:
    used: dict[int, int] = {}

    def number(m: re.Match[str]) -> str:
        n = int(m.group(2)) if m.group(1) == "p" else -1 - int(m.group(2))
        if n not in used:
            used[n] = len(used) + 1
        return f"${used[n]}"

    sql = _PARAM.sub(number, sql)
    return sql, tuple(sorted(used, key=used.__getitem__)), getters


def _shared(ctx: RequestContext, build: Callable[[], Select[Any]]) -> Text:
    """``build()``'s text for every actor of this one's shape (resolvers/stand_in.py), or _PER_ACTOR."""
    real = ctx.actor

    def render(actor: Actor) -> str:
        ctx.actor = actor  # the build reads the actor from the context
        try:
            return _compile(ctx, build())
        finally:
            ctx.actor = real

    found = stand_in.template(render, real, lambda k, pgtype: f"$__a{k}__::{pgtype}")
    return _PER_ACTOR if found is None else _numbered(found[0], tuple(found[1]))


def _remember(key: tuple[Any, ...], text: Text) -> None:
    _texts[key] = text
    if len(_texts) > _SIZE:
        _texts.popitem(last=False)


def statement(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[], Select[Any]],
              *values: Any) -> tuple[str, tuple[Any, ...]] | None:
    """``build()``'s text, rendered once per (key, actor shape) — or per (key, actor) where it cannot be
    shared — and its parameters for this request's ``values`` (``param(n, …)`` is ``values[n]``) and actor;
    None when this path does not apply (see the module)."""
    who = actor_key(ctx)
    if who is None or not ctx.db.session.info.get("raw_driver"):
        return None
    a = ctx.actor
    shared = (*key, ctx.tenant.id, ctx.tenant.policy_version, a.today, stand_in.shape(a))
    text = _texts.get(shared)
    if text is None:
        text = _shared(ctx, build)
        _remember(shared, text)
    if text is _PER_ACTOR:
        mine = (*key, *who)
        text = _texts.get(mine)
        if text is None:
            text = _numbered(_compile(ctx, build()))
            _remember(mine, text)
    sql, order, getters = text
    return sql, tuple(values[n] if n >= 0 else getters[-1 - n](a) for n in order)


async def rows(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[], Select[Any]],
               *values: Any) -> list[Any] | None:
    """Every row of ``build()`` for this request's ``values`` (``param(n, …)`` is ``values[n]``), from a
    text rendered once per (key, actor), or None when this path does not apply (see the module)."""
    found = statement(ctx, key, build, *values)
    if found is None:
        return None
    sql, args = found
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


# -- rows written without the ORM's unit of work (issue #21: resolvers.cases.report_fast)

def _pg_type(column: Column[Any]) -> str:
    """The parameter type of a column's value: the base type, never a length (``$1::varchar(32)`` would cut
    a longer value where the column refuses it)."""
    t = column.type
    if isinstance(t, TypeDecorator):
        t = t.impl_instance
    if isinstance(t, sqltypes.Uuid):
        return "uuid"
    if isinstance(t, sqltypes.DateTime):
        return "timestamptz"
    if isinstance(t, sqltypes.Boolean):
        return "bool"
    if isinstance(t, sqltypes.Integer):
        return "int8"
    if isinstance(t, sqltypes.Float):
        return "float8"
    if isinstance(t, sqltypes.JSON):
        return "json"
    if isinstance(t, (sqltypes.String, sqltypes.Enum)):
        return "text"
    raise TypeError(f"{column}: no parameter type for {t!r}")


_JSON, _AT, _PLAIN, _ENUM = range(4)
_TENANT, _NEW_ID, _NOW = object(), object(), object()  # an unset tenant_id, id, created_at: see insert_values


@dataclass(frozen=True, slots=True)
class _Sent:
    value: Any  # a column default's value as _sent sends it (None stays None)
_inserts: dict[tuple[type, int], tuple[str, list[tuple[str, int, Any]]]] = {}


def _insert_plan(model: type, first: int) -> tuple[str, list[tuple[str, int, Any]]]:
    """The INSERT text of a model's table with parameters from ``$first``, and per column: its attribute,
    how its value is sent, its default (a callable's called with no context, as SQLAlchemy wraps it)."""
    found = _inserts.get((model, first))
    if found is not None:
        return found
    table = cast(Table, model.__table__)  # type: ignore[attr-defined]
    names: list[str] = []
    plan: list[tuple[str, int, Any]] = []
    for i, column in enumerate(table.columns):
        pgtype = _pg_type(column)
        names.append(f"${first + i}::{pgtype}")
        kind = _kind(column, pgtype)
        default = column.default
        if not (isinstance(default, ColumnDefault) and not default.is_clause_element):
            default = None
        # What an unset value becomes, known here but for the callables (issue #21: a report's 85 values): the
        # tenant, a new id, the request's time, the default's value as sent, or its function to call.
        fill: Any = {"tenant_id": _TENANT, "id": _NEW_ID, "created_at": _NOW}.get(column.key)
        if fill is None and default is not None:
            fill = default if default.is_callable else _Sent(_sent(kind, default.arg))
        plan.append((column.key, kind, fill))
    sql = f"INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) VALUES ({', '.join(names)})"
    _inserts[model, first] = found = (sql, plan)
    return found


def insert_values(model: type, values: dict[str, Any], tenant_id: Any, now: datetime,
                  first: int, guarded: dict[str, str] | None = None) -> tuple[str, list[Any]]:
    """``INSERT INTO table (every column) VALUES ($first, …)`` for a new row of ``model`` with ``values`` and
    the values as the ORM's flush would write them: these, the columns' defaults for what they leave unset,
    the tenant; enums as their values, JSON as its text, timestamps in UTC. ``guarded``: a column's value
    sent through an SQL expression (``{}`` its parameter), e.g. one that is NULL unless an earlier CTE wrote."""
    sql, plan = _insert_plan(model, first)
    if guarded:
        sql = _guarded(model, first, sql, plan, guarded)
    out: list[Any] = []
    append, get = out.append, values.get
    for key, kind, fill in plan:
        value: Any = get(key)
        if value is None and fill is not None:
            if type(fill) is _Sent:  # a default's value, as sent
                append(fill.value)
                continue
            value = (tenant_id if fill is _TENANT else uuid7() if fill is _NEW_ID else now if fill is _NOW
                     else fill.arg(None))
        # _sent leaves None and a plain value as they are: called only for what it converts (issue #21: most of
        # a report's 85 values are either)
        append(value if value is None or kind == _PLAIN else _sent(kind, value))
    return sql, out


_guarded_texts: dict[tuple[Any, ...], str] = {}


def _guarded(model: type, first: int, sql: str, plan: list[tuple[str, int, Any]], guarded: dict[str, str]) -> str:
    """The INSERT text with the ``guarded`` columns' parameters inside their expressions, made once per (model,
    ``first``, ``guarded``) — a case step's timeline entry (issue #21: a regex substitution per request)."""
    key = (model, first, *guarded.items())
    found = _guarded_texts.get(key)
    if found is None:
        found = sql
        for i, (name, _k, _d) in enumerate(plan):
            if name in guarded:
                table = cast(Table, model.__table__)  # type: ignore[attr-defined]
                placeholder = f"${first + i}::{_pg_type(table.columns[i])}"
                found = re.sub(re.escape(placeholder) + r"(?=[,)])", lambda _m, p=placeholder, k=name:  # type: ignore[misc]
                               guarded[k].format(p), found, count=1)
        keep(_guarded_texts, key, found, _SIZE)
    return found


def _sent(kind: int, value: Any) -> Any:
    """A column's value as the ORM's flush sends it: enums as their values, JSON as its text, timestamps in UTC."""
    if value is not None:
        if kind == _ENUM and isinstance(value, enum.Enum):
            value = value.value
        elif kind == _JSON:
            value = json_text(value)
        elif kind == _AT:
            value = value.astimezone(UTC)
    return value


def _kind(column: Column[Any], pgtype: str) -> int:
    return _JSON if pgtype == "json" else _AT if pgtype == "timestamptz" else (
        _ENUM if isinstance(column.type, sqltypes.Enum) else _PLAIN)


_updates: dict[tuple[Any, ...], tuple[str, tuple[int, ...]]] = {}


def update_values(model: type, values: dict[str, Any], where: dict[str, Any], first: int,
                  returning: str | None = None) -> tuple[str, list[Any]]:
    """``UPDATE table SET column = $first, … WHERE column = $n AND …`` of ``model``'s columns (by attribute key)
    and its parameters, sent as ``insert_values`` sends them (issue #21: a case step on the driver). The text
    and each value's conversion are made once per (model, the keys in their order, ``first``, ``returning``):
    a step sends the same few (≈ 0.07 ms of a step's CPU when made per request)."""
    key = (model, tuple(values), tuple(where), first, returning)
    found = _updates.get(key)
    if found is None:
        table = cast(Table, model.__table__)  # type: ignore[attr-defined]
        made: list[int] = []
        parts: list[list[str]] = [[], []]
        for i, given in enumerate((values, where)):
            for name in given:
                column = table.c[name]
                pgtype = _pg_type(column)
                parts[i].append(f"{column.name} = ${first + len(made)}::{pgtype}")
                made.append(_kind(column, pgtype))
        sql = f"UPDATE {table.name} SET {', '.join(parts[0])} WHERE {' AND '.join(parts[1])}"
        found = (sql if returning is None else f"{sql} RETURNING {returning}"), tuple(made)
        keep(_updates, key, found, _SIZE)
    sql, kinds = found
    sent = [*values.values(), *where.values()]
    return sql, [v if v is None or k == _PLAIN else _sent(k, v) for k, v in zip(kinds, sent, strict=True)]


# -- rows read by a prepared text, as the ORM objects a mutation hands on (issue #21)

_loads: dict[type, tuple[tuple[Any, ...], tuple[str, ...], tuple[Any, ...]]] = {}


def columns(model: type) -> tuple[Any, ...]:
    """The model's mapped columns, in the order ``load`` takes a row's values."""
    return _load_plan(model)[0]


def _load_plan(model: type) -> tuple[tuple[Any, ...], tuple[str, ...], tuple[Any, ...]]:
    found = _loads.get(model)
    if found is None:
        props: Any = inspect(model).column_attrs
        cols = tuple(getattr(model, p.key) for p in props)
        found = (cols, tuple(p.key for p in props), tuple(_result_processor(p.columns[0].type) for p in props))
        _loads[model] = found
    return found


def _result_processor(t: TypeEngine[Any]) -> Any:
    impl = t.impl_instance if isinstance(t, TypeDecorator) else t
    if isinstance(impl, sqltypes.Numeric) and not isinstance(t, TypeDecorator):
        return None  # asyncpg gives numeric as Decimal, float8 as float: what Numeric and Float give
    return t._cached_result_processor(_DIALECT, None)


def load(ctx: RequestContext, model: type, values: Any) -> Any:
    """The object of ``model`` for a row's ``values`` (``columns(model)``'s, in order), in the session as
    loaded — the one the session holds already for that row if any, as a query would give it. Values as the
    ORM's result processing makes them (enums, UUIDs, JSON). None for no row (an outer join's, no id)."""
    _cols, keys, processors = _load_plan(model)
    row = {k: v if p is None or v is None else p(v) for k, p, v in zip(keys, processors, values, strict=True)}
    if row["id"] is None:
        return None
    session = ctx.db.session
    held = session.identity_map.get(identity_key(model, (row["tenant_id"], row["id"])))
    if held is not None:
        return held
    obj: Any = inspect(model).class_manager.new_instance()
    for k, v in row.items():
        set_committed_value(obj, k, v)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


async def one(ctx: RequestContext, key: tuple[Any, ...], model: type, where: Callable[[Bind], list[Any]],
              *values: Any) -> Any:
    """The object of ``model`` matching ``where(p)`` (None: no row): its columns read by a text rendered once
    per (key, actor shape) and ``load``-ed, else ``select(model)`` through the ORM with the values bound."""
    found = await rows(ctx, key, lambda: select(*columns(model)).where(*where(param)), *values)
    if found is None:
        return await ctx.db.scalar(select(model).where(*where(lambda n, _pgtype: literal(values[n]))))
    return load(ctx, model, found[0]) if found else None


@dataclass(frozen=True)
class Kept:
    """What a check read that a later write's guard re-checks (an area's path; a person's household and building):
    the tenant's actor_version and the monotonic time it was read at."""

    value: Any
    version: int
    at: float


def kept_now(ctx: RequestContext, value: Any) -> Kept:
    return Kept(value, ctx.tenant.actor_version, time.monotonic())


def still_kept(ctx: RequestContext, kept: Kept | None, trust: float) -> bool:
    """Whether ``kept`` may stand in a write's guard: read at the tenant's actor_version this request read, which every
    change of an area's path, a person's household or a household's building moves (migration 0055) — a move is seen
    by the next request, not a refused write later; where the version does not move (Citus: its triggers do
    nothing), read less than ``trust`` seconds ago. A stale value is never wrong, only refused by the guard."""
    if kept is None or kept.version != ctx.tenant.actor_version:
        return False
    return bool(ctx.db.session.info.get(ACTOR_VERSION_MOVES)) or time.monotonic() - kept.at < trust


_matches: dict[tuple[type, str, int], tuple[str, tuple[tuple[str, int], ...]]] = {}


def row_match(model: type, alias: str, first: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """``alias.column IS NOT DISTINCT FROM $first::type AND …`` for every column of ``model`` (a guard's test that a
    row is, column for column, one this process holds: resolvers.cases.kept), and per column its attribute key and
    how its value is sent (``match_values``); made once per (model, alias, ``first``)."""
    key = (model, alias, first)
    found = _matches.get(key)
    if found is None:
        tests: list[str] = []
        plan: list[tuple[str, int]] = []
        attrs: Any = inspect(model).column_attrs
        for attr in attrs:
            column = attr.columns[0]
            pgtype = _pg_type(column)
            if pgtype == "json":  # no equality operator: compared as jsonb
                tests.append(f"{alias}.{column.name}::jsonb IS NOT DISTINCT FROM ${first + len(plan)}::jsonb")
            else:
                tests.append(f"{alias}.{column.name} IS NOT DISTINCT FROM ${first + len(plan)}::{pgtype}")
            plan.append((attr.key, _kind(column, pgtype)))
        found = _matches[key] = (" AND ".join(tests), tuple(plan))
    return found


def match_values(plan: tuple[tuple[str, int], ...], row: dict[str, Any]) -> list[Any]:
    """A row's values (every attribute of ``row_match``'s model, as the ORM holds them) as ``row_match``'s text takes
    them: sent as ``insert_values`` sends them."""
    return [v if (v := row[k]) is None or kind == _PLAIN else _sent(kind, v) for k, kind in plan]
