"""Observability (issue #10): Prometheus metrics at /metrics, structured JSON logs with request id,
tenant and user, OpenTelemetry traces.

What is logged is chosen here, not by whoever calls ``log``: an access line per request names the
request id, tenant slug, user id (a UUID), operation name, status, outcome and duration. Never the
query text, the variables or the response (they carry personal data: phones, ID numbers, names),
and SQLAlchemy engines are built with ``hide_parameters`` so a database error's message carries no
bound values either.

Metrics (``prometheus_client``; with ``PROMETHEUS_MULTIPROC_DIR`` set — ``gongzhi serve --workers N``
does it — each worker writes its own files and /metrics sums them):

- ``gongzhi_requests_total{operation,outcome}``, ``gongzhi_request_duration_seconds{operation}``
- ``gongzhi_db_pool_in_use`` (connections checked out of this process's pool; summed over live workers)
- ``gongzhi_policy_reloads_total`` (Casbin policies read from the database: a first use or a policy edit)
- ``gongzhi_subscriptions`` (open subscription streams; summed over live workers)
- ``gongzhi_event_loop_lag_seconds``, ``gongzhi_event_loop_held_seconds`` (how long the event loop was held;
  ``gongzhi/http/looplag.py``)
- ``gongzhi_event_listener_*`` (the LISTEN connection: up, losses, reconnects; ``gongzhi/bus.py``) and
  ``gongzhi_redis_*`` (the rate limiter's Redis: up, fallbacks, outages; ``gongzhi/http/ratelimit.py``)

Traces: off unless ``OTEL_TRACES_EXPORTER`` (``otlp`` or ``console``) or an ``OTEL_EXPORTER_OTLP_*``
endpoint is set; the exporter then reads the standard ``OTEL_*`` variables itself. A request makes a
server span (W3C ``traceparent`` is honoured) with a child span per SQL statement — SQLAlchemy's
through the engine's events, those sent on asyncpg directly through tenants.session's statement
observer — and spans around the compiled read path ("graphql.compile", "graphql.compiled_read").
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import sys
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenants.session import observe_statements

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider
    from sqlalchemy.engine import Connection, ExceptionContext
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gongzhi.http.state import AppState
    from gongzhi.settings import Settings

access_log = logging.getLogger("gongzhi.access")

REQUESTS = Counter("gongzhi_requests", "GraphQL requests by operation name and outcome",
                   ["operation", "outcome"])
LATENCY = Histogram("gongzhi_request_duration_seconds", "GraphQL request latency by operation name",
                    ["operation"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
POOL_IN_USE = Gauge("gongzhi_db_pool_in_use", "database connections checked out of the pool",
                    multiprocess_mode="livesum")
POLICY_RELOADS = Counter("gongzhi_policy_reloads", "tenant policies loaded from the database")
SUBSCRIPTIONS = Gauge("gongzhi_subscriptions", "open subscription streams", multiprocess_mode="livesum")


class Children:
    """``metric.labels(*values)`` kept per process (issue #21): ``labels`` checks the count, converts
    every value with ``str`` and takes the metric's lock on each call — four times per request. The
    children are the metric's own (made by ``labels`` the first time); nothing here removes a child
    from a metric. Past ``limit`` label sets, ``labels`` is asked every time (no second unbounded map)."""

    def __init__(self, metric: Any, limit: int = 4096) -> None:
        self.metric = metric
        self.limit = limit
        self._found: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._found.get(values)
        if child is None:
            child = self.metric.labels(*values)
            if len(self._found) < self.limit:
                self._found[values] = child
        return child


REQUESTS_BY = Children(REQUESTS)
LATENCY_BY = Children(LATENCY)

_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_LABELS = 500  # client-chosen names: past this many, new ones count as "other"
_seen_operations: set[str] = set()


@dataclass
class RequestInfo:
    request_id: str
    method: str
    path: str
    operation: str | None = None
    operation_type: str | None = None  # query, mutation, subscription
    tenant: str | None = None
    user: str | None = None
    outcome: str | None = None


current: ContextVar[RequestInfo | None] = ContextVar("gongzhi_request", default=None)

# A request id is a label that links a request's log lines, audit entries and error messages, not a
# secret: a random per-process prefix and a counter make it unique without reading the kernel's
# random source on every request (uuid4 was ≈ 3 % of a node lookup's CPU, issue #9).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_id_prefix = os.urandom(8).hex()
_id_counter = itertools.count(1)


def _new_process_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = os.urandom(8).hex()
    _id_counter = itertools.count(1)


os.register_at_fork(after_in_child=_new_process_ids)


def new_request_id() -> str:
    """32 hex digits, unique across the processes of a deployment."""
    return f"{_id_prefix}{next(_id_counter):016x}"


def request_id_from(header: str | None) -> str:
    """The client's X-Request-Id when it is a safe token (1–64 of A–Z a–z 0–9 . _ -), else a new id."""
    return header if header and _REQUEST_ID.match(header) else new_request_id()


def current_request_id() -> str | None:
    info = current.get()
    return None if info is None else info.request_id


def note(**fields: str | None) -> None:
    """Tell the request's log line, metrics and span what the endpoint learned (operation, tenant,
    user, request id, outcome). A no-op outside a request."""
    info = current.get()
    if info is not None:
        for k, v in fields.items():
            setattr(info, k, v)


def operation_name(requested: str | None, document: Any) -> str | None:
    """operationName, or the name of the document's only operation."""
    if requested or document is None:
        return requested
    ops = [d for d in document.definitions if d.kind == "operation_definition"]
    return ops[0].name.value if len(ops) == 1 and ops[0].name is not None else None


def operation_label(name: str | None) -> str:
    if name is not None and name in _seen_operations:  # checked when it was added
        return name
    if not name or not _OPERATION.match(name):
        return "anonymous"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATION_LABELS:
            return "other"
        _seen_operations.add(name)
    return name


def outcome(status: int, noted: str | None) -> str:
    if status == 429:
        return "rate_limited"
    if status == 499:  # nginx's code: the client hung up before the answer
        return "client_closed"
    if status == 408:
        return "client_timeout"
    if status in (401, 403):
        return "refused"
    if status == 503:
        return "unavailable"  # the database could not serve it (issue #26)
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "request_error"
    return noted or "ok"


# -- logs ---------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the current request's id, tenant and user on every line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        info = current.get()
        if info is not None:
            out["request_id"] = info.request_id
            if info.tenant:
                out["tenant"] = info.tenant
            if info.user:
                out["user"] = info.user
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure_logging(settings: Settings) -> None:
    """Root logging to stderr as JSON (or plain text with GONGZHI_LOG_FORMAT=text); uvicorn's own
    loggers go through the same handler."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.set_name("gongzhi")
    # Neither format prints the caller's file and line, thread or process: not looking them up for
    # every record is the logging HOWTO's own advice ("Optimization"); it was ≈ 1 % of a request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "gongzhi"] + [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # strawberry logs every GraphQL error with its message, and graphql-core's coercion messages
    # quote the input ("Variable '$i' got invalid value '139…'"): personal data. Unexpected errors
    # are logged by the endpoint itself (with the request id, without variables).
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL + 1)
    # pycasbin prints every loaded policy at INFO
    logging.getLogger("casbin").setLevel(max(logging.WARNING, root.level))
    # uvicorn's access line repeats what gongzhi.access says, without request id or tenant.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


# -- traces -------------------------------------------------------------------------------------

_provider: TracerProvider | None = None  # an SDK TracerProvider when tracing is on


def tracing_requested(environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none" and env.get("OTEL_SDK_DISABLED", "").lower() != "true"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_tracing() -> None:
    """Turn tracing on from the standard OTEL_* variables (off when none is set)."""
    global _provider
    if _provider is not None or not tracing_requested():
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            logging.getLogger("gongzhi").error(
                "OTEL_TRACES_EXPORTER=%s needs `pip install opentelemetry-exporter-otlp-proto-http`; "
                "tracing stays off", kind)
            return
        exporter = OTLPSpanExporter()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "gongzhi")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_tracer_provider(provider)


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace with this provider (configure_tracing, or a test's in-memory exporter); None: off.
    Statements sent on the driver directly (tenants.session.fetch_first, DriverTransaction) get
    their spans from the statement observer, so the same code serves with tracing on or off."""
    global _provider
    _provider = provider
    observe_statements(None if provider is None else _driver_statement_span)


def _driver_statement_span(statement: str) -> AbstractContextManager[Any]:
    """A "db.query" span around one statement sent on asyncpg directly (text only, never parameters)."""
    active = tracer()
    if active is None:
        return _NO_SPAN
    return active.start_as_current_span("db.query", attributes={
        "db.system": "postgresql", "db.statement": statement[:2000]})


_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()


def span(name: str) -> AbstractContextManager[Any]:
    """A child span of the current one named ``name`` (e.g. "graphql.compile"); nothing when tracing is off."""
    active = tracer()
    return _NO_SPAN if active is None else active.start_as_current_span(name)


def tracing_off() -> bool:
    """No tracer configured: statements need no span (the app may then skip SQLAlchemy's layers)."""
    return _provider is None


def tracer() -> Tracer | None:
    return None if _provider is None else _provider.get_tracer("gongzhi")


def instrument_engine(engine: AsyncEngine) -> None:
    """A child span per SQL statement (statement text only, never its parameters)."""
    from sqlalchemy import event

    if engine.sync_engine.__dict__.get("_gongzhi_traced"):
        return
    engine.sync_engine.__dict__["_gongzhi_traced"] = True

    def before(conn: Connection, _cursor: object, statement: str, *_a: object) -> None:
        active = tracer()
        if active is None:
            return
        span = active.start_span("db.query", attributes={
            "db.system": engine.dialect.name, "db.statement": statement[:2000]})
        conn.info.setdefault("gongzhi_spans", []).append(span)

    def after(conn: Connection, *_a: object) -> None:
        spans = conn.info.get("gongzhi_spans")
        if spans:
            spans.pop().end()

    def failed(ctx: ExceptionContext) -> None:
        spans = ctx.connection.info.get("gongzhi_spans") if ctx.connection is not None else None
        if spans:
            spans.pop().end()

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    event.listen(engine.sync_engine, "handle_error", failed)


# -- what the metrics sample -------------------------------------------------------------------


class Observed:
    """What the middleware reads of the app: its pool, policy cache and subscription count. The gauges
    are sampled every few seconds and on each scrape of /metrics, not per request."""

    def __init__(self, engine: AsyncEngine, state: AppState) -> None:
        self.engine = engine
        self.state = state
        self._policy_loads = 0

    def refresh(self) -> None:
        pool = self.engine.sync_engine.pool
        checked_out = getattr(pool, "checkedout", None)
        POOL_IN_USE.set(checked_out() if callable(checked_out) else 0)
        SUBSCRIPTIONS.set(self.state.bus.subscriber_count)
        loads = self.state.policies.loads
        if loads > self._policy_loads:
            POLICY_RELOADS.inc(loads - self._policy_loads)
            self._policy_loads = loads


# -- /metrics -----------------------------------------------------------------------------------


def metrics_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        return registry
    return REGISTRY


def metrics_routes(observed: Observed) -> list[Route]:
    async def metrics(_request: Request) -> Response:
        observed.refresh()
        return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"])]
