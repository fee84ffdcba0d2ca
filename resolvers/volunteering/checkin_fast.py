"""checkInActivity (签到) as a volunteer checks in to their own sign-up, on the request's driver transaction
(issue #21; resolvers.fast_moves): the sign-up and its activity read by ``_signup_for``'s own prepared text
(``signup_and_activity``), the checks ``check_in`` makes, and the general path's UPDATE and audit entry. The
organiser's check-in of someone else (``_organises`` is a statement of its own), a sign-up not found or not
readable, a cancelled activity, a state the machine refuses — anything the general path would refuse or answer
otherwise — is None here, and the general path answers from the start."""

from __future__ import annotations

import uuid

from models import Activity, ActivitySignup, ActivityState
from resolvers import prepared
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, moved, read, values_of
from resolvers.volunteering.activities import SIGNUP, signup_and_activity


async def prepare_check_in(ctx: RequestContext, signup_id: uuid.UUID) -> PreparedMove | None:
    """The check-in checked and its UPDATE sent, its audit entry queued; None: the general path answers it."""
    row = await read(ctx, ("signup_for",), lambda: signup_and_activity(ctx), signup_id)
    if row is None:
        return None
    signup = values_of(ActivitySignup, row)
    activity = values_of(Activity, row, len(prepared.columns(ActivitySignup)))
    if (signup is None or activity is None or signup.user_id != ctx.actor.user_id
            or activity.state is ActivityState.CANCELLED):
        return None
    return await moved(ctx, SIGNUP, signup, "check_in", {"checked_in_at": ctx.now}, "checkInActivity")
