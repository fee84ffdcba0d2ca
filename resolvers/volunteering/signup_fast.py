"""signUpForActivity (报名) as an owner signs up for an activity, on the request's driver transaction (issue #21;
resolvers.fast_moves), in one statement after the request's first, with its COMMIT: the sign-up's checks
(``sign_up_checks``, as ``sign_up`` reads them, and the key's earlier sign-up, ``retry_of``, as ``keyed_row`` asks
it) as its guard (``_guard``), the place taken (``signed_up < capacity``), the sign-up's row and the audit entry
(``AppState.commit_writes``). The sign-up's ``activity_id`` is the id the place's UPDATE returned: when the checks
refuse it or the activity is full (or closed) by then, it is NULL, the INSERT fails on its NOT NULL (and the audit
entry's id on its own), and nothing is written — the general path answers from the start (FORBIDDEN, CONFLICT, a
retry's sign-up as it is now …), as it does a concurrent sign-up of the same person or key (a unique constraint).
An actor without a person or an invalid key is None here before anything is sent. A sign-up again after a
cancellation (the general path's, through the state machine) is refused by the guard too."""

from __future__ import annotations

import uuid
from typing import Any

from models import ActivitySignup, ActivityState, SignupState, uuid7
from resolvers import prepared
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.fast_moves import PreparedMove, own_first_request, retry_of
from resolvers.volunteering.activities import sign_up_checks
from tenants.session import insert_change

_PLACE = ("UPDATE activities SET signed_up = signed_up + 1 WHERE tenant_id = ${}::uuid AND id = ${}::uuid "
          "AND signed_up < capacity AND state = ${}::text AND EXISTS (SELECT FROM w0) RETURNING id")
_COLUMNS = (("tenant_id", "uuid"), ("id", "uuid"), ("activity_id", "uuid"), ("person_id", "uuid"),
            ("user_id", "uuid"), ("state", "text"), ("version", "int8"), ("updated_at", "timestamptz"),
            ("created_at", "timestamptz"), ("idempotency_key", "text"))


def _signup_sql(first: int) -> str:
    values = [f"${first + i}::{t}" for i, (_c, t) in enumerate(_COLUMNS)]
    values[2] = f"(SELECT id FROM w1 WHERE id = {values[2]})"  # NULL unless w1 took a place
    return f"INSERT INTO activity_signups ({', '.join(c for c, _t in _COLUMNS)}) VALUES ({', '.join(values)})"


def _guard(checks: str, n: int) -> str:
    """The sign-up's checks (``checks``, parameters $1 … $n) as the first WITH of its write: one row when the
    sign-up would be checked as it is written — the activity there and read, the sign-up grant reaching it, open,
    not begun by the request's time ($n+1), no sign-up of the person's for it, no earlier sign-up with the key —
    else no row: the place is not taken, and the rows' ids are NULL (``audit_and_notify_sql``'s ``guarded``; the
    sign-up's ``activity_id``): the write is refused by their NOT NULL, and nothing of it is written."""
    def make() -> str:
        return (f"SELECT true AS ok FROM ({checks}) AS c(activity, reachable, open, starts_at, existing, cancelled, "
                f"retry) WHERE c.reachable AND c.open AND c.starts_at > ${n + 1}::timestamptz "
                "AND c.existing IS NULL AND c.retry IS NULL")

    return prepared.guard("signup", checks, make)


async def prepare_sign_up(ctx: RequestContext, activity_id: uuid.UUID, idempotency_key: str | None
                          ) -> PreparedMove | None:
    """The sign-up's checks and writes built, its audit entry queued; None: the general path answers it. The
    checks go inside the write (``_guard``): a sign-up they refuse is refused at the write, as by a constraint met
    (``fast_writes.WRITE_REFUSED``), and the general path answers it from the start."""
    first = own_first_request(ctx, idempotency_key)
    if first is None:
        return None
    person_id, key = first
    actor = ctx.actor
    found = prepared.statement(ctx, ("sign_up", "keyed"), lambda: sign_up_checks(ctx, prepared.param).add_columns(
        retry_of(ctx, ActivitySignup, ActivitySignup.user_id, prepared.param(2, "text"))), activity_id, person_id, key)
    if found is None:
        return None
    checks, checked = found
    n = len(checked)
    now, tenant_id = ctx.now, ctx.tenant.id
    signup: dict[str, Any] = {
        "id": uuid7(), "activity_id": activity_id, "person_id": person_id, "user_id": actor.user_id,
        "state": SignupState.SIGNED_UP, "version": 1, "updated_at": now, "created_at": now, "idempotency_key": key,
        "checked_in_at": None, "checked_out_at": None, "hours": None, "confirmed_at": None, "confirmed_by": None}
    change = insert_change(ActivitySignup, dict(signup))
    sent = dict(signup, tenant_id=tenant_id, state=SignupState.SIGNED_UP.value)
    args: list[Any] = [*checked, now, tenant_id, activity_id, ActivityState.PUBLISHED.value]
    args += [sent[c] for c, _t in _COLUMNS]
    await record_mutation(ctx, "signUpForActivity", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=signup, ctes=[_guard(checks, n), _PLACE.format(n + 2, n + 3, n + 4), _signup_sql(n + 5)],
                        args=args, guarded=True)
