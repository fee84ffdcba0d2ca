"""An area's checks inside the write of publishNotice and proposeTopic on the driver (issue #21: three round trips
each, against the report's two; resolvers.deliberation.notices_fast, topics_fast).

Their rows take one value from their checks' answer — the area's path — which this process keeps (per tenant and
area, from the checks of an earlier request of either) with the tenant's actor_version it was read at
(resolvers.prepared.still_kept). When it holds it, the checks' statement (``area_for_action_row``, the same text,
parameters and snapshot as before) goes, unchanged, as the first WITH of the write, as the report's does
(resolvers.cases.report_fast ``_guard``): one row when the area is there, seen by the actor's read grant, reached by
the action's grant, with the kept path — else none, and then the new row's id (``(SELECT $k FROM w0)``) is NULL and
the statement is refused by its NOT NULL before it writes anything (the audit entry, the event's NOTIFY and COMMIT
with it): the endpoint rolls back and the general path answers from the start with its typed errors and its
refusal's audit entry, as for any constraint met.

Every change of an area's path moves the tenant's actor_version (migration 0055's triggers), so the first request
after a move reads the path afresh; a write refused for a path moved by a transaction that committed between the
request's first statement and its write is answered by the general path, exactly. Where the version does not move
(Citus) what was kept is trusted for ``TRUST`` seconds only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from models.bounded import keep
from resolvers import prepared
from resolvers.context import RequestContext
from resolvers.deliberation.checks import area_for_action_row
from tenants.session import fetch_first

TRUST = 30.0  # seconds an area's path read by a check is used in a guard where actor_version does not move (Citus)
_KEPT = 4096
_PATHS: dict[tuple[Any, Any], prepared.Kept] = {}  # (tenant, area) → the path, at the tenant's actor_version
GUARDED = {"id": "(SELECT {} FROM w0)"}  # the new row's id: NULL unless the guard (w0) answered its row


@dataclass
class CheckedArea:
    """The area's path, and — when checked inside the write — the guard's text and parameters to go first."""

    path: str
    ctes: list[str]
    args: list[Any]
    guarded: dict[str, str] | None


def _guard(checks: str, n: int) -> str:
    """The checks (parameters $1 … $n) as the write's first WITH: one row when the area is there, seen, reached
    and its path the kept one ($n+1); else none."""
    def make() -> str:
        return f"SELECT true AS ok FROM ({checks}) AS c WHERE c.reachable AND c.path = ${n + 1}::text"

    return prepared.guard("area_action", checks, make)


def _keep(ctx: RequestContext, key: tuple[Any, Any], path: str) -> None:
    keep(_PATHS, key, prepared.kept_now(ctx, path), _KEPT)


async def area_checked(ctx: RequestContext, resource: str, action: str, area_id: uuid.UUID) -> CheckedArea | None:
    """``area_for_action``'s checks for the driver path: in a statement of their own (None: what the general path
    refuses, or the texts not usable here), or — the area's path kept less than ``TRUST`` seconds ago — as the
    guard of the write (``CheckedArea.ctes``, its ids then ``CheckedArea.guarded``)."""
    if not prepared.usable(ctx):
        return None
    found = prepared.statement(ctx, ("area_for_action", resource, action),
                               lambda: area_for_action_row(ctx, resource, action, prepared.param), area_id)
    if found is None:
        return None
    sql, args = found
    key = (ctx.tenant.id, area_id)
    kept = _PATHS.get(key)
    if kept is not None and prepared.still_kept(ctx, kept, TRUST):
        return CheckedArea(kept.value, [_guard(sql, len(args))], [*args, kept.value], GUARDED)
    session = ctx.db.session
    row = await ctx.db.locked(lambda: fetch_first(session, sql, *args))
    if row is None:
        return None
    path = str(row[1])
    _keep(ctx, key, path)
    return CheckedArea(path, [], [], None) if row[2] else None
