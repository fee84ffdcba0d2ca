"""postWish (发布微心愿) on the request's driver transaction (issue #21; resolvers.fast_moves): the person, the post
grant's reach and the household's building read by ``post_wish``'s own prepared text (``post_wish_checks``), then
the wish's row with the audit entry in one statement (``AppState.commit_writes``). Invalid input, a person out of
sight or without a household, a household out of reach — anything the general path would refuse — is None here
before anything is written, and the general path answers from the start with its typed errors and its refusal's
audit entry; so is a write that meets a constraint.

The checks in the write (three round trips, against the report's two): the wish's row takes two values from the
checks' answer — the person's household and its building — which this process keeps per (tenant, person) with the
tenant's actor_version they were read at (resolvers.prepared.still_kept). When it holds them, the checks' statement
goes, unchanged, as the first WITH of the write (as the report's: resolvers.cases.report_fast ``_guard``): one row
when the person is there, seen by the read grant, their household reached by the post grant, household and building
the kept ones — else none, and the wish's id (``(SELECT $k FROM w0)``) is NULL: the statement is refused by its NOT
NULL before it writes anything, the endpoint rolls back and the general path answers from the start. A person's
household and a household's building move the tenant's actor_version (migration 0055), so the first request after
such a move reads them afresh; where the version does not move (Citus) they are trusted for ``TRUST`` seconds only."""

from __future__ import annotations

import uuid
from typing import Any

from models import Wish, WishState, uuid7
from models.bounded import keep
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.care.wishes import post_wish_checks
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove
from tenants.session import fetch_first, insert_change

TRUST = 30.0  # seconds a person's household and building are used in a guard where actor_version does not move
_KEPT = 4096
_HOMES: dict[tuple[Any, Any], prepared.Kept] = {}  # (tenant, person) → (household, building) at the actor_version
_GUARDED = {"id": "(SELECT {} FROM w0)"}  # the wish's id: NULL unless the guard (w0) answered its row


def _guard(checks: str, n: int) -> str:
    """The checks (parameters $1 … $n) as the write's first WITH: one row when the person is seen, their household
    reached, and household and building the kept ones ($n+1, $n+2); else none."""
    def make() -> str:
        return (f"SELECT true AS ok FROM ({checks}) AS c WHERE c.reachable AND c.household_id = ${n + 1}::uuid "
                f"AND c.building_id IS NOT DISTINCT FROM ${n + 2}::uuid")

    return prepared.guard("wish_post", checks, make)


async def prepare_post_wish(ctx: RequestContext, person_id: uuid.UUID, title: str, description: str
                            ) -> PreparedMove | None:
    """The wish checked (in a statement of its own, or inside its write) and its row built, its audit entry
    queued; None: the general path answers it."""
    try:
        clean_title = v.text(title, "title", max_len=100)
        clean_description = v.text(description, "description", max_len=2000, required=False)
    except ServiceError:
        return None
    if not prepared.usable(ctx):
        return None
    found = prepared.statement(ctx, ("post_wish",), lambda: post_wish_checks(ctx, prepared.param), person_id)
    if found is None:
        return None
    sql, checks = found
    key = (ctx.tenant.id, person_id)
    kept = _HOMES.get(key)
    ctes: list[str] = []
    args: list[Any] = []
    guarded = None
    household_id: uuid.UUID
    building_id: uuid.UUID | None
    if kept is not None and prepared.still_kept(ctx, kept, TRUST):
        household_id, building_id = kept.value
        ctes.append(_guard(sql, len(checks)))
        args.extend((*checks, household_id, building_id))
        guarded = _GUARDED
    else:
        session = ctx.db.session
        row = await ctx.db.locked(lambda: fetch_first(session, sql, *checks))
        if row is None or row[0] is None:
            return None
        household_id, building_id = uuid.UUID(str(row[0])), prepared.uid(row[1])
        keep(_HOMES, key, prepared.kept_now(ctx, (household_id, building_id)), _KEPT)
        if not row[2]:
            return None
    values: dict[str, Any] = {
        "id": uuid7(), "beneficiary_person_id": person_id, "household_id": household_id,
        "building_id": building_id, "title": clean_title, "description": clean_description or "",
        "poster_user_id": ctx.actor.user_id, "state": WishState.OPEN, "claimant_user_id": None, "claimed_at": None,
        "fulfilled_at": None, "fulfil_note": None, "confirmed_at": None, "confirmed_by": None, "version": 1,
        "updated_at": ctx.now, "created_at": ctx.now}
    change = insert_change(Wish, dict(values))
    insert, more = prepared.insert_values(Wish, dict(values), ctx.tenant.id, ctx.now, 1 + len(args), guarded)
    await record_mutation(ctx, "postWish", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=[*ctes, insert], args=[*args, *more])
