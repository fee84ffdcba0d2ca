"""postWish (发布微心愿) on the request's driver transaction (issue #21; resolvers.fast_moves): the person, the post
grant's reach and the household's building read by ``post_wish``'s own prepared text (``post_wish_checks``), then
the wish's row with the audit entry in one statement (``AppState.commit_writes``). Invalid input, a person out of
sight or without a household, a household out of reach — anything the general path would refuse — is None here
before anything is written, and the general path answers from the start with its typed errors and its refusal's
audit entry; so is a write that meets a constraint."""

from __future__ import annotations

import uuid
from typing import Any

from models import Wish, WishState, uuid7
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.care.wishes import post_wish_checks
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove, read
from tenants.session import insert_change


async def prepare_post_wish(ctx: RequestContext, person_id: uuid.UUID, title: str, description: str
                            ) -> PreparedMove | None:
    """The wish checked and its row built, its audit entry queued; None: the general path answers it."""
    try:
        clean_title = v.text(title, "title", max_len=100)
        clean_description = v.text(description, "description", max_len=2000, required=False)
    except ServiceError:
        return None
    if not prepared.usable(ctx):
        return None
    found = await read(ctx, ("post_wish",), lambda: post_wish_checks(ctx, prepared.param), person_id)
    if found is None or found[0] is None or not found[2]:
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "beneficiary_person_id": person_id, "household_id": prepared.uid(found[0]),
        "building_id": prepared.uid(found[1]), "title": clean_title, "description": clean_description or "",
        "poster_user_id": ctx.actor.user_id, "state": WishState.OPEN, "claimant_user_id": None, "claimed_at": None,
        "fulfilled_at": None, "fulfil_note": None, "confirmed_at": None, "confirmed_by": None, "version": 1,
        "updated_at": ctx.now, "created_at": ctx.now}
    change = insert_change(Wish, dict(values))
    sql, args = prepared.insert_values(Wish, dict(values), ctx.tenant.id, ctx.now, 1)
    await record_mutation(ctx, "postWish", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=[sql], args=args)
