"""Keyset pagination: pages ordered by id (UUIDv7, so by creation), ``first`` capped."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute
from sqlalchemy.sql import Select

from resolvers.context import Db
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import (
    OrderedCursor,
    decode_cursor,
    decode_ordered_cursor,
    decode_sorted_cursor,
    encode_ordered_cursor,
    encode_sorted_cursor,
)

MAX_PAGE = 100
DEFAULT_PAGE = 20
# cappedCount(cap:) (issue #21): the count a list's page shows, exact up to the cap ("1,000+" beyond it).
DEFAULT_COUNT_CAP = 1000
MAX_COUNT_CAP = 10_000

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    has_next: bool
    has_previous: bool
    count_stmt: Select[Any] | None
    db: Db
    # A page nested in a list (an area's children …) counts through a per-request loader instead,
    # so totalCount over a page of parents is one statement, not one per parent.
    count: Callable[[], Awaitable[int]] | None = None
    # The cursor of an item where the list is not ordered by id alone (ordered_page); else its id's.
    cursor: Callable[[Any], str] | None = None
    # The items' cursors, in order, where the database computed them with the page (sorted_page).
    cursors: Sequence[str] | None = None
    # The whole filtered list (unordered) where count_stmt counts it: cappedCount reads at most cap + 1 of it.
    listed: Select[Any] | None = None

    async def total_count(self) -> int:
        if self.count is not None:
            return await self.count()
        assert self.count_stmt is not None
        return int(await self.db.scalar(self.count_stmt) or 0)

    async def capped_count(self, cap: int) -> tuple[int, bool]:
        """(the list's length or ``cap`` if it is longer, whether it is longer): one COUNT over at most
        cap + 1 rows, so its cost does not grow with the list (an audit log's millions of entries)."""
        count_cap(cap)
        if self.listed is None:
            n = await self.total_count()
        else:
            n = int(await self.db.scalar(select(func.count()).select_from(self.listed.limit(cap + 1).subquery()))
                    or 0)
        return min(n, cap), n > cap


def count_cap(cap: int) -> int:
    """``cap`` of cappedCount checked against its bounds."""
    if cap < 0 or cap > MAX_COUNT_CAP:
        raise ServiceError(ErrorCode.INVALID, t(f"cap 应在 0 到 {MAX_COUNT_CAP} 之间",
                                                f"cap must be between 0 and {MAX_COUNT_CAP}"), "cap")
    return cap


def page_size(first: int | None) -> int:
    """``first`` checked against the cap (the default when not given)."""
    n = DEFAULT_PAGE if first is None else first
    if n < 0 or n > MAX_PAGE:
        raise ServiceError(ErrorCode.INVALID, t(f"first 应在 0 到 {MAX_PAGE} 之间",
                                                f"first must be between 0 and {MAX_PAGE}"), "first")
    return n


async def keyset_page(
    db: Db, stmt: Select[Any], id_col: InstrumentedAttribute[uuid.UUID], *, first: int | None, after: str | None,
    descending: bool = False,
) -> Page[Any]:
    n = page_size(first)
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    paged = stmt
    if after is not None:
        cursor = decode_cursor(after)
        paged = paged.where(id_col < cursor if descending else id_col > cursor)
    rows = await db.scalars(paged.order_by(id_col.desc() if descending else id_col).limit(n + 1))
    return Page(items=rows[:n], has_next=len(rows) > n, has_previous=after is not None, count_stmt=count_stmt, db=db,
                listed=stmt.order_by(None))


@dataclass(frozen=True)
class SortKey:
    """A keyset order other than by id: ``bucket`` ascending, then ``time`` ascending (never NULL: give a
    sentinel), then the id descending (newest first among equals). ``of`` computes the same key in Python
    for a loaded row (its cursor); the SQL and the Python form must be the same rule."""

    name: str
    bucket: ColumnElement[int]
    time: ColumnElement[datetime]
    of: Callable[[Any], tuple[int, datetime]]


async def ordered_page(db: Db, stmt: Select[Any], id_col: InstrumentedAttribute[uuid.UUID], key: SortKey, *,
                       first: int | None, after: str | None) -> Page[Any]:
    """keyset_page in the order of ``key``: the cursor carries the row's place (bucket, time, id), so the
    next page is one statement that starts right after it."""
    n = page_size(first)
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    paged = stmt
    if after is not None:
        c = decode_ordered_cursor(after, key.name)
        paged = paged.where(or_(key.bucket > c.bucket, and_(key.bucket == c.bucket, or_(
            key.time > c.time, and_(key.time == c.time, id_col < c.id)))))
    rows = await db.scalars(paged.order_by(key.bucket, key.time, id_col.desc()).limit(n + 1))

    def cursor(m: Any) -> str:
        bucket, time = key.of(m)
        return encode_ordered_cursor(OrderedCursor(key.name, bucket, time, m.id))

    return Page(items=rows[:n], has_next=len(rows) > n, has_previous=after is not None, count_stmt=count_stmt,
                db=db, cursor=cursor, listed=stmt.order_by(None))


def empty_page(db: Db, order: ListOrder, *, first: int | None, after: str | None) -> Page[Any]:
    """A page of a list the actor may not see at all: no statement, totalCount 0; ``first`` and ``after``
    are still checked as ``sorted_page`` checks them (a bad cursor is INVALID_CURSOR for everyone)."""
    page_size(first)
    if after is not None:
        decode_sorted_cursor(after, order.name, order.kinds())

    async def zero() -> int:
        return 0

    return Page(items=[], has_next=False, has_previous=False, count_stmt=None, db=db, count=zero, cursors=[])


@dataclass(frozen=True)
class Key:
    """One sort key of a ``ListOrder``: a SQL expression that is never NULL (coalesce a nullable column,
    map an enum to its rank with CASE) nor a bool (a CASE of 1/0), ascending unless ``descending``."""

    of: ColumnElement[Any] | QueryableAttribute[Any]
    descending: bool = False

    @property
    def expr(self) -> ColumnElement[Any]:
        return self.of.expression if isinstance(self.of, QueryableAttribute) else self.of


@dataclass(frozen=True)
class ListOrder:
    """The order of a list that has a plain form and a connection (issue #25), stated once: the plain
    list sorts by ``order_by()`` and the connection pages the same statement with ``sorted_page``, so
    both give the rows in the same order. The last key must be unique (the id), so the order is total
    and a cursor names exactly one place in it."""

    name: str
    keys: tuple[Key, ...]

    def order_by(self) -> list[ColumnElement[Any]]:
        return [k.expr.desc() if k.descending else k.expr for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows after the place ``values`` in this order: the row-value comparison, spelled out so
        that each key keeps its own direction (and it runs the same on SQLite and PostgreSQL)."""
        terms = []
        for i, k in enumerate(self.keys):
            equal = [self.keys[j].expr == values[j] for j in range(i)]
            terms.append(and_(*equal, k.expr < values[i] if k.descending else k.expr > values[i]))
        return or_(*terms)

    def kinds(self) -> list[type | None]:
        """The Python type each key's values have (None: not known, not checked)."""
        out: list[type | None] = []
        for k in self.keys:
            try:
                out.append(k.expr.type.python_type)
            except NotImplementedError:
                out.append(None)
        return out


async def sorted_page(db: Db, stmt: Select[Any], order: ListOrder, *, first: int | None,
                      after: str | None) -> Page[Any]:
    """A keyset page of ``stmt`` in ``order``: ``after`` becomes a WHERE on the sort keys and ``first``
    a LIMIT, both in the statement; totalCount is one COUNT of the same statement. The sort keys are
    selected with the rows, so each cursor is the database's own values for that row (no second,
    Python form of the order to drift from the SQL one). An item is the statement's one column (an
    ORM row), or the tuple of its columns."""
    n = page_size(first)
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    width = len(stmt.column_descriptions)
    paged = stmt.order_by(None)
    if after is not None:
        paged = paged.where(order.after(decode_sorted_cursor(after, order.name, order.kinds())))
    keyed = paged.add_columns(*(k.expr.label(f"_key{i}") for i, k in enumerate(order.keys)))
    rows = await db.all(keyed.order_by(*order.order_by()).limit(n + 1))
    shown = rows[:n]
    return Page(items=[r[0] if width == 1 else tuple(r[:width]) for r in shown], has_next=len(rows) > n,
                has_previous=after is not None, count_stmt=count_stmt, db=db,
                cursors=[encode_sorted_cursor(order.name, list(r[width:])) for r in shown], listed=stmt.order_by(None))
