"""BEGIN in the same round trip as the transaction's first statement (issue #21).

Every request on PostgreSQL opened its transaction with a round trip of its own: BEGIN as a simple query,
answered, then the request's first statement (its tenant, user and actor) — two waits, two wake-ups of
the server, two of the event loop. Here BEGIN goes in the extended query protocol's own pipelining: its
Parse, Bind and Execute (of the unnamed statement and portal, no Sync) are written just before the first
statement's Bind, Execute and Sync, which asyncpg writes next. The server runs BEGIN, then the statement,
in that order, in one transaction, and answers both at the Sync; asyncpg reads BEGIN's ParseComplete,
BindComplete and CommandComplete as it reads the statement's own (it skips the first two, the last
statement's CommandComplete is the one it keeps) and returns the statement's rows. Nothing else changes:
the same BEGIN, the same statement, the same transaction; asyncpg's and SQLAlchemy's bookkeeping of the
transaction is what ``Transaction.start`` leaves, so COMMIT and ROLLBACK go as before.

Only when asyncpg will send nothing but that Bind/Execute/Sync: the statement is in the connection's
statement cache (prepared before on this connection), so no Parse/Describe round trip of its own comes
first; and BEGIN is the plain one SQLAlchemy's adapter sends (no isolation level, read-write). Otherwise —
a connection's first use of the statement, pgbouncer's mode without a statement cache — BEGIN goes alone,
as before. Nothing is inlined: BEGIN has no parameters, and the statement keeps its own. No session
setting either: the transaction's settings are the first statement's, transaction-local, as before.

The transaction counts as begun before anything is sent, so whatever fails next is rolled back as any
failed transaction is: after BEGIN ran (the statement failed: the transaction is open, in error), or before
the statement was sent (its arguments would not encode: BEGIN's messages wait unanswered on the connection,
and the ROLLBACK's simple query is the Sync that settles them — BEGIN's answers, then ROLLBACK's — leaving
the connection idle). A dead connection fails here as it would at BEGIN, and the callers' retry
(tenants.session) sends both again on a fresh one.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asyncpg.transaction import TransactionState
from sqlalchemy.util import greenlet_spawn

from tenants import wire

T = TypeVar("T")


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


# Parse "" ("BEGIN", no parameter types), Bind "" to "" (no formats, no parameters, no result formats),
# Execute "" (every row): the statement's own Sync ends the pipeline.
BEGIN = (_message(b"P", b"\0BEGIN\0\0\0") + _message(b"B", b"\0\0" + b"\0\0" * 3)
         + _message(b"E", b"\0\0\0\0\0"))


def pipelined(adapted: Any, sql: str) -> bool:
    """Whether BEGIN can go with ``sql`` (see the module): a plain BEGIN, no transaction yet, and ``sql``
    prepared on this connection already (asyncpg's statement cache, the key ``fetchrow`` looks it up by)."""
    if not wire.enabled:  # an asyncpg the shortcut was not tested on, or the setting off (tenants.wire)
        return False
    driver = adapted._connection
    return (adapted.isolation_level is None and not adapted.readonly and not adapted.deferrable
            and adapted._transaction is None and driver._top_xact is None and not driver.is_closed()
            and not driver.is_in_transaction()
            and driver._stmt_cache.get((sql, driver._protocol.get_record_class(), False), promote=False) is not None)


async def begin_with(adapted: Any, sql: str, send: Callable[[], Awaitable[T]]) -> T:
    """BEGIN and the transaction's first statement — ``send()``, which sends ``sql`` on the adapter's asyncpg
    connection — in one round trip when ``pipelined``, else BEGIN (SQLAlchemy's adapter's) then the statement.
    Either way the adapter's transaction is begun as ``_start_transaction`` leaves it."""
    if not pipelined(adapted, sql):
        await adapted._start_transaction()
        return await send()
    driver = adapted._connection
    transaction = driver.transaction()  # what the adapter's _start_transaction makes, marked as started
    transaction._state = TransactionState.STARTED
    driver._top_xact = transaction
    adapted._transaction = transaction  # before anything is sent: whatever fails next is rolled back
    wire.ahead(driver._transport, BEGIN)
    return await send()


# COMMIT as BEGIN above: Parse, Bind, Execute of the unnamed statement, no Sync (the next statement's ends it).
COMMIT = (_message(b"P", b"\0COMMIT\0\0\0") + _message(b"B", b"\0\0" + b"\0\0" * 3)
          + _message(b"E", b"\0\0\0\0\0"))


def can_commit_then(tx: Any) -> bool:
    """Whether ``commit_then`` can send a statement with the COMMIT of ``tx`` (a tenants.session.DriverTransaction):
    a plain transaction of its adapter's (not a savepoint), and asyncpg's statement cache on (pgbouncer's mode
    without one: no)."""
    if not wire.enabled:  # tenants.wire
        return False
    adapted = tx._adapted
    driver = adapted._connection
    transaction = adapted._transaction
    return (transaction is not None and not transaction._nested and driver._top_xact is transaction
            and driver._stmt_cache.get_max_size() > 0 and not driver.is_closed())


async def commit_then(fairy: Any, adapted: Any, sql: str, args: tuple[Any, ...]) -> Any:
    """COMMIT, then ``sql`` in a transaction of its own, in one round trip (``can_commit_then`` must hold);
    its first row. For what must follow a commit and only a commit (issue #21: the events' NOTIFY, which in
    the committing transaction holds PostgreSQL's commit lock of notifying transactions across its WAL flush).

    COMMIT's Parse, Bind and Execute go first, then ``sql``'s Bind, Execute and Sync: the server runs COMMIT,
    and only if it succeeded runs ``sql`` (after an error it skips to the Sync) — so ``sql`` never runs for a
    transaction that did not commit, and once COMMIT has been sent nothing can come between them: both went
    in the socket's order before any answer is read. ``sql`` is prepared on this connection first (a round
    trip, once per connection), so asyncpg sends nothing else. Not counted by ``count_statements``: it rides
    with COMMIT, as BEGIN rides with the first statement. Any error (COMMIT's, or ``sql``'s after the commit:
    then the transaction committed) is raised, and the connection is not pooled again."""
    driver = adapted._connection
    transaction = adapted._transaction
    try:
        await driver._get_statement(sql, None)  # cached on this connection: fetchrow sends Bind/Execute/Sync only
        # as asyncpg's Transaction.commit leaves it, before anything is sent
        driver._top_xact = None
        adapted._transaction = None
        wire.ahead(driver._transport, COMMIT)
        row = await driver.fetchrow(sql, *args)
    except BaseException as e:
        transaction._state = TransactionState.FAILED
        adapted._transaction = None
        await greenlet_spawn(fairy.invalidate, e)
        raise
    transaction._state = TransactionState.COMMITTED
    return row


async def commit_with(fairy: Any, adapted: Any, after: tuple[str, tuple[Any, ...]] | None) -> None:
    """A DriverTransaction's COMMIT (tenants.session), with ``after`` (a statement, its parameters) sent after it
    in its round trip (``commit_then``) when given — or, with the shortcuts off (tenants.wire), in a round trip of
    its own after the COMMIT's, still only after a COMMIT that succeeded and outside its transaction."""
    if after is not None and wire.enabled:
        await commit_then(fairy, adapted, *after)
        return
    if adapted._transaction is not None:
        await adapted._call_and_discard(adapted._transaction.commit)
    if after is not None:
        try:
            await adapted._connection.fetchrow(after[0], *after[1])
        except BaseException as e:  # as commit_then: the transaction committed, the connection is not pooled again
            await greenlet_spawn(fairy.invalidate, e)
            raise
