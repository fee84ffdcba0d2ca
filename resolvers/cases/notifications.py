"""Notifications (通知) of dispatch, 督办, 催办 …: addressed to a user, a firm or an area, listed and
marked read by whoever they reach."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, select, update

from models import Area, Notification
from policies.roles import Role
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


def _notification_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """Addressed to the actor, to a firm the actor acts for, or to an area inside the actor's scope."""
    actor = ctx.actor
    parts = [Notification.user_id == actor.user_id]
    firms = [a.firm_id for a in actor.assignments if a.firm_id is not None]
    if firms:
        parts.append(Notification.firm_id.in_(firms))
    paths = [a.scope_path for a in actor.assignments if a.role is not Role.RESIDENT]
    if paths:
        parts.append(Notification.area_id.in_(select(Area.id).where(or_(*(Area.path.startswith(p) for p in paths)))))
    return or_(*parts)


async def get_notification(ctx: RequestContext, notification_id: uuid.UUID) -> Notification | None:
    """One notification (node(id:)), if it reaches the actor."""
    row: Notification | None = await ctx.db.scalar(
        select(Notification).where(Notification.id == notification_id, _notification_predicate(ctx)))
    return row


async def list_notifications(ctx: RequestContext, *, unread_only: bool, first: int | None, after: str | None
                             ) -> Page[Notification]:
    stmt = select(Notification).where(_notification_predicate(ctx))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return await keyset_page(ctx.db, stmt, Notification.id, first=first, after=after, descending=True)


async def mark_notifications_read(ctx: RequestContext, ids: list[uuid.UUID]) -> int:
    if len(ids) > 100:
        raise ServiceError(ErrorCode.INVALID, t("一次最多 100 条通知", "at most 100 notifications at once"), "ids")
    wanted = set(ids)
    found = set(await ctx.db.scalars(
        select(Notification.id).where(Notification.id.in_(wanted), _notification_predicate(ctx))))
    if found != wanted:  # another tenant's, someone else's or no notification at all: nothing is marked
        raise ServiceError(ErrorCode.NOT_FOUND, f"找不到通知 {len(wanted - found)} 条（不存在或不是发给您的）", "ids")
    result = await ctx.db.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.read_at.is_(None), _notification_predicate(ctx))
        .values(read_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DELETE/UPDATE gives a CursorResult; Db.execute is typed Result
