"""Compiled reads of the access domain (角色授权, issue #21): ``roleAssignments(areaId:, role:,
includeInactive:, first:, after:)`` in one statement, and the RoleAssignment type that ``me.roles``
(compiled/me.py) reads too.

The rows are the resolvers' own: ``resolvers.access.role_assignment_list_filters`` (readable by the
grant, under the area's path, of the role, in force at the request's clock unless inactive ones are
asked), here with the area's path read by a subquery and the clock a parameter; by id, with the
cursors and page of every other keyset list. ``active`` is the type's rule (in force now); ``scope``
is read under the area read predicate as the area loader reads it, ``user`` as the user loader. An
unknown area is the resolvers' NOT_FOUND: the statement yields NULL and strawberry answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, or_, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, area_by_id, connection, timestamp, user
from compiled.sql import enum_name, gid
from models import Area, RoleAssignment
from policies.roles import Role
from resolvers.access import role_assignment_list_filters


def role_assignments(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("ra_area")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    role = cx.shape(sel, lambda a: None if a.get("role") is None else Role(a["role"]))
    include_inactive = cx.shape(sel, lambda a: bool(a.get("includeInactive")))
    stmt = select(RoleAssignment.__table__).where(
        RoleAssignment.tenant_id == cx.tenant_id,
        *role_assignment_list_filters(cx.ctx, area_path=path, role=role, include_inactive=include_inactive,
                                      now=cx.now))
    return connection(cx, sel, stmt, RoleAssignment.id, descending=False, node_type="RoleAssignment")


def _active(cx: Compiler, r: Any, _s: Sel) -> ColumnElement[Any]:
    """RoleAssignment.active: not revoked, and now inside its validity window."""
    return and_(r.c.revoked_at.is_(None), r.c.valid_from <= cx.now,
                or_(r.c.valid_until.is_(None), r.c.valid_until > cx.now))


# A row with the columns of role_assignments (the table, or compiled/me.py's actor's own rows).
ROLE_ASSIGNMENT: FieldTable = {
    "id": lambda _cx, r, _s: gid("RoleAssignment", r.c.id),
    "role": lambda _cx, r, _s: enum_name(r.c.role, Role),
    "scope": lambda cx, r, s: area_by_id(cx, s, r.c.scope_area_id),
    "validFrom": timestamp("valid_from"),
    "validUntil": timestamp("valid_until"),
    "revokedAt": timestamp("revoked_at"),
    "active": _active,
    "user": lambda cx, r, s: user(cx, s, r.c.user_id),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"roleAssignments": role_assignments},
    "RoleAssignment": ROLE_ASSIGNMENT,
    "RoleAssignmentConnection": CONNECTION, "RoleAssignmentEdge": EDGE,
}
