"""Subscriptions (graphql-transport-ws). Authenticated in ``connection_init``; each event is
checked against the subscriber's tenant and read permission before it is sent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Protocol

import strawberry
from strawberry.types import Info

from models import CaseState
from resolvers import cases as case_service
from resolvers import register as area_service
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import decode_id
from schema.cases.types import Case
from schema.common import PublicError, subscription
from schema.register import AREA_TYPE_NAMES


class SubscriptionHub(Protocol):
    """What the composition root puts in a WebSocket's context as ``hub``."""

    tenant_id: uuid.UUID

    async def subscribe(self) -> Any: ...

    def unsubscribe(self, queue: Any) -> None: ...

    def request_context(self) -> Any: ...  # async context manager yielding a RequestContext


@strawberry.type(description="Something happened to a case you may read (事件动态).")
class CaseEventMessage:
    action: str = strawberry.field(description="The timeline action (report, dispatch, resolve …).")
    state: CaseState = strawberry.field(description="The case's state after it.")
    seq: int = strawberry.field(description="Timeline position of the step.")
    case: Case = strawberry.field(description="The case as you may see it now.")


@strawberry.type
class Subscription:
    @subscription(description="Case events in an area you may read (or everywhere you may read).")
    async def case_events(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
    ) -> AsyncGenerator[CaseEventMessage, None]:
        hub: SubscriptionHub = info.context["hub"]
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
                if event.get("topic") != "case" or event.get("tenant_id") != str(hub.tenant_id):
                    continue
                if area_path is not None and not str(event.get("area_path", "")).startswith(area_path):
                    continue
                async with hub.request_context() as ctx:
                    ctx_typed: RequestContext = ctx
                    case = await case_service.get_case(ctx_typed, uuid.UUID(event["case_id"]))
                    if case is None:
                        continue  # not readable by this subscriber
                    info.context["request_context"] = ctx_typed
                    yield CaseEventMessage(action=event["action"], state=case.state, seq=int(event["seq"]),
                                           case=Case(_m=case))
        finally:
            hub.unsubscribe(queue)
