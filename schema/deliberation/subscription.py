"""Deliberation's Subscription field: noticeEvents, the new notices a subscriber may read."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import deliberation as svc
from schema.common import subscription
from schema.events import readable_events, subscribed_area_path

from .types import Notice


@strawberry.type
class DeliberationSubscription:
    @subscription(description="New notices you may read, in an area (or everywhere you may read).")
    async def notice_events(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only notices reaching this area."
                                                                     )] = None,
    ) -> AsyncGenerator[Notice, None]:
        area_path = await subscribed_area_path(info, area_id)
        # A notice reaches the areas below its own, and the subscriber's area may lie below it.
        async with aclosing(readable_events(
                info, "notice", area_path, lambda path, area: path.startswith(area) or area.startswith(path),
                lambda ctx, e: svc.get_notice(ctx, uuid.UUID(e["notice_id"])))) as events:
            async for _event, notice in events:
                yield Notice(_m=notice)
