"""Statement counting and observers for the app's statements, both SQLAlchemy's and those sent on the
driver directly (``tenants.session``: ``_fetchrow`` is the one place the latter pass)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

# -- statement counting (tests assert SQL statements per request; it never depends on the machine)

_counter: ContextVar[list[str] | None] = ContextVar("gongzhi_sql_counter", default=None)


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collect the SQL statements executed in this context (asyncio task and its children)."""
    statements: list[str] = []
    token = _counter.set(statements)
    try:
        yield statements
    finally:
        _counter.reset(token)


def _note_statement(statement: str) -> None:
    bucket = _counter.get()
    if bucket is not None:
        bucket.append(statement)


def _on_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    _note_statement(statement)


# -- statement observers: what SQLAlchemy's engine events are for its statements, for the statements
# sent on the driver directly (tracing wraps each in a span). The composition root registers one
# (gongzhi/http/observability.py); tenants never imports gongzhi.

StatementObserver = Callable[[str], AbstractContextManager[Any]]
_observer: StatementObserver | None = None


def observe_statements(observer: StatementObserver | None) -> None:
    """Wrap every statement sent on the driver directly in ``observer(sql)`` (None: no observer).
    The observer sees the statement text only, never its parameters (they can be personal data)."""
    global _observer
    _observer = observer


async def _fetchrow(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
    _note_statement(sql)
    observer = _observer
    if observer is None:
        return await connection.fetchrow(sql, *args)
    with observer(sql):
        return await connection.fetchrow(sql, *args)
