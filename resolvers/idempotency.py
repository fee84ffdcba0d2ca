"""Idempotency keys for the mutations portals retry (issue #26): ``reportCase`` (resolvers/cases/
report.py, the first), ``giveCaseFeedback``, ``castBallot``, ``signUpForActivity``,
``requestRedemption``, ``recordVisit``.

The client makes a key (≤ 64 characters) per intended action and sends the same key with every
retry of it. The key is kept on the row the mutation writes, unique per (tenant, user, key), so:

- a retry after the first attempt committed finds that row and answers with it (nothing written);
- a retry with the key and *different* input is ``IDEMPOTENCY_KEY_REUSED`` (a client bug: two
  actions under one key), never silently the first action's answer;
- concurrent attempts with one key make one row: the loser's write fails — on the unique
  constraint, or on the row the winner changed (a state that moved, a place already taken) — its
  savepoint undoes everything it did, and it answers with the winner's row.

A key counts as long as the row that carries it holds it: forever for rows written once (a visit,
a redemption request, a feedback entry of the timeline); for a household's ballot and a sign-up
until the next cast or sign-up of that row replaces it (docs/api.md, Idempotency keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resolvers import prepared
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

T = TypeVar("T")
R = TypeVar("R")

FIELD = "idempotencyKey"
MAX_KEY = 64


def checked_key(raw: str | None) -> str | None:
    """The key as given (1–64 characters after trimming), or None without one."""
    return None if raw is None else v.text(raw, FIELD, max_len=MAX_KEY)


async def keyed_row(ctx: RequestContext, model: Any, user_column: Any, key: str,
                    same: Callable[[Any], bool], *, prepared_first: bool = False) -> Any:
    """The row this user wrote with ``key`` (None: none yet). ``same(row)`` says whether the
    request at hand asks for what that row records; if not, the key was reused for another action.
    ``prepared_first``: whether such a row exists is asked first by a text rendered once per actor
    (resolvers.prepared; issue #21): a first attempt — nearly every request — then costs no ORM
    statement; a retry loads the row through the ORM as before."""
    if prepared_first:
        found = await prepared.first(ctx, ("keyed_row", model.__tablename__), lambda p: select(model.id).where(
            user_column == ctx.actor.user_id, model.idempotency_key == p(0, "text")), key)
        if found is None:
            return None
    row = await ctx.db.scalar(select(model).where(user_column == ctx.actor.user_id, model.idempotency_key == key))
    if row is not None and not same(row):
        raise ServiceError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                           t("此幂等键已用于另一项请求：新的请求请使用新的键",
                             "this idempotencyKey was used for another request: a new request takes a new key"), FIELD)
    return row


async def once(ctx: RequestContext, key: str | None, earlier: Callable[[], Awaitable[R | None]],
               write: Callable[[], Awaitable[R]]) -> R:
    """``write()`` once per key. ``earlier()`` answers a retry — the result the key's row gives, or
    None when there is none — and raises ``IDEMPOTENCY_KEY_REUSED`` for other input (``keyed_row``).
    Without a key, ``write()``."""
    if key is None:
        return await write()
    found = await earlier()
    if found is not None:
        return found
    events_before = len(ctx.events)
    changes: list[Any] = ctx.db.session.info.setdefault("audit_changes", [])
    changes_before = len(changes)
    try:
        async with ctx.db.savepoint():
            return await write()
    except (IntegrityError, ServiceError):
        # Undone by the savepoint; its events and audit entries go with it. A concurrent attempt
        # with the same key that committed first explains the failure: answer with its row.
        del ctx.events[events_before:]
        del changes[changes_before:]
        await ctx.db.locked(lambda: _expire_all(ctx))  # rows read before hold what the winner changed
        found = await earlier()
        if found is None:
            raise
        return found


async def _expire_all(ctx: RequestContext) -> None:
    ctx.db.session.expire_all()
