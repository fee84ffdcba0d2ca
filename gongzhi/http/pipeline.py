"""The one request pipeline every route goes through — GraphQL over HTTP and WebSocket, uploads,
ledgers, the partner token endpoint, the platform API, health, metrics and the demo explorer.

``RequestPipeline`` (pure ASGI, outermost but for Starlette's own error middleware) gives each
request, before any route runs:

- a request id: the client's ``X-Request-Id`` when it is a safe token, else a new one; returned in
  the ``X-Request-Id`` response header of every HTTP response, stamped on every log line, audit
  entry and error body of the request;
- a server span when tracing is on (W3C ``traceparent`` honoured), named by the route;
- after it: one access-log line, ``gongzhi_http_requests_total{route,method,outcome}`` and
  ``gongzhi_http_request_duration_seconds{route}`` for every route, and for GraphQL requests the
  per-operation ``gongzhi_requests_total`` and ``gongzhi_request_duration_seconds`` as before;
- a failure nobody caught is logged with the request id and answered as a GraphQL-shaped error
  (code ``INTERNAL``, the request id) with status 500 — never a bare 500 page; a failure of the
  database (``tenants.faults.is_unavailable``: dead or refused connection, statement or lock timeout)
  is answered ``503 SERVICE_UNAVAILABLE`` with ``Retry-After``, logged as a warning without a traceback.

Routes outside GraphQL use the helpers below for the rest of the pipeline: ``authenticate`` (the
token, the tenant selector, rate limits stay GraphQL's), ``tenant_context`` (a session bound to the
tenant, the actor, the request's one commit), and ``error_response`` — the one error body, with
``WWW-Authenticate`` on every 401. ``AuthError`` and ``ServiceError`` raised by a route become that
body through the app's exception handlers (``EXCEPTION_HANDLERS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import types
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongzhi.http import observability as obs
from gongzhi.http.auth import AuthError
from gongzhi.http.ratelimit import Decision
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import LANGUAGE, Language, from_accept_language, t
from tenants.faults import is_unavailable

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette

    from gongzhi.http.state import AppState
    from gongzhi.settings import Settings

log = logging.getLogger("gongzhi")

JSON = "application/json"
# The status a ServiceError answers with outside GraphQL (inside it, errors travel in the body).
SERVICE_STATUS = {ErrorCode.TOO_LONG: 413, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404}

HTTP_REQUESTS = Counter("gongzhi_http_requests", "HTTP requests by route template, method and outcome",
                        ["route", "method", "outcome"])
HTTP_LATENCY = Histogram("gongzhi_http_request_duration_seconds", "HTTP request latency by route template",
                         ["route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
HTTP_REQUESTS_BY = obs.Children(HTTP_REQUESTS)
HTTP_LATENCY_BY = obs.Children(HTTP_LATENCY)


# -- what routes call ---------------------------------------------------------------------------


def request_id() -> str:
    """The current request's id (chosen by the pipeline); a new one outside a request."""
    return obs.current_request_id() or obs.new_request_id()


def client_addr(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """The one error body: GraphQL's shape, the code and the request id in ``extensions``."""
    ext: dict[str, Any] = {"code": code, **extensions}
    rid = obs.current_request_id()
    if rid is not None:
        ext.setdefault("requestId", rid)
    return {"errors": [{"message": message, "extensions": ext}]}


def error_response(status: int, code: str, message: str, *, media: str = JSON,
                   headers: dict[str, str] | None = None, **extensions: Any) -> Response:
    out = dict(headers or {})
    if status == 401:  # RFC 6750 §3: a 401 names the scheme and why
        out.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
    return Response(orjson.dumps(error_body(message, code, **extensions)), status_code=status, media_type=media,
                    headers=out)


class RateLimited(Exception):
    """The user's budget for this minute is spent (GONGZHI_RATE_LIMIT_PER_MINUTE)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limited")
        self.decision = decision


def rate_limited(decision: Decision, media: str = JSON) -> Response:
    return error_response(429, "RATE_LIMITED", t(
        f"每分钟请求超过 {decision.limit} 次，请 {decision.retry_after} 秒后重试",
        f"more than {decision.limit} requests a minute; retry in {decision.retry_after} s"),
        media=media, headers={"Retry-After": str(decision.retry_after)})


# Seconds a client waits before retrying a request the database could not serve (issue #26): a dead
# connection is replaced at once, a restart or failover takes seconds.
RETRY_AFTER_SECONDS = 2


def unavailable_message() -> str:
    return t("数据库暂时不可用，请稍后重试", "the database is unavailable for now; retry later")


def unavailable(exc: BaseException, media: str = JSON) -> Response:
    """503 SERVICE_UNAVAILABLE with Retry-After: the database could not serve the request (issue #26)."""
    log_unavailable(exc)
    obs.note(outcome="unavailable")
    return error_response(503, "SERVICE_UNAVAILABLE", unavailable_message(), media=media,
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def log_unavailable(exc: BaseException) -> None:
    # A warning without a traceback: during an outage every request meets it; the type and the
    # server's message say what happened (no parameters: the engine hides them).
    first = str(exc).splitlines()[0] if str(exc) else ""
    log.warning("database unavailable: %s: %s", type(exc).__name__, first[:300])


def first_unavailable(errors: Any) -> BaseException | None:
    """The database failure behind any of a GraphQL result's errors (a resolver's), or None."""
    for e in errors or ():
        original = getattr(e, "original_error", None)
        if original is not None and is_unavailable(original):
            return original  # type: ignore[no-any-return]
    return None


def auth_error(e: AuthError, media: str = JSON) -> Response:
    return error_response(e.status, e.code, e.message, media=media)


def service_error(e: ServiceError) -> Response:
    extra: dict[str, Any] = {"field": e.field} if getattr(e, "field", None) else {}
    return error_response(SERVICE_STATUS.get(e.code, 400), e.code.value, e.message, **extra)


async def _auth_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    return auth_error(exc)


async def _rate_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    return rate_limited(exc.decision)


async def _service_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return service_error(exc)


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    AuthError: _auth_handler, ServiceError: _service_handler, RateLimited: _rate_handler}


async def authenticate(state: AppState, conn: HTTPConnection) -> tuple[uuid.UUID, str]:
    """The verified token's user and the tenant it acts in (``AuthError`` when refused), within the
    user's rate limit (``RateLimited``: 429 with Retry-After, before any database work)."""
    user_id, slug = await state.authenticate(conn.headers.get("authorization"), conn.headers.get("x-gongzhi-tenant"))
    obs.note(tenant=slug, user=str(user_id))
    decision = await state.limiter.check(slug, str(user_id))
    if not decision.allowed:
        raise RateLimited(decision)
    return user_id, slug


@contextlib.asynccontextmanager
async def tenant_context(state: AppState, conn: HTTPConnection, who: tuple[uuid.UUID, str] | None = None
                         ) -> AsyncIterator[RequestContext]:
    """A session bound to the request's tenant, the actor, and the request's one commit (audit
    entries, events) when the block ends without an exception; rolled back otherwise."""
    user_id, slug = who if who is not None else await authenticate(state, conn)
    async with state.sessionmaker() as session:
        ctx = await state.open_context(session, user_id, slug, request_id(), client_addr(conn))
        yield ctx
        await state.commit(session, ctx)


# -- the middleware -----------------------------------------------------------------------------


def _route_label(scope: Scope, graphql_lane: bool = False) -> str:
    """The matched route's template (/uploads/{id}), never the raw path: a bounded label."""
    if graphql_lane:
        return "/graphql"
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path or "/"
    return "unmatched"


async def read_body(receive: Receive) -> bytes:
    """The request's body, read as Starlette's ``Request.body()`` reads it (``ClientDisconnect`` when the
    client hangs up first), for an endpoint that takes no ``Request`` (``GraphQLEndpoint.post``)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif kind == "http.disconnect":
            raise ClientDisconnect()


class BodyTimeout(Exception):
    """The client did not send its whole body within GONGZHI_HTTP_BODY_TIMEOUT seconds."""


def _timed_receive(receive: Receive, seconds: float) -> Receive:
    """``receive`` with a deadline for the request body (slow clients, issue #26): every body
    message must have arrived ``seconds`` after the app started; after the last one (when an app
    only waits for a disconnect) no deadline applies. ``asyncio.timeout_at``: a timer, no task —
    and only once ``receive`` has to wait: a body the server has read already (uvicorn reads a small
    one with the headers) is handed over without arming and cancelling a timer (issue #21)."""
    deadline = asyncio.get_running_loop().time() + seconds
    done = [False]

    async def timed() -> Message:
        if done[0]:
            return await receive()
        pending = receive()
        message: Message
        if isinstance(pending, Coroutine):
            try:
                waits_for = pending.send(None)
            except StopIteration as ready:  # nothing to wait for: no deadline to enforce
                message = ready.value
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await _resumed(pending, waits_for)
                except TimeoutError:
                    raise BodyTimeout from None
        else:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await pending
            except TimeoutError:
                raise BodyTimeout from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            done[0] = True
        return message

    return timed


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, Message], waits_for: Any) -> Generator[Any, Any, Message]:
    """The rest of a coroutine that was started by hand and yielded ``waits_for`` to the event loop, as
    ``await coro`` would have run it: what the task sends or throws in goes on to the coroutine."""
    while True:
        try:
            sent = yield waits_for
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as e:  # a cancellation (the deadline's, or the task's)
            try:
                waits_for = coro.throw(e)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                waits_for = coro.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


class RequestPipeline:
    """Pure ASGI: request id, timing, span, access log, metrics, and the last-resort error body.

    ``graphql``: the endpoint POST /graphql goes to directly (``GraphQLEndpoint.post``, pure ASGI),
    not through Starlette's exception middleware, router and route (issue #21); everything this
    class does for a request it does for that one too, the route label "/graphql" included."""

    def __init__(self, app: ASGIApp, observed: obs.Observed, *, refresh_every: float = 5.0,
                 body_timeout: float = 30.0, graphql: ASGIApp | None = None) -> None:
        self.app = app
        self.graphql = graphql
        self.observed = observed
        self.refresh_every = refresh_every
        self.body_timeout = body_timeout
        self._next_refresh = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        # The pool, policy and subscription gauges: sampled here at most every refresh_every seconds
        # while requests come, and on every scrape of /metrics — no background task to outlive the app.
        started = time.perf_counter()  # monotonic too
        if started >= self._next_refresh:
            self._next_refresh = started + self.refresh_every
            self.observed.refresh()
        headers = scope.get("headers", ())
        rid_header = lang_header = None
        for k, v in headers:  # the first of each
            if k == b"x-request-id":
                rid_header = rid_header if rid_header is not None else v
            elif k == b"accept-language":
                lang_header = lang_header if lang_header is not None else v
        method = scope.get("method", "GET") if kind == "http" else "WEBSOCKET"
        path = scope.get("path", "")
        info = obs.RequestInfo(request_id=obs.request_id_from(None if rid_header is None
                                                              else rid_header.decode("latin-1")),
                               method=method, path=path)
        token = obs.current.set(info)
        lang_token = LANGUAGE.set("zh" if lang_header is None else _language(lang_header))
        graphql = kind == "http" and path == "/graphql" and method == "POST"
        app = self.graphql if graphql and self.graphql is not None else self.app
        status = [500]
        started_response = [False]
        rid_bytes = info.request_id.encode("latin-1")

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                started_response[0] = True
                raw = list(message.get("headers", ()))
                for k, _ in raw:
                    if k.lower() == b"x-request-id":
                        break
                else:
                    raw.append((b"x-request-id", rid_bytes))
                    message = {**message, "headers": raw}
            elif message["type"] == "websocket.accept":
                status[0] = 101
            elif message["type"] == "websocket.close" and status[0] == 500:
                status[0] = 403  # closed before it was accepted: refused
            await send(message)

        span_cm: contextlib.AbstractContextManager[Span | None] = contextlib.nullcontext()
        tracer = obs.tracer()
        if tracer is not None:
            from opentelemetry.propagate import extract
            from opentelemetry.trace import SpanKind

            carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
            span_cm = tracer.start_as_current_span(f"{method} {path}", context=extract(carrier), kind=SpanKind.SERVER)
        try:
            with span_cm as span:
                if kind == "http" and self.body_timeout > 0:
                    receive = _timed_receive(receive, self.body_timeout)
                try:
                    await app(scope, receive, on_send)
                except ClientDisconnect:
                    # The client hung up before its answer: theirs, not a server error (no traceback).
                    if not started_response[0]:
                        status[0] = 499
                    log.info("client closed the connection before the answer", extra={"fields": {"path": path}})
                except BodyTimeout:
                    log.info("request body not received in time", extra={"fields": {"path": path,
                                                                                   "timeout_s": self.body_timeout}})
                    if started_response[0]:
                        raise
                    await _send_error(on_send, 408, info.request_id, "REQUEST_TIMEOUT",
                                      t(f"请求体未在 {self.body_timeout:g} 秒内收齐",
                                        f"the request body did not arrive within {self.body_timeout:g} s"),
                                      [(b"connection", b"close")])
                except Exception as e:
                    down = is_unavailable(e)
                    if kind != "http" or started_response[0] or not down:
                        log.exception("unexpected error in request %s", info.request_id)
                    if kind != "http" or started_response[0]:
                        raise
                    if down:
                        log_unavailable(e)
                        await _send_error(on_send, 503, info.request_id, "SERVICE_UNAVAILABLE", unavailable_message(),
                                          [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
                    else:
                        info.outcome = "server_error"
                        await _send_error(on_send, 500, info.request_id, "INTERNAL",
                                          t(f"服务器内部错误，请提供请求编号 {info.request_id}",
                                            f"internal error; quote request id {info.request_id}"))
                finally:
                    route = _route_label(scope, app is not self.app)
                    if span is not None:
                        span.set_attribute("http.request.method", method)
                        span.set_attribute("http.route", route)
                        span.set_attribute("http.response.status_code", status[0])
                        span.set_attribute("gongzhi.request_id", info.request_id)
                        if info.tenant:
                            span.set_attribute("gongzhi.tenant", info.tenant)
                        if graphql:
                            # OpenTelemetry's GraphQL conventions: the span is named by the operation
                            # type; the client's operation name is an attribute (bounded span names).
                            span.set_attribute("graphql.operation.name", info.operation or "")
                            if info.operation_type:
                                span.set_attribute("graphql.operation.type", info.operation_type)
                            span.update_name(info.operation_type or "graphql")
                        else:
                            span.update_name(f"{method} {route}")
        finally:
            elapsed = time.perf_counter() - started
            outcome = obs.outcome(status[0], info.outcome)
            route = _route_label(scope, app is not self.app)
            HTTP_REQUESTS_BY(route, method, outcome).inc()
            HTTP_LATENCY_BY(route).observe(elapsed)
            op = None
            if graphql:
                op = obs.operation_label(info.operation)
                obs.REQUESTS_BY(op, outcome).inc()
                obs.LATENCY_BY(op).observe(elapsed)
            if obs.access_log.isEnabledFor(logging.INFO):  # the line's fields only when it is written
                fields: dict[str, Any] = {"method": method, "route": route, "status": status[0],
                                          "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)}
                if op is not None:
                    fields["operation"] = info.operation if op != "other" else op
                obs.access_log.info("request", extra={"fields": fields})
            obs.current.reset(token)
            LANGUAGE.reset(lang_token)
            if kind != "http":
                self.observed.refresh()


_languages: dict[bytes, Language] = {}


def _language(header: bytes) -> Language:
    """The Accept-Language header's language, kept per header value (a browser sends the same one
    with every request): at most 256 values, then parsed each time."""
    found = _languages.get(header)
    if found is None:
        found = from_accept_language(header.decode("latin-1"))
        if len(_languages) < 256:
            _languages[header] = found
    return found


async def _send_error(send: Send, status: int, rid: str, code: str, message: str,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, "requestId": rid}}]})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def install(app: Starlette, settings: Settings, engine: AsyncEngine, state: AppState,
            graphql: ASGIApp | None = None) -> obs.Observed:
    """The pipeline for create_app: the middleware, the error handlers' companions, /metrics, and
    a span per SQL statement when tracing is on."""
    observed = obs.Observed(engine, state)
    obs.configure_tracing()
    if not obs.tracing_off():
        obs.instrument_engine(engine)
    if settings.metrics:
        app.router.routes.extend(obs.metrics_routes(observed))
    app.add_middleware(RequestPipeline, observed=observed, body_timeout=settings.http_body_timeout, graphql=graphql)
    return observed
