"""The compiled audit log list (审计日志, issue #21): ``auditLog(action:, username:, since:, until:,
first:, after:)`` in one statement, like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.audit.audit_list_filters`` (the entries under the actor's
scope, or all for the street admin; of the action; of the user named, looked up by a subquery as the
resolvers look them up; in the window), newest first by id. An actor who may read none is refused by
the resolvers (FORBIDDEN): the compiler declines. A lookup by ``objectId`` (a match in the JSON text),
and the ``errors`` and ``changes`` of an entry (JSON re-serialised in Python) are not compiled: such a
request takes the general path. The other fields are the strawberry type's: the outcome only when the
stored one is a JSON string, the result by the enum's name when it knows the value, the ids of the
rows concerned as their text, the user as the user loader reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, null, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, column, connection, timestamp, user
from compiled.sql import EMPTY_JSON_ARRAY, gid, lit
from models import AuditEntry, User
from resolvers.audit import audit_list_filters
from schema.audit import MutationOutcome


def audit_log(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    if cx.shape(sel, lambda a: a.get("objectId") is not None):
        raise Unsupported("auditLog by objectId")  # a uuid the resolvers check, a JSON text match
    action = None
    if cx.shape(sel, lambda a: bool(a.get("action"))):
        action = cx.param(sel, lambda a: a["action"], "text")
    by_user = cx.shape(sel, lambda a: bool(a.get("username")))
    user_id = None
    if by_user:
        u = User.__table__.alias("au")
        user_id = select(u.c.id).where(u.c.username == cx.param(sel, lambda a: a["username"], "text")
                                       ).scalar_subquery()
    since = until = None
    if cx.shape(sel, lambda a: a.get("since") is not None):
        since = cx.param(sel, lambda a: a["since"], "timestamptz")
    if cx.shape(sel, lambda a: a.get("until") is not None):
        until = cx.param(sel, lambda a: a["until"], "timestamptz")
    filters = audit_list_filters(cx.ctx, action=action, by_user=by_user, user_id=user_id, object_id=None,
                                 since=since, until=until)
    if filters is None:
        raise Unsupported("auditLog: not readable")  # the resolvers' FORBIDDEN
    stmt = select(AuditEntry.__table__).where(AuditEntry.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, AuditEntry.id, descending=True, node_type="AuditEntry")


def _outcome_text(e: Any) -> ColumnElement[Any]:
    """detail's outcome when it is a JSON string (AuditEntry.outcome narrows it so), else NULL."""
    value = e.c.detail.op("->")(lit("outcome"))
    return case((func.json_typeof(value) == lit("string"), e.c.detail.op("->>")(lit("outcome"))), else_=null())


def _result(_cx: Compiler, e: Any, _s: Sel) -> ColumnElement[Any]:
    text = _outcome_text(e)
    return case(*[(text == lit(m.value), lit(m.name)) for m in MutationOutcome], else_=null())


def _object_ids(_cx: Compiler, e: Any, _s: Sel) -> ColumnElement[Any]:
    """Each id as its text (strawberry.ID of each element), in the stored order."""
    elements = func.json_array_elements_text(e.c.object_ids).table_valued(
        "value", with_ordinality="ord").render_derived(name="oid")
    agg = func.json_agg(aggregate_order_by(elements.c.value, elements.c.ord))
    return select(func.coalesce(agg, EMPTY_JSON_ARRAY)).select_from(elements).scalar_subquery()


AUDIT_ENTRY: FieldTable = {
    "id": lambda _cx, e, _s: gid("AuditEntry", e.c.id),
    "action": column("action"),
    "outcome": lambda _cx, e, _s: _outcome_text(e),
    "result": _result,
    "objectType": column("object_type"),
    "objectIds": _object_ids,
    "user": lambda cx, e, s: case((e.c.user_id.is_(None), null()), else_=user(cx, s, e.c.user_id)),
    "roles": column("roles"),
    "requestId": column("request_id"),
    "clientAddr": column("client_addr"),
    "at": timestamp("created_at"),
}

TABLES: dict[str, FieldTable] = {"Query": {"auditLog": audit_log}, "AuditEntry": AUDIT_ENTRY,
                                 "AuditEntryConnection": CONNECTION, "AuditEntryEdge": EDGE}
