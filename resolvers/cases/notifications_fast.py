"""markNotificationsRead (标记已读) on the request's driver transaction (issue #21; resolvers.fast_moves): which of the
ids reach the caller and which the caller has not read, by the general path's own prepared text
(``reaching_check``: the same predicates, one text per actor shape), then the caller's read marks with the
mutation's audit entry in one statement (``AppState.commit_writes``). The general path's insert skips a mark that
exists (ON CONFLICT DO NOTHING) and answers how many it wrote; here the insert is a plain one of the marks the read
found missing, so ``marked`` is their number or the insert fails: a mark another request wrote meanwhile meets the
unique constraint, the transaction is rolled back and the general path answers from the start. Too many ids, an id
that does not reach the caller — anything the general path would refuse — is None here before anything is written,
and the general path answers with its typed errors and its refusal's audit entry."""

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


def _inserts(ctx: RequestContext, unread: list[uuid.UUID]) -> tuple[str, list[Any]]:
    """One INSERT of the caller's read marks of ``unread`` (in that order), the rows the general path's insert
    writes: a new id each, created and read now."""
    head, groups = "", []  # one VALUES group per mark
    args: list[Any] = []
    for n in unread:
        values = {"tenant_id": ctx.tenant.id, "id": uuid7(), "created_at": ctx.now, "notification_id": n,
                  "user_id": ctx.actor.user_id, "read_at": ctx.now}
        sql, more = prepared.insert_values(NotificationRead, values, ctx.tenant.id, ctx.now, 1 + len(args))
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
        rows = await read_all(ctx, REACHING, lambda: reaching_check(ctx), [str(i) for i in wanted])
        if rows is None:
            return None
        found = {uuid.UUID(str(r[0])): bool(r[1]) for r in rows}
        if found.keys() != wanted:  # NOT_FOUND: the general path's refusal
            return None
        unread = sorted(n for n, is_unread in found.items() if is_unread)
        if unread:
            sql, args = _inserts(ctx, unread)
            ctes.append(sql)
    await record_mutation(ctx, "markNotificationsRead", outcome="ok", changes=[])
    return PreparedMove(row={"marked": len(unread)}, ctes=ctes, args=args)
