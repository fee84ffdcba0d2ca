"""Object types: the area tree, households, persons, role assignments and the viewer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, overload

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models import Area as AreaRow
from models import AreaKind, Gender, PersonMoveKind, PersonStatus, PropertyManagement, Tenure
from models import Household as HouseholdRow
from models import Person as PersonRow
from models import PersonMove as PersonMoveRow
from models import PropertyFirm as PropertyFirmRow
from models import PropertyOwner as PropertyOwnerRow
from models import RoleAssignment as RoleAssignmentRow
from policies.roles import Role
from resolvers import loaders
from resolvers import register as register_owners
from resolvers.ids import decode_cursor
from resolvers.pagination import Page, page_size
from resolvers.validation import mask_id_card, mask_phone
from schema.columns import column_field
from schema.common import Connection, Node, connection, context, field, graphql_enum, query_call

# What a reader without the right to read personal data in full is given instead (both read paths:
# these types' resolvers and compiled.fields).
MASKED_ROOM = "***"
"""Household.room without the full-read right."""
WITHHELD = None
"""Person.birthDate and Person.careTags without the full-read right."""

graphql_enum(AreaKind, name="AreaKind", description="Level of the area tree (区域层级).")
graphql_enum(
    PropertyManagement, name="PropertyManagement",
    description="How a compound is managed (物业管理方式): firm, third party, self-managed, none (无物业).",
)
graphql_enum(Gender, name="Gender", description="Gender (性别).")
graphql_enum(PersonStatus, name="PersonStatus",
             description="On the current register, moved out (迁出) or deceased (注销) — archived, never deleted.")
graphql_enum(PersonMoveKind, name="PersonMoveKind",
             description="What a residence change recorded (迁移类别): moved, moved out (迁出), moved in (迁入), "
                         "deceased (注销).")
graphql_enum(Tenure, name="Tenure", description="Owner-occupied or rented (自有/租住).")
graphql_enum(Role, name="Role", description="Role of the hierarchy (角色), highest first.")


# ---------------------------------------------------------------- areas


@strawberry.interface(name="Area", description="A node of the area tree (区域): street, community, zone, compound, "
                                                "grid or building.")
class AreaNode(Node):
    _m: strawberry.Private[AreaRow]

    name = column_field("name", str, description="Name (名称).")

    kind = column_field("kind", AreaKind, description="Level of the tree (层级).")

    code = column_field("code", str | None, description="Official code (编码), if any.")

    description = column_field("description", str | None, description="Free description (简介).")

    version = column_field("version", int,
                       description="Version for optimistic concurrency (版本): pass as expectedVersion to updates.")

    archived_at = column_field("archived_at", datetime | None,
                               description="When it was archived (归档时间); null while in use. Archived areas "
                                           "stay in the records of their time and out of lists unless asked.")

    @field(description="Parent area (上级区域); null for the street or when not readable.")
    async def parent(self, info: Info) -> AreaNode | None:
        if self._m.parent_id is None:
            return None
        return area_type(await loaders.area_by_id(context(info)).load(self._m.parent_id))

    @field(description="Ancestors from the street down to the parent (面包屑).")
    async def ancestors(self, info: Info) -> list[AreaNode]:
        ids = [uuid.UUID(hex=s) for s in self._m.path.strip("/").split("/")[:-1]]
        found = await loaders.area_by_id(context(info)).load_many(ids)
        return [area_type(a) for a in found if a is not None]

    @field(description="Direct children (下级区域), optionally of one kind.")
    async def children(
        self, info: Info, kind: AreaKind | None = None, first: int | None = 20,
        after: str | None = None,
    ) -> Connection[AreaNode]:
        page = await query_call(_nested_page(loaders.children_page_by_area(context(info)),
                                             loaders.NestedPageKey(self._m.id, first, after, kind)))
        return connection(page, area_type)  # type: ignore[no-any-return]


@strawberry.type(description="Street office (街道): the tenant's root area.")
class Street(AreaNode):
    pass


@strawberry.type(description="Community (社区).")
class Community(AreaNode):
    pass


@strawberry.type(description="Zone (片区): optional grouping of compounds inside a community.")
class Zone(AreaNode):
    pass


@strawberry.type(description="Residential compound (小区).")
class Compound(AreaNode):

    property_management = column_field("property_management", PropertyManagement | None,
                       description="How the compound is managed (物业管理方式).")

    @field(description="Households of the compound's buildings (住户).")
    async def households(self, info: Info, first: int | None = 20, after: str | None = None
                         ) -> Connection[Household]:
        return await _households_in(info, self._m.id, first, after)


@strawberry.type(description="Grid (网格): the unit of grid management; covers buildings.")
class Grid(AreaNode):

    @field(description="Number of buildings the grid covers (覆盖楼栋数).")
    async def building_count(self, info: Info) -> int:
        return await loaders.building_count_by_grid(context(info)).load(self._m.id)

    @field(description="Households in the buildings the grid covers (网格住户).")
    async def households(self, info: Info, first: int | None = 20, after: str | None = None
                         ) -> Connection[Household]:
        return await _households_in(info, self._m.id, first, after)


@strawberry.type(description="Building (楼栋); unit numbers are a field of households.")
class Building(AreaNode):

    floors = column_field("floors", int | None, description="Number of floors (层数).")

    unit_count = column_field("unit_count", int | None, description="Number of units (单元数).")

    @field(description="Grids covering this building (所属网格).")
    async def grids(self, info: Info) -> list[Grid]:
        return [Grid(_m=g) for g in await loaders.grids_by_building(context(info)).load(self._m.id)]

    @field(description="Households in this building (住户).")
    async def households(self, info: Info, first: int | None = 20, after: str | None = None
                         ) -> Connection[Household]:
        return await _households_in(info, self._m.id, first, after)


AREA_TYPES: dict[AreaKind, type[AreaNode]] = {
    AreaKind.STREET: Street,
    AreaKind.COMMUNITY: Community,
    AreaKind.ZONE: Zone,
    AreaKind.COMPOUND: Compound,
    AreaKind.GRID: Grid,
    AreaKind.BUILDING: Building,
}


AREA_TYPE_NAMES = frozenset(t.__name__ for t in AREA_TYPES.values())


@overload
def area_type(m: AreaRow) -> AreaNode: ...
@overload
def area_type(m: AreaRow | None) -> AreaNode | None: ...
def area_type(m: AreaRow | None) -> AreaNode | None:
    """The area's GraphQL type by its kind (a Grid for a grid row ...)."""
    return None if m is None else AREA_TYPES[m.kind](_m=m)


async def _households_in(info: Info, area_id: uuid.UUID, first: int | None, after: str | None
                         ) -> Connection[Household]:
    page = await query_call(_nested_page(loaders.households_page_by_area(context(info)),
                                         loaders.NestedPageKey(area_id, first, after)))
    return connection(page, lambda m: Household(_m=m))  # type: ignore[no-any-return]


async def _nested_page(loader: DataLoader[loaders.NestedPageKey, Page[Any]], key: loaders.NestedPageKey
                       ) -> Page[Any]:
    """One area's page of a nested connection, batched with the other areas' of the request; the
    arguments are checked here, so a bad one fails this field only (as a typed error)."""
    page_size(key.first)
    if key.after is not None:
        decode_cursor(key.after)
    return await loader.load(key)


# ---------------------------------------------------------------- register


@strawberry.type(description="Household (户): a dwelling in a building and the people registered in it.")
class Household(Node):
    _m: strawberry.Private[HouseholdRow]


    @field(description="The building (楼栋).")
    async def building(self, info: Info) -> Building | None:
        # create_household accepts only a building (and an area's kind never changes)
        area = await loaders.area_by_id(context(info)).load(self._m.building_id)
        return None if area is None else Building(_m=area)

    unit = column_field("unit", str, description="Unit number (单元).")

    @field(description="Room number (门牌号) — part of the exact address, masked (***) without the "
                       "right to read personal data in full.")
    async def room(self, info: Info) -> str:
        if await loaders.pii_visible_by_household(context(info)).load(self._m.id):
            return self._m.room
        return MASKED_ROOM

    @field(description="True when the address is masked for you (地址已脱敏).")
    async def address_masked(self, info: Info) -> bool:
        return not await loaders.pii_visible_by_household(context(info)).load(self._m.id)

    floor_area = column_field("floor_area", Decimal | None,
                       description="Floor area in m² (建筑面积), used for owner votes.")

    tenure = column_field("tenure", Tenure, description="Owner-occupied or rented (自有/租住).")

    version = column_field("version", int,
                       description="Version for optimistic concurrency (版本): pass as expectedVersion to updates.")

    @field(description="Persons registered in the household (家庭成员) that you may read.")
    async def persons(self, info: Info) -> list[Person]:
        return [Person(_m=p) for p in await loaders.persons_by_household(context(info)).load(self._m.id)]

    @field(description="Its registered property owners now (产权人): the electors of owners' votes for this "
                       "dwelling (DESIGN.md §8).")
    async def property_owners(self, info: Info) -> list[PropertyOwnership]:
        rows = await register_owners.owners_by_household(context(info)).load(self._m.id)
        return [PropertyOwnership(_m=r) for r in rows]

    @field(description="Grids covering the household's building (所属网格).")
    async def grids(self, info: Info) -> list[Grid]:
        return [Grid(_m=g) for g in await loaders.grids_by_building(context(info)).load(self._m.building_id)]


@strawberry.type(description="A care group a tenant recognises (重点人群类别).")
class CareTagKind:
    _m: strawberry.Private[Any]
    code = column_field("code", str, description="Stable code, e.g. living_alone.")
    name = column_field("name", str, description="Display name, e.g. 独居老人.")


@strawberry.type(description="Person on the register (居民). ID number and phone are personal data: masked "
                             "(138****5678) unless you may read them in full, and every full read is audited.")
class Person(Node):
    _m: strawberry.Private[PersonRow]


    name = column_field("name", str, description="Name (姓名).")

    gender = column_field("gender", Gender | None, description="Gender (性别).")

    relation_to_head = column_field("relation_to_head", str | None,
                       description="Relation to the head of household (与户主关系).")

    party_member = column_field("party_member", bool, description="Party member (党员).")

    version = column_field("version", int,
                       description="Version for optimistic concurrency (版本): pass as expectedVersion to updates.")

    in_service_party_member = column_field("in_service_party_member", bool,
                       description="In-service party member registered back with the community (在职党员双报到).")

    status = column_field("status", PersonStatus,
                          description="On the current register (ACTIVE), moved out or deceased (状态).")

    left_on = column_field("left_on", date | None,
                           description="When they moved out or died (迁出/注销日期); null while on the register.")

    async def _full(self, info: Info) -> bool:
        ctx = context(info)
        visible = await loaders.pii_visible_by_person(ctx).load(self._m.id)
        if visible:
            ctx.pii_reads.add(self._m.id)
        return visible

    @field(description="True when personal data is masked for you (个人信息已脱敏).")
    async def pii_masked(self, info: Info) -> bool:
        return not await loaders.pii_visible_by_person(context(info)).load(self._m.id)

    @field(description="Resident ID number (身份证号), masked without the full-read right.")
    async def id_card_no(self, info: Info) -> str | None:
        if self._m.id_card_no is None:
            return None
        return self._m.id_card_no if await self._full(info) else mask_id_card(self._m.id_card_no)

    @field(description="Phone (手机号), masked (138****5678) without the full-read right.")
    async def phone(self, info: Info) -> str | None:
        if self._m.phone is None:
            return None
        return self._m.phone if await self._full(info) else mask_phone(self._m.phone)

    @field(description="Date of birth (出生日期); null without the full-read right.")
    async def birth_date(self, info: Info) -> date | None:
        if self._m.birth_date is None:
            return None
        return self._m.birth_date if await self._full(info) else WITHHELD

    @field(description="Care groups (重点人群标签); null without the full-read right: they are personal "
                       "data.")
    async def care_tags(self, info: Info) -> list[str] | None:
        if not await self._full(info):
            return WITHHELD
        return await loaders.care_tags_by_person(context(info)).load(self._m.id)

    @field(description="The household (所在户).")
    async def household(self, info: Info) -> Household | None:
        if self._m.household_id is None:
            return None
        h = await loaders.household_by_id(context(info)).load(self._m.household_id)
        return None if h is None else Household(_m=h)

    @field(description="The residence history (迁移记录), oldest first: every move, move out (迁出), move in "
                       "(迁入) and death (注销) recorded for the person. Read with the person; households as "
                       "you may read them, notes only with the full-read right.")
    async def moves(self, info: Info) -> list[PersonMove]:
        ctx = context(info)
        rows = await register_owners.moves_by_person(ctx).load(self._m.id)
        full = bool(rows) and await loaders.pii_visible_by_person(ctx).load(self._m.id)
        return [PersonMove(_m=r, _full=full) for r in rows]


@strawberry.type(description="One change of where a person lives, or of whether they are on the register "
                             "(迁移记录); append-only, archived persons keep theirs.")
class PersonMove:
    _m: strawberry.Private[PersonMoveRow]
    _full: strawberry.Private[bool]

    kind = column_field("kind", PersonMoveKind, description="What changed (迁移类别).")

    effective_on = column_field("effective_on", date, description="The day it took effect (生效日期).")

    recorded_at = column_field("recorded_at", datetime, description="When staff recorded it (登记时间).")

    @field(description="The household moved from (迁出户); null when none or not yours to read.")
    async def from_household(self, info: Info) -> Household | None:
        return await _household_or_none(info, self._m.from_household_id)

    @field(description="The household moved into (迁入户); null when none or not yours to read.")
    async def to_household(self, info: Info) -> Household | None:
        return await _household_or_none(info, self._m.to_household_id)

    @field(description="The note recorded with it (备注); null without the right to read the person's "
                       "personal data in full (it may name reasons or places).")
    def note(self) -> str | None:
        return self._m.note if self._full else None


async def _household_or_none(info: Info, household_id: uuid.UUID | None) -> Household | None:
    if household_id is None:
        return None
    h = await loaders.household_by_id(context(info)).load(household_id)
    return None if h is None else Household(_m=h)


@strawberry.type(description="Property management company (物业公司).")
class PropertyFirm(Node):
    _m: strawberry.Private[PropertyFirmRow]

    name = column_field("name", str, description="Name (名称).")
    credit_code = column_field("credit_code", str | None,
                               description="Unified social credit code (统一社会信用代码), if known.")


@strawberry.type(description="A person on a dwelling's title (产权登记): registered by staff from the title "
                             "documents; ended, never deleted.")
class PropertyOwnership(Node):
    _m: strawberry.Private[PropertyOwnerRow]

    @field(description="The owner (产权人), as you may read them; null when you may not.")
    async def person(self, info: Info) -> Person | None:
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @field(description="The dwelling (房屋).")
    async def household(self, info: Info) -> Household | None:
        h = await loaders.household_by_id(context(info)).load(self._m.household_id)
        return None if h is None else Household(_m=h)

    @field(description="Reference of the title document (不动产权证号), as recorded; null unless you may read "
                       "the dwelling's personal data in full.")
    async def certificate_ref(self, info: Info) -> str | None:
        if await loaders.pii_visible_by_household(context(info)).load(self._m.household_id):
            return self._m.certificate_ref
        return None

    registered_at = column_field("created_at", datetime, description="When it was registered.")

    ended_at = column_field("ended_at", datetime | None, description="When the ownership ended; null: current.")


# ---------------------------------------------------------------- access


@strawberry.type(description="A login identity (账号).")
class User:
    username: str = strawberry.field(description="Login name (用户名).")
    display_name: str = strawberry.field(description="Display name (显示名).")


@strawberry.type(description="A role held over a scope area during a validity window (角色授权).")
class RoleAssignment(Node):
    _m: strawberry.Private[RoleAssignmentRow]
    _now: strawberry.Private[datetime]


    @field(description="The role (角色).")
    def role(self) -> Role:
        return Role(self._m.role)

    @field(description="Scope area (授权范围): the node and everything below it.")
    async def scope(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.scope_area_id))

    @field(description="Valid from (生效时间).")
    def valid_from(self) -> datetime:
        return self._m.valid_from

    @field(description="Valid until (失效时间); null for open-ended.")
    def valid_until(self) -> datetime | None:
        return self._m.valid_until

    @field(description="Revoked at (撤销时间), if revoked.")
    def revoked_at(self) -> datetime | None:
        return self._m.revoked_at

    @field(description="In force now (当前有效).")
    def active(self) -> bool:
        m = self._m
        now = self._now
        return m.revoked_at is None and _aware(m.valid_from) <= now and (
            m.valid_until is None or _aware(m.valid_until) > now)

    @field(description="The user holding the role (被授权人).")
    async def user(self, info: Info) -> User | None:
        ctx = context(info)
        loader = loaders.user_by_id(ctx)
        u = await loader.load(self._m.user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


@strawberry.type(description="The street office you act in (当前租户).")
class Tenant:
    slug: str = strawberry.field(description="Short name used in tokens and the tenant header.")
    name: str = strawberry.field(description="Name of the street office (街道名称).")


@strawberry.type(description="You: the authenticated user in the selected tenant (当前用户).")
class Me:
    username: str = strawberry.field(description="Login name.")
    display_name: str = strawberry.field(description="Display name.")
    tenant: Tenant = strawberry.field(description="The tenant this request acts in.")
    roles: list[RoleAssignment] = strawberry.field(description="Your role assignments in force here.")
    person: Person | None = strawberry.field(description="Your own entry on the register, if linked.")
