"""tenants.faults (issue #26): which failures are a dead connection, which make the database
unavailable for the request (503), whatever layer wrapped them — and which are neither."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from tenants.faults import DatabaseUnreachable, is_disconnect, is_unavailable

_DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated


def _as_sqlalchemy_raises(error: Exception, invalidated: bool = False) -> BaseException:
    """``error`` as a statement through SQLAlchemy raises it: asyncpg's error, translated by the
    adapter (raised from it), wrapped in a DBAPIError."""
    translated_cls = next((v for k, v in _DBAPI._asyncpg_error_translate.items() if isinstance(error, k)),
                          _DBAPI.Error)
    try:
        try:
            raise error
        except Exception as e:
            raise translated_cls(str(e), e) from e
    except Exception as adapter_error:
        return sa_exc.DBAPIError.instance("SELECT 1", {}, adapter_error, _DBAPI.Error,
                                          connection_invalidated=invalidated)


def _context_of(inner: BaseException) -> BaseException:
    """Another exception raised while handling ``inner`` (a rollback failing after the statement did)."""
    try:
        try:
            raise inner
        except BaseException:
            raise RuntimeError("rollback failed") from None
    except RuntimeError as outer:
        outer.__context__ = inner
        return outer


DISCONNECTS = [
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.InterfaceError("connection is closed"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    # the protocol stuck mid-operation after its backend was terminated (seen through pgbouncer in CI)
    asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    ConnectionResetError(104, "Connection reset by peer"),
    DatabaseUnreachable("cannot connect to the database: ConnectionRefusedError"),
    sa_exc.DisconnectionError("the server closed this pooled connection"),
]
# Unavailable without the connection being dead: the request may succeed in a moment.
BUSY = [
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    sa_exc.TimeoutError("QueuePool limit of size 4 overflow 4 reached"),
]
# The request's own fault or the program's: a 4xx or a 500, never a 503.
NEITHER = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
    FileNotFoundError(2, "No such file or directory", "/srv/uploads/x"),
    PermissionError(13, "Permission denied", "/srv/uploads"),
    OSError(28, "No space left on device"),
    TimeoutError("a timeout outside the database"),
    ValueError("bad input"),
]


@pytest.mark.parametrize("error", DISCONNECTS, ids=lambda e: type(e).__name__)
def test_disconnects_are_disconnects_and_unavailable_however_wrapped(error: Exception) -> None:
    for seen in (error, _context_of(error)):
        assert is_disconnect(seen) and is_unavailable(seen)
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
        wrapped = _as_sqlalchemy_raises(error)
        assert is_disconnect(wrapped) and is_unavailable(wrapped)


@pytest.mark.parametrize("error", BUSY, ids=lambda e: type(e).__name__)
def test_timeouts_and_exhaustion_are_unavailable_but_no_disconnect(error: Exception) -> None:
    for seen in (error, _context_of(error)):
        assert is_unavailable(seen) and not is_disconnect(seen)
    if isinstance(error, asyncpg.PostgresError):
        assert is_unavailable(_as_sqlalchemy_raises(error)) and not is_disconnect(_as_sqlalchemy_raises(error))


@pytest.mark.parametrize("error", NEITHER, ids=lambda e: f"{type(e).__name__}-{str(e)[:20]}")
def test_other_failures_are_neither(error: Exception) -> None:
    for seen in (error, _context_of(error)):
        assert not is_unavailable(seen) and not is_disconnect(seen)
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
        assert not is_unavailable(_as_sqlalchemy_raises(error))


def test_what_sqlalchemy_found_invalidated_or_closed_is_a_disconnect() -> None:
    # SQLAlchemy marks a statement error on a connection it found dead (connection_invalidated) …
    error = _as_sqlalchemy_raises(asyncpg.exceptions.InterfaceError("cannot use Connection.transaction()"),
                                  invalidated=True)
    assert is_disconnect(error) and is_unavailable(error)

    # … and a closed driver connection is dead whatever the error said.
    class Closed:
        def is_closed(self) -> bool:
            return True

    assert is_disconnect(ValueError("anything"), Closed())


def test_sqlite_busy_is_unavailable() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    assert is_unavailable(sa_exc.OperationalError("INSERT", {}, busy)) and not is_disconnect(busy)
    assert not is_unavailable(sqlite3.IntegrityError("UNIQUE constraint failed"))
    # WAL: a read transaction that writes after another writer committed (the extended code)
    snapshot = sqlite3.OperationalError("database is locked")
    snapshot.sqlite_errorname = "SQLITE_BUSY_SNAPSHOT"
    assert is_unavailable(sa_exc.OperationalError("UPDATE", {}, snapshot))
    other = sqlite3.OperationalError("no such table: x")
    other.sqlite_errorname = "SQLITE_ERROR"
    assert not is_unavailable(other)
