"""What every request of the app shares (``AppState``): settings, engine, caches, the event bus, and
the two steps every route takes inside the pipeline: ``open_context`` (tenant, user, actor) and
``commit`` (audit entries, events, the one commit)."""


from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnDefault, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compiled import PlanCache
from gongzhi.bus import CHANNEL, EventBus, payload
from gongzhi.http.auth import AuthError, TokenVerifier, select_tenant
from gongzhi.http.partner_actor import load_partner_client_actor
from gongzhi.http.persisted import PersistedQueries
from gongzhi.http.preflight import photo_link_key
from gongzhi.http.ratelimit import make_limiter
from gongzhi.settings import Settings
from models import AuditEntry, Tenant, TenantStatus, User, uuid7
from models.access import PII_READ, pii_read_ids
from models.bounded import keep
from models.jsontext import json_text
from policies.actor import actor_from_rows, keep_actor, kept_actor, load_actor
from policies.enforcer import PolicyCache
from resolvers.context import ACTOR_VERSION_MOVES, CALENDAR_VERSION, Db, RequestContext
from resolvers.discarded_files import delete_discarded
from resolvers.i18n import t
from resolvers.photo_links import PhotoLinks
from tenants.begin import can_commit_then
from tenants.commit import fetch_and_commit, write_and_commit
from tenants.rls import on_citus
from tenants.session import (
    DRIVER_BIND,
    DriverTransaction,
    TenantMismatch,
    bind_to_driver,
    commit_driver,
    fetch_first,
    make_sessionmaker,
    switch_tenant,
    use_driver,
)

log = logging.getLogger("gongzhi")


def photo_links(settings: Settings) -> PhotoLinks:
    key = photo_link_key(settings)
    if key is None:  # an app built without preflight (tests, embedding): links work in this process only
        log.warning("photo links are signed with a per-process key: set GONGZHI_PHOTO_URL_KEY")
        key = secrets.token_bytes(32)
    return PhotoLinks(key=key, ttl=settings.photo_url_ttl, base_url=settings.public_url or "")


_AUDIT_COLUMNS = ("id", "created_at", "user_id", "roles", "action", "object_type", "object_ids", "detail",
                  "request_id", "client_addr", "area_path")
_AUDIT_TYPES = ("uuid", "timestamptz", "uuid", "text", "text", "text", "json", "json", "text", "text", "text")
# The request's audit rows and its notifications in one statement (issue #21): the INSERT as a
# data-modifying WITH, which PostgreSQL runs whether or not the query reads it; the count makes the
# first row the only one and still evaluates every pg_notify (a volatile output is never pruned).
# The rows go as a multi-row ``INSERT … VALUES`` (issue #27): Citus routes it to the tenant's shard,
# while an ``INSERT … SELECT FROM unnest(arrays)`` becomes a COPY there, refused on tables with
# row-level security (``COPY FROM not supported with row-level security``). The full reads' ids take
# that form only where the database is no Citus coordinator (``arrays``, tenants.rls.on_citus).
AUDIT_ROWS_PER_STATEMENT = 200  # more audit rows than this (rare): the ORM's flush writes them


# The events' NOTIFY sent with the COMMIT of a fast write (tenants.begin.commit_then; issue #21), in a transaction
# of its own that runs only if that COMMIT succeeded. In the committing transaction, NOTIFY takes PostgreSQL's
# lock of notifying commits and holds it across the commit's WAL flush: every reporting transaction's fsync one
# after another, none grouped (bench/RESULTS.md h-pgw: 313–899 vs 1,584–2,757 commits/s at 8 clients). This
# transaction writes nothing but the queue: its commit need not wait for the WAL flush (the report it announces
# is already durable), so it holds that lock for microseconds. Payloads as long as NOTIFY's limit stay in the
# committing transaction (their error refuses the mutation, as before), never after a commit.
NOTIFY_AFTER_COMMIT = ("SELECT set_config('synchronous_commit', 'off', true), count(*) "
                       "FROM (SELECT pg_notify($1, p) FROM unnest($2::text[]) AS n(p)) notified")
NOTIFY_PAYLOAD_LIMIT = 8000  # bytes: PostgreSQL's limit for a NOTIFY payload


@functools.lru_cache(maxsize=64)
def audit_and_notify_sql(rows: int, writes: tuple[str, ...] = (), offset: int = 0,
                         pii: tuple[tuple[int, int], ...] = (), quiet: bool = False, guarded: bool = False,
                         arrays: bool = False) -> str:
    """The statement for ``rows`` audit rows: $1 the tenant, then each row's columns, then the
    channel and the payloads (an array). ``writes``: the request's own INSERTs (their parameters
    $1 … $offset), run before the audit rows as data-modifying WITHs of the same statement.
    ``pii``: (audit row, how many ids) of each full read of personal data among the rows: their
    ``audit_pii_reads`` rows (models.access.AuditPiiRead, migration 0049), one per id, the ids' texts
    the last parameters. ``quiet``: no row returned (``LIMIT 0``; the data-modifying WITHs still run to
    completion, but the pg_notify of the payloads does not: for no payload only), as ``tenants.commit.Writing``
    sends a fast write with its COMMIT. ``guarded``: the first write (``w0``) is a guard, one row or none
    (resolvers.cases.report_fast: the report's checks), and each audit row's id is NULL without its row — the
    statement then fails on its NOT NULL before it writes the entry (PostgreSQL runs the audit's INSERT first, and
    checks a row's row-level security before its NOT NULLs: not the tenant). ``arrays`` (where the database is no
    Citus coordinator, ``tenants.rls.on_citus``): each full read's ids as ONE ``text[]`` parameter, written by
    ``INSERT … SELECT … FROM unnest``, so the statement's text is the same for any count of ids (``pii``'s counts
    then only say whether a row has any: ≥ 1) — one prepared statement and one cached plan where each count had
    its own, and a page's 40 ids one parameter (issue #21). Citus runs such an ``INSERT … SELECT`` as a COPY,
    which it refuses under row-level security (issue #27): there the ids go as rows of ``VALUES``, as before."""
    width = len(_AUDIT_COLUMNS)
    first = 1 + offset
    held = "(SELECT {} FROM w0)" if guarded else "{}"  # an entry's id: NULL without the guard's row
    values = ", ".join(f"(${first}::uuid, " + ", ".join((held if i == 0 else "{}").format(
        f"${first + 1 + r * width + i}::{t}") for i, t in enumerate(_AUDIT_TYPES)) + ")" for r in range(rows))
    channel = first + 1 + rows * width
    ahead = "".join(f"w{i} AS ({sql}), " for i, sql in enumerate(writes))
    ids, n = [], channel + 2
    for r, count in pii:  # _AUDIT_COLUMNS: id first, created_at second
        row = f"${first}::uuid, ${first + 1 + r * width}::uuid, ${first + 2 + r * width}::timestamptz, "
        if arrays and count:
            ids.append(f"SELECT {row}o FROM unnest(${n}::text[]) AS o")
            n += 1
            continue
        for _ in range(count):
            ids.append(f"({row}${n}::text)")
            n += 1
    into = "INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id)"
    reads = "" if not ids else (f", pii AS ({into} {' UNION ALL '.join(ids)})" if arrays
                                else f", pii AS ({into} VALUES {', '.join(ids)})")
    return (f"WITH {ahead}audit AS (INSERT INTO audit_log (tenant_id, {', '.join(_AUDIT_COLUMNS)}) VALUES {values})"
            f"{reads} SELECT count(*) FROM (SELECT pg_notify(${channel}, p) "
            f"FROM unnest(${channel + 1}::text[]) AS n(p)) notified{' LIMIT 0' if quiet else ''}")


@functools.cache
def _audit_fill() -> tuple[tuple[str, int, Any], ...]:
    """Per column of audit_log, once per process: its key, what fills it when the entry leaves it unset
    (0 nothing, 1 the request's tenant, 2 a new id, 3 the request's time, 4 a callable default, 5 a
    value default) and that default."""
    table = cast(Table, AuditEntry.__table__)
    plan = []
    for column in table.columns:
        default = column.default
        kind, arg = 0, None
        if column.key == "tenant_id":
            kind = 1
        elif column.key == "id":
            kind = 2
        elif column.key == "created_at":
            kind = 3
        elif isinstance(default, ColumnDefault) and not default.is_clause_element:
            kind, arg = (4, default.arg) if default.is_callable else (5, default.arg)
        plan.append((column.key, kind, arg))
    return tuple(plan)


def audit_rows(entries: list[AuditEntry], tenant_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """The audit entries' column values as the ORM's flush would write them: their values, the columns'
    defaults for what they leave unset, the request's tenant (the flush's tenant stamp)."""
    rows = []
    plan = _audit_fill()
    for entry in entries:
        values = entry.__dict__
        own_tenant = values.get("tenant_id")
        if own_tenant is not None and own_tenant != tenant_id:
            raise TenantMismatch("AuditEntry of another tenant")
        row: dict[str, Any] = {}
        for key, kind, arg in plan:
            value = values.get(key)
            if value is None and kind:
                # SQLAlchemy wraps a callable default to take a context
                value = (tenant_id if kind == 1 else uuid7() if kind == 2 else now if kind == 3
                         else arg(None) if kind == 4 else arg)
            row[key] = value
        rows.append(row)
    return rows


def audit_values(row: dict[str, Any], filled: frozenset[str] = frozenset()) -> list[Any]:
    """An audit row's parameters in ``_AUDIT_COLUMNS``' order (JSON as its text, as the ORM's JSON type sends it),
    but the columns ``filled`` that the statement writes itself (gongzhi.http.read_audit)."""
    return [json_text(row[c]) if t == "json" else row[c] for c, t in zip(_AUDIT_COLUMNS, _AUDIT_TYPES, strict=True)
            if c not in filled]


def audit_and_notify(entries: list[AuditEntry], tenant_id: uuid.UUID, now: datetime,
                     payloads: list[str], writes: tuple[str, ...] = (),
                     write_args: tuple[Any, ...] = (), quiet: bool = False,
                     guarded: bool = False, arrays: bool = False) -> tuple[str, tuple[Any, ...]]:
    """``audit_and_notify_sql`` for these entries and its parameters: the tenant, each row's columns
    (JSON as its text, as the ORM's JSON type sends it), the channel and the payloads; after
    ``write_args``, the parameters of ``writes``; then the full reads' ids (``arrays``: a list per full read).
    ``quiet``: the statement returns no row (no payloads only); ``guarded``: ``writes``' first is a guard
    (``audit_and_notify_sql``)."""
    assert not (quiet and payloads), "a quiet statement notifies nothing"
    rows = audit_rows(entries, tenant_id, now)
    values = [v for r in rows for v in audit_values(r)]
    pii: list[tuple[int, int]] = []
    ids: list[Any] = []
    for i, r in enumerate(rows):
        if r["action"] == PII_READ:
            read = pii_read_ids(r["object_ids"])
            if arrays:
                pii.append((i, 1 if read else 0))
                if read:
                    ids.append(read)
                continue
            pii.append((i, len(read)))
            ids += read
    assert not (guarded and pii), "a guarded write reads no personal data"
    return (audit_and_notify_sql(len(rows), writes, len(write_args), tuple(pii), quiet, guarded, arrays),
            (*write_args, tenant_id, *values, CHANNEL, payloads, *ids))


class _OpenStatement:
    """The tenant (by slug), the user and the actor's rows in one plain SQL text, PostgreSQL only
    (issue #9: building and loading the ORM statement cost more CPU than the query, and each round
    trip more than its query). ``gongzhi_request_actor`` (migration 0025) sets the transaction's
    tenant and jit = off before it reads the actor's rows under RLS; tenants and users are platform
    tables without RLS. Its columns and their conversions come from the models, so the two stay in step.

    It also sets the transaction's ``statement_timeout`` and ``lock_timeout`` (issue #26,
    ``GONGZHI_DB_STATEMENT_TIMEOUT_MS``/``_LOCK_TIMEOUT_MS``) with transaction-local ``set_config``: no round
    trip of its own, through pgbouncer too (transaction-local), and it binds every later statement of
    the request (this one only reads the tenant's rows). And ``random_page_cost``
    (``GONGZHI_DB_RANDOM_PAGE_COST``, issue #21) the same way, before any statement of the request is planned.

    ``plans``: the transaction's ``plan_cache_mode`` (``force_generic_plan`` for the case's report and steps on the
    driver, ``AppState.open_context``), else the session's own (NULL: left as it is). PostgreSQL plans a prepared
    statement's first five runs on each connection for their parameters (custom plans) before it settles on the
    generic plan; a step's check is planned in ≈ 1.5 ms against ≈ 0.3 ms of execution, and the pool hands its
    connections out in turn, so at bench.mix's 4 clients ≈ 30 of a step's 100 measured requests were such runs:
    PostgreSQL 1.9 ms of CPU per step at 4 clients against 1.2 at 8 (bench/RESULTS.md, h-step)."""

    def __init__(self) -> None:
        from sqlalchemy import inspect as sa_inspect
        from sqlalchemy.dialects import postgresql

        dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves its __init__ unannotated

        def columns(model: Any) -> list[tuple[str, str, Any]]:
            return [(a.key, a.columns[0].name, a.columns[0].type.result_processor(dialect, None))
                    for a in sa_inspect(model).column_attrs]

        self.tenant = columns(Tenant)
        self.user = columns(User)
        select_list = [f"t.{name}" for _k, name, _p in self.tenant] + [f"u.{name}" for _k, name, _p in self.user]
        self._seen: dict[tuple[Any, ...], Any] = {}
        # $8, $9: the tenant and actor_version of the actor this process keeps for (slug, user), else NULL — the
        # function then binds the tenant only (migration 0055, policies.actor.KeptActor).
        self.sql = (f"SELECT {', '.join(select_list)}, r.kept, r.assignments::text, r.own::text, r.held_from, "
                    "r.held_until, "
                    "set_config('statement_timeout', $4, true), set_config('lock_timeout', $5, true), "
                    "set_config('plan_cache_mode', coalesce($6, current_setting('plan_cache_mode')), true), "
                    "set_config('random_page_cost', $7, true) "
                    "FROM tenants t LEFT JOIN users u ON u.id = $2 "
                    "CROSS JOIN LATERAL gongzhi_request_actor_unless_kept(t.id, $2, $3, "
                    "t.id = $8 AND t.actor_version = $9) r WHERE t.slug = $1")

    @staticmethod
    def _values(cols: list[tuple[str, str, Any]], row: Any, start: int) -> dict[str, Any]:
        out = {}
        for i, (key, _name, proc) in enumerate(cols, start):
            value = row[i]
            out[key] = value if proc is None or value is None else proc(value)
        return out

    async def run(self, session: AsyncSession, slug: str, user_id: uuid.UUID, now: datetime, settings: Settings,
                  plans: str | None = None, *, keeps: bool = False
                  ) -> tuple[Tenant | None, User | None, tuple[str | None, str | None]]:
        """The tenant, the user, and the actor's (assignments, own) as gongzhi_request_actor gives them — from what
        this process keeps when the tenant's actor_version has not moved since and ``now`` is inside the interval
        they hold for. ``keeps``: whether to keep them and use what is kept (not on Citus, not a partner's client)."""
        cost = settings.db_random_page_cost
        known = kept_actor(slug, user_id, now) if keeps else None
        row = await fetch_first(session, self.sql, slug, user_id, now, str(settings.db_statement_timeout_ms),
                                str(settings.db_lock_timeout_ms), plans, repr(cost) if cost else None,
                                None if known is None else known.tenant_id, None if known is None else known.version)
        if row is None:
            return None, None, (None, None)
        # after the user: kept, assignments, own, held_from, held_until, the four settings
        n, end = len(self.tenant), len(row) - 9
        tenant = self._instance(Tenant, self.tenant, row, 0, n)
        user = None if row[n] is None else self._instance(User, self.user, row, n, end)
        if row[end]:
            assert known is not None, "the function keeps only what was asked to be kept"
            return tenant, user, known.rows
        rows = (row[end + 1], row[end + 2])
        if keeps and user is not None:
            keep_actor(slug, user_id, tenant.id, tenant.actor_version, row[end + 3], row[end + 4], rows)
        return tenant, user, rows

    def _instance(self, model: Any, cols: list[tuple[str, str, Any]], row: Any, start: int, end: int) -> Any:
        """The model instance for these column values. Requests read them (never write: both are
        platform rows, changed by their own statements), so one instance serves every request that
        reads the same values, and a changed row (a suspension, a policy edit) is a new key."""
        key = (model, tuple(row[start:end]))
        found = self._seen.get(key)
        if found is None:
            found = keep(self._seen, key, model(**self._values(cols, row, start)), 4096)
        return found


_OPEN = _OpenStatement()


class AppState:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"  # asked per request, fixed for the app's life
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.policies = PolicyCache()
        self.verifier = TokenVerifier(settings)
        self.bus = EventBus(settings.listen_url)  # direct to PostgreSQL, never through pgbouncer
        self.persisted = PersistedQueries(settings.persisted_queries_file, only=settings.persisted_only)
        self.limiter = make_limiter(settings.rate_limit_per_minute, settings.redis_url, settings.redis_prefix,
                                    settings.redis_timeout_ms / 1000)
        self.subscriptions = 0
        self.compiled_reads = settings.compiled_reads  # issue #9; the equivalence tests switch it per request
        self.plans = PlanCache()
        self.upload_root = Path(settings.upload_dir)
        self.photo_links = photo_links(settings)
        # The request's time (tests fix it: agreements start and end by it).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @contextlib.asynccontextmanager
    async def request_session(self, *, on_driver: bool) -> AsyncIterator[AsyncSession]:
        """The request's session. ``on_driver`` (PostgreSQL; the general path's mutations, issue #21): on a
        DriverTransaction as the compiled reads run, its ORM work bound to the same connection and
        transaction (``bind_to_driver``) — a mutation that needs no ORM statement (a refusal, a check and
        its writes as plain texts) never checks a connection out through the ORM session. Closed before the
        transaction ends: what was not committed is rolled back."""
        session = self.sessionmaker()
        if not on_driver:
            async with session:
                yield session
            return
        async with DriverTransaction(self.engine) as tx:
            try:
                yield bind_to_driver(session, tx)
            finally:
                await session.close()

    async def open_context(self, session: AsyncSession, user_id: uuid.UUID, slug: str, request_id: str,
                           client_addr: str | None, *, partner_client: str | None = None,
                           generic_plans: bool = False) -> RequestContext:
        """Bind a fresh session to the tenant and load the actor (tenant, user, policy, roles).

        ``generic_plans`` (PostgreSQL, not through pgbouncer): the request's later statements run on their generic
        plans from their first run on a connection (``_OpenStatement``): statements whose parameters are ids
        and values only, whose generic plan PostgreSQL settles on after five custom ones anyway. Through
        pgbouncer every statement is prepared afresh and runs once: planned for its values, as before."""
        pg = self.postgres
        now = self.clock()
        # PostgreSQL: one round trip for the tenant, the user, the actor's rows and the transaction's
        # settings: the RLS tenant, and JIT off — a request's statements run in milliseconds, and
        # compiling one (for a plan whose estimated cost is high, as a generic plan's can be) took 2 s
        # of op 1 (issue #9). The settings die with the transaction if the request is refused below.
        actor_rows: tuple[str | None, str | None] | None = None
        if pg:
            # The request's plain SQL texts go to the driver directly (tenants.session.fetch_first),
            # tracing on or off: with it, the statement observer gives each its span.
            use_driver(session)
            # Not on Citus: the coordinator cannot plan the fast writes' modifying CTEs without their parameters'
            # values ("could not create distributed plan"); it relies on custom plans, which a forced generic
            # plan rules out (docs/scaling.md §2, run G).
            plans = ("force_generic_plan" if generic_plans and not self.settings.db_pgbouncer
                     and not on_citus(self.engine) else None)
            tenant, user, actor_rows = await _OPEN.run(session, slug, user_id, now, self.settings, plans,
                                                       keeps=partner_client is None and not on_citus(self.engine))
        else:
            row = (await session.execute(
                select(Tenant, User).outerjoin(User, User.id == user_id).where(Tenant.slug == slug))).first()
            tenant, user = (None, None) if row is None else (row[0], row[1])
        if tenant is None:
            raise AuthError(403, "TENANT_NOT_ALLOWED", t(f"没有街道 {slug!r}", f"no tenant {slug!r}"))
        if tenant.status is not TenantStatus.ACTIVE:
            raise AuthError(403, "TENANT_SUSPENDED", t(f"街道 {slug!r} 已停用", f"tenant {slug!r} is suspended"))
        if user is None:
            raise AuthError(401, "UNKNOWN_USER", t("令牌对应的用户不存在", "the token's user does not exist"))
        if user.deactivated_at is not None:  # deactivateUser (issue #23): its tokens stop at once
            raise AuthError(401, "USER_DEACTIVATED", t("该账号已停用，请联系街道管理员",
                                                       "this account is deactivated"))
        if pg:
            session.info["tenant_id"] = tenant.id
        else:
            await switch_tenant(session, tenant.id)
        # The working calendar's version as this request's first statement read it (issue #21): a process
        # keeps the calendar per (tenant, version), resolvers.cases.stages.tenant_calendar.
        session.info[CALENDAR_VERSION] = tenant.calendar_version
        session.info[ACTOR_VERSION_MOVES] = pg and not on_citus(self.engine)
        policy = await self.policies.get(session, tenant.id, tenant.policy_version)
        if partner_client is not None:  # co-building (issue #7): a partner unit's system
            actor = await load_partner_client_actor(session, user=user, client_id=partner_client,
                                                    tenant_id=tenant.id, policy=policy, now=now)
        elif actor_rows is not None:
            actor = actor_from_rows(user=user, tenant_id=tenant.id, policy=policy, now=now,
                                    raw_assignments=actor_rows[0], raw_own=actor_rows[1])
        else:
            actor = await load_actor(session, user=user, tenant_id=tenant.id, policy=policy, now=now)
        return RequestContext(db=Db(session), tenant=tenant, actor=actor, now=now, request_id=request_id,
                              client_addr=client_addr, photo_links=self.photo_links)

    async def commit(self, session: AsyncSession, ctx: RequestContext) -> None:
        """The request's one commit: audit entries, then events (published once it is durable)."""
        await ctx.db.drain()
        entries = ctx.audit_entries()
        tenant_id = session.info.get("tenant_id")
        tx: Any = session.info.get(DRIVER_BIND)
        payloads = [payload(e) for e in ctx.events] if self.bus.notifies else []
        after = self._notify_after_commit(tx, payloads)
        if after is not None:
            payloads = []
        if (entries and tenant_id is not None and session.info.get("raw_driver")
                and len(entries) <= AUDIT_ROWS_PER_STATEMENT):
            # PostgreSQL: the audit rows go with the notifications (none: an empty array), in one statement
            # on the driver and without the ORM's unit of work (issue #21). Without NOTIFY (no listen URL)
            # the bus delivers the events in this process after the commit.
            sql, args = audit_and_notify(entries, tenant_id, ctx.now, payloads, arrays=not on_citus(self.engine))
            await fetch_first(session, sql, *args)
        else:  # SQLite: ORM rows, flushed by the commit
            for entry in entries:
                session.add(entry)
            if after is None:
                await self.bus.before_commit(session, ctx.events)
        sync = session.sync_session
        orm = not (tx is not None and sync._is_clean()
                   and (sync._transaction is None or not sync._transaction._connections))
        if after is not None:
            # The events' NOTIFY after the COMMIT, in its round trip, as the fast writes send it (issue #21: in the
            # committing transaction it holds PostgreSQL's lock of notifying commits across the WAL flush): the
            # ORM's rows flushed first; the session's commit below then sends nothing — its transaction is the
            # DriverTransaction's (bind_to_driver), committed here.
            if orm:
                await session.flush()
            await tx.commit(after)
        if orm:
            await session.commit()
        # else nothing to flush and nothing sent through the ORM: request_session's close ends its transaction
        await commit_driver(session)  # on the request's DriverTransaction: its COMMIT, if not sent yet
        self.bus.after_commit(ctx.events)
        delete_discarded(session, self.upload_root)  # files the committed transaction let go (erasure)

    async def commit_read(self, session: AsyncSession, ctx: RequestContext) -> None:
        """The commit of a compiled read. Its only writes are its audit entries — of its full reads of
        personal data, and a data subject's report's own (``report_audit``) — the entries ``commit`` writes,
        sent on PostgreSQL as one statement in the read's own transaction (issue #21: the ORM's flush, SET
        LOCAL and unit of work cost a 20-person page ≈ 0.5 ms), with COMMIT in its round trip; a read with
        events (none today) is ``commit``'s."""
        if not ((ctx.reads_pii or ctx.audit) and len(ctx.audit) < AUDIT_ROWS_PER_STATEMENT and not ctx.events
                and session.info.get("raw_driver")):
            await self.commit(session, ctx)
            return
        entries = ctx.audit_entries()  # ctx.audit, then the full reads' entry (made here, once)
        await ctx.db.drain()
        sql, args = audit_and_notify(entries, ctx.actor.tenant_id, ctx.now, [], arrays=not on_citus(self.engine))
        sync = session.sync_session
        orm = not sync._is_clean() or (sync._transaction is not None and sync._transaction._connections)
        tx = session.info.get("driver_transaction")
        if tx is not None and not orm and session.info.get(DRIVER_BIND) is None:
            # The audit statement and the DriverTransaction's COMMIT in one round trip (tenants.commit; issue
            # #21: the COMMIT's own round trip was ≈ 0.2–0.45 ms of a register page): the caller's commit then
            # sends nothing. Its parameters by their types (uuids, times and the ids' text[] binary: one loop,
            # tenants.commit.bind_write), as a fast write's.
            await fetch_and_commit(tx, sql, args, binary=True, arrays=True)
            return
        await fetch_first(session, sql, *args)  # on the DriverTransaction, when the request has one
        if orm:
            await session.commit()
        # else (a compiled read on its DriverTransaction, issue #21: ≈ 0.15 ms of a 20-person page) nothing
        # went through the ORM: nothing to flush, no connection of its own to commit; the caller commits the
        # DriverTransaction, which holds the audit row

    @staticmethod
    def _notify_after_commit(tx: Any, payloads: list[str]) -> tuple[str, tuple[Any, ...]] | None:
        """The events' NOTIFY to send with the COMMIT of ``tx`` (the request's DriverTransaction, or None), when it
        can go there (``can_commit_then``: not through pgbouncer; no payload at NOTIFY's limit, whose error must
        refuse the mutation); None: the payloads go in the transaction, as before."""
        if (payloads and tx is not None and can_commit_then(tx)
                and all(len(p.encode()) < NOTIFY_PAYLOAD_LIMIT for p in payloads)):
            return NOTIFY_AFTER_COMMIT, (CHANNEL, payloads)
        return None

    async def commit_writes(self, session: AsyncSession, ctx: RequestContext, writes: tuple[str, ...],
                            write_args: tuple[Any, ...], guarded: bool = False) -> None:
        """The commit of a mutation that wrote nothing yet, on the driver (issue #21: a report,
        resolvers.cases.report_fast): its INSERTs (``writes``, parameters ``write_args``) and its audit entry in
        one statement — what ``commit`` sends after the ORM's flushes —, then the request's DriverTransaction's
        COMMIT with the events' NOTIFY after it (``NOTIFY_AFTER_COMMIT``), all three in one round trip when they
        can go so (``tenants.commit.write_and_commit``; else the statement, then COMMIT with the NOTIFY). When
        the NOTIFY cannot go after the COMMIT its payloads go in the statement, as ``commit`` sends them, and
        COMMIT alone follows. A write refused by a constraint raises with the transaction open, nothing
        committed. ``guarded``: ``writes``' first is the mutation's checks, one row or none (the report's,
        resolvers.cases.report_fast): without its row the statement is refused by a NOT NULL before it writes
        anything, as by a constraint. The caller publishes the events in this process when there is no NOTIFY
        (``bus.after_commit``)."""
        entries = ctx.audit_entries()
        payloads = [payload(e) for e in ctx.events] if self.bus.notifies else []
        tx = session.info["driver_transaction"]
        after = self._notify_after_commit(tx, payloads)
        if after is not None:
            payloads = []
        sql, args = audit_and_notify(entries, ctx.tenant.id, ctx.now, payloads, writes, write_args,
                                     quiet=not payloads, guarded=guarded)
        if payloads:
            await fetch_first(session, sql, *args)  # on the request's DriverTransaction
            await tx.commit()
        else:
            await write_and_commit(tx, sql, args, after)

    async def authenticate(self, authorization: str | None, tenant_header: str | None) -> tuple[uuid.UUID, str]:
        claims = self.verifier.verify(authorization)
        if claims.partner_client is not None:
            raise AuthError(403, "PARTNER_NOT_ALLOWED", t("合作单位客户端只能通过 HTTP 访问 /graphql",
                                                          "partner clients query /graphql over HTTP only"))
        return claims.user_id, select_tenant(claims, tenant_header)


