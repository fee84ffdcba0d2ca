"""The checks every write of the deliberation domain shares.

Checks run in the house order: input, then the object through the *read* predicate (NOT_FOUND), then
the action's grant on it (FORBIDDEN), then its state (INVALID_TRANSITION), then the write. Topic and
meeting transitions are ``UPDATE … WHERE version = :seen``: of two at once exactly one wins.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from sqlalchemy import false, select

from models import Area
from policies.filters import area_reach_predicate, area_read_predicate
from resolvers import prepared
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def fail(code: ErrorCode, message: str, field: str | None = None) -> ServiceError:
    return ServiceError(code, message, field)


class AreaRef(NamedTuple):
    """What a write takes from the area it acts in."""

    id: uuid.UUID
    path: str


def area_for_action_row(ctx: RequestContext, resource: str, action: str, p: prepared.Bind) -> Any:
    """``area_for_action``'s statement: the area (``$1``) as the read grant sees it, its path, and whether the
    action's grant reaches it; shared with publishNotice on the driver (resolvers.deliberation.notices_fast)."""
    grant = ctx.actor.grant(resource, action)
    reach = area_reach_predicate(grant, ctx.actor) if grant else false()
    return select(Area.id, Area.path, reach.label("reachable")).where(
        Area.id == p(0, "uuid"), area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor))


async def area_for_action(ctx: RequestContext, area_id: uuid.UUID, resource: str, action: str, verb: str
                          ) -> AreaRef:
    """The area, when the actor may read it (else NOT_FOUND) and the action's grant reaches it (else FORBIDDEN).
    One statement: whether the grant reaches the area is a column of the read (issue #21: a round trip and an
    ORM statement fewer per notice, topic and meeting), NOT_FOUND still before FORBIDDEN; on PostgreSQL a
    text rendered once per (resource, action, actor) (resolvers.prepared), the predicates built only then."""
    found = await prepared.first(ctx, ("area_for_action", resource, action),
                                 lambda p: area_for_action_row(ctx, resource, action, p), area_id)
    if found is None:
        raise fail(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    if not found[2]:
        raise fail(ErrorCode.FORBIDDEN, t(f"您无权在该区域执行 {verb}", f"you may not {verb} in this area"), "areaId")
    return AreaRef(area_id, found[1])
