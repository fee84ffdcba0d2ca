"""What every Subscription field shares (graphql-transport-ws, authenticated in ``connection_init``):
the area a subscriber narrows to, and the stream of a topic's events, each re-read through the
domain's read predicate in a fresh tenant-bound context before it is sent — an event the subscriber
may not read is skipped, one of another tenant never reaches the loader.

When the server may have missed events for a stream (its LISTEN connection to PostgreSQL was lost,
issue #26) the stream ends with one GraphQL error, code ``EVENTS_INTERRUPTED``: graphql-transport-ws
sends it as a ``next`` payload ``{"data": null, "errors": [...]}`` followed by ``complete``; the
client re-subscribes and re-reads what it shows (docs/api.md, Subscriptions)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from resolvers import register as area_service
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_id
from schema.common import PublicError
from schema.register import AREA_TYPE_NAMES

T = TypeVar("T")
Event = dict[str, Any]


class EventsInterrupted(Exception):
    """Raised by ``SubscriptionHub.next_event`` when events may have been lost for this stream."""


INTERRUPTED_MESSAGE = "实时事件连接中断，其间的事件可能未送达：请重新订阅，并重新读取页面数据"


class SubscriptionHub(Protocol):
    """What the composition root puts in a WebSocket's context as ``hub``."""

    tenant_id: uuid.UUID
    request_id: str

    async def subscribe(self) -> Any: ...

    def unsubscribe(self, queue: Any) -> None: ...

    async def next_event(self, queue: Any) -> Event:
        """The queue's next event; raises ``EventsInterrupted`` when the stream lost events."""
        ...

    def request_context(self) -> Any: ...  # async context manager yielding a RequestContext


async def subscribed_area_path(info: Info, area_id: strawberry.ID | None) -> str | None:
    """The path of the area a subscription narrows to; None: everywhere the subscriber may read. A
    malformed or unreadable area is a GraphQL error, raised before the first event."""
    if area_id is None:
        return None
    hub: SubscriptionHub = info.context["hub"]
    try:
        target = decode_id(area_id, AREA_TYPE_NAMES, "areaId")
    except ServiceError as e:
        raise PublicError(e) from None
    async with hub.request_context() as ctx:
        area = await area_service.get_readable_area(ctx, target)
        path: str | None = None if area is None else area.path
    if path is None:
        raise PublicError(ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId"))
    return path


async def readable_events(info: Info, topic: str, area_path: str | None,
                          within: Callable[[str, str], bool],
                          load: Callable[[RequestContext, Event], Awaitable[T | None]],
                          ) -> AsyncGenerator[tuple[Event, T], None]:
    """The tenant's events of ``topic`` (inside ``area_path`` by ``within(event_path, area_path)``),
    each with the row ``load`` reads for it under the subscriber's permissions; the context stays
    open while the consumer resolves the event's fields. Ends with an ``EVENTS_INTERRUPTED`` error
    when events may have been lost."""
    hub: SubscriptionHub = info.context["hub"]
    queue = await hub.subscribe()
    try:
        while True:
            try:
                event = await hub.next_event(queue)
            except EventsInterrupted:
                raise GraphQLError(INTERRUPTED_MESSAGE, extensions={
                    "code": ErrorCode.EVENTS_INTERRUPTED.value, "requestId": hub.request_id}) from None
            if event.get("topic") != topic or event.get("tenant_id") != str(hub.tenant_id):
                continue
            if area_path is not None and not within(str(event.get("area_path", "")), area_path):
                continue
            async with hub.request_context() as ctx:
                request_context: RequestContext = ctx
                row = await load(request_context, event)
                if row is None:
                    continue  # not readable by this subscriber
                info.context["request_context"] = request_context
                yield event, row
    finally:
        hub.unsubscribe(queue)
