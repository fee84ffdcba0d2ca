"""requestRedemption (积分兑换申请) as an owner asks for a reward item, on the request's driver transaction
(issue #21; resolvers.fast_moves): the request's checks (``redemption_checks``, as ``request_redemption`` reads
them, and the key's earlier request, ``retry_of``, as ``keyed_row`` asks it) in one statement, then the request's
row with the audit entry in one statement with the COMMIT (``AppState.commit_writes``) — or, once this process
kept the item's points, the checks as the guard of that statement (``_guard``), one round trip less. A retry with
a known key, an actor without a person, an item out of reach or of another community, retired, out of stock, not
enough points — anything the general path would refuse or answer otherwise — is None here before anything is
written, or refused at the write by its guard, and the general path answers from the start; so is a write that
meets a constraint (a concurrent request with the same key)."""

from __future__ import annotations

import uuid
from typing import Any

from models import Redemption, RedemptionState, uuid7
from models.bounded import keep
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, own_first_request, retry_of
from resolvers.volunteering.service import redemption_checks
from tenants.session import fetch_first, insert_change

# An item's points (the price of a request), kept per process from earlier requests' checks, per tenant (issue #21):
# a later request for the item sends its checks inside its write (``_guard``) and takes one round trip less. Only a
# hint: the guard asks the database again, in the write's own statement and snapshot; a write it refuses forgets it.
_POINTS: dict[tuple[uuid.UUID, uuid.UUID], int] = {}  # (tenant, item) → points
_KEPT = 4096


def _guard(checks: str, n: int) -> str:
    """The request's checks (``checks``, parameters $1 … $n) as the first WITH of its write: one row when the request
    would be checked as it is written — no earlier request with its key, the item there and read, in the community
    of the actor's own compound ($n+1), active, in stock, at the kept points ($n+2), and the balance enough — else no
    row, and the rows' ids (``(SELECT $k FROM w0)``) are NULL: the write is refused by their NOT NULL, and nothing
    of it is written."""
    def make() -> str:
        return (f"SELECT true AS ok FROM ({checks}) AS c(community_path, active, stock, points, balance, retry) "
                f"WHERE c.retry IS NULL AND starts_with(${n + 1}::text, c.community_path) AND c.active "
                f"AND c.stock >= 1 AND c.points = ${n + 2}::int8 AND coalesce(c.balance, 0) >= c.points")

    return prepared.guard("redemption", checks, make)


_GUARDED = {"id": "(SELECT {} FROM w0)"}  # the request's id: NULL unless the guard (w0) answered its row


def _forget(key: tuple[uuid.UUID, uuid.UUID]) -> None:
    _POINTS.pop(key, None)


def _keep(key: tuple[uuid.UUID, uuid.UUID], points: int) -> None:
    keep(_POINTS, key, points, _KEPT)


async def prepare_redemption(ctx: RequestContext, item_id: uuid.UUID, idempotency_key: str | None
                             ) -> PreparedMove | None:
    """The request checked and its row built, its audit entry queued; None: the general path answers it. Checked in
    a statement of its own, or — when this process kept the item's points from an earlier request's checks — inside
    its write (``_guard``: a write the guard refuses raises as a constraint met, and ``PreparedMove.refused``
    forgets the points kept)."""
    first = own_first_request(ctx, idempotency_key)
    if first is None:
        return None
    person_id, key = first
    actor = ctx.actor
    own_path = actor.own_compound_path
    if not actor.grant("points", "redeem").own or own_path is None:
        return None
    found = prepared.statement(ctx, ("request_redemption", "keyed"), lambda: redemption_checks(
        ctx, prepared.param).add_columns(retry_of(ctx, Redemption, Redemption.requested_by,
                                                  prepared.param(2, "text"))), item_id, person_id, key)
    if found is None:
        return None
    checks, checked = found
    kept_key = (ctx.tenant.id, item_id)
    points = _POINTS.get(kept_key)
    ctes: list[str] = []
    args: list[Any] = []
    guarded: dict[str, str] | None = None
    if points is not None:
        n = len(checked)
        ctes.append(_guard(checks, n))
        args += (*checked, own_path, points)
        guarded = _GUARDED
    else:
        session = ctx.db.session
        row = await ctx.db.locked(lambda: fetch_first(session, checks, *checked))
        if row is None:
            return None
        community_path, active, stock, points, balance, retry = row
        if not active or retry is not None:
            return None  # a retry: the general path answers with the request as it is now
        _keep(kept_key, points)
        if not own_path.startswith(community_path) or stock < 1 or int(balance or 0) < points:
            return None
    values: dict[str, Any] = {
        "id": uuid7(), "person_id": person_id, "item_id": item_id, "points": points,
        "state": RedemptionState.REQUESTED, "requested_by": actor.user_id, "created_at": ctx.now,
        "idempotency_key": key, "decided_by": None, "decided_at": None, "note": None}
    change = insert_change(Redemption, dict(values))
    sql, more = prepared.insert_values(Redemption, dict(values), ctx.tenant.id, ctx.now, 1 + len(args), guarded)
    ctes.append(sql)
    args += more
    await record_mutation(ctx, "requestRedemption", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=ctes, args=args, guarded=guarded is not None,
                        forget=None if guarded is None else lambda: _forget(kept_key))
