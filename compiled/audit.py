"""The compiled audit log list (审计日志, issue #21): ``auditLog(action:, username:, objectId:, since:, until:,
first:, after:)`` in one statement, like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.audit.audit_list_filters`` (the entries under the actor's
scope, or all for the street admin; of the action; of the user named, looked up by a subquery as the
resolvers look them up; naming the object, a match in the ids' JSON text; in the window), newest first
by id. An actor who may read none is refused by the resolvers (FORBIDDEN), and an objectId that is no
uuid is their INVALID_ID: the compiler declines. The fields are the strawberry type's: the outcome only
when the stored one is a JSON string, the result by the enum's name when it knows the value, the ids of
the rows concerned as their text, the user as the user loader reads them, the errors each as ``str``
and the changes row by row with each value before and after as ``json.dumps(v, ensure_ascii=False)``.

The stored JSON is ``models.jsontext.json_text``'s text since 2026-12-07 (compact; ``json.dumps``'s before: the
ORM's JSON type and gongzhi.http.state.audit_and_notify write it so) and PostgreSQL's ``json`` keeps that text as it
is: true, false, a number without an exponent and an empty list or object are their own text in the value
``json.dumps`` gives again; a string is decoded and written anew (``to_json``, whose escapes are ``json.dumps``'s
without ``ensure_ascii``). What that does not account for — any other list or object, a number with an exponent, an
error code that is no string, number, boolean or null — is a "$decline" object: ``plans.run_compiled`` gives the
request to the general path, which answers it as it always has."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ColumnElement, Text, case, cast, func, literal_column, null, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, column, connection, timestamp, user
from compiled.sql import EMPTY_JSON_ARRAY, enum_name, gid, json_list, lit
from models import AuditEntry, User
from resolvers.audit import audit_list_filters, object_id_needle
from schema.audit import AuditOperation, MutationOutcome


def audit_log(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    object_id = None
    if cx.shape(sel, lambda a: a.get("objectId") is not None):
        object_id = cx.param(sel, _object_needle, "text")
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
    filters = audit_list_filters(cx.ctx, action=action, by_user=by_user, user_id=user_id, object_id=object_id,
                                 since=since, until=until)
    if filters is None:
        raise Unsupported("auditLog: not readable")  # the resolvers' FORBIDDEN
    stmt = select(AuditEntry.__table__).where(AuditEntry.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, AuditEntry.id, descending=True, node_type="AuditEntry")


def _object_needle(a: dict[str, Any]) -> str:
    try:
        return object_id_needle(uuid.UUID(str(a["objectId"])))
    except ValueError:
        raise Unsupported("bad objectId") from None  # the resolvers' INVALID_ID


def _outcome_text(e: Any) -> ColumnElement[Any]:
    """detail's outcome when it is a JSON string (AuditEntry.outcome narrows it so), else NULL."""
    value = e.c.detail.op("->")(lit("outcome"))
    return case((func.json_typeof(value) == lit("string"), e.c.detail.op("->>")(lit("outcome"))), else_=null())


def _result(_cx: Compiler, e: Any, _s: Sel) -> ColumnElement[Any]:
    text = _outcome_text(e)
    return case(*[(text == lit(m.value), lit(m.name)) for m in MutationOutcome], else_=null())


# A stored list of strings with no escape in them (every entry the app writes: ids): each element's text is what
# stands between its quotes, so the stored text is the JSON list of those texts. JSON has no control character
# unescaped, and the type keeps only valid JSON: any other list, spacing or value does not match.
_PLAIN_STRINGS = r'^\[("[^"\\]*"(, ?)?)*\]$'


def _object_ids(_cx: Compiler, e: Any, _s: Sel) -> ColumnElement[Any]:
    """Each id as its text (strawberry.ID of each element), in the stored order: a list of plain strings is the stored
    JSON itself, its text as stored (the answer's separators are the server's: plans.finish passes the text on, and
    a client reads JSON) — not walked (issue #21: the walk, its sort, json_agg and the value's text parsed as json
    again cost ≈ 20–40 µs of PostgreSQL per entry of 42 ids, 20 entries a page); anything else is walked as before."""
    elements = func.json_array_elements_text(e.c.object_ids).table_valued(
        "value", with_ordinality="ord").render_derived(name="oid")
    agg = func.json_agg(aggregate_order_by(elements.c.value, elements.c.ord))
    walked = select(func.coalesce(agg, EMPTY_JSON_ARRAY)).select_from(elements).scalar_subquery()
    stored = cast(e.c.object_ids, Text)
    is_plain = stored.op("~")(lit(_PLAIN_STRINGS))
    out: ColumnElement[Any] = case((is_plain, e.c.object_ids), else_=walked)
    marked: Any = out  # its text where only the text is needed (compiled.sql.json_text): not made json again
    marked._json_text = case((is_plain, stored), else_=cast(walked, Text))
    return out


# Handed to the general path (plans.run_compiled): a value whose text json.dumps would write otherwise.
DECLINE = literal_column("""'{"$decline" : true}'::json""", JSON)


def _element(e: Any, name: str) -> Any:
    """The JSON list ``e`` as rows (value, ord), in the stored order."""
    return func.json_array_elements(e).table_valued("value", with_ordinality="ord").render_derived(name=name)


def _errors(_cx: Compiler, e: Any, _s: Sel) -> ColumnElement[Any]:
    """str(each) of detail's errors when they are a list, else none (the error codes: strings)."""
    errors = e.c.detail.op("->")(lit("errors"))
    el = _element(errors, "er")
    kind, stored = func.json_typeof(el.c.value), cast(el.c.value, Text)
    as_str = case((kind == lit("string"), el.c.value.op("#>>")(literal_column("'{}'"))),
                  (kind == lit("number"), stored),
                  (kind == lit("boolean"), case((stored == lit("true"), lit("True")), else_=lit("False"))),
                  (kind == lit("null"), lit("None")), else_=null())
    text = case((as_str.is_(None), DECLINE), else_=func.to_json(cast(as_str, Text)))
    listed = select(json_list(text, el.c.ord)).select_from(el).scalar_subquery()
    return case((func.json_typeof(errors) == lit("array"), listed), else_=EMPTY_JSON_ARRAY)


def _dumped(v: Any) -> ColumnElement[Any]:
    """json.dumps(v, ensure_ascii=False) of a stored JSON value, as a JSON string; null for JSON null. The stored
    text is that only for true, false, a number without an exponent (Python writes ``1e+16``, orjson ``1e16``) and an
    empty list or object: the entries written since models.jsontext are compact (``[1,2]``, json.dumps' ``[1, 2]``),
    those before it json.dumps' own, and neither can be told apart in SQL — any other list or object declines."""
    kind = func.json_typeof(v)
    text = cast(v, Text)
    own = case((kind == lit("boolean"), True),
               (kind == lit("number"), func.strpos(func.lower(text), lit("e")) == 0),
               else_=text.in_([lit("[]"), lit("{}")]))
    return case((kind == lit("null"), null()),
                (kind == lit("string"), func.to_json(cast(func.to_json(v.op("#>>")(literal_column("'{}'"))), Text))),
                (own, func.to_json(text)), else_=DECLINE)


def _changes(cx: Compiler, e: Any, s: Sel) -> ColumnElement[Any]:
    """detail's changes when they are a list, in the stored order."""
    changes = e.c.detail.op("->")(lit("changes"))
    ch = _element(changes, "ch")
    listed = select(json_list(cx.sub("AuditChange", s, ch), ch.c.ord)).select_from(ch).scalar_subquery()
    return case((func.json_typeof(changes) == lit("array"), listed), else_=EMPTY_JSON_ARRAY)


def _change_fields(cx: Compiler, c: Any, s: Sel) -> ColumnElement[Any]:
    """The change's columns in the stored order (PostgreSQL's json keeps it, as Python's dict does)."""
    fe = func.json_each(c.c.value.op("->")(lit("fields"))).table_valued(
        "key", "value", with_ordinality="ord").render_derived(name="fe")
    return select(json_list(cx.sub("AuditFieldChange", s, fe), fe.c.ord)).select_from(fe).scalar_subquery()


def _text_of(key: str) -> Any:
    return lambda _cx, c, _s: c.c.value.op("->>")(lit(key))


AUDIT_CHANGE: FieldTable = {
    "table": _text_of("table"),
    "id": _text_of("id"),
    "op": _text_of("op"),
    "operation": lambda _cx, c, _s: enum_name(c.c.value.op("->>")(lit("op")), AuditOperation),
    "fields": _change_fields,
}
AUDIT_FIELD_CHANGE: FieldTable = {
    "name": lambda _cx, f, _s: f.c.key,
    "before": lambda _cx, f, _s: _dumped(f.c.value.op("->")(literal_column("0"))),
    "after": lambda _cx, f, _s: _dumped(f.c.value.op("->")(literal_column("1"))),
}

AUDIT_ENTRY: FieldTable = {
    "id": lambda _cx, e, _s: gid("AuditEntry", e.c.id),
    "action": column("action"),
    "outcome": lambda _cx, e, _s: _outcome_text(e),
    "result": _result,
    "objectType": column("object_type"),
    "errors": _errors,
    "objectIds": _object_ids,
    "changes": _changes,
    "user": lambda cx, e, s: case((e.c.user_id.is_(None), null()), else_=user(cx, s, e.c.user_id)),
    "roles": column("roles"),
    "requestId": column("request_id"),
    "clientAddr": column("client_addr"),
    "at": timestamp("created_at"),
}

TABLES: dict[str, FieldTable] = {"Query": {"auditLog": audit_log}, "AuditEntry": AUDIT_ENTRY,
                                 "AuditEntryConnection": CONNECTION,
                                 "AuditEntryEdge": EDGE,
                                 "AuditChange": AUDIT_CHANGE, "AuditFieldChange": AUDIT_FIELD_CHANGE}
