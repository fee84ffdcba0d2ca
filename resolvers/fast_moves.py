"""A transition on the request's driver transaction, without strawberry's execution or the ORM (issue #21:
claimWish, checkInActivity as portals send them; ``gongzhi.http.fast_moves``).

The general path loads the row as an ORM object, moves it with ``resolvers.transitions.transition`` (the
machine's check, the stale-version check, the conditional UPDATE — on the driver already,
``resolvers.transition_writes`` — and the audit change entry), in a SAVEPOINT, and its mutation's audit entry
goes with the COMMIT. Here the row is read by the general path's own prepared text (the same predicates,
rendered once per actor shape), as plain values; ``moved`` makes the same UPDATE (``planned``, ``text_for``:
the same SET, WHERE and values) and the same audit entry (``record_mutation``), which the caller sends with
the COMMIT (``AppState.commit_writes``). Nothing needs a SAVEPOINT: whatever this path would refuse, it
returns None before writing, or its UPDATE — the guard of the statement that writes the audit entry with the
COMMIT — moves nothing (another request moved the row first) and that statement is refused, and the caller rolls
the driver transaction back — the general path then answers from the start, with its typed
errors and its refusal's audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select, sqltypes
from sqlalchemy.types import TypeDecorator, TypeEngine

from resolvers import prepared, transition_writes
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.idempotency import checked_key
from resolvers.transitions import StateMachine, planned
from tenants.session import fetch_first

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_processors: dict[type, tuple[tuple[str, Any], ...]] = {}


@dataclass
class PreparedMove:
    """A row moved (its values after the move, answered from), and writes to send with the audit entry."""

    row: dict[str, Any]
    ctes: list[str]
    args: list[Any]
    guarded: bool = False  # ``ctes``' first is a guard, one row or none (``AppState.commit_writes``' ``guarded``)
    forget: Callable[[], None] | None = None  # what a refused write makes the process forget (a kept hint)

    def refused(self) -> None:
        """The write was refused (its guard, or a constraint met): the hint it was built from is forgotten."""
        if self.forget is not None:
            self.forget()


def _processor(t: TypeEngine[Any]) -> Any:
    """As ``prepared.load`` converts a column's value (asyncpg gives numeric as Decimal, as Numeric does)."""
    impl = t.impl_instance if isinstance(t, TypeDecorator) else t
    if isinstance(impl, sqltypes.Numeric) and not isinstance(t, TypeDecorator):
        return None
    return t._cached_result_processor(_DIALECT, None)


def values_of(model: type, record: Any, start: int = 0) -> SimpleNamespace | None:
    """The model's columns (``prepared.columns(model)``'s order) from ``record[start:]``, converted as the ORM's
    result processing converts them (enums, UUIDs); None when its id is NULL (an outer join's missing row)."""
    found = _processors.get(model)
    if found is None:
        attrs: Any = sa_inspect(model).column_attrs
        found = tuple((a.key, _processor(a.columns[0].type)) for a in attrs)
        _processors[model] = found
    values = {k: (v if p is None or v is None else p(v))
              for (k, p), v in zip(found, record[start:start + len(found)], strict=True)}
    return None if values["id"] is None else SimpleNamespace(**values)


async def _first(ctx: RequestContext, sql: str, args: tuple[Any, ...]) -> Any:
    """The first row of a text on the request's driver transaction (where its audit entry and COMMIT go)."""
    session = ctx.db.session
    return await ctx.db.locked(lambda: fetch_first(session, sql, *args))


async def read(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[], Select[Any]], *values: Any) -> Any:
    """The first row of ``prepared.statement``'s text (the general path's own, by its key) on the request's driver
    transaction; None: no row, or not usable here."""
    if not prepared.usable(ctx):
        return None
    found = prepared.statement(ctx, key, build, *values)
    return None if found is None else await _first(ctx, *found)


async def read_all(ctx: RequestContext, key: tuple[Any, ...], build: Callable[[], Select[Any]], *values: Any
                   ) -> list[Any] | None:
    """Every row of ``read``'s text (a check reading several rows) on the request's driver transaction; None: not
    usable here."""
    tx = ctx.db.session.info.get("driver_transaction")
    found = prepared.statement(ctx, key, build, *values) if prepared.usable(ctx) else None
    if tx is None or found is None:
        return None
    sql, args = found
    rows: list[Any] = await ctx.db.locked(lambda: tx.fetch_first(sql, *args, many=True))
    return rows


async def key_is_new(ctx: RequestContext, model: Any, owner: Any, key: str) -> bool:
    """Whether the actor's idempotency ``key`` names no earlier row of ``model`` (``owner`` the column of the
    user who made it), asked by ``keyed_row``'s prepared text as the general path asks it: a retry, or the key
    reused, is the general path's to answer."""
    return await read(ctx, ("keyed_row", model.__tablename__), lambda: select(model.id).where(
        owner == ctx.actor.user_id, model.idempotency_key == prepared.param(0, "text")), key) is None


def retry_of(ctx: RequestContext, model: Any, owner: Any, key: Any) -> Any:
    """The id of the actor's earlier row of ``model`` with the idempotency key ``key`` (``owner`` the column of
    the user who made it; NULL: none, or no key), as ``keyed_row`` asks it — a scalar column a request's checks
    read in their own statement (issue #21: the key's own round trip). The row is read through an alias: never
    correlated with the checks' own rows of the same table."""
    row = aliased(model)
    return (select(row.id).where(getattr(row, owner.key) == ctx.actor.user_id, row.idempotency_key == key)
            .scalar_subquery().label("retry"))


def own_first_request(ctx: RequestContext, idempotency_key: str | None) -> tuple[uuid.UUID, str | None] | None:
    """(the actor's person, the checked key) for a request made for the actor's own person; None — an invalid
    key, no person of one's own, the prepared texts unusable — leaves it to the general path. The key's earlier
    row (a retry, the general path's too) is the checks' ``retry_of`` column."""
    try:
        key = checked_key(idempotency_key)
    except ServiceError:
        return None
    person_id = ctx.actor.person_id
    if person_id is None or not prepared.usable(ctx):
        return None
    return person_id, key


async def moved(ctx: RequestContext, machine: StateMachine[Any], old: SimpleNamespace, action: str,
                values: dict[str, Any], field: str, *, expected_version: int | None = None) -> PreparedMove | None:
    """``transition(ctx, machine, row, action, values=…, expected_version=…)`` of the general path on a row read
    as values, and the mutation's audit entry queued; None where that would refuse it (the machine, a stale
    version), where it would do more (a timeline). The UPDATE goes as the guard of the commit's statement
    (``PreparedMove.guarded``): when it moves nothing, that statement is refused (``fast_writes.WRITE_REFUSED``)."""
    current = getattr(old, machine.column)
    if machine.timeline is not None or not machine.allows(action, current):
        return None
    version: int | None = old.version if machine.versioned else None
    if machine.versioned and expected_version is not None and expected_version != version:
        return None
    changes, _changed, entry = planned(machine, old, current, machine.target(action, current, None), values,
                                       version, ctx.now)
    text = transition_writes.text_for(ctx.db, machine.model, old.id, column=machine.column, from_state=current,
                                      seen_version=version, values=changes)
    if text is None:
        return None
    sql, args = text
    await record_mutation(ctx, field, outcome="ok", changes=[entry])
    # The UPDATE (``RETURNING id``) is the guard of the audit entry's statement, sent with the COMMIT: no round trip
    # of its own. When it moves nothing (someone moved the row first) the entry's id is NULL and the statement is
    # refused by its NOT NULL, as by a constraint met — nothing is written, and the general path answers.
    return PreparedMove(row=vars(old) | changes, ctes=[sql], args=list(args), guarded=True)
