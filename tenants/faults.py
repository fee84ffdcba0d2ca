"""Which database failures mean "the database is unusable right now" (issue #26).

Two questions, asked of any exception a request met, whatever layer wrapped it (SQLAlchemy's
``DBAPIError``, its asyncpg adapter's errors, asyncpg's own, ``__cause__``/``__context__`` chains):

- ``is_disconnect``: the connection is dead (the server closed it: a restart, a failover,
  ``pg_terminate_backend``; the socket was reset). Such a connection must never go back to the pool.
- ``is_unavailable``: the request could not be served because of the database, and the same request
  may well succeed in a moment — a dead or refused connection, a statement or lock timeout, too many
  connections, the pool exhausted, a read-only standby after a failover. The HTTP layer answers these
  ``503 SERVICE_UNAVAILABLE`` with ``Retry-After``; anything else stays an internal error.

Classified by SQLSTATE where the server gave one, so the answer does not depend on which layer
translated the error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import exc as sa_exc

# SQLSTATEs of a connection that is gone: class 08 (connection exception), and the server shutting the
# session down (57P01 admin_shutdown: pg_terminate_backend or a fast shutdown; 57P02 crash_shutdown;
# 57P03 cannot_connect_now: starting up or in recovery).
_DISCONNECT_STATES = ("57P01", "57P02", "57P03")
# SQLSTATEs of a database that is there but cannot serve this request now: 57014 query_canceled
# (statement_timeout), 55P03 lock_not_available (lock_timeout), class 53 insufficient resources
# (53300 too_many_connections, disk full, out of memory), 25006 read_only_sql_transaction (a write
# reached a hot standby, as after a failover before the address moved).
_UNAVAILABLE_STATES = ("57014", "55P03", "25006")


class DatabaseUnreachable(ConnectionError):
    """A new connection to the database could not be made (refused, unreachable, timed out). Raised
    by the engine's connect step instead of the bare ``OSError``/``TimeoutError`` asyncio gives, so a
    socket error of the database is told apart from a file error of the same type."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (``orig``), its cause and context — each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (getattr(e, "orig", None), e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _sqlstate(e: BaseException) -> str | None:
    state: Any = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    return state if isinstance(state, str) else None


def _is_disconnect_one(e: BaseException) -> bool:
    if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, (sa_exc.DisconnectionError, DatabaseUnreachable, ConnectionError)):
        return True
    state = _sqlstate(e)
    if state is not None and (state.startswith("08") or state in _DISCONNECT_STATES):
        return True
    if type(e).__name__ == "InternalClientError" and "another operation" in str(e):
        # asyncpg's protocol is stuck mid-operation (a backend terminated under it, seen through
        # pgbouncer in CI): the connection cannot be used again — replaced, and a statement that had not
        # been sent is retried on a fresh one, like any dead connection.
        return True
    return type(e).__name__ == "InterfaceError" and "connection is closed" in str(e)


def _is_busy(e: BaseException) -> bool:
    # SQLite (the demo): another process held the write lock longer than busy_timeout.
    # Extended codes too: in WAL mode a read transaction that then writes after another writer
    # committed gets SQLITE_BUSY_SNAPSHOT — the same "retry in a moment".
    name = getattr(e, "sqlite_errorname", None)
    return isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def is_disconnect(exc: BaseException, connection: Any = None) -> bool:
    """The connection behind ``exc`` is dead. ``connection``: the asyncpg connection the statement ran
    on, when known — closed is the surest sign (it is what SQLAlchemy's asyncpg dialect asks)."""
    if connection is not None:
        closed = getattr(connection, "is_closed", None)
        if callable(closed) and closed():
            return True
    return any(_is_disconnect_one(e) for e in _chain(exc))


def is_unavailable(exc: BaseException) -> bool:
    """The database could not serve the request now; a retry in a moment may succeed (503)."""
    for e in _chain(exc):
        # sa_exc.TimeoutError: no connection free in the pool within its timeout
        if _is_disconnect_one(e) or _is_busy(e) or isinstance(e, sa_exc.TimeoutError):
            return True
        state = _sqlstate(e)
        if state is not None and (state in _UNAVAILABLE_STATES or state.startswith("53")):
            return True
    return False
