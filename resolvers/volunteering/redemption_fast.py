"""requestRedemption (积分兑换申请) as an owner asks for a reward item, on the request's driver transaction
(issue #21; resolvers.fast_moves): the request's checks (``redemption_checks``, as ``request_redemption`` reads
them) and the key's earlier request (``retry_of``, as ``keyed_row`` asks it) in one statement, and the request's
row with the audit entry in one statement (``AppState.commit_writes``). A retry with a known key, an actor without a
person, an item out of reach or of another community, retired, out of stock, not enough points — anything the
general path would refuse or answer otherwise — is None here before anything is written, and the general path
answers from the start; so is a write that meets a constraint (a concurrent request with the same key)."""

from __future__ import annotations

import uuid
from typing import Any

from models import Redemption, RedemptionState, uuid7
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, own_first_request, read, retry_of
from resolvers.volunteering.service import redemption_checks
from tenants.session import insert_change


async def prepare_redemption(ctx: RequestContext, item_id: uuid.UUID, idempotency_key: str | None
                             ) -> PreparedMove | None:
    """The request checked and its row built, its audit entry queued; None: the general path answers it."""
    first = own_first_request(ctx, idempotency_key)
    if first is None:
        return None
    person_id, key = first
    actor = ctx.actor
    row = await read(ctx, ("request_redemption", "keyed"), lambda: redemption_checks(ctx, prepared.param).add_columns(
        retry_of(ctx, Redemption, Redemption.requested_by, prepared.param(2, "text"))), item_id, person_id, key)
    if row is None:
        return None
    community_path, active, stock, points, balance, retry = row
    if retry is not None:
        return None  # a retry: the general path answers with the request as it is now
    own_path = actor.own_compound_path
    if (not actor.grant("points", "redeem").own or own_path is None or not own_path.startswith(community_path)
            or not active or stock < 1 or int(balance or 0) < points):
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "person_id": person_id, "item_id": item_id, "points": points,
        "state": RedemptionState.REQUESTED, "requested_by": actor.user_id, "created_at": ctx.now,
        "idempotency_key": key, "decided_by": None, "decided_at": None, "note": None}
    change = insert_change(Redemption, dict(values))
    sql, args = prepared.insert_values(Redemption, dict(values), ctx.tenant.id, ctx.now, 1)
    await record_mutation(ctx, "requestRedemption", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=[sql], args=args)
