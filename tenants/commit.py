"""COMMIT in the same round trip as the transaction's last statement (issue #21).

A compiled read of personal data (a register page) ended with two waits after its read: the audit statement
of the full read, answered, then COMMIT as a simple query, answered. Here both go in one: the audit
statement's Bind (to the statement asyncpg prepared for that text on this connection, its parameters in
text format) and Execute, then COMMIT's Parse, Bind and Execute, all without Sync, are written just before a
statement asyncpg itself sends with its Sync (``CARRIER``: no table, no row). The server runs the audit
statement, then COMMIT, then the carrier, in that order, and answers all of them at the Sync; asyncpg reads
the audit statement's row (the carrier's columns are the audit statement's: one bigint), skips the other
ParseComplete and BindComplete, and keeps the last CommandComplete, as with ``tenants.begin``'s BEGIN.

Nothing else changes: the audit rows are written in the read's own transaction, as before, and COMMIT
follows them. If the audit statement fails, the server skips COMMIT and the carrier (it discards messages
up to the Sync after an error): the transaction is left open and in error, and is rolled back as before. If
COMMIT itself fails, the transaction is over; the caller sees the error. Either way no answer leaves.

Parameters are values, never SQL: the Bind message carries each as its text (a uuid's canonical form, an
aware datetime's ISO form, a string as it is, NULL as no value); the statement's own parameter types
(the ``$n::type`` of its text) read them exactly as they read the binary values asyncpg sends. A value of
any other type (or a naive datetime, or a non-empty array) takes the ordinary path: the statement, then
COMMIT, two round trips. So does a statement not prepared on this connection yet (its first use: asyncpg
prepares it in a round trip of its own) and a connection without the carrier prepared yet; the
ordinary path prepares the carrier for the next time. pgbouncer's mode (no statement cache) always takes it.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from asyncpg.exceptions import InternalClientError, PostgresError
from asyncpg.pgproto.pgproto import UUID as DriverUUID
from asyncpg.transaction import TransactionState
from sqlalchemy.util import greenlet_spawn

from models.bounded import keep
from tenants import session as _session
from tenants import wire
from tenants.begin import COMMIT, _message, commit_with
from tenants.faults import is_disconnect
from tenants.pool import _drop

# The carrier of the Sync: asyncpg's own statement, whose row description decodes the audit statement's row
# (one bigint, binary); it returns no row of its own.
CARRIER = "SELECT 0::bigint AS count WHERE false"
# The carrier of a compiled read's COMMIT (compiled.plans.run_compiled): its one column is the read's, the answer's
# JSON text (compiled.plans._root casts it to text).
TEXT_CARRIER = "SELECT NULL::text AS data WHERE false"
_EXECUTE = _message(b"E", b"\0\0\0\0\0")


class NotText(ValueError):
    """A parameter this module does not send as text: the ordinary path sends it."""


def text_value(value: Any) -> bytes | None:
    """A parameter's text form for the Bind message (None: NULL). Only the types an audit statement sends."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return value.encode()  # type: ignore[no-any-return]
    if kind is uuid.UUID or kind is DriverUUID:  # asyncpg's own, as it reads a uuid column: the same canonical text
        return str(value).encode()
    if kind is datetime and value.tzinfo is not None:
        return value.isoformat().encode()  # type: ignore[no-any-return]
    if kind is list and not value:
        return b"{}"
    raise NotText(kind.__name__)


_INT8_RANGE = range(-(2 ** 63), 2 ** 63)


def write_value(value: Any) -> bytes | None:
    """A fast write's parameter as text (``write_and_commit``): what ``text_value`` sends, and the rows' plain
    column values — a boolean, an integer of int8's range, a finite float (its shortest round-trip form, which
    PostgreSQL's float8in reads back as the same double), a str subclass (a name, an enum's value) as its
    string. The statement's ``$n::type`` reads each as the binary value asyncpg would send."""
    kind = type(value)
    if kind is bool:
        return b"t" if value else b"f"
    if kind is int:
        if value not in _INT8_RANGE:
            raise NotText("int8 out of range")
        return str(value).encode()
    if kind is float:
        if not math.isfinite(value):
            raise NotText("float")
        return repr(value).encode()
    if kind is not str and isinstance(value, str):
        return str.encode(value)
    return text_value(value)


def bind_text(statement: str, args: tuple[Any, ...],
              encode: Callable[[Any], bytes | None] = text_value) -> bytes:
    """The Bind message of the unnamed portal to the prepared ``statement``, every parameter as text (``encode``),
    every result column binary (as asyncpg asks for the carrier's)."""
    if len(args) > 32767:
        raise NotText("too many parameters")
    parts = [b"\0", statement.encode(), b"\0", struct.pack("!hhh", 1, 0, len(args))]
    for value in args:
        data = encode(value)
        parts.append(struct.pack("!i", -1) if data is None else struct.pack("!i", len(data)) + data)
    parts.append(struct.pack("!hh", 1, 1))
    return _message(b"B", b"".join(parts))


def _prepared(driver: Any, sql: str) -> Any:
    return driver._stmt_cache.get((sql, driver._protocol.get_record_class(), False), promote=False)


class Committing:
    """A driver connection whose ``fetchrow(sql, *args)`` sends ``sql`` and COMMIT in one round trip when it
    can (the module), else ``sql`` then COMMIT; either way the adapter's transaction is over when it returns.
    Passed to ``tenants.session._fetchrow``, which counts and observes ``sql`` as any statement."""

    def __init__(self, adapted: Any, carrier: str = CARRIER, binary: bool = False, arrays: bool = False) -> None:
        self.adapted = adapted
        self.carrier = carrier  # whose row description decodes ``sql``'s row: the same columns
        self.binary = binary  # the parameters as ``bind_write`` sends them (by the statement's types), else as text
        self.arrays = arrays  # bind_write's: a text[] of str too (a full read's ids)
        self.pipelined = False

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        adapted = self.adapted
        driver = adapted._connection
        transaction = adapted._transaction
        shortcut = wire.enabled  # else asyncpg's own path only, its internals untouched (tenants.wire)
        statement = _prepared(driver, sql) if shortcut else None
        carrier = _prepared(driver, self.carrier) if shortcut else None
        message = None
        if (shortcut and transaction is not None and driver._top_xact is transaction and not transaction._nested
                and statement is not None and carrier is not None and not driver.is_closed()):
            try:
                message = (bind_write(statement.name, parameter_types(statement), args, self.arrays) if self.binary
                           else bind_text(statement.name, args))
            except (NotText, InternalClientError):  # a value not made here; a type without asyncpg's codec
                message = None
        if message is None:
            row = await driver.fetchrow(sql, *args)
            if transaction is not None:
                await adapted._call_and_discard(transaction.commit)
            if carrier is None and shortcut and driver._stmt_cache.get_max_size() > 0 and not driver.is_closed():
                # prepared and cached once per connection: the next time pipelines. Without a statement cache
                # (pgbouncer's mode) it would be one more round trip on every request, and never cached.
                await driver.fetchrow(self.carrier)
            return row
        self.pipelined = True
        try:
            wire.ahead(driver._transport, message + _EXECUTE + COMMIT)
            row = await driver.fetchrow(self.carrier)
        except BaseException:
            if not driver.is_closed() and not driver.is_in_transaction():
                _ended(adapted, transaction, TransactionState.FAILED)  # COMMIT ran and failed: nothing to roll back
            raise
        _ended(adapted, transaction, TransactionState.COMMITTED)
        return row


def _ended(adapted: Any, transaction: Any, state: TransactionState) -> None:
    """asyncpg's and SQLAlchemy's bookkeeping as ``Transaction.commit`` leaves it."""
    transaction._state = state
    if adapted._connection._top_xact is transaction:
        adapted._connection._top_xact = None
    adapted._transaction = None


async def fetch_and_commit(tx: Any, sql: str, args: tuple[Any, ...], carrier: str = CARRIER,
                           binary: bool = False, arrays: bool = False) -> Any:
    """The first row of ``sql``, then COMMIT, on a ``DriverTransaction`` (tenants.session): in one round trip
    when it can (the module; ``carrier``: a statement of ``sql``'s columns, ``binary``: ``Committing``'s).
    Counted and observed as the transaction's other statements; a dead connection is dropped from the pool,
    as ``fetch_first`` drops it after the transaction's first statement."""
    committing = Committing(tx._adapted, carrier, binary, arrays)
    try:
        row = await _session._fetchrow(committing, sql, args)  # looked up now: the tests wrap it
    except Exception as e:
        if is_disconnect(e, tx.connection):
            await greenlet_spawn(_drop, tx._engine.sync_engine, tx._fairy, e, True)
        raise
    tx._sent += 1
    return row


_LENGTH = struct.Struct("!i").pack
_INT8 = struct.Struct("!q").pack
_FLOAT8 = struct.Struct("!d").pack
_NULL = _LENGTH(-1)
_TRUE, _FALSE = _LENGTH(1) + b"\x01", _LENGTH(1) + b"\x00"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's, of its binary timestamps (microseconds since)
_MICROSECOND = timedelta(microseconds=1)
_DAY_ZERO = date(2000, 1, 1).toordinal()  # PostgreSQL's, of its binary dates (days since)
_INT4 = struct.Struct("!i").pack
_UUID, _TIMESTAMPTZ, _INT8_OID, _FLOAT8_OID, _BOOL, _TEXT_ARRAY, _DATE = 2950, 1184, 20, 701, 16, 1009, 1082
_TEXT_ELEMENTS = struct.Struct("!iiiii").pack  # a text[]'s binary header: 1 dimension, no NULL, text, length, from 1
_TYPES: dict[str, tuple[int, ...]] = {}  # a write's parameter types (oids), by its text


def parameter_types(statement: Any) -> tuple[int, ...]:
    """The parameter types (oids) of a statement asyncpg prepared (its ParameterDescription), once per text."""
    found = _TYPES.get(statement.query)
    if found is None:
        found = keep(_TYPES, statement.query, tuple(t.oid for t in statement._get_parameters()), 256)
    return found


def bind_write(statement: str, types: tuple[int, ...], args: tuple[Any, ...], arrays: bool = False) -> bytes:
    """The Bind message of a fast write (``Writing``), its parameters of ``types`` (oids) made in one loop (issue #21:
    ``bind_text`` with a call per value cost ≈ 100 µs for a report's 85, and PostgreSQL parses each text): a uuid,
    an aware time, a date (the visit figures' days: without it their reads' COMMIT was a round trip of its own),
    an int8, a float8 and a boolean for a parameter of that type in binary (format 1: the bytes
    asyncpg's own codecs send for them), NULL as no value, anything else as ``write_value``'s text (format 0: the
    parameter's type reads it) — or NotText, and the ordinary path sends it. ``arrays``: a non-empty list of str for
    a text[] parameter in binary too (the full reads' ids of ``commit_read``'s audit statement); else such a list is
    NotText, as for a fast write."""
    n = len(args)
    if n > 32767 or len(types) != n:
        raise NotText("parameters")
    formats = bytearray(2 * n)
    values: list[bytes] = []
    append = values.append
    at: Any = None
    at_data = b""
    for i, value in enumerate(args):
        if value is None:
            append(_NULL)
            continue
        kind, oid = type(value), types[i]
        if kind is str:  # text, json …: its type reads the text (as for a str sent for a uuid)
            data = value.encode()
            append(_LENGTH(len(data)))
            append(data)
            continue
        formats[2 * i + 1] = 1
        if oid == _UUID and (kind is uuid.UUID or kind is DriverUUID):
            append(b"\0\0\0\x10" + value.bytes)
        elif oid == _TIMESTAMPTZ and kind is datetime and value.tzinfo is not None:
            if value is not at:
                at, at_data = value, b"\0\0\0\x08" + _INT8((value - _EPOCH) // _MICROSECOND)
            append(at_data)
        elif oid == _BOOL and kind is bool:
            append(_TRUE if value else _FALSE)
        elif oid == _DATE and kind is date and date.min < value < date.max:  # asyncpg sends those two as ±infinity
            append(b"\0\0\0\x04" + _INT4(value.toordinal() - _DAY_ZERO))
        elif oid == _INT8_OID and kind is int:
            try:
                append(b"\0\0\0\x08" + _INT8(value))
            except struct.error as e:
                raise NotText("int8 out of range") from e
        elif oid == _FLOAT8_OID and kind is float:
            append(b"\0\0\0\x08" + _FLOAT8(value))
        elif arrays and oid == _TEXT_ARRAY and kind is list and value:  # a full read's ids (audit_and_notify)
            append(_text_array(value))
        elif kind is int or kind is float or kind is bool:  # for another type (numeric, int4 …): asyncpg's codec
            raise NotText(f"{kind.__name__} for type {oid}")
        else:
            formats[2 * i + 1] = 0
            data = write_value(value)  # a str subclass, an empty list; else NotText
            if data is None:
                append(_NULL)
                continue
            append(_LENGTH(len(data)))
            append(data)
    body = b"".join((b"\0", statement.encode(), b"\0", struct.pack("!h", n), formats, struct.pack("!h", n),
                     *values, struct.pack("!hh", 1, 1)))
    return b"B" + _LENGTH(len(body) + 4) + body


def _text_array(values: list[Any]) -> bytes:
    """A non-empty list of str as a text[] parameter's binary value (PostgreSQL's array_recv: the header, then each
    element's length and UTF-8 bytes), with its length first; NotText for any other element (None among them)."""
    parts = [_TEXT_ELEMENTS(1, 0, 25, len(values), 1)]
    for v in values:
        if type(v) is not str:
            raise NotText(f"{type(v).__name__} in a text[]")
        data = v.encode()
        parts.append(_LENGTH(len(data)))
        parts.append(data)
    body = b"".join(parts)
    return _LENGTH(len(body)) + body


class Writing:
    """A driver connection whose ``fetchrow(sql, *args)`` sends a fast write's statement (one that returns no row),
    COMMIT, and ``after`` (``tenants.begin.commit_then``'s statement: the events' NOTIFY) or else ``CARRIER``, in
    one round trip (issue #21: the write's own wait, then COMMIT's, were two of a report's four), else the write
    then COMMIT with ``after`` as before (``commit_with``). Its parameters go as ``bind_write`` makes them (binary
    as asyncpg's codecs send them for the parameter's type, else text); the statement after COMMIT is asyncpg's
    own (its Bind, Execute and Sync, prepared on this connection first: once per connection), so asyncpg reads
    the write's and COMMIT's answers before its own and returns its rows — the write's statement must return none.

    The server runs the write, then COMMIT, then ``after`` (in a transaction of its own, as ``commit_then``
    sends it). If the write fails (a constraint met: a concurrent retry, a case moved since the checks), the
    server skips COMMIT and ``after`` up to the Sync: the transaction is left open and in error, the error is
    raised, and the caller rolls back as before. If COMMIT or ``after`` fails, the transaction is over and the
    connection is not pooled again (``commit_then``'s rule: a failed COMMIT may have committed)."""

    def __init__(self, tx: Any, after: tuple[str, tuple[Any, ...]] | None) -> None:
        self.tx = tx
        self.after = after
        self.pipelined = False

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        tx = self.tx
        adapted = tx._adapted
        driver = adapted._connection
        transaction = adapted._transaction
        then_sql, then_args = (CARRIER, ()) if self.after is None else self.after
        message = None
        if (wire.enabled and transaction is not None and driver._top_xact is transaction  # tenants.wire
                and not transaction._nested and driver._stmt_cache.get_max_size() > 0 and not driver.is_closed()):
            if _prepared(driver, then_sql) is None:
                await driver._get_statement(then_sql, None)  # once per connection, before the write is looked up
            statement = _prepared(driver, sql)  # None on this connection's first such write: prepared below
            if statement is not None:
                try:
                    message = bind_write(statement.name, parameter_types(statement), args)
                except (NotText, InternalClientError):  # a value not made here; a type without asyncpg's codec
                    message = None
        if message is None:
            row = await driver.fetchrow(sql, *args)
            await commit_with(tx._fairy, adapted, self.after)
            return row
        self.pipelined = True
        protocol = driver._protocol
        sent = protocol.queries_count  # asyncpg counts its Bind/Execute/Sync once written (tests/support/round_trips)
        try:
            wire.ahead(driver._transport, message + _EXECUTE + COMMIT)
            row = await driver.fetchrow(then_sql, *then_args)
        except BaseException as e:
            # The server answered the write's error (it skipped COMMIT and what follows to the Sync): the transaction
            # is open, in error, for the caller to roll back. Anything else — COMMIT ran and failed, or what followed
            # it, or no Sync sent or answer read (the NOTIFY's Bind refused by asyncpg — its DataError is a
            # PostgresError too —, a cancel: the server ran the write and COMMIT as they came) — ends it here, and the
            # connection is not pooled again (commit_then's rule).
            answered = isinstance(e, PostgresError) and protocol.queries_count != sent
            if not answered or driver.is_closed() or not driver.is_in_transaction():
                _ended(adapted, transaction, TransactionState.FAILED)
                await greenlet_spawn(tx._fairy.invalidate, e)
            raise
        _ended(adapted, transaction, TransactionState.COMMITTED)
        return row


async def write_and_commit(tx: Any, sql: str, args: tuple[Any, ...],
                           after: tuple[str, tuple[Any, ...]] | None) -> bool:
    """A fast write's statement ``sql`` (no row returned) on a ``DriverTransaction``, then its COMMIT with ``after``
    (``tenants.begin.commit_then``): in one round trip when it can (``Writing``). Counted and observed as the
    transaction's other statements (``after`` rides with COMMIT, uncounted, as BEGIN rides with the first); a
    dead connection is dropped from the pool. Whether it went in one round trip."""
    writing = Writing(tx, after)
    try:
        await _session._fetchrow(writing, sql, args)  # looked up now: the tests wrap it
    except Exception as e:
        if is_disconnect(e, tx.connection):
            await greenlet_spawn(_drop, tx._engine.sync_engine, tx._fairy, e, True)
        raise
    tx._sent += 1
    return writing.pipelined
