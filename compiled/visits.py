"""The compiled visits list (走访, issue #21): ``visits(householdId:, areaId:, from:, to:, first:, after:)``
in one statement, like the notices, topics and meetings lists (compiled/notices.py …).

The rows are the resolvers' own: ``resolvers.care.visit_list_filters`` (readable by the grant's reach
or as the households' lead, of the household, in the buildings under the area's path, visited within
the local days ``visit_period`` gives), here with the area's path read by a subquery and the household
and the period's bounds parameters; newest first by id. The fields are the strawberry type's column
declarations, the visitor, the building (read under the area predicate, as the area loader) and the
household visited, read as the household loader reads it (the household read predicate) and then
by the compiled Household fields, so its room, its persons and their personal data are masked by the
one rule of ``compiled.fields`` (the Household and Person tables). A visit's case and the deprecated
visitorRole are not compiled: a selection with one of them takes the general path."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection, user
from compiled.sql import enum_name, gid
from models import Area, Household, Visit
from policies.filters import household_predicate
from policies.roles import Role
from resolvers.care import visit_list_filters, visit_period
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from schema.care import Visit as VisitType


def _household_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["householdId"]), "Household", "householdId").id
    except ServiceError:
        raise Unsupported("bad id") from None


def _period(a: dict[str, Any]) -> tuple[datetime, datetime] | None:
    try:
        return visit_period(a.get("from"), a.get("to"))
    except (OverflowError, ValueError):
        raise Unsupported("period out of range") from None  # the resolvers' error, whatever it is


def _bound(i: int) -> Any:
    def read(a: dict[str, Any]) -> datetime:
        period = _period(a)
        assert period is not None  # the plan has bounds only for requests with a period (a shape)
        return period[i]
    return read


def visits(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    household_id = None
    if cx.shape(sel, lambda a: a.get("householdId") is not None):
        household_id = cx.param(sel, _household_uuid, "uuid")
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("va")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    period = None
    if cx.shape(sel, lambda a: _period(a) is not None):
        period = (cx.param(sel, _bound(0), "timestamptz"), cx.param(sel, _bound(1), "timestamptz"))
    stmt = select(Visit.__table__).where(
        Visit.tenant_id == cx.tenant_id,
        *visit_list_filters(cx.ctx, household_id=household_id, area_path=path, period=period))
    return connection(cx, sel, stmt, Visit.id, descending=True, node_type="Visit")


def _household(cx: Compiler, v: Any, s: Sel) -> ColumnElement[Any]:
    """The household visited, if it may be read (loaders.household_by_id's predicate)."""
    h = (select(Household.__table__).where(
        Household.tenant_id == cx.tenant_id, Household.id == v.c.household_id,
        household_predicate(cx.ctx.actor.grant("household", "read"), cx.ctx.actor)).correlate(v).subquery("vh"))
    return select(cx.sub("Household", s, h)).select_from(h).scalar_subquery()


VISIT: FieldTable = {
    "id": lambda _cx, v, _s: gid("Visit", v.c.id),
    **columns_of(VisitType),  # kind, visitedAt, findings, needs
    "householdId": lambda _cx, v, _s: gid("Household", v.c.household_id),
    "household": _household,
    "building": lambda cx, v, s: area_by_id(cx, s, v.c.building_id),
    "visitor": lambda cx, v, s: user(cx, s, v.c.visitor_user_id),
    "visitorActingRole": lambda _cx, v, _s: enum_name(v.c.visitor_role, Role),  # NULL for a role no longer known
}

# What compiled.fields adds to its FIELDS: the Query field and the types it reaches.
TABLES: dict[str, FieldTable] = {"Query": {"visits": visits}, "Visit": VISIT,
                                 "VisitConnection": CONNECTION, "VisitEdge": EDGE}
