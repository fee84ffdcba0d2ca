"""The compiled notifications list (通知, issue #21): ``notifications(unreadOnly:, first:, after:)`` in one
statement, like the notices list (compiled/notices.py); and ``unreadNotificationCount``, the count of the
same rows unread by the actor.

The rows are the resolvers' own: ``resolvers.cases.notification_list_filters`` (addressed to the actor, a
firm the actor acts for or an area in the actor's scope; unread by the actor when asked), newest first by
id; each row carries the actor's own read state (``resolvers.cases.notification_read_at``: the legacy
shared read time, else the actor's mark), so one reader's mark leaves it unread for the others. A
notification's case is read as the case loader reads it (the case list's predicate, wall cases included).
``reason`` (a mapping done in Python) is not compiled: a selection with it takes the general path.
``unitNotifications`` (a partner system's feed, or a firm's) is the same rows narrowed by
``resolvers.cases.unit_notification_filter``, as the UnitNotification type shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, null, select

from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, case_columns, column, connection, timestamp
from compiled.sql import enum_name, gid, iso
from models import Case, Notification
from resolvers.cases import notification_list_filters, notification_read_at, unit_notification_filter
from resolvers.cases import read_predicate as case_read_predicate
from schema.cases import NotificationKind


def notifications(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    unread_only = cx.shape(sel, lambda a: bool(a.get("unreadOnly")))
    stmt = select(Notification.__table__, notification_read_at(cx.ctx).label("_read_at")).where(
        Notification.tenant_id == cx.tenant_id, *notification_list_filters(cx.ctx, unread_only=unread_only))
    return connection(cx, sel, stmt, Notification.id, descending=True, node_type="Notification")


def unit_notifications(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """unitNotifications: the same rows, only those to the actor's unit (``unit_notification_filter``)."""
    unread_only = cx.shape(sel, lambda a: bool(a.get("unreadOnly")))
    stmt = select(Notification.__table__, notification_read_at(cx.ctx).label("_read_at")).where(
        Notification.tenant_id == cx.tenant_id, *notification_list_filters(cx.ctx, unread_only=unread_only),
        unit_notification_filter(cx.ctx))
    return connection(cx, sel, stmt, Notification.id, descending=True, node_type="UnitNotification")


def unread_count(cx: Compiler, _row: None, _sel: Sel) -> ColumnElement[Any]:
    """resolvers.cases.unread_count: the list's rows unread by the actor, counted."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.tenant_id == cx.tenant_id, *notification_list_filters(cx.ctx, unread_only=True))
            .scalar_subquery())


def _case(cx: Compiler, n: Any, s: Sel) -> ColumnElement[Any]:
    """Notification.case as the case loader reads it: by id, under the case list's read predicate."""
    c = (select(*case_columns(cx)).where(Case.tenant_id == cx.tenant_id, Case.id == n.c.case_id,
                                         case_read_predicate(cx.ctx)).correlate(n).subquery("nc"))
    return select(cx.sub("Case", s, c)).select_from(c).scalar_subquery()


NOTIFICATION: FieldTable = {
    "id": lambda _cx, n, _s: gid("Notification", n.c.id),
    "kind": column("kind"),
    "message": column("message"),
    "at": timestamp("created_at"),
    "readAt": lambda _cx, n, _s: iso(n.c._read_at),
    "case": _case,
}

UNIT_NOTIFICATION: FieldTable = {
    "id": lambda _cx, n, _s: gid("Notification", n.c.id),
    "kind": lambda _cx, n, _s: enum_name(n.c.kind, NotificationKind),  # schema.cases.types.notification_kind
    "message": column("message"),
    "caseId": lambda _cx, n, _s: case((n.c.case_id.is_(None), null()), else_=gid("Case", n.c.case_id)),
    "at": timestamp("created_at"),
    "readAt": lambda _cx, n, _s: iso(n.c._read_at),
}

# What compiled.fields adds to its FIELDS: the Query fields and the types they reach.
TABLES: dict[str, FieldTable] = {"Query": {"notifications": notifications, "unitNotifications": unit_notifications,
                                           "unreadNotificationCount": unread_count},
                                 "Notification": NOTIFICATION, "NotificationConnection": CONNECTION,
                                 "NotificationEdge": EDGE, "UnitNotification": UNIT_NOTIFICATION,
                                 "UnitNotificationConnection": CONNECTION, "UnitNotificationEdge": EDGE}
