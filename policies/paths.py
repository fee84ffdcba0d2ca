"""A join on an area path prefix that an index can serve (issue #21: a firm's served buildings).

``b.path LIKE c.path || '%'`` (or starts_with) between two columns is no index condition: PostgreSQL makes
index conditions of a prefix only when the prefix is a constant, so a firm's served buildings were found by
testing every area of the tenant against every served compound (561 × 10 at scale 0.1, three times in a
firm's open-case page). A prefix ``p`` is also a range — every text that starts with ``p`` lies in
``[p, succ(p))`` in byte order, ``succ(p)`` being ``p`` with its last character's code point one higher
(paths end with "/": the bound is the path with "0" for its last "/") — and a byte-order range between
columns is an index condition on the paths' ``text_pattern_ops`` index (``ix_areas_tenant_path_pattern``;
its operators are leakproof, so row-level security lets the planner use them). ``succ`` is computed where
the compound's path is selected (``path_successor``), in a MATERIALIZED CTE (policies.filters.served_paths),
so the join compares columns only: the functions that make it are not leakproof and would keep the range out
of the index if they were in the join's condition (as they are when PostgreSQL folds a subquery into the
join). The range is a necessary condition only: the prefix test stays in the join, and decides.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, SQLColumnExpression, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["path_in_range", "path_successor"]


class _Successor(ColumnElement[str]):
    """``succ(path)``: the path with its last character's code point one higher."""

    inherit_cache = True
    type = String()

    def __init__(self, path: ColumnElement[str]) -> None:
        self.path = path

    _traverse_internals = [("path", InternalTraversal.dp_clauseelement)]


@compiles(_Successor)
def _successor_default(element: _Successor, compiler: SQLCompiler, **kw: Any) -> str:
    p = compiler.process(element.path, **kw)  # SQLite: substr, char, unicode
    return f"(substr({p}, 1, length({p}) - 1) || char(unicode(substr({p}, -1)) + 1))"


@compiles(_Successor, "postgresql")
def _successor_pg(element: _Successor, compiler: SQLCompiler, **kw: Any) -> str:
    p = compiler.process(element.path, **kw)
    return f"(left({p}, -1) || chr(ascii(right({p}, 1)) + 1))"


class _InRange(ColumnElement[bool]):
    """``lower <= path < upper`` in byte order."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, path: ColumnElement[str], lower: ColumnElement[str], upper: ColumnElement[str]) -> None:
        self.path, self.lower, self.upper = path, lower, upper

    _traverse_internals = [(n, InternalTraversal.dp_clauseelement)
                           for n in ("path", "lower", "upper")]


@compiles(_InRange)
def _in_range_default(element: _InRange, compiler: SQLCompiler, **kw: Any) -> str:
    p, lo, hi = (compiler.process(e, **kw) for e in (element.path, element.lower, element.upper))
    return f"({p} >= {lo} AND {p} < {hi})"  # SQLite's BINARY collation compares bytes


@compiles(_InRange, "postgresql")
def _in_range_pg(element: _InRange, compiler: SQLCompiler, **kw: Any) -> str:
    p, lo, hi = (compiler.process(e, **kw) for e in (element.path, element.lower, element.upper))
    return f"({p} ~>=~ {lo} AND {p} ~<~ {hi})"  # text_pattern_ops: byte order, whatever the collation


def _expr(e: SQLColumnExpression[str]) -> ColumnElement[str]:
    return coercions.expect(roles.ExpressionElementRole, e)  # an ORM attribute as its column


def path_successor(path: SQLColumnExpression[str]) -> ColumnElement[str]:
    return _Successor(_expr(path))


def path_in_range(path: SQLColumnExpression[str], lower: SQLColumnExpression[str], upper: SQLColumnExpression[str]
                  ) -> ColumnElement[bool]:
    return _InRange(_expr(path), _expr(lower), _expr(upper))
