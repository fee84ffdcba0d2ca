"""recordVisit (登记走访) without a case to raise, on the request's driver transaction (issue #21;
resolvers.fast_moves): the key's earlier request (``keyed_row``'s prepared text) and the household's checks
(``record_visit_checks``, the general path's own text), then the visit's row with the audit entry in one statement
(``AppState.commit_writes``). A retry with a known key, invalid input, a household out of sight or out of reach —
anything the general path would refuse or answer otherwise — is None here before anything is written, and the
general path answers from the start; so is a write that meets a constraint (a concurrent request with the same
key); so is a visit that raises a case (the report is the general path's)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from models import Visit, VisitKind, uuid7
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.care.visits import acting_role, record_visit_checks
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove, key_is_new, read
from resolvers.idempotency import checked_key
from tenants.session import insert_change


async def prepare_visit(ctx: RequestContext, household_id: uuid.UUID, kind: VisitKind, visited_at: datetime,
                        findings: str, needs: str | None, idempotency_key: str | None) -> PreparedMove | None:
    """The visit checked and its row built, its audit entry queued; None: the general path answers it."""
    try:
        key = checked_key(idempotency_key)
        clean_findings = v.text(findings, "findings", max_len=5000)
        clean_needs = None if needs is None else v.text(needs, "needs", max_len=2000, required=False) or None
    except ServiceError:
        return None
    if (visited_at.tzinfo is None or visited_at > ctx.now + timedelta(minutes=5)
            or visited_at < ctx.now - timedelta(days=366) or not prepared.usable(ctx)):
        return None
    if key is not None and not await key_is_new(ctx, Visit, Visit.visitor_user_id, key):
        return None  # a retry (or the key reused): the general path answers it
    found = await read(ctx, ("record_visit",), lambda: record_visit_checks(ctx, prepared.param), household_id)
    if found is None or not found[1]:
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "household_id": household_id, "building_id": prepared.uid(found[0]),
        "visitor_user_id": ctx.actor.user_id, "visitor_role": acting_role(ctx), "kind": kind,
        "visited_at": visited_at, "findings": clean_findings, "needs": clean_needs, "case_id": None,
        "created_at": ctx.now, "idempotency_key": key}
    change = insert_change(Visit, dict(values))
    sql, args = prepared.insert_values(Visit, dict(values), ctx.tenant.id, ctx.now, 1)
    await record_mutation(ctx, "recordVisit", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=[sql], args=args)
