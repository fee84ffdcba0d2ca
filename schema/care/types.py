"""Care (关爱) in GraphQL: neighbourhood leads and visits with cadence and coverage, care-group
service lists and records, needs and micro-wishes."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from models import CareService as CareServiceRow
from models import CareServiceRecord as CareServiceRecordRow
from models import CareSettings as CareSettingsRow
from models import LeadTitle, VisitKind, WishState
from models import NeighborLead as NeighborLeadRow
from models import Visit as VisitRow
from models import Wish as WishRow
from policies.roles import Role
from resolvers import care as care_service
from resolvers import loaders
from resolvers.care import loaders as care_loaders
from resolvers.ids import encode_global_id
from schema.cases import Case
from schema.columns import column_field
from schema.common import Node, context, field, graphql_enum, legacy_string_reason
from schema.register import AreaNode, Household, Person, User, area_type

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


async def _area(info: Info, area_id: uuid.UUID) -> AreaNode | None:
    # area_type returns Any (the concrete type follows the area's kind); every one is an AreaNode.
    node: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(area_id))
    return node


@strawberry.type(description="The tenant's care rules (关爱设置): lead household range and visit cadence.")
class CareSettings:
    _m: strawberry.Private[CareSettingsRow]

    @field(description="Fewest households a lead keeps (默认 5).")
    def lead_min_households(self) -> int:
        return self._m.lead_min_households

    @field(description="Most households a lead keeps (默认 15).")
    def lead_max_households(self) -> int:
        return self._m.lead_max_households

    @field(description="Days between visits to a key household (重点户, 默认 7: weekly). A key "
                                  "household is one with a member carrying any care tag.")
    def key_visit_days(self) -> int:
        return self._m.key_visit_days

    @field(description="Days between visits to any other household (默认 90: quarterly).")
    def routine_visit_days(self) -> int:
        return self._m.routine_visit_days


@strawberry.type(description="A neighbourhood lead (邻长/楼栋长/单元长): a resident keeping in touch with a set of "
                             "households; holds the neighbor_lead role while appointed.")
class NeighborLead(Node):
    _m: strawberry.Private[NeighborLeadRow]

    @field(description="Kind of lead (邻长/楼栋长/单元长).")
    def title(self) -> LeadTitle:
        return self._m.title

    @field(description="The lead's login (账号).")
    async def user(self, info: Info) -> User | None:
        return await _user(info, self._m.user_id)

    @field(description="The lead on the register (居民), if you may read them.")
    async def person(self, info: Info) -> Person | None:
        if self._m.person_id is None:
            return None
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @field(description="The area served (服务区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return await _area(info, self._m.area_id)

    @field(description="IDs of the households kept (联系户).")
    async def household_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await care_loaders.households_by_lead(context(info)).load(self._m.id)
        return [strawberry.ID(encode_global_id("Household", i)) for i in ids]

    @field(description="Number of households kept (联系户数).")
    async def household_count(self, info: Info) -> int:
        return len(await care_loaders.households_by_lead(context(info)).load(self._m.id))

    @field(description="Appointed at (任命时间).")
    def appointed_at(self) -> datetime:
        return self._m.created_at

    @field(description="Ended at (卸任时间); null while appointed.")
    def ended_at(self) -> datetime | None:
        return self._m.ended_at


@strawberry.type(description="A recorded home visit (走访记录).")
class Visit(Node):
    _m: strawberry.Private[VisitRow]

    # Column fields (schema.columns): the compiled visits list (compiled/visits.py) reads the same declarations.
    kind = column_field("kind", VisitKind, description="Kind of visit (走访类型).")
    visited_at = column_field("visited_at", datetime, description="When the visit took place (走访时间).")

    @field(description="The household visited (走访户), if you may read it.")
    async def household(self, info: Info) -> Household | None:
        return await _household(info, self._m.household_id)

    @field(description="The household's global ID.")
    def household_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Household", self._m.household_id))

    @field(description="The building (楼栋).")
    async def building(self, info: Info) -> AreaNode | None:
        return await _area(info, self._m.building_id)

    @field(description="Who visited (走访人).")
    async def visitor(self, info: Info) -> User | None:
        return await _user(info, self._m.visitor_user_id)

    @field(description="Role the visitor acted in.", deprecation_reason=legacy_string_reason("visitorActingRole"))
    def visitor_role(self) -> str:
        return self._m.visitor_role

    @field(description="Role the visitor acted in (走访角色).")
    def visitor_acting_role(self) -> Role | None:
        try:
            return Role(self._m.visitor_role)
        except ValueError:
            return None

    findings = column_field("findings", str, description="Findings (走访情况).")
    needs = column_field("needs", str | None, description="Needs found (发现需求).")

    @field(description="The case raised from the visit (由走访上报的事件), if you may read it.")
    async def case(self, info: Info) -> Case | None:
        if self._m.case_id is None:
            return None
        found = await loaders.case_by_id(context(info)).load(self._m.case_id)
        return None if found is None else Case(_m=found)


@strawberry.type(description="A household against the visit cadence on a day (走访周期).")
class VisitCadence:
    _c: strawberry.Private[care_service.HouseholdCadence]

    @field(description="The household's global ID.")
    def household_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Household", self._c.household_id))

    @field(description="The household, if you may read it (a lead sees the ID and building only).")
    async def household(self, info: Info) -> Household | None:
        return await _household(info, self._c.household_id)

    @field(description="The building (楼栋).")
    async def building(self, info: Info) -> AreaNode | None:
        return await _area(info, self._c.building_id)

    @field(description="Key household (重点户): a member carries a care tag; visited every keyVisitDays.")
    def key_household(self) -> bool:
        return self._c.key

    @field(description="Days allowed between visits for this household.")
    def interval_days(self) -> int:
        return self._c.interval_days

    @field(description="Local date of the last visit up to the day asked; null if never visited.")
    def last_visit_on(self) -> date | None:
        return self._c.last_visit_on

    @field(description="Date the next visit is due (应访日期); null if never visited.")
    def due_on(self) -> date | None:
        return self._c.due_on

    @field(description="Overdue for a visit (逾期未访).")
    def overdue(self) -> bool:
        return self._c.overdue

    @field(description="Days past the due date (逾期天数); null if never visited.")
    def days_overdue(self) -> int | None:
        return self._c.days_overdue

    @field(description="The household's lead (邻长), if it has one you may read.")
    async def lead(self, info: Info) -> NeighborLead | None:
        if self._c.lead_id is None:
            return None
        found = await care_loaders.lead_by_id(context(info)).load(self._c.lead_id)
        return None if found is None else NeighborLead(_m=found)

    @field(description="Grids covering the household's building (所属网格).")
    async def grids(self, info: Info) -> list[AreaNode]:
        found = await loaders.area_by_id(context(info)).load_many(self._c.grid_ids)
        return [area_type(a) for a in found if a is not None]

    @field(description="The household's community (社区).")
    async def community(self, info: Info) -> AreaNode | None:
        if self._c.community_id is None:
            return None
        return await _area(info, self._c.community_id)


@strawberry.enum(description="How visit coverage is grouped (覆盖率分组).")
class CoverageGrouping(enum.Enum):
    TOTAL = "total"
    LEAD = "lead"
    GRID = "grid"
    COMMUNITY = "community"


@strawberry.type(description="Visit coverage of a group over a period (走访覆盖率).")
class VisitCoverage:
    _g: strawberry.Private[care_service.CoverageGroup]

    @field(description="The lead, grid or community's global ID; null for the total, or for households "
                                  "with no lead / no grid.")
    def group_id(self) -> strawberry.ID | None:
        if self._g.key_id is None:
            return None
        kind = "NeighborLead" if self._g.group_by == "lead" else ("Grid" if self._g.group_by == "grid"
                                                                   else "Community")
        return strawberry.ID(encode_global_id(kind, self._g.key_id))

    @field(description="Name of the group (lead's display name, grid or community name).")
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

    @field(description="Households in the group (户数).")
    def households(self) -> int:
        return self._g.households

    @field(description="Households visited at least once in the period (已走访户数).")
    def visited(self) -> int:
        return self._g.visited

    @field(description="visited / households (覆盖率).")
    def rate(self) -> float | None:
        return self._g.rate

    @field(description="Key households (重点户数).")
    def key_households(self) -> int:
        return self._g.key_households

    @field(description="Key households visited in the period.")
    def key_visited(self) -> int:
        return self._g.key_visited

    @field(description="keyVisited / keyHouseholds (重点户覆盖率).")
    def key_rate(self) -> float | None:
        return self._g.key_rate

    @field(description="Households overdue for a visit on the last day of the period (逾期户数).")
    def overdue(self) -> int:
        return self._g.overdue


@strawberry.type(description="An entry of a care group's service list (服务清单): what, how often, by whom.")
class CareService(Node):
    _m: strawberry.Private[CareServiceRow]

    @field(description="Care group code (重点人群类别).")
    def tag_code(self) -> str:
        return self._m.tag_code

    @field(description="The area whose list it is (社区/街道).")
    async def area(self, info: Info) -> AreaNode | None:
        return await _area(info, self._m.area_id)

    @field(description="What is provided (服务内容).")
    def name(self) -> str:
        return self._m.name

    @field(description="How often (服务频次), e.g. 每周一次.")
    def frequency(self) -> str:
        return self._m.frequency

    @field(description="By whom (服务提供方).")
    def provider(self) -> str:
        return self._m.provider

    @field(description="Note (备注).")
    def note(self) -> str | None:
        return self._m.note

    @field(description="When it was retired (停止服务); null while offered. Retired: no new records.")
    def retired_at(self) -> datetime | None:
        return self._m.retired_at


@strawberry.type(description="A service provided to a person (服务记录): personal data, shown only with the right "
                             "to read the person in full, and audited.")
class CareServiceRecord(Node):
    _m: strawberry.Private[CareServiceRecordRow]

    @field(description="The service-list entry.")
    async def service(self, info: Info) -> CareService | None:
        found = await care_loaders.care_service_by_id(context(info)).load(self._m.service_id)
        return None if found is None else CareService(_m=found)

    @field(description="The person served (服务对象).")
    async def person(self, info: Info) -> Person | None:
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @field(description="When (服务时间).")
    def provided_at(self) -> datetime:
        return self._m.provided_at

    @field(description="By whom (服务人).")
    def provided_by(self) -> str:
        return self._m.provided_by

    @field(description="Note (备注).")
    def note(self) -> str | None:
        return self._m.note


@strawberry.type(description="A need or micro-wish (需求/微心愿). Until you claim it, the beneficiary's identity is "
                             "hidden unless you reach it as staff, poster or household.")
class Wish(Node):
    _m: strawberry.Private[WishRow]

    async def _identity(self, info: Info) -> bool:
        return await care_loaders.wish_identity_visible(context(info)).load(self._m.id)

    # Column fields are declared once (schema.columns): the compiled reads build their SQL from these.
    title = column_field("title", str, description="Title (心愿).")

    description = column_field("description", str, description="Description (描述).")

    state = column_field("state", WishState, description="State (状态).")

    @field(description="True when the beneficiary's identity is hidden from you (受助人信息已隐藏).")
    async def identity_hidden(self, info: Info) -> bool:
        return not await self._identity(info)

    @field(description="Beneficiary's name (受助人); null while hidden from you.")
    async def beneficiary_name(self, info: Info) -> str | None:
        if not await self._identity(info):
            return None
        return await care_loaders.person_name_by_id(context(info)).load(self._m.beneficiary_person_id)

    @field(description="The beneficiary on the register, when you may read the person.")
    async def beneficiary(self, info: Info) -> Person | None:
        if not await self._identity(info):
            return None
        p = await loaders.person_by_id(context(info)).load(self._m.beneficiary_person_id)
        return None if p is None else Person(_m=p)

    @field(description="The beneficiary's building (楼栋); null while hidden or not readable.")
    async def building(self, info: Info) -> AreaNode | None:
        if not await self._identity(info):
            return None
        return await _area(info, self._m.building_id)

    @field(description="Who claimed it (认领人); shown to staff, the household and the claimant.")
    async def claimant(self, info: Info) -> User | None:
        if not await self._identity(info):
            return None
        return await _user(info, self._m.claimant_user_id)

    @field(description="True when you claimed it.")
    def claimed_by_me(self, info: Info) -> bool:
        return self._m.claimant_user_id == context(info).actor.user_id

    @field(description="True when you posted it.")
    def posted_by_me(self, info: Info) -> bool:
        return self._m.poster_user_id == context(info).actor.user_id

    posted_at = column_field("created_at", datetime, description="Posted at (发布时间).")

    claimed_at = column_field("claimed_at", datetime | None, description="Claimed at (认领时间).")

    fulfilled_at = column_field("fulfilled_at", datetime | None, description="Fulfilled at (完成时间).")

    fulfil_note = column_field("fulfil_note", str | None, description="What was done (完成情况).")

    confirmed_at = column_field("confirmed_at", datetime | None, description="Confirmed at (确认时间).")

    version = column_field("version", int, description="Version for optimistic concurrency: pass as "
                           "expectedVersion.")
