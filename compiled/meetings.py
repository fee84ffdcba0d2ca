"""The compiled meetings list (议事会, issue #21): ``meetings(areaId:, states:, startsFrom:, startsBefore:,
first:, after:)`` in one statement, like the notices and topics lists (compiled/notices.py, topics.py).

The rows are the resolvers' own: ``resolvers.deliberation.meeting_list_filters`` (readable by the
grant, starting in the period, in the states asked, inside the area's path), here with the area's
path read by a subquery, the states literals and the period's bounds parameters; newest first by id.
A period the resolvers refuse (no zone, empty or reversed: ``v.period_filter``'s checks, made here on
the request's values) takes the general path, which answers their INVALID. The fields are the
strawberry type's column declarations, its area (read under the area predicate, as the area loader)
and its convener. A meeting's agenda, decided topics and attendees are not compiled: a selection
with one of them takes the general path."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection, user
from compiled.sql import gid, lit
from models import Area, Meeting, MeetingState
from resolvers import validation as v
from resolvers.deliberation import meeting_list_filters
from resolvers.errors import ServiceError
from schema.deliberation import Meeting as MeetingType


def _period(a: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The period as the resolvers check it (zones, order); a bad one is theirs to refuse."""
    start, end = a.get("startsFrom"), a.get("startsBefore")
    try:
        v.period_filter(Meeting.starts_at, start, end)
    except ServiceError:
        raise Unsupported("bad period") from None
    return start, end


def meetings(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("ma")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    states = cx.shape(sel, lambda a: tuple(MeetingState(x).value for x in a.get("states") or ()))
    has_start, has_end = cx.shape(sel, lambda a: tuple(x is not None for x in _period(a)))
    start = cx.param(sel, lambda a: _period(a)[0], "timestamptz") if has_start else None
    end = cx.param(sel, lambda a: _period(a)[1], "timestamptz") if has_end else None
    stmt = select(Meeting.__table__).where(
        Meeting.tenant_id == cx.tenant_id,
        *meeting_list_filters(cx.ctx, area_path=path, states=[lit(x) for x in states], starts_from=start,
                              starts_before=end))
    return connection(cx, sel, stmt, Meeting.id, descending=True, node_type="Meeting")


MEETING: FieldTable = {
    "id": lambda _cx, m, _s: gid("Meeting", m.c.id),
    **columns_of(MeetingType),  # title, startsAt, place, state, minutes, cancelReason, version, closedAt
    "area": lambda cx, m, s: area_by_id(cx, s, m.c.area_id),
    "convener": lambda cx, m, s: user(cx, s, m.c.convener_user_id),
}

# What compiled.fields adds to its FIELDS: the Query field and the types it reaches.
TABLES: dict[str, FieldTable] = {"Query": {"meetings": meetings}, "Meeting": MEETING,
                                 "MeetingConnection": CONNECTION, "MeetingEdge": EDGE}
