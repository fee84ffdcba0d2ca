"""Compiled read of sign-ups (报名, issue #21): ``activitySignups(activityId:, first:, after:)`` as
``resolvers.volunteering.list_signups`` answers it, in one statement.

Without activityId: the actor's own sign-ups. With it: the activity looked up under the resolvers' read
predicate (``activity_read_pred``; none is their NOT_FOUND: the statement yields NULL and strawberry
answers), then all its sign-ups for its organiser — whose publish grant reaches the activity's area,
the resolvers' own statement ``organised_areas`` — and the actor's own for anyone else. Oldest first
by id, the same cursors and totalCount. The sign-up's activity is left to the resolvers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, cast, or_, select

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, connection, enum_of, timestamp
from compiled.sorted_lists import float_json
from compiled.sql import gid
from compiled.volunteering import person_by_id
from models import Activity, ActivitySignup, Area, SignupState
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from resolvers.volunteering import activity_read_pred, organised_areas


def _activity(a: dict[str, Any]) -> uuid.UUID | None:
    """activityId as schema.volunteering decodes it (an Activity's id); a bad one is the resolvers' error."""
    if a.get("activityId") is None:
        return None
    try:
        return decode_global_id(str(a["activityId"]), "Activity", "activityId").id
    except ServiceError:
        raise Unsupported("bad activityId") from None


def activity_signups(cx: Compiler, _row: None, sel: Sel) -> Any:
    """resolvers.volunteering.list_signups (mine=False, as the root field asks) in SQL."""
    own = ActivitySignup.user_id == cx.ctx.actor.user_id
    filters: list[Any] = [ActivitySignup.tenant_id == cx.tenant_id]
    if cx.shape(sel, lambda a: _activity(a) is not None):
        activity_id = cx.param(sel, _activity, "uuid")
        area = (select(Activity.area_id)
                .where(Activity.tenant_id == cx.tenant_id, Activity.id == activity_id, activity_read_pred(cx.ctx))
                .scalar_subquery())
        cx.guards.append(area.is_not(None))  # an unknown or unreadable activity is the resolvers' NOT_FOUND
        filters.append(ActivitySignup.activity_id == activity_id)
        areas = organised_areas(cx.ctx)
        filters.append(own if areas is None else or_(area.in_(areas.where(Area.tenant_id == cx.tenant_id)), own))
    else:
        filters.append(own)
    stmt = select(ActivitySignup.__table__).where(*filters)
    return connection(cx, sel, stmt, ActivitySignup.id, descending=False, node_type="ActivitySignup")


SIGNUP: FieldTable = {
    "id": lambda _cx, s, _s: gid("ActivitySignup", s.c.id),
    "person": person_by_id,
    "state": enum_of("state", SignupState),
    "checkedInAt": timestamp("checked_in_at"),
    "checkedOutAt": timestamp("checked_out_at"),
    "confirmedAt": timestamp("confirmed_at"),
    "hours": lambda _cx, s, _s: float_json(cast(s.c.hours, Float)),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"activitySignups": activity_signups},
    "ActivitySignup": SIGNUP,
    "ActivitySignupConnection": CONNECTION, "ActivitySignupEdge": EDGE,
}
