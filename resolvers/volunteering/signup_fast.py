"""signUpForActivity (报名) as an owner signs up for an activity, on the request's driver transaction (issue #21;
resolvers.fast_moves): the sign-up's checks (``sign_up_checks``, as ``sign_up`` reads them) and the key's earlier
sign-up (``retry_of``, as ``keyed_row`` asks it) in one statement, and the place taken (``signed_up < capacity``),
the sign-up's row and the audit entry in one statement (``AppState.commit_writes``). The sign-up's ``activity_id``
is the id the place's UPDATE returned: when the activity is full (or closed) by then, it is NULL, the INSERT fails on
its NOT NULL, and nothing is written — the general path answers (CONFLICT), as it does a concurrent sign-up of the same
person or key (a unique constraint). A retry with a known key, a sign-up again after a cancellation, an actor
without a person, no reach, an activity closed or begun — anything the general path would refuse or answer
otherwise — is None here before anything is written, and the general path answers from the start."""

from __future__ import annotations

import uuid
from typing import Any

from models import ActivitySignup, ActivityState, SignupState, uuid7
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, own_first_request, read, retry_of
from resolvers.volunteering.activities import sign_up_checks
from tenants.session import insert_change

_PLACE = ("UPDATE activities SET signed_up = signed_up + 1 WHERE tenant_id = ${}::uuid AND id = ${}::uuid "
          "AND signed_up < capacity AND state = ${}::text RETURNING id")
_COLUMNS = (("tenant_id", "uuid"), ("id", "uuid"), ("activity_id", "uuid"), ("person_id", "uuid"),
            ("user_id", "uuid"), ("state", "text"), ("version", "int8"), ("updated_at", "timestamptz"),
            ("created_at", "timestamptz"), ("idempotency_key", "text"))


def _signup_sql(first: int) -> str:
    values = [f"${first + i}::{t}" for i, (_c, t) in enumerate(_COLUMNS)]
    values[2] = f"(SELECT id FROM w0 WHERE id = {values[2]})"  # NULL unless w0 took a place
    return f"INSERT INTO activity_signups ({', '.join(c for c, _t in _COLUMNS)}) VALUES ({', '.join(values)})"


async def prepare_sign_up(ctx: RequestContext, activity_id: uuid.UUID, idempotency_key: str | None
                          ) -> PreparedMove | None:
    """The sign-up checked and its writes built, its audit entry queued; None: the general path answers it."""
    first = own_first_request(ctx, idempotency_key)
    if first is None:
        return None
    person_id, key = first
    actor = ctx.actor
    row = await read(ctx, ("sign_up", "keyed"), lambda: sign_up_checks(ctx, prepared.param).add_columns(
        retry_of(ctx, ActivitySignup, ActivitySignup.user_id, prepared.param(2, "text"))), activity_id, person_id, key)
    if row is None:
        return None
    _, reachable, is_open, starts_at, existing_id, _cancelled, retry = row
    if retry is not None:
        return None  # a retry: the general path answers with the sign-up as it is now
    if not reachable or not is_open or starts_at <= ctx.now or existing_id is not None:
        return None
    now, tenant_id = ctx.now, ctx.tenant.id
    signup: dict[str, Any] = {
        "id": uuid7(), "activity_id": activity_id, "person_id": person_id, "user_id": actor.user_id,
        "state": SignupState.SIGNED_UP, "version": 1, "updated_at": now, "created_at": now, "idempotency_key": key,
        "checked_in_at": None, "checked_out_at": None, "hours": None, "confirmed_at": None, "confirmed_by": None}
    change = insert_change(ActivitySignup, dict(signup))
    sent = dict(signup, tenant_id=tenant_id, state=SignupState.SIGNED_UP.value)
    args: list[Any] = [tenant_id, activity_id, ActivityState.PUBLISHED.value]
    args += [sent[c] for c, _t in _COLUMNS]
    await record_mutation(ctx, "signUpForActivity", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=signup, ctes=[_PLACE.format(1, 2, 3), _signup_sql(4)], args=args)
