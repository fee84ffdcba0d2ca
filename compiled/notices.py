"""The compiled notices list (通知公告, issue #21): the portal's feed, ``notices(includeExpired:, first:)``,
in one statement like the cases list.

The rows are the resolvers' own: ``resolvers.deliberation.notice_list_filters`` (readable by the
grant, the area's path when one is asked, unexpired at the request's clock), here with the area's
path read by a subquery and the clock a parameter; newest first by id, with the cursors and page of
every other keyset list (``compiled.fields.connection``). The fields are the strawberry type's column
declarations, its area (read under the area predicate, as the area loader) and its publisher.
An unknown area is the resolvers' NOT_FOUND: the statement yields NULL and strawberry answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection, user
from compiled.sql import gid
from models import Area, Notice
from resolvers.deliberation import notice_list_filters
from schema.deliberation import Notice as NoticeType


def notices(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("na")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    include_expired = cx.shape(sel, lambda a: bool(a.get("includeExpired")))
    stmt = select(Notice.__table__).where(
        Notice.tenant_id == cx.tenant_id,
        *notice_list_filters(cx.ctx, area_path=path, include_expired=include_expired, now=cx.now))
    return connection(cx, sel, stmt, Notice.id, descending=True, node_type="Notice")


NOTICE: FieldTable = {
    "id": lambda _cx, n, _s: gid("Notice", n.c.id),
    **columns_of(NoticeType),  # title, body, publishedAt, expiresAt, withdrawnAt
    "area": lambda cx, n, s: area_by_id(cx, s, n.c.area_id),
    "publisher": lambda cx, n, s: user(cx, s, n.c.publisher_user_id),
}

# What compiled.fields adds to its FIELDS: the Query field and the types it reaches.
TABLES: dict[str, FieldTable] = {"Query": {"notices": notices}, "Notice": NOTICE,
                                 "NoticeConnection": CONNECTION, "NoticeEdge": EDGE}
