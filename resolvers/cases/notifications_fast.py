"""markNotificationsRead (标记已读) on the request's driver transaction (issue #21; resolvers.fast_moves): which of the
ids reach the caller and which the caller has not read, by the general path's own prepared text
(``reaching_check``: the same predicates, one text per actor shape), then the caller's read marks with the
mutation's audit entry in one statement (``AppState.commit_writes``). The general path's insert skips a mark that
exists (ON CONFLICT DO NOTHING) and answers how many it wrote; here the insert is a plain one of the marks the read
found missing, so ``marked`` is their number or the insert fails: a mark another request wrote meanwhile meets the
unique constraint, the transaction is rolled back and the general path answers from the start. Too many ids, an id
that does not reach the caller — anything the general path would refuse — is None here before anything is written,
and the general path answers with its typed errors and its refusal's audit entry.

A mark of notifications read already (bench.mix's steady state: the same inbox marked again) writes only the audit
entry; its check then goes inside that write, as the report's checks go inside its own (resolvers.cases.report_fast
``_guard``; issue #21: two round trips, not three), once this process has seen every id read by the caller in an
earlier check (``_READ``: a read stays read — a mark is never removed but with its notification). The guard (w0)
answers one row when every id reaches the caller, none is unread and the first id's read mark is there; the
statement's one row of its own is that mark again, ``INSERT … ON CONFLICT DO NOTHING``: it meets the mark and writes
nothing — and without the guard's row its id is NULL and the statement is refused by its NOT NULL (checked before
the conflict) before it writes anything, the audit entry with it: the endpoint rolls back and the general path
answers from the start (NOT_FOUND, or the marks it writes)."""

from __future__ import annotations

import uuid
from typing import Any

from models import NotificationRead, uuid7
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, read_all

from .notifications import MAX_MARK, REACHING, reaching_check

_VALUES = " VALUES "
_NOTHING = " ON CONFLICT (tenant_id, notification_id, user_id) DO NOTHING"
_KEPT = 16384
_READ: set[tuple[Any, Any, Any]] = set()  # (tenant, user, notification) a check of this process saw read
_GUARDED = {"id": "(SELECT {} FROM w0)"}  # the mark's id: NULL unless the guard (w0) answered its row


def _guard(check: str, n: int) -> str:
    """The check (parameters $1 … $n) as the write's first WITH: one row when all $n+1 ids reach the caller and
    none is unread, and the caller's read mark of $n+3 is there (tenant $n+2, caller $n+4); else none."""
    def make() -> str:
        return (f"SELECT true AS ok FROM (SELECT count(*) AS n, bool_or(c.unread) AS u FROM ({check}) AS c(id, unread)"
                f") AS g WHERE g.n = ${n + 1}::int8 AND NOT g.u AND EXISTS (SELECT 1 FROM notification_reads AS m "
                f"WHERE m.tenant_id = ${n + 2}::uuid AND m.notification_id = ${n + 3}::uuid "
                f"AND m.user_id = ${n + 4}::uuid)")

    return prepared.guard("notifications_read", check, make)


def _mark(ctx: RequestContext, notification_id: uuid.UUID) -> dict[str, Any]:
    """The caller's read mark of a notification, as the general path's insert writes it: a new id, now."""
    return {"tenant_id": ctx.tenant.id, "id": uuid7(), "created_at": ctx.now, "notification_id": notification_id,
            "user_id": ctx.actor.user_id, "read_at": ctx.now}


async def _all_read(ctx: RequestContext, wanted: set[uuid.UUID]) -> PreparedMove | None:
    """The mark of notifications all seen read before: the check inside the audit entry's write (the module's
    last paragraph); None — not all seen read, or the texts not usable here — checks them in a statement of its
    own."""
    tenant_id, me = ctx.tenant.id, ctx.actor.user_id
    if any((tenant_id, me, n) not in _READ for n in wanted):
        return None
    found = prepared.statement(ctx, REACHING, lambda: reaching_check(ctx), [str(i) for i in wanted])
    if found is None:
        return None
    check, checks = found
    target = min(wanted)
    args: list[Any] = [*checks, len(wanted), tenant_id, target, me]
    sql, more = prepared.insert_values(NotificationRead, _mark(ctx, target), tenant_id, ctx.now, 1 + len(args),
                                       _GUARDED)
    await record_mutation(ctx, "markNotificationsRead", outcome="ok", changes=[])
    return PreparedMove(row={"marked": 0}, ctes=[_guard(check, len(checks)), sql + _NOTHING], args=[*args, *more])


def _inserts(ctx: RequestContext, unread: list[uuid.UUID]) -> tuple[str, list[Any]]:
    """One INSERT of the caller's read marks of ``unread`` (in that order), the rows the general path's insert
    writes: a new id each, created and read now."""
    head, groups = "", []  # one VALUES group per mark
    args: list[Any] = []
    for n in unread:
        sql, more = prepared.insert_values(NotificationRead, _mark(ctx, n), ctx.tenant.id, ctx.now, 1 + len(args))
        head, group = sql.split(_VALUES, 1)
        groups.append(group)
        args.extend(more)
    return head + _VALUES + ", ".join(groups), args


async def prepare_mark_read(ctx: RequestContext, ids: list[uuid.UUID]) -> PreparedMove | None:
    """The marks checked and built, the audit entry queued (``marked`` in the row); None: the general path
    answers."""
    if len(ids) > MAX_MARK or not prepared.usable(ctx):
        return None
    wanted = set(ids)
    ctes: list[str] = []
    args: list[Any] = []
    unread: list[uuid.UUID] = []
    if wanted:
        guarded = await _all_read(ctx, wanted)
        if guarded is not None:
            return guarded
        rows = await read_all(ctx, REACHING, lambda: reaching_check(ctx), [str(i) for i in wanted])
        if rows is None:
            return None
        found = {uuid.UUID(str(r[0])): bool(r[1]) for r in rows}
        if found.keys() != wanted:  # NOT_FOUND: the general path's refusal
            return None
        seen = [(ctx.tenant.id, ctx.actor.user_id, n) for n, is_unread in found.items() if not is_unread]
        if len(_READ) + len(seen) > _KEPT:
            _READ.clear()
        _READ.update(seen)
        unread = sorted(n for n, is_unread in found.items() if is_unread)
        if unread:
            sql, args = _inserts(ctx, unread)
            ctes.append(sql)
    await record_mutation(ctx, "markNotificationsRead", outcome="ok", changes=[])
    return PreparedMove(row={"marked": len(unread)}, ctes=ctes, args=args)
