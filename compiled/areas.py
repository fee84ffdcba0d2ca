"""The compiled areas list (区域, issue #21): ``areas(kind:, parentId:, within:, search:,
propertyManagement:, includeArchived:, first:, after:)`` in one statement, and every area's ``parent``.

The rows are the resolvers' own: ``resolvers.register.area_list_filters`` (readable by the grant, live
unless archived ones are asked, of the kind and management, children of the parent, strictly below
``within``, by part of the name), here with the ids and the text parameters and ``within``'s path a
subquery; by id, with the cursors and page of every other keyset list. An area's fields are those of
compiled.fields (the type's column fields); ``parent`` is read as the area loader reads it, under the
area read predicate. An unknown ``within`` is the resolvers' NOT_FOUND: the statement yields NULL and
strawberry answers; an ID of another type or a search the resolvers refuse is left to them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.case_filters import AREA_KIND_OF, AREA_TYPE_OF
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_obj, connection
from compiled.sql import json_list, lit
from models import ALLOWED_PARENTS, Area, AreaKind, PropertyManagement
from policies.filters import area_read_predicate
from resolvers import validation as v
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from resolvers.register import area_list_filters


def _area_id(name: str) -> Callable[[dict[str, Any]], uuid.UUID]:
    def read(a: dict[str, Any]) -> uuid.UUID:
        try:
            type_name, id_ = decode_global_id(str(a[name]))
        except ServiceError:
            raise Unsupported("bad id") from None  # the resolvers give the typed error
        if type_name not in AREA_KIND_OF:
            raise Unsupported("not an area")
        return id_
    return read


def _search_term(a: dict[str, Any]) -> str:
    try:
        return v.text(a["search"], "search", max_len=50)
    except ServiceError:
        raise Unsupported("bad search") from None  # the resolvers give the typed error


def areas(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    parent_id = None
    if cx.shape(sel, lambda a: a.get("parentId") is not None):
        parent_id = cx.param(sel, _area_id("parentId"), "uuid")
    within = None
    if cx.shape(sel, lambda a: a.get("within") is not None):
        within_id = cx.param(sel, _area_id("within"), "uuid")
        ar = Area.__table__.alias("aw")
        found = select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == within_id).scalar_subquery()
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        within = (cast(found, Text), within_id)
    search = None
    if cx.shape(sel, lambda a: bool(a.get("search"))):
        search = cx.param(sel, _search_term, "text")
    kind = cx.shape(sel, lambda a: None if a.get("kind") is None else AreaKind(a["kind"]))
    management = cx.shape(sel, lambda a: None if a.get("propertyManagement") is None
                          else PropertyManagement(a["propertyManagement"]))
    stmt = select(Area.__table__).where(
        Area.tenant_id == cx.tenant_id,
        *area_list_filters(cx.ctx, kind=kind, parent_id=parent_id, within=within, search=search,
                           property_management=management,
                           include_archived=cx.shape(sel, lambda a: bool(a.get("includeArchived")))))
    return connection(cx, sel, stmt, Area.id, descending=False, node_type="Area")


def _parent_of(kind: AreaKind) -> Callable[[Compiler, Any, Sel], ColumnElement[Any]]:
    """``parent`` of an area of ``kind``: loaders.area_by_id of the parent (NULL for the street, or when not
    readable), as compiled.fields.area_by_id reads it but under an alias of its own (areas_1, areas_2 …): a
    parent's parent is a subquery inside this one, and a name both used would compare the row with itself.
    The parent's object has a branch only for the kinds ``ALLOWED_PARENTS`` lets hold a ``kind`` (which
    area creation, moves and imports enforce): with a branch for every kind, ``parent { parent { … } }``
    made 6 × 6 × 6 subqueries per row — 0.25–0.7 s of Python to build one plan of the area list
    (tests/compiled/test_compiled_areas.py spent 166 s on it) and a text PostgreSQL plans as long."""
    kinds = tuple(k for k in AreaKind if k in ALLOWED_PARENTS[kind])

    def parent(cx: Compiler, a: Any, s: Sel) -> ColumnElement[Any]:
        if not kinds:  # the street
            return null()
        pa = aliased(Area)
        p = sa_inspect(pa).selectable
        pred = area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, pa)
        return (select(area_obj(cx, s, p, kinds)).select_from(p)
                .where(p.c.tenant_id == cx.tenant_id, p.c.id == a.c.parent_id, pred,
                       p.c.kind.in_([lit(k.value) for k in kinds])).correlate_except(p)
                .scalar_subquery())

    return parent


# The list's items are of the interface: each row as its concrete type (compiled.fields.area_obj).
AREA_CONNECTION: FieldTable = {
    **CONNECTION,
    "edges": lambda cx, pg, f: json_list(cx.sub("AreaEdge", f, pg), pg.order, pg.on_page),
    "nodes": lambda cx, pg, f: json_list(area_obj(cx, f, pg.rows), pg.order, pg.on_page),
}
AREA_EDGE: FieldTable = {**EDGE, "node": lambda cx, pg, e: area_obj(cx, e, pg.rows)}

TABLES: dict[str, FieldTable] = {
    "Query": {"areas": areas},
    **{AREA_TYPE_OF[kind]: {"parent": _parent_of(kind)} for kind in AreaKind},
    "AreaConnection": AREA_CONNECTION, "AreaEdge": AREA_EDGE,
}
