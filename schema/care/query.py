"""The care domain's Query fields: settings, leads, visits with cadence and coverage, service lists
and records, wishes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import WishState
from resolvers import care as care_service
from resolvers.ids import decode_id
from schema.care.types import (
    CareService,
    CareServiceRecord,
    CareSettings,
    CoverageGrouping,
    NeighborLead,
    Visit,
    VisitCadence,
    VisitCoverage,
    Wish,
)
from schema.common import (
    Connection,
    connection,
    context,
    field,
    plain_list_reason,
    query_call,
    sequence_connection,
)
from schema.register import AREA_TYPE_NAMES


@strawberry.type
class CareQuery:
    @field(description="The tenant's care rules (关爱设置).")
    async def care_settings(self, info: Info) -> CareSettings:
        return CareSettings(_m=await care_service.care_settings(context(info)))

    @field(description="Neighbourhood leads you may read (邻长), by area.")
    async def neighbor_leads(
        self, info: Info, area_id: strawberry.ID | None = None, include_ended: bool = False,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[NeighborLead]:
        page = await query_call(care_service.list_leads(
            context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            include_ended=include_ended, first=first, after=after))
        return connection(page, lambda m: NeighborLead(_m=m))  # type: ignore[no-any-return]

    @field(description="Home visits you may read (走访记录), newest first.")
    async def visits(
        self, info: Info, household_id: strawberry.ID | None = None, area_id: strawberry.ID | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from", description="First local day.")] = None,
        to: Annotated[date | None, strawberry.argument(description="Last local day.")] = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[Visit]:
        page = await query_call(care_service.list_visits(
            context(info),
            household_id=decode_id(household_id, "Household", "householdId"),
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            start=from_, end=to, first=first, after=after))
        return connection(page, lambda m: Visit(_m=m))  # type: ignore[no-any-return]

    @field(description="Households overdue for a visit on a day (逾期未访), never-visited first, then "
                                  "longest overdue; per area (grid, community …) or per lead.",
           deprecation_reason=plain_list_reason("overdueVisitsConnection"))
    async def overdue_visits(
        self, info: Info,
        as_of: Annotated[date, strawberry.argument(description="The local day to judge on.")],
        area_id: strawberry.ID | None = None, lead_id: strawberry.ID | None = None,
    ) -> list[VisitCadence]:
        rows = await query_call(care_service.overdue_visits(
            context(info), as_of=as_of,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            lead_id=decode_id(lead_id, "NeighborLead", "leadId")))
        return [VisitCadence(_c=r) for r in rows]

    @field(description="Households overdue for a visit on a day (逾期未访), never-visited first, then "
                       "longest overdue; per area (grid, community …) or per lead.")
    async def overdue_visits_connection(
        self, info: Info,
        as_of: Annotated[date, strawberry.argument(description="The local day to judge on.")],
        area_id: strawberry.ID | None = None, lead_id: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[VisitCadence]:
        rows = await query_call(care_service.overdue_visits(
            context(info), as_of=as_of,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            lead_id=decode_id(lead_id, "NeighborLead", "leadId")))
        # Paged in memory, not in SQL: the list is computed in Python from several statements (last visits
        # as local days, the settings' intervals) and sorted by days overdue, which no column holds.
        return sequence_connection(  # type: ignore[no-any-return]
            rows, lambda r: VisitCadence(_c=r), first=first, after=after)

    @field(description="Visit coverage over a period (走访覆盖率), in total or per lead, grid or "
                                  "community.",
           deprecation_reason=plain_list_reason("visitCoverageConnection"))
    async def visit_coverage(
        self, info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First local day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last local day (inclusive).")],
        area_id: strawberry.ID | None = None,
        group_by: CoverageGrouping = CoverageGrouping.TOTAL,
    ) -> list[VisitCoverage]:
        groups = await query_call(care_service.coverage(
            context(info), start=from_, end=to,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            group_by=group_by.value))
        return [VisitCoverage(_g=g) for g in groups]

    @field(description="Visit coverage over a period (走访覆盖率), in total or per lead, grid or community.")
    async def visit_coverage_connection(
        self, info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First local day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last local day (inclusive).")],
        area_id: strawberry.ID | None = None,
        group_by: CoverageGrouping = CoverageGrouping.TOTAL,
        first: int | None = None, after: str | None = None,
    ) -> Connection[VisitCoverage]:
        groups = await query_call(care_service.coverage(
            context(info), start=from_, end=to,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            group_by=group_by.value))
        # Paged in memory, not in SQL: the groups are counted in Python over the households' cadence
        # (overdueVisits' computation), so there is no table row for a keyset to start after.
        return sequence_connection(  # type: ignore[no-any-return]
            groups, lambda g: VisitCoverage(_g=g), first=first, after=after)

    @field(description="Service lists (服务清单) that apply where you work, by care group and area.",
           deprecation_reason=plain_list_reason("careServicesConnection"))
    async def care_services(self, info: Info, tag_code: str | None = None,
                            area_id: strawberry.ID | None = None) -> list[CareService]:
        rows = await query_call(care_service.list_care_services(
            context(info), tag_code=tag_code,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId")))
        return [CareService(_m=r) for r in rows]

    @field(description="Service lists (服务清单) that apply where you work, by care group and area.")
    async def care_services_connection(
        self, info: Info, tag_code: str | None = None, area_id: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CareService]:
        page = await query_call(care_service.care_services_page(
            context(info), tag_code=tag_code,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"), first=first, after=after))
        return connection(page, lambda r: CareService(_m=r))  # type: ignore[no-any-return]

    @field(description="Service records (服务记录) of persons you may read in full; audited.")
    async def care_service_records(
        self, info: Info, person_id: strawberry.ID | None = None, service_id: strawberry.ID | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[CareServiceRecord]:
        page = await query_call(care_service.list_service_records(
            context(info), person_id=decode_id(person_id, "Person", "personId"),
            service_id=decode_id(service_id, "CareService", "serviceId"),
            first=first, after=after))
        return connection(page, lambda m: CareServiceRecord(_m=m))  # type: ignore[no-any-return]

    @field(description="Wishes you may see (微心愿), newest first: staff see their scope, residents their "
                                  "household's, party members every open wish (anonymised) and what they claimed.")
    async def wishes(
        self, info: Info, states: list[WishState] | None = None,
        area_id: strawberry.ID | None = None, claimed_by_me: bool | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[Wish]:
        page = await query_call(care_service.list_wishes(
            context(info), states=states,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            claimed_by_me=claimed_by_me, first=first, after=after))
        return connection(page, lambda m: Wish(_m=m))  # type: ignore[no-any-return]
