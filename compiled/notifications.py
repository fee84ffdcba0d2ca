"""The compiled notifications list (通知, issue #21): ``notifications(unreadOnly:, first:, after:)`` in one
statement, like the notices list (compiled/notices.py); and ``unreadNotificationCount``, the count of the
same rows unread by the actor.

The rows are the resolvers' own: ``resolvers.cases.notification_list_filters`` (addressed to the actor, a
firm the actor acts for or an area in the actor's scope; unread by the actor when asked), newest first by
id; each row carries the actor's own read state (``resolvers.cases.notification_read_at``: the legacy
shared read time, else the actor's mark), so one reader's mark leaves it unread for the others. A
notification's case is read as the case loader reads it (the case list's predicate, wall cases included).
``reason`` (a mapping done in Python) is not compiled: a selection with it takes the general path; partner
units' systems never take the compiled path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select

from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, case_columns, column, connection, timestamp
from compiled.sql import gid, iso
from models import Case, Notification
from resolvers.cases import notification_list_filters, notification_read_at
from resolvers.cases import read_predicate as case_read_predicate


def notifications(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    unread_only = cx.shape(sel, lambda a: bool(a.get("unreadOnly")))
    stmt = select(Notification.__table__, notification_read_at(cx.ctx).label("_read_at")).where(
        Notification.tenant_id == cx.tenant_id, *notification_list_filters(cx.ctx, unread_only=unread_only))
    return connection(cx, sel, stmt, Notification.id, descending=True, node_type="Notification")


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

# What compiled.fields adds to its FIELDS: the Query field and the types it reaches.
TABLES: dict[str, FieldTable] = {"Query": {"notifications": notifications, "unreadNotificationCount": unread_count},
                                 "Notification": NOTIFICATION,
                                 "NotificationConnection": CONNECTION, "NotificationEdge": EDGE}
