"""Engines and tenant-bound sessions.

Isolation is defended twice. The ORM adds ``tenant_id = :tenant`` to every SELECT, UPDATE and
DELETE that touches a tenant table (``do_orm_execute`` + ``with_loader_criteria``) and stamps the
tenant on every new row; on PostgreSQL each transaction also sets ``app.tenant_id`` so row-level
security (installed by the migrations) repeats the check in the database itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.pool import NullPool
from sqlalchemy.util import greenlet_spawn

from models import TenantScoped, uuid7


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written through another tenant's session."""


class TenantBoundSession(Session):
    """Sync session class behind every AsyncSession of the app; ``info['tenant_id']`` binds it."""


@event.listens_for(TenantBoundSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or state.session.info.get("orm_tenant_filter") is False:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantScoped,
                lambda cls: cls.tenant_id == tenant_id,
                include_aliases=True,
            )
        )


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


def _audit_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _mask(value: Any) -> Any:
    if value is None:
        return None
    text = str(value)
    return "*" * max(len(text) - 4, 0) + text[-4:] if len(text) > 4 else "****"


@event.listens_for(TenantBoundSession, "before_flush")
def _record_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """Keep what each flush changes (new rows, changed columns before → after) for the audit log.

    Columns a model names in ``__audit_mask__`` (personal data) are recorded masked."""
    changes = session.info.setdefault("audit_changes", [])
    for op, objs in (("insert", session.new), ("update", session.dirty)):
        for obj in objs:
            if not isinstance(obj, TenantScoped) or getattr(type(obj), "__audit__", True) is False:
                continue
            if obj.id is None:
                obj.id = uuid7()  # what the column default would give, known now for the log
            masked: frozenset[str] = getattr(type(obj), "__audit_mask__", frozenset())
            state = inspect(obj)
            fields: dict[str, list[Any]] = {}
            for attr in state.mapper.column_attrs:
                if attr.key in ("tenant_id", "created_at"):
                    continue
                hist = state.attrs[attr.key].history
                if op == "insert":
                    after = getattr(obj, attr.key)
                    if after is None:
                        continue
                    before = None
                elif hist.has_changes():
                    before = hist.deleted[0] if hist.deleted else None
                    after = hist.added[0] if hist.added else None
                else:
                    continue
                if attr.key in masked:
                    before, after = _mask(before), _mask(after)
                fields[attr.key] = [_audit_value(before), _audit_value(after)]
            if fields:
                changes.append({"table": state.mapper.local_table.name, "id": str(obj.id), "op": op,
                                "fields": fields})


@event.listens_for(TenantBoundSession, "after_begin")
def _set_rls_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session.info.get("tenant_id")
    if not tenant_id:
        # Unbound (a request binds its tenant in its first statement, gongzhi/app.py): nothing to set.
        # The app only ever sets app.tenant_id transaction-locally, so a new transaction starts with
        # it empty and RLS policies match no tenant row — no round trip needed to say so.
        return
    connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


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
    goes back to it; the transaction is committed by ``commit`` or rolled back on leaving, and a
    connection left in an unknown state (an error while rolling back) is invalidated, not reused.
    Statements are counted by ``count_statements`` like any other.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._fairy: Any = None
        self._adapted: Any = None
        self.connection: Any = None  # the asyncpg connection

    async def __aenter__(self) -> DriverTransaction:
        self._fairy = await greenlet_spawn(self._engine.sync_engine.raw_connection)
        try:
            self._adapted = self._fairy.dbapi_connection
            await self._adapted._start_transaction()  # BEGIN, as SQLAlchemy's adapter sends it
        except BaseException:
            await greenlet_spawn(self._fairy.invalidate)
            raise
        self.connection = self._adapted._connection
        return self

    async def fetch_first(self, sql: str, *args: Any) -> Any:
        return await _fetchrow(self.connection, sql, args)

    async def commit(self) -> None:
        adapted = self._adapted
        if adapted._transaction is not None:
            await adapted._call_and_discard(adapted._transaction.commit)

    async def __aexit__(self, *exc: Any) -> None:
        fairy, adapted = self._fairy, self._adapted
        try:
            if adapted._transaction is not None:
                await adapted._call_and_discard(adapted._transaction.rollback)
        except BaseException:
            await greenlet_spawn(fairy.invalidate)
            raise
        finally:
            if fairy.is_valid:
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
    if tx is not None:  # the request's statements run on a DriverTransaction (gongzhi/app.py)
        return await tx.fetch_first(sql, *args)
    if session.info.get("raw_driver"):
        return await _fetchrow(await _driver_connection(session), sql, args)
    conn = await session.connection()
    return (await conn.exec_driver_sql(sql, args)).first()


async def _driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction, with its BEGIN sent."""
    conn = await session.connection()
    fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement; this is that step.
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted._connection


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


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False, pgbouncer: bool = False,
                max_overflow: int = 10, pre_ping: bool = False, pooled: bool = True) -> AsyncEngine:
    """The app's engine. ``pool_size`` is per process (per worker). ``pgbouncer``: the URL points at
    pgbouncer in transaction mode, where a server connection changes between transactions, so
    asyncpg keeps no statement cache and names each prepared statement uniquely (SQLAlchemy's
    recipe for pgbouncer). Parameters never appear in exception messages (they can be personal data).
    ``pre_ping`` checks each connection as it leaves the pool: one round trip per request (issue #9
    measured round trips as the largest fixed cost); without it a connection the server closed fails
    one request and the pool replaces it. ``pooled=False``: every use opens and closes its own
    connection (for rare work such as the platform API, so no idle connection outlives the app).
    """
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["poolclass"] = NullPool if ":memory:" not in url else None
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    elif not pooled:
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max_overflow
        kwargs["pool_pre_ping"] = pre_ping
        if pgbouncer:
            kwargs["connect_args"] = {"statement_cache_size": 0,
                                      "prepared_statement_cache_size": 0,
                                      "prepared_statement_name_func": _prepared_statement_name}
    engine = create_async_engine(url, **kwargs)
    sync: Engine = engine.sync_engine
    if url.startswith("sqlite"):
        event.listen(sync, "connect", _sqlite_pragmas)
        event.listen(sync, "begin", _sqlite_begin)
    event.listen(sync, "before_cursor_execute", _on_cursor_execute)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # No autoflush: services flush explicitly (Db.flush); a check query must never push a pending
    # change into the database behind the service's back.
    return async_sessionmaker(engine, sync_session_class=TenantBoundSession, expire_on_commit=False,
                              autoflush=False)


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
        await session.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
