"""The compiled form of a root list declared as the resolvers' statement and its ``ListOrder`` (issue #21):
the plain list (``[…]`` in the order) and its connection (``first``/``after``, the resolvers' sorted
cursors, totalCount), both from one declaration, ``SortedList``.

Where these lists come from: issue #25 gave each growing root list a connection beside the plain form,
both sorted by one ``ListOrder`` and paged by ``resolvers.pagination.sorted_page``. Their rows are one
statement of the resolvers (``resolvers.cases.sla_rule_rows`` …) that checks the actor first; the
compiler calls that same function and declines (strawberry answers, with the resolvers' error) when it
refuses the actor or the arguments. The page is ``sorted_page`` in SQL: the same WHERE after the
cursor's place, the same ORDER BY and LIMIT ``first + 1``; each row's cursor is built in SQL from the
row's own sort-key values (``compiled.sql.sorted_cursor``), as ``sorted_page`` encodes what the
database returned. A key whose text form is not written here (a float, a timestamp) is declined."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import JSON, ColumnElement, Text, case, cast, func, select
from sqlalchemy.sql import Select

from compiled.compiler import Compiler, Handler, Sel, Unsupported, page_size, page_size_ok
from compiled.fields import Page, columns_of
from compiled.sql import json_list, lit, sorted_cursor
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.ids import decode_sorted_cursor
from resolvers.pagination import ListOrder
from schema.columns import column_reads


def _no_arguments(_a: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class SortedList:
    """A root list as the resolvers read it: ``rows(ctx, shape)`` is their statement (it raises their
    error for an actor or argument they refuse; None: they answer without one, e.g. an empty page), in
    ``order``; ``shape`` reads the arguments the statement depends on (a plan per value, e.g. a year)."""

    node_type: str
    rows: Callable[[RequestContext, Any], Select[Any] | None]
    order: ListOrder
    shape: Callable[[dict[str, Any]], Any] = _no_arguments


def _statement(cx: Compiler, sel: Sel, spec: SortedList) -> Select[Any]:
    value = cx.shape(sel, spec.shape)
    try:
        stmt = spec.rows(cx.ctx, value)
    except ServiceError:
        raise Unsupported("refused by the resolvers") from None  # strawberry answers with their error
    if stmt is None:
        raise Unsupported("answered without a statement")
    entity = stmt.column_descriptions[0]["entity"]
    return stmt.where(entity.tenant_id == cx.tenant_id)


def sorted_list(spec: SortedList) -> Handler:
    """The plain list: every row, in the order."""
    def build(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
        return list_in_order(cx, sel, _statement(cx, sel, spec), spec.order, spec.node_type)
    return build


def list_in_order(cx: Compiler, sel: Sel, stmt: Select[Any], order: ListOrder, node_type: str
                  ) -> ColumnElement[Any]:
    """Every row of ``stmt`` (already scoped to the tenant) in ``order``, as a JSON list of ``node_type``."""
    rows = stmt.add_columns(func.row_number().over(order_by=order.order_by()).label("_rn")).subquery("l")
    return select(json_list(cx.sub(node_type, sel, rows), rows.c._rn)).select_from(rows).scalar_subquery()


# Per Python type of a sort key: the tag resolvers.ids._tag gives its values, the key's value as that
# text in SQL, and the type of the parameter that carries a cursor's value of it.
_KEY_FORMS: dict[type, tuple[str, Callable[[ColumnElement[Any]], ColumnElement[Any]], str]] = {
    int: ("i", lambda v: cast(v, Text), "int"),
    str: ("s", lambda v: cast(v, Text), "text"),
    date: ("d", lambda v: func.to_char(v, lit("YYYY-MM-DD")), "date"),
    uuid.UUID: ("u", lambda v: func.replace(cast(v, Text), lit("-"), lit("")), "uuid"),
}


def _forms(order: ListOrder) -> list[tuple[str, Callable[[ColumnElement[Any]], ColumnElement[Any]], str]]:
    forms = []
    for kind in order.kinds():
        if kind not in _KEY_FORMS or kind is bool:  # bool is an int to Python, tagged "b"
            raise Unsupported(f"a sort key of {kind}")
        forms.append(_KEY_FORMS[kind])
    return forms


@dataclass
class SortedPage(Page):
    """A page whose cursors are the rows' sorted cursors (each row carries its keys as _key0, _key1 …)."""

    list_name: str = ""
    text_forms: tuple[tuple[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]], ...] = ()

    def cursor(self) -> ColumnElement[Any]:
        return sorted_cursor(self.list_name, [(tag, form(self.rows.c[f"_key{i}"]))
                                              for i, (tag, form) in enumerate(self.text_forms)])


def sorted_connection(spec: SortedList) -> Handler:
    """The connection: resolvers.pagination.sorted_page in SQL."""
    def build(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
        return connection_in_order(cx, sel, _statement(cx, sel, spec), spec.order, spec.node_type)
    return build


def connection_in_order(cx: Compiler, sel: Sel, stmt: Select[Any], order: ListOrder, node_type: str
                        ) -> ColumnElement[Any]:
    """``stmt`` (already scoped to the tenant) paged by ``sorted_page``'s keyset in ``order``."""
    if not cx.shape(sel, page_size_ok):
        raise Unsupported("first out of range")  # the resolvers give the typed error
    forms = _forms(order)
    n = cx.shape(sel, page_size)
    after = cx.shape(sel, lambda a: a.get("after") is not None)
    paged = stmt
    if after:
        def place(a: dict[str, Any]) -> list[object]:
            try:
                return decode_sorted_cursor(a["after"], order.name, order.kinds())
            except ServiceError:
                raise Unsupported("bad cursor") from None  # the resolvers give INVALID_CURSOR
        values = [cx.param(sel, _nth(place, i), pgtype) for i, (_tag, _form, pgtype) in enumerate(forms)]
        paged = paged.where(order.after(values))
    ordering = order.order_by()
    rows = (paged.add_columns(*(k.expr.label(f"_key{i}") for i, k in enumerate(order.keys)),
                              func.row_number().over(order_by=ordering).label("_rn"))
            .order_by(*ordering).limit(n + 1).subquery("p"))
    page = SortedPage(rows, stmt, node_type, n, after, rows.c._rn, rows.c._rn <= n, None,
                      order.name, tuple((tag, form) for tag, form, _ in forms))
    # HAVING makes it an aggregate whatever was asked (totalCount alone aggregates nothing): one row.
    return (select(cx.sub(f"{node_type}Connection", sel, page)).select_from(rows)
            .having(func.count() >= 0).scalar_subquery())


def _nth(values: Callable[[dict[str, Any]], list[object]], i: int) -> Callable[[dict[str, Any]], object]:
    return lambda a: values(a)[i]


def float_json(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A double as strawberry sends a Float (Python's repr: 8.0, not PostgreSQL's 8)."""
    text = cast(value, Text)
    return cast(case((text.regexp_match("^-?[0-9]+$"), text + lit(".0")), else_=text), JSON)


def _float(name: str) -> Handler:
    """A Float column field as strawberry sends it."""
    return lambda _cx, row, _s: float_json(row.c[name])


def node_fields(strawberry_type: type) -> dict[str, Handler]:
    """columns_of, with the Float columns as strawberry writes them."""
    floats = {name: _float(read.column) for name, read in column_reads(strawberry_type).items() if read.type is float}
    return {**columns_of(strawberry_type), **floats}
