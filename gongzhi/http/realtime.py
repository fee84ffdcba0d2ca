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
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gongzhi.bus import Interrupted, Item
from gongzhi.http import pipeline
from gongzhi.http.auth import AuthError
from models import Tenant
from resolvers.context import RequestContext
from schema.events import Event, EventsInterrupted

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
            yield ctx
            await session.rollback()


class SubscriptionEndpoint(GraphQL[dict[str, Any], None]):
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
        assert tenant_id is not None
        context["hub"] = Hub(self.state, user_id, slug, tenant_id, pipeline.request_id())
        self.state.subscriptions += 1
        return {"tenant": slug}
