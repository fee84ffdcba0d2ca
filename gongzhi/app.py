"""The Starlette application: GraphQL over HTTP at /graphql, /healthz, /readyz, GraphiQL on demand.

/graphql follows the GraphQL-over-HTTP spec: POST with application/json, answered as
``application/graphql-response+json`` (or ``application/json`` when only that is accepted). A
request error (unparsable, invalid) is 400 and runs no resolver; auth failures are 401/403.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.http.ides import get_graphql_ide_html

from gongzhi import observability as obs
from gongzhi.auth import AuthError, TokenVerifier, select_tenant
from gongzhi.bus import EventBus
from gongzhi.explorer import demo_routes, example_operations, explorer_html
from gongzhi.jobs import run_periodically
from gongzhi.ledgers_http import ledger_routes  # ledgers (issue #11)
from gongzhi.limits import check as check_limits
from gongzhi.migrate import head_revision
from gongzhi.partner_auth import load_partner_client_actor, partner_token_endpoint
from gongzhi.persisted import PersistedQueries, PersistedQueryError
from gongzhi.platform_api import platform_routes
from gongzhi.ratelimit import make_limiter
from gongzhi.realtime import SubscriptionEndpoint
from gongzhi.settings import Settings
from gongzhi.uploads import upload_endpoints
from models import Tenant, TenantStatus, User, sealing
from policies.actor import actor_from_rows, load_actor
from policies.enforcer import PolicyCache
from resolvers.context import Db, RequestContext
from resolvers.errors import ServiceError
from schema.compiled import PlanCache, compile_request, finish, run_compiled
from schema.schema import MAX_TOKENS, build_schema
from tenants.session import (
    DriverTransaction,
    fetch_first,
    make_engine,
    make_sessionmaker,
    switch_tenant,
    use_driver,
)

log = logging.getLogger("gongzhi")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _json(body: Any, status: int = 200, media_type: str = GRAPHQL_RESPONSE,
          headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _request_errors(graphql_schema: GraphQLSchema, query: str, introspection: bool
                    ) -> tuple[list[dict[str, Any]], DocumentNode | None]:
    """Parse and validate before any database work; documents of ordinary size are cached."""
    if len(query) <= 20_000:
        return _cached_request_errors(graphql_schema, query, introspection)
    return _check_document(graphql_schema, query, introspection)


@lru_cache(maxsize=512)
def _cached_request_errors(graphql_schema: GraphQLSchema, query: str, introspection: bool
                           ) -> tuple[list[dict[str, Any]], DocumentNode | None]:
    return _check_document(graphql_schema, query, introspection)


def _with_code(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


def _check_document(graphql_schema: GraphQLSchema, query: str, introspection: bool
                    ) -> tuple[list[dict[str, Any]], DocumentNode | None]:
    try:
        doc = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as e:
        code = "TOO_MANY_TOKENS" if "tokens" in e.message else "GRAPHQL_PARSE_FAILED"
        return [_with_code(e, code)], None
    # Without introspection, no field suggestions either: they would leak the schema piecemeal.
    rules = None if introspection else [*specified_rules, NoSchemaIntrospectionCustomRule]
    errors = validate(graphql_schema, doc, rules, hide_suggestions=not introspection)
    return [_with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in errors], doc


class GraphQLEndpoint:
    def __init__(self, app_state: AppState) -> None:
        self.state = app_state
        self.schema = build_schema(introspection=app_state.settings.introspection)

    def _media_type(self, request: Request) -> str | None:
        """application/graphql-response+json when asked for by name; application/json for legacy
        clients, a missing Accept header and wildcards (as the spec says servers SHOULD)."""
        accept = request.headers.get("accept", "")
        if GRAPHQL_RESPONSE in accept:
            return GRAPHQL_RESPONSE
        if not accept or JSON in accept or "*/*" in accept or "application/*" in accept:
            return JSON
        return None

    async def handle(self, request: Request) -> Response:
        settings = self.state.settings
        if request.method == "GET":
            if settings.graphiql and "text/html" in request.headers.get("accept", ""):
                # The demo's explorer picks a demo user (issue #12); elsewhere strawberry's plain GraphiQL.
                if settings.demo:
                    return HTMLResponse(explorer_html(example_operations()))
                return HTMLResponse(get_graphql_ide_html())
            return _json(_error_body("use POST for GraphQL requests", "METHOD_NOT_ALLOWED"), 405,
                         JSON, {"Allow": "POST"})
        media = self._media_type(request)
        if media is None:
            return _json(_error_body(f"Accept must allow {GRAPHQL_RESPONSE} or {JSON}", "NOT_ACCEPTABLE"), 406, JSON)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != JSON:
            return _json(_error_body("Content-Type must be application/json", "UNSUPPORTED_MEDIA_TYPE"), 415, media)
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            return _json(_error_body("request body too large", "PAYLOAD_TOO_LARGE"), 413, media)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _json(_error_body("body is not valid JSON", "BAD_REQUEST"), 400, media)
        if not isinstance(body, dict):
            return _json(_error_body("body must be a JSON object", "BAD_REQUEST"), 400, media)
        query, variables, op_name = body.get("query"), body.get("variables"), body.get("operationName")
        try:
            query = self.state.persisted.resolve(query, body.get("extensions"))
        except PersistedQueryError as e:
            return _json(_error_body(e.message, e.code), 400 if media == GRAPHQL_RESPONSE else 200, media)
        if not isinstance(query, str) or not query.strip():
            return _json(_error_body("query must be a non-empty string", "BAD_REQUEST"), 400, media)
        if variables is not None and not isinstance(variables, dict):
            return _json(_error_body("variables must be an object", "BAD_REQUEST"), 400, media)
        if op_name is not None and not isinstance(op_name, str):
            return _json(_error_body("operationName must be a string", "BAD_REQUEST"), 400, media)
        errors, document = _request_errors(self.schema._schema, query, settings.introspection)
        obs.note(operation=obs.operation_name(op_name, document))  # issue #10: metrics, access log
        if errors or document is None:
            return _json({"errors": errors}, 400 if media == GRAPHQL_RESPONSE else 200, media)
        if op_name is not None and get_operation_ast(document, op_name) is None:
            return _json(_error_body(f"operationName {op_name!r} names no operation of the document",
                                     "BAD_REQUEST"), 400, media)
        verdict = check_limits(self.schema._schema, document, op_name, variables)
        if verdict.error is not None:
            code, message = verdict.error
            body_ = _error_body(message, code)
            body_["errors"][0]["extensions"].update(depth=verdict.depth, aliases=verdict.aliases, cost=verdict.cost)
            return _json(body_, 400 if media == GRAPHQL_RESPONSE else 200, media)

        # The middleware chose it (the client's X-Request-Id when safe); without it, chosen here.
        request_id = obs.current_request_id() or obs.request_id_from(request.headers.get("x-request-id"))
        try:
            claims = self.state.verifier.verify(request.headers.get("authorization"))
            slug = select_tenant(claims, request.headers.get("x-gongzhi-tenant"))
            obs.note(tenant=slug, user=str(claims.user_id))
            decision = await self.state.limiter.check(slug, str(claims.user_id))
            if not decision.allowed:
                return _json(_error_body(f"more than {decision.limit} requests a minute; retry in "
                                         f"{decision.retry_after} s", "RATE_LIMITED"), 429, media,
                             {"Retry-After": str(decision.retry_after), "X-Request-Id": request_id})
        except AuthError as e:
            return self._auth_error(e, request_id, media)

        client_addr = request.client.host if request.client else None
        # Only PostgreSQL compiles (compile_request), so plans.compiles() implies it.
        if (self.state.compiled_reads and claims.partner_client is None and obs.tracing_off()
                and self.state.plans.compiles(query, op_name)):
            try:
                body = await self._compiled_on_driver(query, document, op_name, variables, claims.user_id, slug,
                                                      request_id, client_addr)
            except AuthError as e:
                return self._auth_error(e, request_id, media)
            if body is not None:
                return Response(body, media_type=media, headers={"X-Request-Id": request_id})
        async with self.state.sessionmaker() as session:
            try:
                ctx = await self.state.open_context(session, claims.user_id, slug, request_id, client_addr,
                                                    partner_client=claims.partner_client)
            except AuthError as e:
                return self._auth_error(e, request_id, media)
            compiled = (compile_request(self.schema._schema, query, document, op_name, variables, ctx,
                                        self.state.plans) if self.state.compiled_reads else None)
            data = None if compiled is None else await run_compiled(ctx, *compiled)
            if data is not None:  # issue #9: the whole answer from one SQL statement
                body = finish(data, ctx)
                await self.state.commit(session, ctx)
                return Response(body, media_type=media, headers={"X-Request-Id": request_id})
            result = await self.schema.execute(
                query, variable_values=variables, operation_name=op_name,
                context_value={"request_context": ctx, "request": request},
            )
            # A request error (e.g. variables that do not coerce) runs nothing: no data entry, 400.
            request_error = result.data is None and bool(result.errors) and all(
                e.path is None for e in result.errors or [])
            out: dict[str, Any] = {}
            if result.errors:
                out["errors"] = [self._format_error(e, request_id) for e in result.errors]
                obs.note(outcome="error")
            if not request_error:
                out["data"] = result.data
            await self.state.commit(session, ctx)
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        return _json(out, status, media, {"X-Request-Id": request_id})

    async def _compiled_on_driver(self, query: str, document: DocumentNode, op_name: str | None,
                                  variables: dict[str, Any] | None, user_id: uuid.UUID, slug: str,
                                  request_id: str, client_addr: str | None) -> bytes | None:
        """A document that compiled before, answered on a DriverTransaction (issue #9): the request's
        first statement and the compiled one, no ORM session checked out. None: this request must
        take the ordinary path (its actor's plan does not compile, or a guard failed), which repeats
        the request from the start. The session only carries the tenant binding; if anything uses the
        ORM (a policy not in the cache yet, the audit entries of full reads of personal data) it does
        so on a connection and transaction of its own, bound to the tenant as every session is."""
        session = self.state.sessionmaker()
        try:
            async with DriverTransaction(self.state.engine) as tx:
                session.info["driver_transaction"] = tx
                ctx = await self.state.open_context(session, user_id, slug, request_id, client_addr)
                compiled = compile_request(self.schema._schema, query, document, op_name, variables, ctx,
                                           self.state.plans)
                data = None if compiled is None else await run_compiled(ctx, *compiled)
                if data is None:
                    return None
                body = finish(data, ctx)
                if ctx.pii_reads or ctx.audit or ctx.events:
                    # Written and committed before the answer leaves, as on the ordinary path.
                    await self.state.commit(session, ctx)
                await tx.commit()
                return body
        finally:
            if session.in_transaction():
                await session.close()

    def _auth_error(self, e: AuthError, request_id: str, media: str) -> Response:
        headers = {"X-Request-Id": request_id}
        if e.status == 401:
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return _json(_error_body(e.message, e.code), e.status, media, headers)

    @staticmethod
    def _format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if original is None or isinstance(original, (GraphQLError, ServiceError)):
            formatted: dict[str, Any] = dict(error.formatted)
            if isinstance(original, ServiceError):
                formatted.setdefault("extensions", {})["code"] = original.code.value
            return formatted
        log.error("unexpected error in request %s", request_id, exc_info=original)
        masked = GraphQLError(f"Internal error; quote request id {request_id}", error.nodes, path=error.path,
                              extensions={"code": "INTERNAL", "requestId": request_id})
        return dict(masked.formatted)


class _OpenStatement:
    """The tenant (by slug), the user and the actor's rows in one plain SQL text, PostgreSQL only
    (issue #9: building and loading the ORM statement cost more CPU than the query, and each round
    trip more than its query). ``gongzhi_request_actor`` (migration 0025) sets the transaction's
    tenant and jit = off before it reads the actor's rows under RLS; tenants and users are platform
    tables without RLS. Its columns and their conversions come from the models, so the two stay in step."""

    def __init__(self) -> None:
        from sqlalchemy import inspect as sa_inspect
        from sqlalchemy.dialects import postgresql

        dialect = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]

        def columns(model: Any) -> list[tuple[str, str, Any]]:
            return [(a.key, a.columns[0].name, a.columns[0].type.result_processor(dialect, None))
                    for a in sa_inspect(model).column_attrs]

        self.tenant = columns(Tenant)
        self.user = columns(User)
        select_list = [f"t.{name}" for _k, name, _p in self.tenant] + [f"u.{name}" for _k, name, _p in self.user]
        self._seen: dict[tuple[Any, ...], Any] = {}
        self.sql = (f"SELECT {', '.join(select_list)}, r.assignments::text, r.own::text "
                    "FROM tenants t LEFT JOIN users u ON u.id = $2 "
                    "CROSS JOIN LATERAL gongzhi_request_actor(t.id, $2, $3) r WHERE t.slug = $1")

    @staticmethod
    def _values(cols: list[tuple[str, str, Any]], row: Any, start: int) -> dict[str, Any]:
        out = {}
        for i, (key, _name, proc) in enumerate(cols, start):
            value = row[i]
            out[key] = value if proc is None or value is None else proc(value)
        return out

    async def run(self, session: AsyncSession, slug: str, user_id: uuid.UUID, now: datetime
                  ) -> tuple[Tenant | None, User | None, tuple[str | None, str | None]]:
        """The tenant, the user, and the actor's (assignments, own) as gongzhi_request_actor gives them."""
        row = await fetch_first(session, self.sql, slug, user_id, now)
        if row is None:
            return None, None, (None, None)
        n = len(self.tenant)
        tenant = self._instance(Tenant, self.tenant, row, 0, n)
        user = None if row[n] is None else self._instance(User, self.user, row, n, len(row) - 2)
        return tenant, user, (row[-2], row[-1])

    def _instance(self, model: Any, cols: list[tuple[str, str, Any]], row: Any, start: int, end: int) -> Any:
        """The model instance for these column values. Requests read them (never write: both are
        platform rows, changed by their own statements), so one instance serves every request that
        reads the same values, and a changed row (a suspension, a policy edit) is a new key."""
        key = (model, tuple(row[start:end]))
        found = self._seen.get(key)
        if found is None:
            found = model(**self._values(cols, row, start))
            if len(self._seen) >= 4096:
                self._seen.clear()
            self._seen[key] = found
        return found


_OPEN = _OpenStatement()


class AppState:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.policies = PolicyCache()
        self.verifier = TokenVerifier(settings)
        self.bus = EventBus(settings.listen_url)  # direct to PostgreSQL, never through pgbouncer
        self.persisted = PersistedQueries(settings.persisted_queries_file, only=settings.persisted_only)
        self.limiter = make_limiter(settings.rate_limit_per_minute, settings.redis_url, settings.redis_prefix)
        self.subscriptions = 0
        self.compiled_reads = settings.compiled_reads  # issue #9; the equivalence tests switch it per request
        self.plans = PlanCache()
        self.upload_root = Path(settings.upload_dir)
        # The request's time (tests fix it: agreements start and end by it).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def open_context(self, session: AsyncSession, user_id: uuid.UUID, slug: str, request_id: str,
                           client_addr: str | None, *, partner_client: str | None = None) -> RequestContext:
        """Bind a fresh session to the tenant and load the actor (tenant, user, policy, roles)."""
        pg = self.engine.dialect.name == "postgresql"
        now = self.clock()
        # PostgreSQL: one round trip for the tenant, the user, the actor's rows and the transaction's
        # settings: the RLS tenant, and JIT off — a request's statements run in milliseconds, and
        # compiling one (for a plan whose estimated cost is high, as a generic plan's can be) took 2 s
        # of op 1 (issue #9). The settings die with the transaction if the request is refused below.
        actor_rows: tuple[str | None, str | None] | None = None
        if pg:
            if obs.tracing_off():
                # Without tracing, the request's plain SQL texts go to the driver directly
                # (tenants.session.fetch_first); with it, SQLAlchemy runs them so each gets its span.
                use_driver(session)
            tenant, user, actor_rows = await _OPEN.run(session, slug, user_id, now)
        else:
            row = (await session.execute(
                select(Tenant, User).outerjoin(User, User.id == user_id).where(Tenant.slug == slug))).first()
            tenant, user = (None, None) if row is None else (row[0], row[1])
        if tenant is None:
            raise AuthError(403, "TENANT_NOT_ALLOWED", f"no tenant {slug!r}")
        if tenant.status is not TenantStatus.ACTIVE:
            raise AuthError(403, "TENANT_SUSPENDED", f"tenant {slug!r} is suspended")
        if user is None:
            raise AuthError(401, "UNKNOWN_USER", "the token's user does not exist")
        if pg:
            session.info["tenant_id"] = tenant.id
        else:
            await switch_tenant(session, tenant.id)
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
                              client_addr=client_addr)

    async def commit(self, session: AsyncSession, ctx: RequestContext) -> None:
        """The request's one commit: audit entries, then events (published once it is durable)."""
        await ctx.db.drain()
        for entry in ctx.audit_entries():
            session.add(entry)
        await self.bus.before_commit(session, ctx.events)
        await session.commit()
        self.bus.after_commit(ctx.events)

    async def authenticate(self, authorization: str | None, tenant_header: str | None) -> tuple[uuid.UUID, str]:
        claims = self.verifier.verify(authorization)
        if claims.partner_client is not None:
            raise AuthError(403, "PARTNER_NOT_ALLOWED", "partner clients query /graphql over HTTP only")
        return claims.user_id, select_tenant(claims, tenant_header)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    if engine is None:  # a real server (tests hand in their engine and keep their logging)
        obs.configure_logging(settings)
        log.info("starting", extra={"fields": {"settings": settings.redacted()}})
    sealing.configure(settings.data_keys, settings.index_key)
    if not settings.data_keys and not settings.demo:
        log.warning("personal data is sealed with the development key: set GONGZHI_DATA_KEYS in production")
    if engine is None:
        engine = make_engine(settings.database_url, pool_size=settings.pool_size, pgbouncer=settings.db_pgbouncer,
                             max_overflow=settings.db_max_overflow, pre_ping=settings.db_pre_ping)
    state = AppState(settings, engine)

    async def readyz(_request: Request) -> Response:
        try:
            async with engine.connect() as conn:
                current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except Exception as e:  # any failure means: not ready
            return JSONResponse({"status": "unavailable", "reason": type(e).__name__}, status_code=503)
        head = head_revision()
        if current != head:
            return JSONResponse({"status": "migrations pending", "current": current, "head": head}, status_code=503)
        return JSONResponse({"status": "ready", "revision": current})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # What start-up built (schema, models, policies …) lives as long as the process: moved out of
        # the collector's reach, a full collection no longer walks it (issue #9: p99 latency).
        gc.collect()
        gc.freeze()
        task = None
        if settings.autoclose_interval > 0:
            task = asyncio.create_task(run_periodically(state.sessionmaker, state.bus, settings.autoclose_interval))
        yield
        if task is not None:
            task.cancel()
        await state.bus.close()
        await state.limiter.counter.close()
        await engine.dispose()

    endpoint = GraphQLEndpoint(state)
    upload, download = upload_endpoints(state)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", SubscriptionEndpoint(state, endpoint.schema)),
            Route("/uploads", upload, methods=["POST"]),
            Route("/uploads/{id}", download, methods=["GET"]),
            Route("/oauth/token", partner_token_endpoint(state), methods=["POST"]),  # co-building (issue #7)
            *ledger_routes(state),  # ledgers (issue #11): register import, template, ledger export
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            # Demo only (issue #12): demo users and their development tokens for the explorer.
            *(demo_routes(settings, state.sessionmaker) if settings.demo else []),
            # Tenant management for platform administrators (issue #10), off by default.
            *(platform_routes(settings, state.verifier) if settings.platform_api else []),
        ],
        lifespan=lifespan,
    )
    app.state.gongzhi = state
    obs.wire(app, settings, engine, state)  # issue #10: /metrics, access log, traces
    return app
