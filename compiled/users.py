"""The compiled accounts list (街道账号, issue #21): ``users(includeDeactivated:, first:, after:)`` in one
statement, for the street admin who may read accounts.

The rows are the resolvers' own: ``resolvers.access.users.user_list_filters`` (this street office's
members, the ORM's tenant filter on the members subquery, active unless the deactivated are asked), by
id, with the cursors and page of every other keyset list. An actor without the user·read grant gets
the resolvers' FORBIDDEN: not compiled. The fields are the type's rules (subject only of an account of
this street office, linked for an identity the operator linked)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, null, select

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, column, connection, timestamp
from compiled.sql import gid
from models import User
from resolvers.access import user_list_filters


def users(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    if not cx.ctx.actor.grant("user", "read").all:
        raise Unsupported("users: not the street admin")  # the resolvers' FORBIDDEN
    include = cx.shape(sel, lambda a: bool(a.get("includeDeactivated")))
    stmt = select(User.__table__).where(*user_list_filters(include_deactivated=include))
    return connection(cx, sel, stmt, User.id, descending=False, node_type="UserAccount")


USER_ACCOUNT: FieldTable = {
    "id": lambda _cx, u, _s: gid("UserAccount", u.c.id),
    "username": column("username"),
    "displayName": column("display_name"),
    "subject": lambda _cx, u, _s: case((u.c.home_tenant_id.is_not(None), u.c.subject), else_=null()),
    "active": lambda _cx, u, _s: u.c.deactivated_at.is_(None),
    "deactivatedAt": timestamp("deactivated_at"),
    "linked": lambda _cx, u, _s: u.c.home_tenant_id.is_(None),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"users": users},
    "UserAccount": USER_ACCOUNT,
    "UserAccountConnection": CONNECTION, "UserAccountEdge": EDGE,
}
