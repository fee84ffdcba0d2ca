"""Deliberation's Subscription field: noticeEvents, the new notices a subscriber may read."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import deliberation as svc
from resolvers import register as area_service
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_id
from schema.common import PublicError, subscription
from schema.register import AREA_TYPE_NAMES

from .types import Notice


@strawberry.type
class DeliberationSubscription:
    @subscription(description="New notices you may read, in an area (or everywhere you may read).")
    async def notice_events(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only notices reaching this area."
                                                                     )] = None,
    ) -> AsyncGenerator[Notice, None]:
        hub = info.context["hub"]
        area_path: str | None = None
        if area_id is not None:
            try:  # a subscription reports a bad argument as a GraphQL error, before its first event
                target = decode_id(area_id, AREA_TYPE_NAMES, "areaId")
            except ServiceError as e:
                raise PublicError(e) from None
            async with hub.request_context() as ctx:
                area = await area_service.get_readable_area(ctx, target)
                area_path = None if area is None else area.path
            if area_path is None:
                raise PublicError(ServiceError(ErrorCode.NOT_FOUND, "area not found", "areaId"))
        queue = await hub.subscribe()
        try:
            while True:
                event = await queue.get()
                if event.get("topic") != "notice" or event.get("tenant_id") != str(hub.tenant_id):
                    continue
                path = str(event.get("area_path", ""))
                if area_path is not None and not (path.startswith(area_path) or area_path.startswith(path)):
                    continue
                async with hub.request_context() as ctx:
                    ctx_typed: RequestContext = ctx
                    notice = await svc.get_notice(ctx_typed, uuid.UUID(event["notice_id"]))
                    if notice is None:
                        continue  # not readable by this subscriber
                    info.context["request_context"] = ctx_typed
                    yield Notice(_m=notice)
        finally:
            hub.unsubscribe(queue)
