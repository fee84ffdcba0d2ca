"""The compiled ``nodes(ids:)`` (issue #21): each id as ``node(id:)`` compiles it (compiled.fields.node:
cases, households, persons and areas, each under its read predicate), in one statement, in order; null
where the row does not exist for the actor, as the resolvers answer. More than 100 ids, an id that does
not decode or names a type the node compiler does not read: the resolvers answer, with their error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import node
from compiled.sql import EMPTY_JSON_ARRAY

MAX_IDS = 100  # schema.register.query Query.nodes refuses more


def _id_at(i: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda a: {"id": a["ids"][i]}


def nodes(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    n = cx.shape(sel, lambda a: len(a["ids"]))
    if n > MAX_IDS:
        raise Unsupported("too many ids")  # the resolvers' INVALID
    if n == 0:
        return EMPTY_JSON_ARRAY
    return func.json_build_array(*(node(cx, None, sel, _id_at(i)) for i in range(n)))


TABLES: dict[str, FieldTable] = {"Query": {"nodes": nodes}}
