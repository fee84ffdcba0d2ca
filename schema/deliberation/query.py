"""Deliberation's Query fields: topics, meetings, notices, and a compound's problem and echo walls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import CaseState, MeetingState, TopicState
from resolvers import deliberation as svc
from resolvers.ids import decode_id
from schema.common import Connection, connection, context, field, query_call
from schema.register import AREA_TYPE_NAMES

from .types import Meeting, Notice, Topic, WallConnection, WallEntry


def _wall(page: Any) -> WallConnection:
    from resolvers.ids import encode_cursor

    items = list(page.items)
    return WallConnection(nodes=[WallEntry(_m=c) for c in items], has_next_page=page.has_next,
                          end_cursor=encode_cursor(items[-1].id) if items else None)


@strawberry.input(description="What a wall page shows (墙面筛选); every field optional.")
class WallFilter:
    category: str | None = strawberry.field(default=None, description="Only this case category (类别) code.")
    states: list[CaseState] | None = strawberry.field(default=None, description="Only cases in these states (状态).")
    reported_from: datetime | None = strawberry.field(
        default=None, description="Only cases reported at or after this time (上报时间起).")
    reported_before: datetime | None = strawberry.field(
        default=None, description="Only cases reported before this time (上报时间止, exclusive).")


async def _wall_page(info: Info, compound_id: strawberry.ID, *, echo: bool, first: int | None, after: str | None,
                     f: WallFilter | None) -> Any:
    f = f or WallFilter()
    return await query_call(svc.wall(context(info), decode_id(compound_id, "Compound", "compoundId"), echo=echo,
                                     first=first, after=after, category=f.category, states=f.states,
                                     reported_from=f.reported_from, reported_before=f.reported_before))


@strawberry.type
class DeliberationQuery:
    @field(description="Topics you may read (议题), newest first.")
    async def topics(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        states: list[TopicState] | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[Topic]:
        page = await query_call(svc.list_topics(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                states=states, first=first, after=after))
        return connection(page, lambda m: Topic(_m=m))  # type: ignore[no-any-return]

    @field(description="Meetings you may read (议事会), newest first.")
    async def meetings(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        first: int | None = 20, after: str | None = None,
        states: Annotated[list[MeetingState] | None, strawberry.argument(
            description="Only meetings in these states (状态), e.g. CONVENED.")] = None,
        starts_from: Annotated[datetime | None, strawberry.argument(
            description="Only meetings starting at or after this time (开始时间起).")] = None,
        starts_before: Annotated[datetime | None, strawberry.argument(
            description="Only meetings starting before this time (开始时间止, exclusive).")] = None,
    ) -> Connection[Meeting]:
        page = await query_call(svc.list_meetings(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                  first=first, after=after, states=states, starts_from=starts_from,
                                                  starts_before=starts_before))
        return connection(page, lambda m: Meeting(_m=m))  # type: ignore[no-any-return]

    @field(description="Notices you may read (通知公告), newest first; your feed when no area is given: "
                                  "your compound's and those of the areas above it (and your scope's).")
    async def notices(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only notices reaching this area (to it, below it or above it).")] = None,
        include_expired: bool = False, first: int | None = 20, after: str | None = None,
    ) -> Connection[Notice]:
        page = await query_call(svc.list_notices(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
                                                 include_expired=include_expired, first=first, after=after))
        return connection(page, lambda m: Notice(_m=m))  # type: ignore[no-any-return]

    @field(description="A compound's problem wall (问题墙): its residents' reports, anonymised.")
    async def problem_wall(
        self, info: Info, compound_id: strawberry.ID, first: int | None = 20, after: str | None = None,
        filter: Annotated[WallFilter | None, strawberry.argument(
            description="Category, states and the period reported in (筛选).")] = None,
    ) -> WallConnection:
        return _wall(await _wall_page(info, compound_id, echo=False, first=first, after=after, f=filter))

    @field(description="A compound's echo wall (回音壁): wall entries answered, with the answers.")
    async def echo_wall(
        self, info: Info, compound_id: strawberry.ID, first: int | None = 20, after: str | None = None,
        filter: Annotated[WallFilter | None, strawberry.argument(
            description="Category, states and the period reported in (筛选).")] = None,
    ) -> WallConnection:
        return _wall(await _wall_page(info, compound_id, echo=True, first=first, after=after, f=filter))
