"""Notifications (通知) of dispatch, 督办, 催办, progress …: addressed to a user, a firm, an area or a partner
unit, listed by whoever they reach, each with that reader's own read state (issue #22).

Read state is per user: a ``NotificationRead`` row per user who marked the notification read, so one
person of a firm reading it leaves it unread for the others. A notification read before migration 0045
(``notifications.read_at``) stays read for everyone it reaches. Lists, counts and marking are fixed
numbers of statements whatever the page holds.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, any_, exists, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased, with_expression

from models import Area, Notification, NotificationRead, uuid7
from policies.roles import Role
from resolvers import prepared
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page

MAX_MARK = 100
_MINE = aliased(NotificationRead, name="my_read")


def _notification_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """Addressed to the actor, to a firm the actor acts for, to an area inside the actor's scope, or (a
    partner unit's system) to its unit."""
    actor = ctx.actor
    parts = [Notification.user_id == actor.user_id]
    firms = [a.firm_id for a in actor.assignments if a.firm_id is not None]
    if firms:
        parts.append(Notification.firm_id.in_(firms))
    paths = [a.scope_path for a in actor.assignments if a.role is not Role.RESIDENT]
    if paths:
        parts.append(Notification.area_id.in_(select(Area.id).where(or_(*(Area.path.startswith(p) for p in paths)))))
    if actor.partner_unit_id is not None:
        parts.append(Notification.partner_unit_id == actor.partner_unit_id)
    return or_(*parts)


def _my_read_at(ctx: RequestContext) -> Any:
    """The reader's read time of the notification in the row: the legacy shared one, else their own mark."""
    mine = (select(_MINE.read_at)
            .where(_MINE.tenant_id == ctx.tenant.id, _MINE.notification_id == Notification.id,
                   _MINE.user_id == ctx.actor.user_id)
            .correlate(Notification).scalar_subquery())
    return func.coalesce(Notification.read_at, mine)


def _unread(ctx: RequestContext) -> ColumnElement[bool]:
    return and_(Notification.read_at.is_(None),
                ~exists().where(_MINE.tenant_id == ctx.tenant.id, _MINE.notification_id == Notification.id,
                                _MINE.user_id == ctx.actor.user_id))


def _with_read_state(ctx: RequestContext, stmt: Any) -> Any:
    # populate_existing: a row this request loaded before (without the expression) gets it too
    return stmt.options(with_expression(Notification.read_by_me_at, _my_read_at(ctx))).execution_options(
        populate_existing=True)


async def get_notification(ctx: RequestContext, notification_id: uuid.UUID) -> Notification | None:
    """One notification (node(id:)), if it reaches the actor, with the actor's read state."""
    row: Notification | None = await ctx.db.scalar(_with_read_state(ctx, select(Notification).where(
        Notification.id == notification_id, _notification_predicate(ctx))))
    return row


async def list_notifications(ctx: RequestContext, *, unread_only: bool, first: int | None, after: str | None,
                             unit_only: bool = False) -> Page[Notification]:
    """The actor's notifications, newest first, each with the actor's own read state. ``unit_only``: only
    those addressed to the actor's unit — its partner unit (a partner system's feed), or its firms."""
    stmt = select(Notification).where(*notification_list_filters(ctx, unread_only=unread_only))
    if unit_only:
        stmt = stmt.where(unit_notification_filter(ctx))
    return await keyset_page(ctx.db, _with_read_state(ctx, stmt), Notification.id, first=first, after=after,
                             descending=True)


def notification_list_filters(ctx: RequestContext, *, unread_only: bool) -> list[ColumnElement[bool]]:
    """The notifications list's rows (newest first by id): reaching the actor, and unread by the actor when
    asked. The compiled read (compiled/notifications.py) filters with this too, and reads each row's read
    state with ``notification_read_at``."""
    return [_notification_predicate(ctx), *([_unread(ctx)] if unread_only else [])]


def unit_notification_filter(ctx: RequestContext) -> ColumnElement[bool]:
    """unitNotifications' rows among the actor's: those addressed to its partner unit (a partner system's
    feed), or to its firms. The compiled read (compiled/notifications.py) filters with this too."""
    if ctx.actor.partner_unit_id is not None:
        return Notification.partner_unit_id == ctx.actor.partner_unit_id
    firms = [a.firm_id for a in ctx.actor.assignments if a.firm_id is not None]
    return Notification.firm_id.in_(firms) if firms else false()


def notification_read_at(ctx: RequestContext) -> ColumnElement[Any]:
    """The actor's read time of the notification in the row (Notification.readAt), as an expression."""
    return _my_read_at(ctx)  # type: ignore[no-any-return]


async def unread_count(ctx: RequestContext) -> int:
    """How many notifications reaching the actor the actor has not read (one statement): the list's rows
    unread by the actor; the compiled read (compiled/notifications.py) counts the same."""
    return int(await ctx.db.scalar(select(func.count()).select_from(Notification)
                                   .where(*notification_list_filters(ctx, unread_only=True))) or 0)


REACHING = ("mark_notifications_read",)  # the prepared text's key (resolvers.prepared)


def reaching_check(ctx: RequestContext, ids: ColumnElement[bool] | None = None) -> Any:
    """The notifications (``ids``; by default those of the prepared text's parameter, a text[]) reaching the actor,
    each with whether the actor has not read it."""
    if ids is None:
        ids = Notification.id == any_(prepared.param_uuids(0))  # the primary key's index on a generic plan too
    return select(Notification.id, _unread(ctx)).where(ids, _notification_predicate(ctx))


async def reaching(ctx: RequestContext, wanted: set[uuid.UUID]) -> list[tuple[uuid.UUID, bool]]:
    """Which of these notifications reach the actor, and whether each is unread by the actor. On PostgreSQL
    one text per actor (resolvers.prepared) with the ids as a parameter — the driver path's check too
    (resolvers.cases.notifications_fast); else the same statement through the ORM."""
    found = await prepared.rows(ctx, REACHING, lambda: reaching_check(ctx), [str(i) for i in wanted])
    if found is None:
        found = list(await ctx.db.all(reaching_check(ctx, Notification.id.in_(wanted))))
    return [(uuid.UUID(str(r[0])), bool(r[1])) for r in found]


async def mark_notifications_read(ctx: RequestContext, ids: list[uuid.UUID]) -> int:
    """Mark these notifications read for the caller only; how many were unread for the caller. Every id
    must reach the caller (else NOT_FOUND and nothing is marked). Two marks at once by the same caller
    write one row (the insert skips a row that exists)."""
    if len(ids) > MAX_MARK:
        raise ServiceError(ErrorCode.INVALID, t(f"一次最多 {MAX_MARK} 条通知", f"at most {MAX_MARK} notifications at "
                                                "once"), "ids")
    wanted = set(ids)
    if not wanted:
        return 0
    rows = await reaching(ctx, wanted)
    found = {r[0] for r in rows}
    if found != wanted:  # another tenant's, someone else's or no notification at all: nothing is marked
        raise ServiceError(ErrorCode.NOT_FOUND, t(f"找不到通知 {len(wanted - found)} 条（不存在或不是发给您的）",
                                                  f"{len(wanted - found)} notifications not found (none, or not "
                                                  "addressed to you)"), "ids")
    unread = sorted(r[0] for r in rows if r[1])
    if not unread:
        return 0
    insert = pg_insert if ctx.db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = [{"tenant_id": ctx.tenant.id, "id": uuid7(), "created_at": ctx.now, "notification_id": n,
               "user_id": ctx.actor.user_id, "read_at": ctx.now} for n in unread]
    result = await ctx.db.execute(
        insert(NotificationRead).values(values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "notification_id", "user_id"]))
    return int(result.rowcount)  # type: ignore[attr-defined]  # an INSERT gives a CursorResult; Db.execute is typed Result
