"""The compiled problem wall and echo wall (问题墙 / 回音壁, issue #21): ``problemWall(compoundId:, first:,
after:)`` and ``echoWall(…)`` in one statement, as ``resolvers.deliberation.wall`` answers them.

The compound is read as the resolvers read it (a compound the actor may read, area·read) — an unknown
or unreadable one is their NOT_FOUND, so the statement yields NULL and strawberry answers; the cases
are the resolvers' own (``wall_filters``: on the wall, in the compound, under the case read predicate;
answered ones on the echo wall), newest first by id, with the keyset page and cursors of every list.
The page's ``filter`` (category, states, period) is left to the resolvers, which check it. A wall entry
is anonymised: its fields are the case's number, title, description, category, state, building,
report time and answer. Kept beside the other deliberation lists (notices, topics, meetings), not in
compiled/care.py."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import PAGE_INFO, area_by_id, connection
from compiled.sql import enum_name, iso, json_list, lit, once
from models import Area, AreaKind, Case, CaseState
from policies.filters import area_read_predicate
from resolvers.deliberation import wall_filters
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id


def _compound_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["compoundId"]), "Compound", "compoundId").id
    except ServiceError:
        raise Unsupported("bad id") from None


def _wall(echo: bool) -> Any:
    def build(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
        if cx.shape(sel, lambda a: a.get("filter") is not None):
            raise Unsupported("wall filter")  # the resolvers check it (a reversed period, …)
        ca = aliased(Area, name="wc")
        c = sa_inspect(ca).selectable
        path = once(select(c.c.path).where(c.c.tenant_id == cx.tenant_id,
                                           c.c.id == cx.param(sel, _compound_uuid, "uuid"),
                                           c.c.kind == lit(AreaKind.COMPOUND.value),
                                           area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, ca)),
                    f"wall{len(cx.slots)}_compound")  # the guard's and the page's (names of its own per field)
        cx.guards.append(path.is_not(None))  # no such compound for the actor: the resolvers' NOT_FOUND
        compound = cast(path, Text)
        stmt = select(Case.__table__).where(Case.tenant_id == cx.tenant_id, *[
            _by_areas(cx, compound) if _in_compound(f) else f for f in wall_filters(cx.ctx, compound, echo=echo)])
        return connection(cx, sel, stmt, Case.id, descending=True, node_type="Wall")
    return build


def _by_areas(cx: Compiler, path: Any) -> ColumnElement[bool]:
    """The compound's cases (``wall_filters``' ``area_path`` under its path) as the cases of the areas under its
    path: a case's area_path is its area's path (compiled.case_filters). The path is a value of the statement, so
    ``area_path LIKE path || '%'`` was no index condition: the plan read the tenant's cases (bench s0.1, a
    resident's problemWall: 186,774 buffers, ≈ 200 ms; issue #21). Each area's cases are now read by
    ix_cases_tenant_area_created (1,327 buffers)."""
    wa = _WALL_AREA
    return Case.area_id.in_(select(wa.c.id).where(wa.c.tenant_id == cx.tenant_id, func.starts_with(wa.c.path, path)))


def _in_compound(f: Any) -> bool:
    return (isinstance(f, BinaryExpression) and f.operator is operators.startswith_op
            and getattr(f.left, "table", None) is Case.__table__ and f.left.key == "area_path")


_WALL_AREA = Area.__table__.alias("wall_area")


WALL_CONNECTION: FieldTable = {
    "nodes": lambda cx, pg, f: json_list(cx.sub("WallEntry", f, pg.rows), pg.order, pg.on_page),
    "hasNextPage": PAGE_INFO["hasNextPage"],
    "endCursor": PAGE_INFO["endCursor"],
}

WALL_ENTRY: FieldTable = {
    "number": lambda _cx, c, _s: c.c.number,
    "title": lambda _cx, c, _s: c.c.title,
    "description": lambda _cx, c, _s: c.c.description,
    "category": lambda _cx, c, _s: c.c.category_code,
    "state": lambda _cx, c, _s: enum_name(c.c.state, CaseState),
    "area": lambda cx, c, s: area_by_id(cx, s, c.c.area_id),
    "reportedAt": lambda _cx, c, _s: iso(c.c.created_at),
    "answer": lambda _cx, c, _s: c.c.resolution,
    "answeredAt": lambda _cx, c, _s: iso(c.c.resolved_at),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"problemWall": _wall(echo=False), "echoWall": _wall(echo=True)},
    "WallConnection": WALL_CONNECTION,
    "WallEntry": WALL_ENTRY,
}
