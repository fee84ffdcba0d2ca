"""The WebSocket side of /graphql: graphql-transport-ws only, authenticated in connection_init
(payload ``{"authorization": "Bearer …", "tenant": "<slug>"}``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gongzhi.bus import Interrupted, Item
from gongzhi.http import pipeline
from gongzhi.http.auth import AuthError
from gongzhi.http.pipeline import log_unavailable
from models import Tenant
from resolvers.context import RequestContext
from schema.events import Event, EventsInterrupted
from tenants.faults import is_unavailable

if TYPE_CHECKING:
    from gongzhi.http.state import AppState


class Hub:
    """One subscriber's link to the bus and to fresh tenant-bound sessions."""

    def __init__(self, state: AppState, user_id: uuid.UUID, slug: str, tenant_id: uuid.UUID,
                 request_id: str) -> None:
        self.state = state
        self.user_id = user_id
        self.slug = slug
        self.tenant_id = tenant_id
        self.request_id = request_id  # the WebSocket's: quoted in its streams' errors

    async def subscribe(self) -> asyncio.Queue[Item]:
        return await self.state.bus.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[Item]) -> None:
        self.state.bus.unsubscribe(queue)

    async def next_event(self, queue: asyncio.Queue[Item]) -> Event:
        """The next event; ``EventsInterrupted`` when the bus lost events for this subscriber (its
        LISTEN connection dropped): the stream ends there and the client re-subscribes."""
        item = await queue.get()
        if isinstance(item, Interrupted):
            raise EventsInterrupted
        return item

    @contextlib.asynccontextmanager
    async def request_context(self) -> AsyncIterator[RequestContext]:
        async with self.state.sessionmaker() as session:
            ctx = await self.state.open_context(session, self.user_id, self.slug, pipeline.request_id(), None)
            try:
                yield ctx
            finally:
                # When an event's field fails, GraphQL cancels its siblings, whose statements run on to their
                # end (resolvers.context.Db): waited for here, before the session is rolled back and closed —
                # one still running after the close would begin a new transaction on a connection nothing
                # returns to the pool (the fuzz's caseEvents: "non-checked-in connection" on SQLite).
                await ctx.db.drain()
            await session.rollback()


# graphql-ws close codes (the library's CloseCode): a refused connection_init is 4403 (strawberry's
# Forbidden); a server that cannot serve it now — its database unreachable — is 4500, with the error
# code as the reason, so a client retries later instead of treating it as a refusal (issue #26).
INTERNAL_SERVER_ERROR = 4500


class _WebSocketAdapter(ASGIWebSocketAdapter):
    """strawberry's adapter, closing with the code the endpoint chose where it chose one."""

    async def close(self, code: int, reason: str) -> None:
        chosen = getattr(self.ws.state, "gongzhi_close", None)
        if chosen is not None:
            code, reason = chosen
        await super().close(code, reason)


class SubscriptionEndpoint(GraphQL[dict[str, Any], None]):
    websocket_adapter_class = _WebSocketAdapter

    def __init__(self, state: AppState, schema: BaseSchema) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=False,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        self.state = state

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> dict[str, Any]:
        return {"request": request, "response": response}

    async def on_ws_connect(self, context: dict[str, Any]) -> dict[str, object]:
        params = context.get("connection_params") or {}
        auth = params.get("authorization") or params.get("Authorization")
        tenant = params.get("tenant")
        try:
            user_id, slug = await self.state.authenticate(
                auth if isinstance(auth, str) else None, tenant if isinstance(tenant, str) else None)
            async with self.state.sessionmaker() as session:
                await self.state.open_context(session, user_id, slug, pipeline.request_id(), None)
                tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        except AuthError as e:
            raise ConnectionRejectionError({"code": e.code, "message": e.message}) from None
        except Exception as e:
            if not is_unavailable(e):
                raise
            log_unavailable(e)
            ws = context.get("request")
            if isinstance(ws, WebSocket):
                ws.state.gongzhi_close = (INTERNAL_SERVER_ERROR, "SERVICE_UNAVAILABLE")
            raise ConnectionRejectionError({"code": "SERVICE_UNAVAILABLE"}) from None
        assert tenant_id is not None
        context["hub"] = Hub(self.state, user_id, slug, tenant_id, pipeline.request_id())
        self.state.subscriptions += 1
        return {"tenant": slug}
