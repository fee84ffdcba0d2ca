"""Keyset pagination: pages ordered by id (UUIDv7, so by creation), ``first`` capped."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Select

from resolvers.context import Db
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_cursor

MAX_PAGE = 100
DEFAULT_PAGE = 20

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

    async def total_count(self) -> int:
        if self.count is not None:
            return await self.count()
        assert self.count_stmt is not None
        return int(await self.db.scalar(self.count_stmt) or 0)


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
    return Page(items=rows[:n], has_next=len(rows) > n, has_previous=after is not None, count_stmt=count_stmt, db=db)
