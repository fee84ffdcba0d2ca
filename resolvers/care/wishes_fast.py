"""claimWish (认领微心愿) as a grid leader or other staff in reach claims a wish, on the request's driver
transaction (issue #21; resolvers.fast_moves): the wish read by ``_load_wish``'s own prepared text
(``wish_in_reach``), the checks ``_load_wish`` makes for staff in reach, and the general path's UPDATE and
audit entry. A party member's claim (their community is read by statements of its own), a wish not in the
actor's staff reach, their own wish, a wish not open, a stale ``expectedVersion`` — anything the general path
would refuse or answer otherwise — is None here, and the general path answers from the start."""

from __future__ import annotations

import uuid

from models import Wish
from resolvers.care.wishes import WISH, wish_in_reach
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, moved, read, values_of


async def prepare_claim(ctx: RequestContext, wish_id: uuid.UUID, expected_version: int | None) -> PreparedMove | None:
    """The claim checked and its UPDATE sent, its audit entry queued; None: the general path answers it."""
    row = await read(ctx, ("load_wish", "claim"), lambda: wish_in_reach(ctx, "claim"), wish_id)
    if row is None or not row[-1]:  # not found, or not in the actor's staff reach (a party member's claim)
        return None
    wish = values_of(Wish, row)
    actor = ctx.actor
    if wish is None or wish.poster_user_id == actor.user_id or (
            actor.person_id is not None and wish.beneficiary_person_id == actor.person_id):
        return None  # _no_self_dealing: FORBIDDEN
    return await moved(ctx, WISH, wish, "claim", {"claimant_user_id": actor.user_id, "claimed_at": ctx.now},
                       "claimWish", expected_version=expected_version)
