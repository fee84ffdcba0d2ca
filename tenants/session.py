"""Engines and tenant-bound sessions.

Isolation is defended twice. The ORM adds ``tenant_id = :tenant`` to every SELECT, UPDATE and
DELETE that touches a tenant table (``do_orm_execute`` + ``with_loader_criteria``) and stamps the
tenant on every new row; on PostgreSQL each transaction also sets ``app.tenant_id`` so row-level
security (installed by the migrations) repeats the check in the database itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.pool import NullPool
from sqlalchemy.util import greenlet_spawn

from models import TenantScoped, uuid7
from models.bounded import keep
from models.jsontext import json_text
from tenants.begin import begin_with, commit_with, pipelined
from tenants.faults import DatabaseUnreachable, is_disconnect
from tenants.pool import _checkout_in_place, _drop, _returns_in_place
from tenants.rls import ask_citus, set_tenant_sql
from tenants.statements import StatementObserver as StatementObserver
from tenants.statements import _fetchrow as _fetchrow
from tenants.statements import _on_cursor_execute
from tenants.statements import count_statements as count_statements
from tenants.statements import observe_statements as observe_statements

# Under "gongzhi": the app's log configuration applies (tenants never imports gongzhi).
log = logging.getLogger("gongzhi.db")


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written through another tenant's session."""


# The session's info key of the request's DriverTransaction when the session's ORM work runs on it
# (``bind_to_driver``): one connection and one transaction for the request's plain SQL texts and the ORM.
DRIVER_BIND = "gongzhi.driver_bind"


class TenantBoundSession(Session):
    """Sync session class behind every AsyncSession of the app; ``info['tenant_id']`` binds it."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Any:
        bound = self.info.get(DRIVER_BIND)
        if bound is not None:  # bind_to_driver: the request's own connection and transaction
            return bound.sa_connection()
        return super().get_bind(mapper, **kw)


@event.listens_for(TenantBoundSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or state.session.info.get("orm_tenant_filter") is False:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(_tenant_criteria(tenant_id))


def _tenant_criteria(tenant_id: Any) -> Any:
    """The tenant filter option, made once per tenant and process (issue #21): building it — the
    lambda's analysis, the option's own cache key — cost more than the rest of a small statement's
    ORM work. An option is immutable, so every statement of the tenant shares one."""
    found = _CRITERIA.get(tenant_id)
    if found is None:
        found = keep(_CRITERIA, tenant_id, with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True), 4096)
    return found


_CRITERIA: dict[Any, Any] = {}


@event.listens_for(TenantBoundSession, "before_flush")
def _stamp_tenant(session: Session, _ctx: Any, _instances: Any) -> None:
    tenant_id = session.info.get("tenant_id")
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            if obj.tenant_id is None:
                if tenant_id is None:
                    raise TenantMismatch(f"{type(obj).__name__} written by a session bound to no tenant")
                obj.tenant_id = tenant_id
            elif tenant_id is not None and obj.tenant_id != tenant_id:
                raise TenantMismatch(f"{type(obj).__name__} of another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantMismatch(f"{type(obj).__name__} of another tenant")


_SIMPLE = frozenset({str, int, float, bool})


def _audit_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# What the audit log records for a column a model names in ``__audit_conceal__`` (a person's name):
# whether it was set or changed shows, the value never — the change's row id is the reference to it.
CONCEALED = "***"


def _mask(value: Any) -> Any:
    if value is None:
        return None
    text = str(value)
    return "*" * max(len(text) - 4, 0) + text[-4:] if len(text) > 4 else "****"


_AUDITED_KEYS: dict[Any, tuple[str, ...]] = {}
_INSERT_AUDIT: dict[type, tuple[bool, Any, frozenset[str], frozenset[str]]] = {}  # insert_change's, per model


def _audited_keys(mapper: Any) -> tuple[str, ...]:
    """The column attributes an audit entry records, in the mapper's order, once per mapper."""
    keys = _AUDITED_KEYS.get(mapper)
    if keys is None:
        keys = _AUDITED_KEYS[mapper] = tuple(a.key for a in mapper.column_attrs
                                             if a.key not in ("tenant_id", "created_at"))
    return keys


def _inserted_fields(mapper: Any, values: dict[str, Any], masked: frozenset[str],
                     concealed: frozenset[str]) -> dict[str, list[Any]]:
    # An attribute never set is None, as reading it would give; a str, int, float or bool is _audit_value's own
    # (asked by its exact type first: issue #21, a report's 34 values), masked or concealed ones replaced after.
    get = values.get
    fields = {key: [None, after if type(after) in _SIMPLE else _audit_value(after)]
              for key in _audited_keys(mapper) if (after := get(key)) is not None}
    for key in (masked | concealed) & fields.keys():
        fields[key][1] = _mask(get(key)) if key in masked else CONCEALED
    return fields


def insert_change(model: type[TenantScoped], values: dict[str, Any]) -> dict[str, Any] | None:
    """The audit log's record of inserting a row of ``model`` with ``values`` (its id among them) as a flush
    would keep it (``_record_changes``), for a row written without the ORM's unit of work (issue #21:
    resolvers.cases.report_fast); None: not audited."""
    found = _INSERT_AUDIT.get(model)  # asked once per model (issue #21: ≈ 0.02 ms a row of a case step)
    if found is None:
        found = _INSERT_AUDIT[model] = (getattr(model, "__audit__", True) is not False, inspect(model),
                                        getattr(model, "__audit_mask__", frozenset()),
                                        getattr(model, "__audit_conceal__", frozenset()))
    audited, mapper, masked, concealed = found
    fields = _inserted_fields(mapper, values, masked, concealed) if audited else None
    if not fields:
        return None
    return {"table": mapper.local_table.name, "id": str(values["id"]), "op": "insert", "fields": fields}


def object_insert_change(obj: Any) -> dict[str, Any] | None:
    """The audit log's change record of a new ORM object (None: not audited): its values, masked or
    concealed as ``_record_changes`` says; gives the object its id first, as the column default would.
    Also for rows written without the unit of work (resolvers/inserts.py)."""
    if not isinstance(obj, TenantScoped) or getattr(type(obj), "__audit__", True) is False:
        return None
    if obj.id is None:
        obj.id = uuid7()  # what the column default would give, known now for the log
    state = inspect(obj)
    fields = _inserted_fields(state.mapper, state.dict, getattr(type(obj), "__audit_mask__", frozenset()),
                              getattr(type(obj), "__audit_conceal__", frozenset()))
    if not fields:
        return None
    return {"table": state.mapper.local_table.name, "id": str(obj.id), "op": "insert", "fields": fields}


@event.listens_for(TenantBoundSession, "before_flush")
def _record_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """Keep what each flush changes (new rows, changed columns before → after) for the audit log.

    Columns a model names in ``__audit_mask__`` (personal data) are recorded masked (the last four
    characters kept, as an ID number or phone is shown masked); those in ``__audit_conceal__`` (a
    person's name, where four characters are the name) as ``CONCEALED``. The log needs to say what
    changed and on which row, not the name itself (PIPL art. 6: no more than the purpose needs).
    A new row's values are what it holds; an update's are the attributes the session saw change (issue
    #21: asking every column of a new row for its history cost more than the rest of the insert's ORM
    work)."""
    changes = session.info.setdefault("audit_changes", [])
    for obj in session.new:
        entry = object_insert_change(obj)
        if entry is not None:
            changes.append(entry)
    for obj in session.dirty:
        if not isinstance(obj, TenantScoped) or getattr(type(obj), "__audit__", True) is False:
            continue
        masked: frozenset[str] = getattr(type(obj), "__audit_mask__", frozenset())
        concealed: frozenset[str] = getattr(type(obj), "__audit_conceal__", frozenset())
        state = inspect(obj)
        fields: dict[str, list[Any]] = {}
        changed = state.committed_state  # what was set since the last flush: the only candidates
        for key in _audited_keys(state.mapper):
            if key not in changed:
                continue
            hist = state.attrs[key].history
            if not hist.has_changes():
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if key in masked:
                before, after = _mask(before), _mask(after)
            elif key in concealed:
                before, after = (None if v is None else CONCEALED for v in (before, after))
            fields[key] = [_audit_value(before), _audit_value(after)]
        if fields:
            changes.append({"table": state.mapper.local_table.name, "id": str(obj.id), "op": "update",
                            "fields": fields})


@event.listens_for(TenantBoundSession, "after_begin")
def _set_rls_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    if _tx.nested or session.info.get(DRIVER_BIND) is not None:
        # The DriverTransaction's first statement (gongzhi_request_actor) set it in this very transaction
        # (bind_to_driver). A SAVEPOINT (every mutation runs in one) inherits the transaction's setting, made by the
        # root transaction's begin or the request's first statement: no round trip (issue #21).
        return
    tenant_id = session.info.get("tenant_id")
    if not tenant_id:
        # Unbound (a request binds its tenant in its first statement, gongzhi/app.py): nothing to set.
        # The app only ever sets app.tenant_id transaction-locally, so a new transaction starts with
        # it empty and RLS policies match no tenant row — no round trip needed to say so.
        return
    connection.exec_driver_sql(set_tenant_sql(tenant_id))


# -- a mutation's SAVEPOINT released by the transaction's COMMIT (issue #21)
# Every mutation runs in a SAVEPOINT (schema.common.mutate) so a refusal undoes only its own writes. Once it
# succeeded, its RELEASE is a round trip that changes nothing the request can see: the COMMIT that follows
# releases every open savepoint with the transaction (and a ROLLBACK undoes them with it), later savepoints
# nest inside it under their own names. So, on PostgreSQL, the release of a succeeded mutation's
# savepoint is left to the COMMIT, for the first KEPT_SAVEPOINTS of a request: a document of many
# mutations keeps releasing beyond that, so a transaction never holds more than a few subtransactions
# open (PostgreSQL caches 64 per backend before other sessions' snapshots pay for them).

KEPT_SAVEPOINTS = 8
_keep_savepoint: ContextVar[bool] = ContextVar("gongzhi_keep_savepoint", default=False)


@contextmanager
def released_by_commit(session: AsyncSession) -> Iterator[None]:
    """Commit a succeeded mutation's SAVEPOINT inside this block: on PostgreSQL its RELEASE is left to the
    transaction's COMMIT (above), at most ``KEPT_SAVEPOINTS`` times per session."""
    kept = session.info.get("kept_savepoints", 0)
    if kept >= KEPT_SAVEPOINTS:
        yield
        return
    session.info["kept_savepoints"] = kept + 1
    token = _keep_savepoint.set(True)
    try:
        yield
    finally:
        _keep_savepoint.reset(token)


def release_kept() -> bool:
    """Whether a savepoint committed here would send no RELEASE (inside ``released_by_commit``, within
    the session's kept ones)."""
    return _keep_savepoint.get()


def _release_unless_kept(release: Callable[[Connection, str], None]) -> Callable[[Connection, str], None]:
    def do_release_savepoint(connection: Connection, name: str) -> None:
        if not _keep_savepoint.get():
            release(connection, name)

    return do_release_savepoint


class _AllRows:
    """A driver connection whose ``fetchrow`` returns every row: ``fetch_rows`` goes through ``_fetchrow``
    (the one place every statement on the driver passes, which the tests' tenant-predicate check wraps)."""

    def __init__(self, connection: Any) -> None:
        self.fetchrow = connection.fetch
        self.connection = connection  # the driver connection itself (bench.inproc --explain's EXPLAIN)


def use_driver(session: AsyncSession) -> None:
    """Let ``fetch_first`` send this session's SQL texts on the driver directly (PostgreSQL; with
    tracing on too: the statement observer gives them their spans)."""
    session.info["raw_driver"] = True


class DriverTransaction:
    """A transaction on a pooled connection's driver (asyncpg) connection, without an ORM session.

    For requests that need only plain SQL texts (issue #9: a compiled read is the request's first
    statement and one more): checking a connection out through a Session, its SessionTransaction and
    Connection objects and three greenlet hops cost ≈ 10 % of a node lookup. The connection comes
    from the engine's own pool (so pool size, metrics and pgbouncer settings are the engine's) and
    goes back to it; the transaction is committed by ``commit`` or rolled back on leaving.
    Statements are counted by ``count_statements`` like any other.

    Dead connections (issue #26): this path sends BEGIN itself, outside SQLAlchemy's disconnect
    handling, so it does that handling here. A connection that failed as dead (``tenants.faults``),
    or is closed when the transaction ends, or is left in an unknown state (an error while rolling
    back) is invalidated — never back to the pool — and, as SQLAlchemy does on a disconnect of its
    own statements, so is every connection the pool made before it (a restart or a failover ends them
    all; they are replaced as they next leave the pool). If BEGIN or the transaction's first
    statement meets a dead connection, they run once more, on a fresh connection: nothing of the
    transaction can have been committed (the server rolls back what a lost session did). Nothing
    later is retried: a failed COMMIT may have committed.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._fairy: Any = None
        self._adapted: Any = None
        self._sa: Connection | None = None  # SQLAlchemy's Connection over it, made when an ORM session needs it
        self.connection: Any = None  # the asyncpg connection

    async def __aenter__(self) -> DriverTransaction:
        await self._checkout()
        return self

    async def _checkout(self) -> None:
        # The pool replaces a connection it sees closed (make_engine); one not seen so yet fails at BEGIN.
        fairy = _checkout_in_place(self._engine.sync_engine) or await greenlet_spawn(
            self._engine.sync_engine.raw_connection)
        adapted: Any = fairy.dbapi_connection
        self._fairy, self._adapted, self.connection = fairy, adapted, adapted._connection
        self._sent, self._sa, self._step = 0, None, "BEGIN"  # statements after BEGIN; what BEGIN went with

    def sa_connection(self) -> Connection:
        """A SQLAlchemy ``Connection`` over this transaction's pooled connection, for an ORM session bound to
        it (``bind_to_driver``): the adapter's transaction is already begun, so SQLAlchemy sends no BEGIN
        (its ``do_begin`` is a no-op for asyncpg), and its COMMIT or ROLLBACK ends this transaction.
        The session never closes it (a bind given as a Connection is the caller's): ``__aexit__`` returns
        the pooled connection."""
        if self._sa is None:
            self._sa = Connection(self._engine.sync_engine, connection=self._fairy)
        return self._sa

    async def fetch_first(self, sql: str, *args: Any, many: bool = False) -> Any:
        """The first row of a plain SQL text in this transaction, or None; ``many``: the list of every row."""
        try:
            row = await self._send(sql, args, many)
        except Exception as e:
            dead = is_disconnect(e, self.connection)
            if dead:
                await greenlet_spawn(_drop, self._engine.sync_engine, self._fairy, e, True)
            if self._sent or not dead:
                raise
            _log_retry(self._step, e)
            await self._checkout()
            row = await self._send(sql, args, many)
        self._sent += 1
        return row

    async def _send(self, sql: str, args: tuple[Any, ...], many: bool) -> Any:
        """The statement; the transaction's first goes with BEGIN (tenants.begin: one round trip)."""
        adapted = self._adapted
        driver = _AllRows(self.connection) if many else self.connection
        if adapted._transaction is None and pipelined(adapted, sql):
            self._step = "BEGIN (sent with the transaction's first statement)"
            return await begin_with(adapted, sql, lambda: _fetchrow(driver, sql, args))
        if adapted._transaction is None:
            self._step = "BEGIN"
            await adapted._start_transaction()
        self._step = "the transaction's first statement"
        return await _fetchrow(driver, sql, args)

    async def commit(self, after: tuple[str, tuple[Any, ...]] | None = None) -> None:
        await commit_with(self._fairy, self._adapted, after)  # and ``after`` in COMMIT's round trip (tenants.begin)

    async def __aexit__(self, *exc: Any) -> None:
        fairy, adapted = self._fairy, self._adapted
        try:
            if adapted._transaction is not None and not self.connection.is_closed():
                await adapted._call_and_discard(adapted._transaction.rollback)
        except BaseException as e:
            await greenlet_spawn(fairy.invalidate, e)
            raise
        finally:
            if fairy.is_valid:
                if self.connection.is_closed():  # it died under this transaction: replaced, not pooled
                    await greenlet_spawn(_drop, self._engine.sync_engine, fairy, None, True)
                elif _returns_in_place(fairy):
                    fairy.close()
                else:
                    await greenlet_spawn(fairy.close)



async def fetch_first(session: AsyncSession, sql: str, *args: Any) -> Any:
    """The first row of a plain SQL text (``$n`` parameters) in the session's transaction, or None.

    For the few statements every request runs (tenant, actor, a compiled read; issue #9), where
    SQLAlchemy's execution layers cost more CPU than the query: on a session marked by
    ``use_driver`` they go to asyncpg directly, still in the session's own transaction (so
    ``app.tenant_id`` and RLS apply and the request's commit covers them) and still counted by
    ``count_statements`` and seen by the statement observer; otherwise through SQLAlchemy as any statement.
    """
    tx = session.info.get("driver_transaction")
    if tx is not None and not (session.info.get(DRIVER_BIND) is not None and session.in_nested_transaction()):
        # The request's statements run on a DriverTransaction (gongzhi/http/graphql.py). Inside a mutation's
        # SAVEPOINT on a session bound to it they go through the session's connection below, which sends the
        # SAVEPOINT first (SQLAlchemy sends it lazily), so a rollback to it undoes them.
        return await tx.fetch_first(sql, *args)
    if session.info.get("raw_driver"):
        return await _fetch_on_driver(session, sql, args, retry=True)
    conn = await session.connection()
    return (await conn.exec_driver_sql(sql, args)).first()


async def fetch_rows(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """Every row of a plain SQL text in the session's transaction, on the driver (a session marked by
    ``use_driver``, PostgreSQL), counted and observed as ``fetch_first``'s. Inside a SAVEPOINT the
    session's connection sends it first, so a rollback to it undoes what the text wrote. Not retried."""
    rows: list[Any] = await _fetch_on_driver(session, sql, args, retry=False, many=True)
    return rows


def _pristine(session: AsyncSession) -> bool:
    """Nothing loaded, added or deleted: rolling the session back loses nothing of the caller's."""
    return not (session.identity_map or session.new or session.deleted)


async def _fetch_on_driver(session: AsyncSession, sql: str, args: tuple[Any, ...], *, retry: bool,
                           many: bool = False) -> Any:
    """``fetch_first`` on the asyncpg connection under the session's transaction, sending its BEGIN when this
    is the transaction's first statement (SQLAlchemy's adapter sends BEGIN lazily; this is that step, in the
    statement's round trip where it can: tenants.begin). A dead connection is invalidated (issue #26: this
    path is outside SQLAlchemy's disconnect handling); if nothing of the transaction had been sent before
    and the session holds nothing, the statement runs once more, in a new transaction on a fresh connection."""
    conn = await session.connection()
    fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    driver = adapted._connection
    first = adapted._transaction is None
    try:
        if first:
            return await begin_with(adapted, sql, lambda: _fetchrow(_AllRows(driver) if many else driver, sql, args))
        return await _fetchrow(_AllRows(driver) if many else driver, sql, args)
    except Exception as e:
        if not is_disconnect(e, driver):
            raise
        conn.sync_engine.pool._invalidate(fairy, e, _checkin=False)  # the others too: see _drop
        await conn.invalidate(e)
        if not (retry and first and _pristine(session)):
            raise
        _log_retry("BEGIN or the transaction's first statement", e)
    await session.rollback()
    return await _fetch_on_driver(session, sql, args, retry=False)


def _log_retry(what: str, error: BaseException) -> None:
    log.warning("a dead database connection failed %s (%s); sent again on a fresh connection", what,
                type(error).__name__)


def alive_on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """The pool's liveness check as a connection leaves it, without a round trip (issue #26): asyncpg
    marks a connection closed as soon as the event loop reads the server's goodbye (a restart, a
    failover, ``pg_terminate_backend`` of an idle backend). The pool then opens a fresh one in its place."""
    if dbapi_conn._connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as e:  # refused, unreachable, timed out (asyncio's TimeoutError is an OSError)
        raise DatabaseUnreachable(f"cannot connect to the database: {type(e).__name__}: {e}") from e


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN breaks SAVEPOINTs; we emit BEGIN ourselves (_sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _prepared_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


# asyncpg keeps a statement prepared (parsed and planned once per connection) only up to 15 KiB of
# text by default; a compiled read is one statement of the whole selection, 22 KiB for the portal's
# open-case page (21 KiB for the areas list), which PostgreSQL then parsed and planned anew on every
# request (10–24 ms of its time against 1.4–7.7 ms of execution; issue #21, bench/RESULTS.md). The
# price is the backend's memory: that statement's cached plan held 2.1 MB, and asyncpg keeps up to
# 100 statements per connection (its statement_cache_size), so many actors' compiled texts on one
# connection add up (bench/RESULTS.md).
MAX_CACHEABLE_STATEMENT = 256 * 1024


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False, pgbouncer: bool = False,
                max_overflow: int = 10, pre_ping: bool = False, pooled: bool = True,
                connect_timeout: float | None = None) -> AsyncEngine:
    """The app's engine. ``pool_size`` is per process (per worker). ``pgbouncer``: the URL points at
    pgbouncer in transaction mode, where a server connection changes between transactions, so
    asyncpg keeps no statement cache and names each prepared statement uniquely (SQLAlchemy's
    recipe for pgbouncer). Parameters never appear in exception messages (they can be personal data).
    ``pooled=False``: every use opens and closes its own connection (for rare work such as the
    platform API, so no idle connection outlives the app).

    Dead connections (issue #26), on PostgreSQL: a connection the server closed while it sat in the
    pool is replaced as it leaves the pool, at no cost (the checkout check below); one that dies
    unseen fails its BEGIN or first statement, which the driver paths retry once (``DriverTransaction``,
    ``fetch_first``). ``pre_ping`` adds SQLAlchemy's ping on every checkout: one round trip per request
    (bench/RESULTS.md, 2026-12-05), for networks that drop connections without telling either side.
    A failed connect raises ``DatabaseUnreachable``; ``connect_timeout`` bounds it (seconds).
    """
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True, "json_serializer": json_text}  # models.jsontext
    postgres = url.startswith("postgresql")
    if url.startswith("sqlite"):
        kwargs["poolclass"] = NullPool if ":memory:" not in url else None
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    elif not pooled:
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max_overflow
        kwargs["pool_pre_ping"] = pre_ping
    connect_args: dict[str, Any] = {}
    if postgres and pooled and pgbouncer:
        connect_args.update(statement_cache_size=0, prepared_statement_cache_size=0,
                            prepared_statement_name_func=_prepared_statement_name)
    elif postgres and pooled:
        connect_args["max_cacheable_statement_size"] = MAX_CACHEABLE_STATEMENT
    if postgres and connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    if connect_args:
        kwargs["connect_args"] = connect_args
    engine = create_async_engine(url, **kwargs)
    sync: Engine = engine.sync_engine
    if url.startswith("sqlite"):
        event.listen(sync, "connect", _sqlite_pragmas)
        event.listen(sync, "begin", _sqlite_begin)
    if postgres:
        sync.dialect.do_release_savepoint = _release_unless_kept(  # type: ignore[method-assign,assignment]
            sync.dialect.do_release_savepoint)
        event.listen(sync, "do_connect", _connect)
        ask_citus(sync)  # the full reads' audit statement's form (gongzhi.http.state.audit_and_notify_sql)
        if pooled:
            event.listen(sync.pool, "checkout", alive_on_checkout)
    event.listen(sync, "before_cursor_execute", _on_cursor_execute)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # No autoflush: services flush explicitly (Db.flush); a check query must never push a pending
    # change into the database behind the service's back.
    return async_sessionmaker(engine, sync_session_class=TenantBoundSession, expire_on_commit=False,
                              autoflush=False)


def bind_to_driver(session: AsyncSession, tx: DriverTransaction) -> AsyncSession:
    """Run a fresh session's work on the request's DriverTransaction (issue #21: the general path's
    mutations): its plain SQL texts (``fetch_first``) on the driver, and its ORM work, when it has any, on
    the same connection and in the same transaction — no second checkout, no BEGIN or tenant setting of
    its own. ``session.commit()`` commits that transaction when the ORM used it; ``commit_driver`` ends it
    either way."""
    session.info["driver_transaction"] = tx
    session.info[DRIVER_BIND] = tx
    return session


async def commit_driver(session: AsyncSession) -> None:
    """Commit the DriverTransaction a session is bound to (``bind_to_driver``), once ``session.commit()``
    has flushed and committed what the ORM did (then this sends nothing); no-op for another session."""
    tx = session.info.get(DRIVER_BIND)
    if tx is not None:
        await tx.commit()


def bind_tenant(session: AsyncSession, tenant_id: uuid.UUID | None, *, orm_filter: bool = True) -> AsyncSession:
    """Bind a fresh session to a tenant before its first statement."""
    session.info["tenant_id"] = tenant_id
    session.info["orm_tenant_filter"] = orm_filter
    return session


async def switch_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Bind a session whose transaction has already begun (the tenant was looked up in it)."""
    session.info["tenant_id"] = tenant_id
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql" and session.in_transaction():
        await session.execute(text(set_tenant_sql(tenant_id)))
