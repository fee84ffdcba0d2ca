"""Care (关爱) in GraphQL: neighbourhood leads and visits with cadence and coverage, care-group
service lists and records, needs and micro-wishes."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import CareService as CareServiceRow
from models import CareServiceRecord as CareServiceRecordRow
from models import CareSettings as CareSettingsRow
from models import CasePriority, LeadTitle, VisitKind, WishState
from models import CasePriority as _CasePriority
from models import NeighborLead as NeighborLeadRow
from models import Visit as VisitRow
from models import Wish as WishRow
from resolvers import care as care_service
from resolvers import loaders
from resolvers.care import loaders as care_loaders
from resolvers.ids import decode_id, decode_ids, encode_global_id
from schema.cases import Case
from schema.common import Connection, Node, UserError, connection, context, graphql_enum, mutate, query_call
from schema.register.types import AREA_TYPE_NAMES, AreaNode, CareTagKind, Household, Person, User, area_type

graphql_enum(LeadTitle, name="LeadTitle",
             description="Kind of lead: 邻长 (neighbor), 楼栋长 (building), 单元长 (unit).")
graphql_enum(VisitKind, name="VisitKind",
             description="Kind of home visit (走访类型): routine, key household, care, follow-up.")
graphql_enum(WishState, name="WishState",
             description="State of a wish (微心愿状态): open → claimed → fulfilled → confirmed.")



async def _user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    u = await loaders.user_by_id(context(info)).load(user_id)
    return None if u is None else User(username=u.username, display_name=u.display_name)


async def _household(info: Info, household_id: uuid.UUID) -> Household | None:
    h = await loaders.household_by_id(context(info)).load(household_id)
    return None if h is None else Household(_m=h)


@strawberry.type(description="The tenant's care rules (关爱设置): lead household range and visit cadence.")
class CareSettings:
    _m: strawberry.Private[CareSettingsRow]

    @strawberry.field(description="Fewest households a lead keeps (默认 5).")
    def lead_min_households(self) -> int:
        return self._m.lead_min_households

    @strawberry.field(description="Most households a lead keeps (默认 15).")
    def lead_max_households(self) -> int:
        return self._m.lead_max_households

    @strawberry.field(description="Days between visits to a key household (重点户, 默认 7: weekly). A key "
                                  "household is one with a member carrying any care tag.")
    def key_visit_days(self) -> int:
        return self._m.key_visit_days

    @strawberry.field(description="Days between visits to any other household (默认 90: quarterly).")
    def routine_visit_days(self) -> int:
        return self._m.routine_visit_days


@strawberry.type(description="A neighbourhood lead (邻长/楼栋长/单元长): a resident keeping in touch with a set of "
                             "households; holds the neighbor_lead role while appointed.")
class NeighborLead(Node):
    _m: strawberry.Private[NeighborLeadRow]

    @strawberry.field(description="Kind of lead (邻长/楼栋长/单元长).")
    def title(self) -> LeadTitle:
        return self._m.title

    @strawberry.field(description="The lead's login (账号).")
    async def user(self, info: Info) -> User | None:
        return await _user(info, self._m.user_id)

    @strawberry.field(description="The lead on the register (居民), if you may read them.")
    async def person(self, info: Info) -> Person | None:
        if self._m.person_id is None:
            return None
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @strawberry.field(description="The area served (服务区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="IDs of the households kept (联系户).")
    async def household_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await care_loaders.households_by_lead(context(info)).load(self._m.id)
        return [strawberry.ID(encode_global_id("Household", i)) for i in ids]

    @strawberry.field(description="Number of households kept (联系户数).")
    async def household_count(self, info: Info) -> int:
        return len(await care_loaders.households_by_lead(context(info)).load(self._m.id))

    @strawberry.field(description="Appointed at (任命时间).")
    def appointed_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="Ended at (卸任时间); null while appointed.")
    def ended_at(self) -> datetime | None:
        return self._m.ended_at


@strawberry.type(description="A recorded home visit (走访记录).")
class Visit(Node):
    _m: strawberry.Private[VisitRow]

    @strawberry.field(description="Kind of visit (走访类型).")
    def kind(self) -> VisitKind:
        return self._m.kind

    @strawberry.field(description="When the visit took place (走访时间).")
    def visited_at(self) -> datetime:
        return self._m.visited_at

    @strawberry.field(description="The household visited (走访户), if you may read it.")
    async def household(self, info: Info) -> Household | None:
        return await _household(info, self._m.household_id)

    @strawberry.field(description="The household's global ID.")
    def household_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Household", self._m.household_id))

    @strawberry.field(description="The building (楼栋).")
    async def building(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.building_id))

    @strawberry.field(description="Who visited (走访人).")
    async def visitor(self, info: Info) -> User | None:
        return await _user(info, self._m.visitor_user_id)

    @strawberry.field(description="Role the visitor acted in.")
    def visitor_role(self) -> str:
        return self._m.visitor_role

    @strawberry.field(description="Findings (走访情况).")
    def findings(self) -> str:
        return self._m.findings

    @strawberry.field(description="Needs found (发现需求).")
    def needs(self) -> str | None:
        return self._m.needs

    @strawberry.field(description="The case raised from the visit (由走访上报的事件), if you may read it.")
    async def case(self, info: Info) -> Case | None:
        if self._m.case_id is None:
            return None
        found = await loaders.case_by_id(context(info)).load(self._m.case_id)
        return None if found is None else Case(_m=found)


@strawberry.type(description="A household against the visit cadence on a day (走访周期).")
class VisitCadence:
    _c: strawberry.Private[care_service.HouseholdCadence]

    @strawberry.field(description="The household's global ID.")
    def household_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Household", self._c.household_id))

    @strawberry.field(description="The household, if you may read it (a lead sees the ID and building only).")
    async def household(self, info: Info) -> Household | None:
        return await _household(info, self._c.household_id)

    @strawberry.field(description="The building (楼栋).")
    async def building(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._c.building_id))

    @strawberry.field(description="Key household (重点户): a member carries a care tag; visited every keyVisitDays.")
    def key_household(self) -> bool:
        return self._c.key

    @strawberry.field(description="Days allowed between visits for this household.")
    def interval_days(self) -> int:
        return self._c.interval_days

    @strawberry.field(description="Local date of the last visit up to the day asked; null if never visited.")
    def last_visit_on(self) -> date | None:
        return self._c.last_visit_on

    @strawberry.field(description="Date the next visit is due (应访日期); null if never visited.")
    def due_on(self) -> date | None:
        return self._c.due_on

    @strawberry.field(description="Overdue for a visit (逾期未访).")
    def overdue(self) -> bool:
        return self._c.overdue

    @strawberry.field(description="Days past the due date (逾期天数); null if never visited.")
    def days_overdue(self) -> int | None:
        return self._c.days_overdue

    @strawberry.field(description="The household's lead (邻长), if it has one you may read.")
    async def lead(self, info: Info) -> NeighborLead | None:
        if self._c.lead_id is None:
            return None
        found = await care_loaders.lead_by_id(context(info)).load(self._c.lead_id)
        return None if found is None else NeighborLead(_m=found)

    @strawberry.field(description="Grids covering the household's building (所属网格).")
    async def grids(self, info: Info) -> list[AreaNode]:
        found = await loaders.area_by_id(context(info)).load_many(self._c.grid_ids)
        return [area_type(a) for a in found if a is not None]

    @strawberry.field(description="The household's community (社区).")
    async def community(self, info: Info) -> AreaNode | None:
        if self._c.community_id is None:
            return None
        return area_type(await loaders.area_by_id(context(info)).load(self._c.community_id))


@strawberry.enum(description="How visit coverage is grouped (覆盖率分组).")
class CoverageGrouping(enum.Enum):
    TOTAL = "total"
    LEAD = "lead"
    GRID = "grid"
    COMMUNITY = "community"


@strawberry.type(description="Visit coverage of a group over a period (走访覆盖率).")
class VisitCoverage:
    _g: strawberry.Private[care_service.CoverageGroup]

    @strawberry.field(description="The lead, grid or community's global ID; null for the total, or for households "
                                  "with no lead / no grid.")
    def group_id(self) -> strawberry.ID | None:
        if self._g.key_id is None:
            return None
        kind = "NeighborLead" if self._g.group_by == "lead" else ("Grid" if self._g.group_by == "grid"
                                                                   else "Community")
        return strawberry.ID(encode_global_id(kind, self._g.key_id))

    @strawberry.field(description="Name of the group (lead's display name, grid or community name).")
    async def group_name(self, info: Info) -> str | None:
        if self._g.key_id is None:
            return None
        ctx = context(info)
        if self._g.group_by == "lead":
            lead = await care_loaders.lead_by_id(ctx).load(self._g.key_id)
            u = None if lead is None else await loaders.user_by_id(ctx).load(lead.user_id)
            return None if u is None else u.display_name
        a = await loaders.area_by_id(ctx).load(self._g.key_id)
        return None if a is None else a.name

    @strawberry.field(description="Households in the group (户数).")
    def households(self) -> int:
        return self._g.households

    @strawberry.field(description="Households visited at least once in the period (已走访户数).")
    def visited(self) -> int:
        return self._g.visited

    @strawberry.field(description="visited / households (覆盖率).")
    def rate(self) -> float | None:
        return self._g.rate

    @strawberry.field(description="Key households (重点户数).")
    def key_households(self) -> int:
        return self._g.key_households

    @strawberry.field(description="Key households visited in the period.")
    def key_visited(self) -> int:
        return self._g.key_visited

    @strawberry.field(description="keyVisited / keyHouseholds (重点户覆盖率).")
    def key_rate(self) -> float | None:
        return self._g.key_rate

    @strawberry.field(description="Households overdue for a visit on the last day of the period (逾期户数).")
    def overdue(self) -> int:
        return self._g.overdue


@strawberry.type(description="An entry of a care group's service list (服务清单): what, how often, by whom.")
class CareService(Node):
    _m: strawberry.Private[CareServiceRow]

    @strawberry.field(description="Care group code (重点人群类别).")
    def tag_code(self) -> str:
        return self._m.tag_code

    @strawberry.field(description="The area whose list it is (社区/街道).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @strawberry.field(description="What is provided (服务内容).")
    def name(self) -> str:
        return self._m.name

    @strawberry.field(description="How often (服务频次), e.g. 每周一次.")
    def frequency(self) -> str:
        return self._m.frequency

    @strawberry.field(description="By whom (服务提供方).")
    def provider(self) -> str:
        return self._m.provider

    @strawberry.field(description="Note (备注).")
    def note(self) -> str | None:
        return self._m.note


@strawberry.type(description="A service provided to a person (服务记录): personal data, shown only with the right "
                             "to read the person in full, and audited.")
class CareServiceRecord(Node):
    _m: strawberry.Private[CareServiceRecordRow]

    @strawberry.field(description="The service-list entry.")
    async def service(self, info: Info) -> CareService | None:
        found = await care_loaders.care_service_by_id(context(info)).load(self._m.service_id)
        return None if found is None else CareService(_m=found)

    @strawberry.field(description="The person served (服务对象).")
    async def person(self, info: Info) -> Person | None:
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @strawberry.field(description="When (服务时间).")
    def provided_at(self) -> datetime:
        return self._m.provided_at

    @strawberry.field(description="By whom (服务人).")
    def provided_by(self) -> str:
        return self._m.provided_by

    @strawberry.field(description="Note (备注).")
    def note(self) -> str | None:
        return self._m.note


@strawberry.type(description="A need or micro-wish (需求/微心愿). Until you claim it, the beneficiary's identity is "
                             "hidden unless you reach it as staff, poster or household.")
class Wish(Node):
    _m: strawberry.Private[WishRow]

    async def _identity(self, info: Info) -> bool:
        return await care_loaders.wish_identity_visible(context(info)).load(self._m.id)

    @strawberry.field(description="Title (心愿).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Description (描述).")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="State (状态).")
    def state(self) -> WishState:
        return self._m.state

    @strawberry.field(description="True when the beneficiary's identity is hidden from you (受助人信息已隐藏).")
    async def identity_hidden(self, info: Info) -> bool:
        return not await self._identity(info)

    @strawberry.field(description="Beneficiary's name (受助人); null while hidden from you.")
    async def beneficiary_name(self, info: Info) -> str | None:
        if not await self._identity(info):
            return None
        return await care_loaders.person_name_by_id(context(info)).load(self._m.beneficiary_person_id)

    @strawberry.field(description="The beneficiary on the register, when you may read the person.")
    async def beneficiary(self, info: Info) -> Person | None:
        if not await self._identity(info):
            return None
        p = await loaders.person_by_id(context(info)).load(self._m.beneficiary_person_id)
        return None if p is None else Person(_m=p)

    @strawberry.field(description="The beneficiary's building (楼栋); null while hidden or not readable.")
    async def building(self, info: Info) -> AreaNode | None:
        if not await self._identity(info):
            return None
        return area_type(await loaders.area_by_id(context(info)).load(self._m.building_id))

    @strawberry.field(description="Who claimed it (认领人); shown to staff, the household and the claimant.")
    async def claimant(self, info: Info) -> User | None:
        if not await self._identity(info):
            return None
        return await _user(info, self._m.claimant_user_id)

    @strawberry.field(description="True when you claimed it.")
    def claimed_by_me(self, info: Info) -> bool:
        return self._m.claimant_user_id == context(info).actor.user_id

    @strawberry.field(description="True when you posted it.")
    def posted_by_me(self, info: Info) -> bool:
        return self._m.poster_user_id == context(info).actor.user_id

    @strawberry.field(description="Posted at (发布时间).")
    def posted_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="Claimed at (认领时间).")
    def claimed_at(self) -> datetime | None:
        return self._m.claimed_at

    @strawberry.field(description="Fulfilled at (完成时间).")
    def fulfilled_at(self) -> datetime | None:
        return self._m.fulfilled_at

    @strawberry.field(description="What was done (完成情况).")
    def fulfil_note(self) -> str | None:
        return self._m.fulfil_note

    @strawberry.field(description="Confirmed at (确认时间).")
    def confirmed_at(self) -> datetime | None:
        return self._m.confirmed_at

    @strawberry.field(description="Version for optimistic concurrency: pass as expectedVersion.")
    def version(self) -> int:
        return self._m.version


# ---------------------------------------------------------------- queries


@strawberry.type
class CareQuery:
    @strawberry.field(description="The tenant's care rules (关爱设置).")
    async def care_settings(self, info: Info) -> CareSettings:
        return CareSettings(_m=await care_service.care_settings(context(info)))

    @strawberry.field(description="Neighbourhood leads you may read (邻长), by area.")
    async def neighbor_leads(
        self, info: Info, area_id: strawberry.ID | None = None, include_ended: bool = False,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[NeighborLead]:
        page = await query_call(care_service.list_leads(
            context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            include_ended=include_ended, first=first, after=after))
        return connection(page, lambda m: NeighborLead(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Home visits you may read (走访记录), newest first.")
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

    @strawberry.field(description="Households overdue for a visit on a day (逾期未访), never-visited first, then "
                                  "longest overdue; per area (grid, community …) or per lead.")
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

    @strawberry.field(description="Visit coverage over a period (走访覆盖率), in total or per lead, grid or "
                                  "community.")
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

    @strawberry.field(description="Service lists (服务清单) that apply where you work, by care group and area.")
    async def care_services(self, info: Info, tag_code: str | None = None,
                            area_id: strawberry.ID | None = None) -> list[CareService]:
        rows = await query_call(care_service.list_care_services(
            context(info), tag_code=tag_code,
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId")))
        return [CareService(_m=r) for r in rows]

    @strawberry.field(description="Service records (服务记录) of persons you may read in full; audited.")
    async def care_service_records(
        self, info: Info, person_id: strawberry.ID | None = None, service_id: strawberry.ID | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Connection[CareServiceRecord]:
        page = await query_call(care_service.list_service_records(
            context(info), person_id=decode_id(person_id, "Person", "personId"),
            service_id=decode_id(service_id, "CareService", "serviceId"),
            first=first, after=after))
        return connection(page, lambda m: CareServiceRecord(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Wishes you may see (微心愿), newest first: staff see their scope, residents their "
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


# ---------------------------------------------------------------- mutations


@strawberry.input(description="Change the tenant's care rules (street admin).")
class UpdateCareSettingsInput:
    lead_min_households: int | None = strawberry.field(default=None, description="Fewest households per lead.")
    lead_max_households: int | None = strawberry.field(default=None, description="Most households per lead.")
    key_visit_days: int | None = strawberry.field(default=None, description="Days between key-household visits.")
    routine_visit_days: int | None = strawberry.field(default=None, description="Days between other visits.")


@strawberry.input(description="Appoint a resident as neighbourhood lead (任命邻长).")
class AppointLeadInput:
    person_id: strawberry.ID = strawberry.field(description="The resident (must have a user account).")
    title: LeadTitle = strawberry.field(description="邻长, 楼栋长 or 单元长.")
    area_id: strawberry.ID = strawberry.field(description="The building, compound, zone or grid served.")
    household_ids: list[strawberry.ID] = strawberry.field(description="The households kept (the tenant's range).")


@strawberry.input(description="Replace the households a lead keeps.")
class SetLeadHouseholdsInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    household_ids: list[strawberry.ID] = strawberry.field(description="The households kept.")


@strawberry.input(description="A case to raise from a visit (走访发现问题上报).")
class VisitCaseInput:
    category: str = strawberry.field(description="Case category code.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(default="", description="What is wrong.")
    priority: CasePriority = strawberry.field(
        default=_CasePriority.NORMAL, description="Priority (紧急程度).")


@strawberry.input(description="Record a home visit (记录走访).")
class RecordVisitInput:
    household_id: strawberry.ID = strawberry.field(description="The household visited.")
    kind: VisitKind = strawberry.field(description="Kind of visit.")
    visited_at: datetime = strawberry.field(description="When, with a timezone; not in the future.")
    findings: str = strawberry.field(description="What was found (≤ 5000 characters).")
    needs: str | None = strawberry.field(default=None, description="Needs found (≤ 2000 characters).")
    raise_case: VisitCaseInput | None = strawberry.field(default=None, description="Raise a case from the visit.")


@strawberry.input(description="Add a care group of the tenant's own (新增重点人群类别).")
class AddCareTagKindInput:
    code: str = strawberry.field(description="Stable code: lowercase letters, digits, _.")
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="Add an entry to a care group's service list (新增服务项目).")
class CreateCareServiceInput:
    tag_code: str = strawberry.field(description="Care group code.")
    area_id: strawberry.ID = strawberry.field(description="Whose list: a community or the street.")
    name: str = strawberry.field(description="What is provided.")
    frequency: str = strawberry.field(description="How often.")
    provider: str = strawberry.field(description="By whom.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="Record a service provided to a person (服务记录).")
class RecordCareServiceInput:
    service_id: strawberry.ID = strawberry.field(description="The service-list entry.")
    person_id: strawberry.ID = strawberry.field(description="The person served (in the entry's care group).")
    provided_at: datetime = strawberry.field(description="When, with a timezone.")
    provided_by: str = strawberry.field(description="By whom.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="Post a need or micro-wish for a resident (发布微心愿).")
class PostWishInput:
    person_id: strawberry.ID = strawberry.field(description="The beneficiary: yourself or a resident in your scope.")
    title: str = strawberry.field(description="The wish (≤ 100 characters).")
    description: str = strawberry.field(default="", description="Details (≤ 2000 characters).")


@strawberry.input(description="A step of a wish: claim, fulfil, confirm or cancel.")
class WishTransitionInput:
    id: strawberry.ID = strawberry.field(description="The wish.")
    note: str | None = strawberry.field(default=None, description="What was done (fulfil).")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.type(description="Result of updateCareSettings.")
class CareSettingsPayload:
    settings: CareSettings | None = strawberry.field(description="The rules, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a lead mutation.")
class NeighborLeadPayload:
    lead: NeighborLead | None = strawberry.field(description="The lead, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of recordVisit.")
class VisitPayload:
    visit: Visit | None = strawberry.field(description="The visit, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of addCareTagKind.")
class CareTagKindPayload:
    kind: CareTagKind | None = strawberry.field(description="The care group, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createCareService.")
class CareServicePayload:
    service: CareService | None = strawberry.field(description="The entry, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of recordCareService.")
class CareServiceRecordPayload:
    record: CareServiceRecord | None = strawberry.field(description="The record, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a wish mutation.")
class WishPayload:
    wish: Wish | None = strawberry.field(description="The wish, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")



async def _wish_step(info: Info, input: WishTransitionInput, action: str) -> WishPayload:
    async def run() -> Any:
        ctx = context(info)
        wid = decode_id(input.id, "Wish", "id")
        if action == "claim":
            return await care_service.claim_wish(ctx, wid, expected_version=input.expected_version)
        if action == "fulfil":
            return await care_service.fulfil_wish(ctx, wid, note=input.note, expected_version=input.expected_version)
        if action == "confirm":
            return await care_service.confirm_wish(ctx, wid, expected_version=input.expected_version)
        return await care_service.cancel_wish(ctx, wid, expected_version=input.expected_version)

    wish, errors = await mutate(info, run)
    return WishPayload(wish=None if wish is None else Wish(_m=wish), errors=errors)


@strawberry.type
class CareMutation:
    @strawberry.mutation(description="Change the tenant's care rules (关爱设置; street admin).")
    async def update_care_settings(self, info: Info, input: UpdateCareSettingsInput) -> CareSettingsPayload:
        async def run() -> Any:
            return await care_service.update_care_settings(context(info), care_service.SettingsInput(
                lead_min_households=input.lead_min_households, lead_max_households=input.lead_max_households,
                key_visit_days=input.key_visit_days, routine_visit_days=input.routine_visit_days))

        s, errors = await mutate(info, run)
        return CareSettingsPayload(settings=None if s is None else CareSettings(_m=s), errors=errors)

    @strawberry.mutation(description="Appoint a neighbourhood lead for households (任命邻长); grants neighbor_lead.")
    async def appoint_neighbor_lead(self, info: Info, input: AppointLeadInput) -> NeighborLeadPayload:
        async def run() -> Any:
            return await care_service.appoint_lead(
                context(info), person_id=decode_id(input.person_id, "Person", "personId"), title=input.title,
                area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"),
                household_ids=decode_ids(input.household_ids, "Household", "householdIds"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @strawberry.mutation(description="Replace the households a lead keeps (调整联系户).")
    async def set_neighbor_lead_households(self, info: Info, input: SetLeadHouseholdsInput) -> NeighborLeadPayload:
        async def run() -> Any:
            return await care_service.set_lead_households(
                context(info), decode_id(input.id, "NeighborLead", "id"),
                decode_ids(input.household_ids, "Household", "householdIds"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @strawberry.mutation(description="End a lead's appointment (卸任); revokes the neighbor_lead role.")
    async def end_neighbor_lead(self, info: Info, id: strawberry.ID) -> NeighborLeadPayload:
        async def run() -> Any:
            return await care_service.end_lead(context(info), decode_id(id, "NeighborLead", "id"))

        lead, errors = await mutate(info, run)
        return NeighborLeadPayload(lead=None if lead is None else NeighborLead(_m=lead), errors=errors)

    @strawberry.mutation(description="Record a home visit (记录走访), optionally raising a case from it.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> VisitPayload:
        async def run() -> Any:
            rc = input.raise_case
            raise_case = None
            if rc is not None:
                raise_case = care_service.RaiseCase(
                    category=rc.category, title=rc.title, description=rc.description,
                    priority=rc.priority)
            return await care_service.record_visit(context(info), care_service.VisitInput(
                household_id=decode_id(input.household_id, "Household", "householdId"), kind=input.kind,
                visited_at=input.visited_at, findings=input.findings, needs=input.needs, raise_case=raise_case))

        visit, errors = await mutate(info, run)
        return VisitPayload(visit=None if visit is None else Visit(_m=visit), errors=errors)

    @strawberry.mutation(description="Add a care group of the tenant's own (新增重点人群类别; street admin).")
    async def add_care_tag_kind(self, info: Info, input: AddCareTagKindInput) -> CareTagKindPayload:
        async def run() -> Any:
            return await care_service.add_care_tag_kind(context(info), code=input.code, name=input.name)

        kind, errors = await mutate(info, run)
        return CareTagKindPayload(kind=None if kind is None else CareTagKind(code=kind.code, name=kind.name),
                                  errors=errors)

    @strawberry.mutation(description="Add an entry to a care group's service list (服务清单).")
    async def create_care_service(self, info: Info, input: CreateCareServiceInput) -> CareServicePayload:
        async def run() -> Any:
            return await care_service.create_care_service(context(info), care_service.ServiceInput(
                tag_code=input.tag_code, area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), name=input.name,
                frequency=input.frequency, provider=input.provider, note=input.note))

        svc, errors = await mutate(info, run)
        return CareServicePayload(service=None if svc is None else CareService(_m=svc), errors=errors)

    @strawberry.mutation(description="Record a service provided to a person (服务记录).")
    async def record_care_service(self, info: Info, input: RecordCareServiceInput) -> CareServiceRecordPayload:
        async def run() -> Any:
            return await care_service.record_care_service(context(info), care_service.ServiceRecordInput(
                service_id=decode_id(input.service_id, "CareService", "serviceId"),
                person_id=decode_id(input.person_id, "Person", "personId"), provided_at=input.provided_at,
                provided_by=input.provided_by, note=input.note))

        rec, errors = await mutate(info, run)
        return CareServiceRecordPayload(record=None if rec is None else CareServiceRecord(_m=rec), errors=errors)

    @strawberry.mutation(description="Post a need or micro-wish for a resident (发布微心愿).")
    async def post_wish(self, info: Info, input: PostWishInput) -> WishPayload:
        async def run() -> Any:
            return await care_service.post_wish(
                context(info), person_id=decode_id(input.person_id, "Person", "personId"), title=input.title,
                description=input.description)

        wish, errors = await mutate(info, run)
        return WishPayload(wish=None if wish is None else Wish(_m=wish), errors=errors)

    @strawberry.mutation(description="Claim an open wish (认领); one claimant at a time.")
    async def claim_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "claim")

    @strawberry.mutation(description="Mark a claimed wish fulfilled (完成).")
    async def fulfil_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "fulfil")

    @strawberry.mutation(description="Confirm a fulfilled wish (确认), by the beneficiary or the poster.")
    async def confirm_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "confirm")

    @strawberry.mutation(description="Cancel an open or claimed wish (撤销), by staff or the poster.")
    async def cancel_wish(self, info: Info, input: WishTransitionInput) -> WishPayload:
        return await _wish_step(info, input, "cancel")


async def resolve_care_node(info: Info, type_name: str, id_: uuid.UUID) -> Any:
    ctx = context(info)
    if type_name == "NeighborLead":
        lead = await care_service.get_lead(ctx, id_)
        return None if lead is None else NeighborLead(_m=lead)
    if type_name == "Visit":
        visit = await care_service.get_visit(ctx, id_)
        return None if visit is None else Visit(_m=visit)
    if type_name == "CareService":
        svc = await care_service.get_care_service(ctx, id_)
        return None if svc is None else CareService(_m=svc)
    if type_name == "Wish":
        wish = await care_service.get_wish(ctx, id_)
        return None if wish is None else Wish(_m=wish)
    return None


CARE_NODE_TYPES = frozenset({"NeighborLead", "Visit", "CareService", "Wish"})
CARE_TYPES = [NeighborLead, Visit, CareService, CareServiceRecord, Wish]
