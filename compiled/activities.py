"""Compiled reads of the volunteering domain (issue #21): the ``activities`` root field as
``resolvers.volunteering.list_activities`` answers it — the resolvers' own row predicate
(``activity_read_pred``: the activity's area is readable under the actor's activity·read grant), the
same filters with the same checks, newest first by id, the same cursors and totalCount. An argument
the resolvers would refuse raises Unsupported: the general path answers with its typed error.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS`` (``extend``): the root field and the types it reaches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection
from compiled.sql import gid, lit
from models import Activity, ActivityState, Area
from resolvers import validation as v
from resolvers.errors import ServiceError
from resolvers.volunteering import activity_read_pred
from schema.volunteering import Activity as ActivityType


def _period(a: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """startsFrom/startsBefore as the resolvers check them (zones, order); a bad one is theirs to refuse."""
    start, end = a.get("startsFrom"), a.get("startsBefore")
    try:
        v.period_filter(Activity.starts_at, start, end)
    except ServiceError:
        raise Unsupported("bad period") from None
    return start, end


def activities(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.volunteering.list_activities in SQL."""
    filters: list[ColumnElement[bool]] = [Activity.tenant_id == cx.tenant_id, activity_read_pred(cx.ctx)]
    start, end = cx.shape(sel, lambda a: tuple(x is not None for x in _period(a)))
    if start:
        filters.append(Activity.starts_at >= cx.param(sel, lambda a: _period(a)[0], "timestamptz"))
    if end:
        filters.append(Activity.starts_at < cx.param(sel, lambda a: _period(a)[1], "timestamptz"))
    states = cx.shape(sel, lambda a: tuple(ActivityState(x).value for x in a.get("states") or ()))
    if states:
        filters.append(Activity.state.in_([lit(x) for x in states]))
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("fa")
        path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                .scalar_subquery())
        cx.guards.append(path.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        filters.append(Activity.area_path.startswith(cast(path, Text)))
    upcoming = cx.shape(sel, lambda a: a.get("upcoming"))
    if upcoming is not None:
        filters.append(Activity.starts_at > cx.now if upcoming else Activity.starts_at <= cx.now)
    stmt = select(Activity.__table__).where(*filters)
    return connection(cx, sel, stmt, Activity.id, descending=True, node_type="Activity")


ACTIVITY: FieldTable = {
    "id": lambda _cx, a, _s: gid("Activity", a.c.id),
    **columns_of(ActivityType),  # title, place, startsAt, signedUp, state …: the type's column fields
    "area": lambda cx, a, s: area_by_id(cx, s, a.c.area_id),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"activities": activities},
    "Activity": ACTIVITY,
    "ActivityConnection": CONNECTION, "ActivityEdge": EDGE,
}
