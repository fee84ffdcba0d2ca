"""Editing and cancelling meetings and topics, editing and withdrawing notices (issue #23), in GraphQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import deliberation as svc
from resolvers.ids import decode_id
from schema.common import context, mutate, mutation

from .inputs import MeetingPayload, NoticePayload, TopicPayload
from .types import Meeting, Notice, Topic

_VERSION = "Fail with CONFLICT if it changed."


@strawberry.input(description="Change a convened meeting (修改议事会); fields left out stay. Invitees are notified.")
class UpdateMeetingInput:
    id: strawberry.ID = strawberry.field(description="The meeting (CONVENED).")
    title: str | None = strawberry.field(default=None, description="Title, at most 100 characters.")
    place: str | None = strawberry.field(default=None, description="Place, at most 200 characters.")
    starts_at: datetime | None = strawberry.field(default=None, description="Time, with timezone.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Call a convened meeting off (取消议事会); invitees are notified.")
class CancelMeetingInput:
    id: strawberry.ID = strawberry.field(description="The meeting (CONVENED).")
    reason: str = strawberry.field(description="Why, at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Change a notice (修改通知公告); fields left out stay.")
class UpdateNoticeInput:
    id: strawberry.ID = strawberry.field(description="The notice (not withdrawn).")
    title: str | None = strawberry.field(default=None, description="Title, at most 100 characters.")
    body: str | None = strawberry.field(default=None, description="Text, at most 10000 characters.")
    expires_at: datetime | None = strawberry.field(default=None, description="A new expiry, in the future.")
    clear_expiry: bool = strawberry.field(default=False, description="True: the notice no longer expires.")


@strawberry.input(description="Withdraw a notice (撤回通知公告): off every wall and list; kept for the record.")
class WithdrawNoticeInput:
    id: strawberry.ID = strawberry.field(description="The notice.")
    reason: str | None = strawberry.field(default=None, description="Why, at most 500 characters.")


@strawberry.input(description="Change a topic (修改议题) while PROPOSED or ACCEPTED; fields left out stay.")
class UpdateTopicInput:
    id: strawberry.ID = strawberry.field(description="The topic.")
    title: str | None = strawberry.field(default=None, description="Title, at most 100 characters.")
    description: str | None = strawberry.field(default=None, description="Description, at most 5000 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Cancel a topic before it is decided (取消议题), or withdraw your own proposal.")
class CancelTopicInput:
    id: strawberry.ID = strawberry.field(description="The topic (PROPOSED, ACCEPTED or DELIBERATED).")
    reason: str = strawberry.field(description="Why, at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


async def _meeting(info: Info, run: Any) -> MeetingPayload:
    row, errors = await mutate(info, run)
    return MeetingPayload(meeting=None if row is None else Meeting(_m=row), errors=errors)


async def _notice(info: Info, run: Any) -> NoticePayload:
    row, errors = await mutate(info, run)
    return NoticePayload(notice=None if row is None else Notice(_m=row), errors=errors)


async def _topic(info: Info, run: Any) -> TopicPayload:
    row, errors = await mutate(info, run)
    return TopicPayload(topic=None if row is None else Topic(_m=row), errors=errors)


@strawberry.type
class DeliberationLifecycleMutation:
    @mutation(description="Change a convened meeting's title, place or time (修改议事会); its invitees on the "
                          "register are notified.")
    async def update_meeting(self, info: Info, input: UpdateMeetingInput) -> MeetingPayload:
        async def run() -> Any:
            return await svc.update_meeting(context(info), decode_id(input.id, "Meeting", "id"), title=input.title,
                                            place=input.place, starts_at=input.starts_at,
                                            expected_version=input.expected_version)
        return await _meeting(info, run)

    @mutation(description="Call a convened meeting off (取消议事会) with a reason; its invitees are notified.")
    async def cancel_meeting(self, info: Info, input: CancelMeetingInput) -> MeetingPayload:
        async def run() -> Any:
            return await svc.cancel_meeting(context(info), decode_id(input.id, "Meeting", "id"), reason=input.reason,
                                            expected_version=input.expected_version)
        return await _meeting(info, run)

    @mutation(description="Change a notice's title, text or expiry (修改通知公告).")
    async def update_notice(self, info: Info, input: UpdateNoticeInput) -> NoticePayload:
        async def run() -> Any:
            return await svc.update_notice(context(info), decode_id(input.id, "Notice", "id"), title=input.title,
                                           body=input.body, expires_at=input.expires_at,
                                           clear_expiry=input.clear_expiry)
        return await _notice(info, run)

    @mutation(description="Withdraw a notice (撤回通知公告): readers no longer see it anywhere; the record stays "
                          "for the ledgers and the audit log.")
    async def withdraw_notice(self, info: Info, input: WithdrawNoticeInput) -> NoticePayload:
        async def run() -> Any:
            return await svc.withdraw_notice(context(info), decode_id(input.id, "Notice", "id"), reason=input.reason)
        return await _notice(info, run)

    @mutation(description="Change a topic's title or description (修改议题): staff in scope while PROPOSED or "
                          "ACCEPTED, its proposer while PROPOSED.")
    async def update_topic(self, info: Info, input: UpdateTopicInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.update_topic(context(info), decode_id(input.id, "Topic", "id"), title=input.title,
                                          description=input.description, expected_version=input.expected_version)
        return await _topic(info, run)

    @mutation(description="Cancel a topic before it is decided (取消议题): staff in scope, or its proposer while "
                          "PROPOSED (撤回); the proposer is notified.")
    async def cancel_topic(self, info: Info, input: CancelTopicInput) -> TopicPayload:
        async def run() -> Any:
            return await svc.cancel_topic(context(info), decode_id(input.id, "Topic", "id"), reason=input.reason,
                                          expected_version=input.expected_version)
        return await _topic(info, run)
