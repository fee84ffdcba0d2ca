"""The checks every write of the deliberation domain shares.

Checks run in the house order: input, then the object through the *read* predicate (NOT_FOUND), then
the action's grant on it (FORBIDDEN), then its state (INVALID_TRANSITION), then the write. Topic and
meeting transitions are ``UPDATE … WHERE version = :seen``: of two at once exactly one wins.
"""

from __future__ import annotations

import uuid

from sqlalchemy import false, select

from models import Area
from policies.filters import area_reach_predicate, area_read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def fail(code: ErrorCode, message: str, field: str | None = None) -> ServiceError:
    return ServiceError(code, message, field)


async def area_for_action(ctx: RequestContext, area_id: uuid.UUID, resource: str, action: str, verb: str) -> Area:
    """The area, when the actor may read it (else NOT_FOUND) and the action's grant reaches it (else FORBIDDEN).
    One statement: whether the grant reaches the area is a column of the read (issue #21: a round trip and an
    ORM statement fewer per notice, topic and meeting), NOT_FOUND still before FORBIDDEN."""
    grant = ctx.actor.grant(resource, action)
    reach = area_reach_predicate(grant, ctx.actor) if grant else false()
    found = await ctx.db.all(select(Area, reach.label("reachable")).where(
        Area.id == area_id, area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
    if not found:
        raise fail(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    area, reachable = found[0]
    if not reachable:
        raise fail(ErrorCode.FORBIDDEN, t(f"您无权在该区域执行 {verb}", f"you may not {verb} in this area"), "areaId")
    return area  # type: ignore[no-any-return]
