"""A connection's ``cappedCount(cap:)`` (issue #21): the list's length counted over at most cap + 1 of its
rows, as resolvers.pagination.Page.capped_count counts it — exact up to the cap, else the cap and
``hasMore``. The count is one subquery read once for both fields. A cap out of bounds is the resolvers'
INVALID: the compiler declines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from resolvers.pagination import MAX_COUNT_CAP


@dataclass(frozen=True)
class Counted:
    """The list's rows counted up to cap + 1 (``n``), and the cap."""

    n: ColumnElement[int]
    cap: int


def capped_count(cx: Compiler, pg: Any, sel: Sel) -> ColumnElement[Any]:
    """``pg``: a compiled page whose ``stmt`` is the whole filtered list (compiled.fields.Page)."""
    cap = cx.shape(sel, lambda a: int(a["cap"]))  # a literal, like the page size: the plan stays generic
    if not 0 <= cap <= MAX_COUNT_CAP:
        raise Unsupported("cap out of range")  # the resolvers give the typed error
    counted = select(func.count().label("n")).select_from(pg.stmt.limit(cap + 1).subquery("lim")).subquery("cnt")
    return select(cx.sub("CappedCount", sel, Counted(counted.c.n, cap))).select_from(counted).scalar_subquery()


CAPPED_COUNT: FieldTable = {
    "count": lambda _cx, c, _s: func.least(c.n, c.cap),
    "hasMore": lambda _cx, c, _s: c.n > c.cap,
}

TABLES: dict[str, FieldTable] = {"CappedCount": CAPPED_COUNT}
