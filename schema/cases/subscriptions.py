"""Subscriptions (graphql-transport-ws). Authenticated in ``connection_init``; each event is
checked against the subscriber's tenant and read permission before it is sent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import CaseState
from resolvers import cases as case_service
from schema.cases.stage_types import CaseStep, case_step
from schema.cases.types import Case
from schema.common import legacy_string_reason, subscription
from schema.events import readable_events, subscribed_area_path


@strawberry.type(description="Something happened to a case you may read (事件动态).")
class CaseEventMessage:
    action: str = strawberry.field(description="The timeline action (report, dispatch, resolve …).",
                                   deprecation_reason=legacy_string_reason("step"))
    step: CaseStep | None = strawberry.field(default=None, description="The timeline step (处置环节).")
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
        area_path = await subscribed_area_path(info, area_id)
        # aclosing: the subscriber's queue is released the moment the client unsubscribes.
        async with aclosing(readable_events(
                info, "case", area_path, lambda path, area: path.startswith(area),
                lambda ctx, e: case_service.get_case(ctx, uuid.UUID(e["case_id"])))) as events:
            async for event, case in events:
                yield CaseEventMessage(action=event["action"], step=case_step(event["action"]), state=case.state,
                                       seq=int(event["seq"]), case=Case(_m=case))
