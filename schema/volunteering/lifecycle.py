"""Editing and cancelling an activity, retiring a catalogue item (issue #23), in GraphQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import volunteering as svc
from resolvers.ids import decode_id
from schema.common import context, mutation

from .types import ActivityPayload, RewardItemPayload, _activity, _item


@strawberry.input(description="Change an activity before it starts (修改志愿活动); fields left out stay.")
class UpdateActivityInput:
    id: strawberry.ID = strawberry.field(description="The activity (PUBLISHED, not started).")
    title: str | None = strawberry.field(default=None, description="Title, at most 100 characters.")
    place: str | None = strawberry.field(default=None, description="Place, at most 200 characters.")
    description: str | None = strawberry.field(default=None, description="What volunteers will do.")
    starts_at: datetime | None = strawberry.field(default=None, description="Start (future, with timezone).")
    ends_at: datetime | None = strawberry.field(default=None, description="End, after the start.")
    capacity: int | None = strawberry.field(default=None, description="Places, not fewer than those taken.")


@strawberry.input(description="Call an activity off (取消志愿活动); its volunteers are notified.")
class CancelActivityInput:
    id: strawberry.ID = strawberry.field(description="The activity (PUBLISHED, no hours confirmed).")
    reason: str = strawberry.field(description="Why, at most 500 characters; told to the volunteers.")


@strawberry.input(description="Take an item out of a catalogue (下架兑换物品).")
class RetireRewardItemInput:
    id: strawberry.ID = strawberry.field(description="The item.")


@strawberry.type
class VolunteeringLifecycleMutation:
    @mutation(description="Change an activity before it starts (修改志愿活动); the volunteers signed up are "
                          "notified of a new time, place or title.")
    async def update_activity(self, info: Info, input: UpdateActivityInput) -> ActivityPayload:
        async def run() -> Any:
            change = svc.ActivityChange(title=input.title, place=input.place, description=input.description,
                                        starts_at=input.starts_at, ends_at=input.ends_at, capacity=input.capacity)
            return await svc.update_activity(context(info), decode_id(input.id, "Activity", "id"), change)

        return await _activity(info, run)

    @mutation(description="Cancel an activity (取消志愿活动) with a reason; everyone signed up is notified, "
                          "and no hours or points are granted for it.")
    async def cancel_activity(self, info: Info, input: CancelActivityInput) -> ActivityPayload:
        async def run() -> Any:
            return await svc.cancel_activity(context(info), decode_id(input.id, "Activity", "id"), input.reason)

        return await _activity(info, run)

    @mutation(description="Retire a catalogue item (下架): offered for no new redemption; requests made "
                          "before still resolve.")
    async def retire_reward_item(self, info: Info, input: RetireRewardItemInput) -> RewardItemPayload:
        async def run() -> Any:
            return await svc.retire_reward_item(context(info), decode_id(input.id, "RewardItem", "id"))

        return await _item(info, run)
