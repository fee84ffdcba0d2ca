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
from collections.abc import AsyncIterator

from gongzhi.http.collector import paused

# The app's modules (models, schema, resolvers, policies …) imported without the collector running:
# they make the long-lived heap, hardly any garbage (issue #21; gongzhi/http/collector.py).
with paused(freeze=True):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute

    from gongzhi.http import looplag, pipeline
    from gongzhi.http import observability as obs
    from gongzhi.http.explorer import demo_routes
    from gongzhi.http.graphql import GraphQLEndpoint
    from gongzhi.http.hotline import hotline_routes  # 12345 work-order import (issue #22)
    from gongzhi.http.ledgers import ledger_routes  # ledgers (issue #11)
    from gongzhi.http.onboarding import onboarding_routes  # onboarding spreadsheet (issue #23)
    from gongzhi.http.partner_auth import partner_token_endpoint
    from gongzhi.http.platform import platform_routes
    from gongzhi.http.realtime import SubscriptionEndpoint
    from gongzhi.http.state import AppState
    from gongzhi.http.uploads import upload_endpoints
    from gongzhi.jobs import run_checks, run_periodically
    from gongzhi.migrate import head_revision
    from gongzhi.modules import checks, jobs
    from gongzhi.settings import Settings
    from models import sealing
    from policies.enforcer import warm_defaults
    from tenants import wire
    from tenants.faults import is_disconnect
    from tenants.rls import tenant_setting_problem
    from tenants.session import (
        make_engine,
    )

log = logging.getLogger("gongzhi")

__all__ = ["READY_TIMEOUT", "TenantSettingNotApplied", "create_app", "healthz"]


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# Seconds /readyz waits for its statement (after a connect, which has its own timeout).
READY_TIMEOUT = 3.0


class TenantSettingNotApplied(RuntimeError):
    """The transaction's tenant does not reach the data row-level security guards (issue #27)."""


async def _revision(engine: AsyncEngine, seconds: float) -> str | None:
    """The database's migration revision, read the way requests read: on a connection of the app's
    pool, within ``seconds``. Readiness is about the database, not about one connection (issue #26):
    when it draws a pooled connection that turns out dead, SQLAlchemy invalidates it (with the pool's
    older ones, as requests do on their own) and the check is made once more, on a fresh one."""
    for attempt in (1, 2):
        try:
            async with asyncio.timeout(seconds), engine.connect() as conn:
                revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
                await conn.rollback()
                problem = await tenant_setting_problem(conn)
                if problem is not None:
                    raise TenantSettingNotApplied(problem)
                return revision
        except Exception as e:
            if attempt == 2 or not is_disconnect(e):
                raise
    raise AssertionError("unreachable")


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    # Building the schema makes long-lived objects only: the collector, paused, no longer walks the
    # whole heap over and over meanwhile (a third of this function's time, issue #21).
    with paused():
        return _create_app(settings, engine)


def _create_app(settings: Settings | None, engine: AsyncEngine | None) -> Starlette:
    settings = settings or Settings.from_env()
    if engine is None:  # a real server (tests hand in their engine and keep their logging)
        obs.configure_logging(settings)
        log.info("starting", extra={"fields": {"settings": settings.redacted()}})
    sealing.configure(settings.data_keys, settings.index_key)
    if not settings.data_keys and not settings.demo:
        log.warning("personal data is sealed with the development key: set GONGZHI_DATA_KEYS in production")
    off = wire.configure(settings.db_wire_shortcuts)
    if off:
        log.warning("round-trip shortcuts off: %s; every statement takes asyncpg's own path", off)
    if engine is None:
        engine = make_engine(settings.database_url, pool_size=settings.pool_size, pgbouncer=settings.db_pgbouncer,
                             max_overflow=settings.db_max_overflow, pre_ping=settings.db_pre_ping,
                             connect_timeout=settings.db_connect_timeout)
    state = AppState(settings, engine)

    async def readyz(_request: Request) -> Response:
        try:
            current = await _revision(engine, settings.db_connect_timeout + READY_TIMEOUT)
        except TenantSettingNotApplied as e:  # issue #27: the database answers, but RLS would see no tenant
            log.error("not ready: %s", e)
            return JSONResponse({"status": "tenant setting not applied", "reason": str(e)}, status_code=503)
        except Exception as e:  # any failure means: not ready
            return JSONResponse({"status": "unavailable", "reason": type(e).__name__}, status_code=503,
                                headers={"Retry-After": str(pipeline.RETRY_AFTER_SECONDS)})
        head = head_revision()
        if current != head:
            return JSONResponse({"status": "migrations pending", "current": current, "head": head}, status_code=503)
        return JSONResponse({"status": "ready", "revision": current})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every decision of the default policy before the first request (issue #21): asked cold, Casbin
        # took ≈ 25–45 ms per (role, resource, action), seconds for a process's first requests.
        warm_defaults()
        # What start-up built (schema, models, policies …) lives as long as the process: moved out of
        # the collector's reach, a full collection no longer walks it (issue #9: p99 latency).
        gc.collect()
        gc.freeze()
        # The platform-wide checks (is next year's holiday arrangement there?) once at start-up, in the
        # background: a slow database must not hold the start back; then with the periodic jobs.
        tasks = [asyncio.create_task(run_checks(state.sessionmaker, checks()))]
        if settings.metrics:  # how long the loop is held, on /metrics (gongzhi/http/looplag.py)
            tasks.append(asyncio.create_task(looplag.monitor()))
        if settings.autoclose_interval > 0:
            tasks.append(asyncio.create_task(run_periodically(state.sessionmaker, state.bus,
                                                              settings.autoclose_interval, jobs(), checks(),
                                                              upload_root=state.upload_root)))
        yield
        for task in tasks:
            task.cancel()
        await state.bus.close()
        await state.limiter.counter.close()
        await engine.dispose()

    endpoint = GraphQLEndpoint(state)
    upload, download, thumbnail = upload_endpoints(state)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", SubscriptionEndpoint(state, endpoint.schema)),
            Route("/uploads", upload, methods=["POST"]),
            Route("/uploads/{id}", download, methods=["GET"]),
            Route("/uploads/{id}/thumbnail", thumbnail, methods=["GET"]),
            Route("/oauth/token", partner_token_endpoint(state), methods=["POST"]),  # co-building (issue #7)
            *hotline_routes(state),  # 12345 work orders (issue #22): template, import
            *ledger_routes(state),  # ledgers (issue #11): register import, template, ledger export
            *onboarding_routes(state),  # issue #23: the area tree, firms and contracts from a workbook
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            # Demo only (issue #12): demo users and their development tokens for the explorer.
            *(demo_routes(settings, state.sessionmaker) if settings.demo else []),
            # Tenant management for platform administrators (issue #10), off by default.
            *(platform_routes(settings, state.verifier) if settings.platform_api else []),
        ],
        lifespan=lifespan,
        exception_handlers=pipeline.EXCEPTION_HANDLERS,
    )
    app.state.gongzhi = state
    # request ids, access log, metrics, traces, /metrics; POST /graphql straight to the endpoint (issue #21)
    pipeline.install(app, settings, engine, state, graphql=endpoint.post)
    return app
