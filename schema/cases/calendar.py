"""The working calendar in GraphQL (工作日历, issue #22): ``workingCalendar(from, to)`` — per day whether
it is a working day and which source says so, for portals to draw a calendar from."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.cases.calendar import MAX_CALENDAR_DAYS, working_calendar
from resolvers.cases.workcalendar import DaySource
from schema.common import context, field, graphql_enum, query_call

graphql_enum(DaySource, name="WorkingDaySource",
             description="Why a day is a working day or a day off (工作日来源): the first of these that speaks of "
                         "it — tenant override, platform arrangement, package, statutory holidays, the weekday.")


@strawberry.type(description="A day of the tenant's working calendar (工作日历中的一天).")
class WorkingDay:
    day: date = strawberry.field(name="date", description="The date (日期), Beijing time.")
    working: bool = strawberry.field(description="A working day (工作日); false: a day off (休息日).")
    source: DaySource = strawberry.field(description="Which source decided (来源).")
    note: str | None = strawberry.field(
        description="The holiday (节日), e.g. 春节 or 春节调休上班, or the tenant override's note; null on an "
                    "ordinary day.")


@strawberry.type
class WorkingCalendarQuery:
    @field(description=f"The tenant's working calendar (工作日历), one entry per day from `from` to `to`, at most "
                       f"{MAX_CALENDAR_DAYS} days; any role of the tenant may read it. A longer or reversed "
                       "period is an INVALID error naming `to`.")
    async def working_calendar(
        self, info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (inclusive) (开始日期).")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive) (结束日期).")],
    ) -> list[WorkingDay]:
        days = await query_call(working_calendar(context(info), from_, to))
        return [WorkingDay(day=d.day, working=d.working, source=d.source, note=d.note) for d in days]
