"""Onboarding in GraphQL (issue #23): property firms and service contracts, party organisations and
their members, owner committees, and moving and archiving areas."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from models import Area as AreaRow
from models import CentralHousehold as CentralHouseholdRow
from models import OwnerCommittee as OwnerCommitteeRow
from models import PartyOrg as PartyOrgRow
from models import PartyOrgKind, PartyOrgRole, SelfGoverningKind
from models import PartyOrgMember as PartyOrgMemberRow
from models import PropertyFirm as PropertyFirmRow
from models import SelfGoverningUnit as SelfGoverningUnitRow
from models import ServiceContract as ServiceContractRow
from policies.filters import area_read_predicate
from resolvers import loaders
from resolvers import register as svc
from resolvers.ids import decode_id, encode_global_id
from schema.common import (
    Connection,
    Node,
    UserError,
    connection,
    context,
    field,
    graphql_enum,
    mutate,
    mutation,
    query_call,
)
from schema.register.types import AREA_TYPE_NAMES, AreaNode, PropertyFirm, area_type

graphql_enum(PartyOrgKind, name="PartyOrgKind",
             description="Kind of party organisation (党组织类型): committee 党委/党总支, branch 党支部, group 党小组.")
graphql_enum(PartyOrgRole, name="PartyOrgRole", description="Office in a party organisation (党内职务).")
graphql_enum(SelfGoverningKind, name="SelfGoverningKind",
             description="Kind of residents' self-governing unit (自治单元): zone 自治片区, group 自治小组.")


@strawberry.type(description="A firm serves a compound from a date until a date (物业服务合同).")
class ServiceContract(Node):
    _m: strawberry.Private[ServiceContractRow]

    @field(description="The firm (物业公司).")
    async def firm(self, info: Info) -> PropertyFirm | None:
        f = await loaders.by_id(context(info), PropertyFirmRow).load(self._m.firm_id)
        return None if f is None else PropertyFirm(_m=f)

    @field(description="The compound it serves (小区).")
    async def compound(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.compound_id))

    @field(description="First day served (开始日期).")
    def valid_from(self) -> date:
        return self._m.valid_from

    @field(description="Last day served (截止日期); null while open-ended.")
    def valid_until(self) -> date | None:
        return self._m.valid_until


@strawberry.type(description="A party organisation (党组织) on an area.")
class PartyOrg(Node):
    _m: strawberry.Private[PartyOrgRow]

    @field(description="Name (名称).")
    def name(self) -> str:
        return self._m.name

    @field(description="Kind (类型).")
    def kind(self) -> PartyOrgKind:
        return self._m.kind

    @field(description="The area it is set up on (所在区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @field(description="The organisation above it (上级党组织), if any.")
    def parent_id(self) -> strawberry.ID | None:
        from resolvers.ids import encode_global_id

        return None if self._m.parent_id is None else strawberry.ID(encode_global_id("PartyOrg", self._m.parent_id))


@strawberry.type(description="A person of the register in a party organisation (党组织成员).")
class PartyOrgMember(Node):
    _m: strawberry.Private[PartyOrgMemberRow]

    @field(description="Office (职务).")
    def role(self) -> PartyOrgRole:
        return self._m.role

    @field(description="Joined on (入党/转入日期), if known.")
    def joined_on(self) -> date | None:
        return self._m.joined_on


@strawberry.type(description="A compound's owner committee (业委会) for a term, with its chair (业委会主任).")
class OwnerCommittee(Node):
    _m: strawberry.Private[OwnerCommitteeRow]

    @field(description="Name (名称).")
    def name(self) -> str:
        return self._m.name

    @field(description="The chair's name (主任姓名).")
    def chair_name(self) -> str:
        return self._m.chair_name

    @field(description="The compound (小区).")
    async def compound(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.compound_id))

    @field(description="Term start (任期开始).")
    def term_start(self) -> date:
        return self._m.term_start

    @field(description="Term end (任期结束).")
    def term_end(self) -> date:
        return self._m.term_end


def _gid(type_name: str, id_: uuid.UUID | None) -> strawberry.ID | None:
    from resolvers.ids import encode_global_id

    return None if id_ is None else strawberry.ID(encode_global_id(type_name, id_))


@strawberry.type(description="A residents' self-governing zone (自治片区) or group (自治小组) of a community, "
                             "compound or building.")
class SelfGoverningUnit(Node):
    _m: strawberry.Private[SelfGoverningUnitRow]

    @field(description="Name (名称), unique on its area.")
    def name(self) -> str:
        return self._m.name

    @field(description="Zone or group (类型).")
    def kind(self) -> SelfGoverningKind:
        return self._m.kind

    @field(description="The area it sits on (所在区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    @field(description="The zone a group sits in (所属自治片区), if any.")
    def parent_id(self) -> strawberry.ID | None:
        return _gid("SelfGoverningUnit", self._m.parent_id)


@strawberry.type(description="A central party-member household (党员中心户) of a self-governing group: the "
                             "household and the party member, by ID (read them under their own rules).")
class CentralHousehold(Node):
    _m: strawberry.Private[CentralHouseholdRow]

    @field(description="The self-governing group (自治小组).")
    def unit_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("SelfGoverningUnit", self._m.unit_id))

    @field(description="The household (户); `node(id:)` reads it where you may read the household.")
    def household_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Household", self._m.household_id))

    @field(description="The party member (党员); `node(id:)` reads them where you may read the person.")
    def person_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Person", self._m.person_id))

    @field(description="Appointed on (设立日期), if known.")
    def appointed_on(self) -> date | None:
        return self._m.appointed_on


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input(description="A new property firm (新增物业公司; street admin).")
class CreatePropertyFirmInput:
    name: str = strawberry.field(description="Name, unique in the street office.")
    credit_code: str | None = strawberry.field(default=None, description="统一社会信用代码, 18 characters.")


@strawberry.input(description="Changes to a property firm (修改物业公司); omitted fields stay.")
class UpdatePropertyFirmInput:
    id: strawberry.ID = strawberry.field(description="The firm.")
    name: str | None = strawberry.field(default=None, description="Name.")
    credit_code: str | None = strawberry.field(default=None, description="统一社会信用代码.")


@strawberry.input(description="A firm starts serving a compound (新增物业服务合同; street admin).")
class CreateServiceContractInput:
    firm_id: strawberry.ID = strawberry.field(description="The firm.")
    compound_id: strawberry.ID = strawberry.field(description="The compound.")
    valid_from: date = strawberry.field(description="First day served.")
    valid_until: date | None = strawberry.field(default=None, description="Last day served; open when omitted.")


@strawberry.input(description="A service contract ends (终止物业服务合同).")
class EndServiceContractInput:
    id: strawberry.ID = strawberry.field(description="The contract.")
    valid_until: date = strawberry.field(description="Its last day served.")


@strawberry.input(description="A new party organisation (新建党组织; party secretary in scope, street admin).")
class CreatePartyOrgInput:
    name: str = strawberry.field(description="Name.")
    kind: PartyOrgKind = strawberry.field(description="Committee on a community, branch on a compound or grid, "
                                                      "group on a building.")
    area_id: strawberry.ID = strawberry.field(description="The area it is set up on.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="The organisation above it.")


@strawberry.input(description="A person of the register joins a party organisation (添加党组织成员).")
class AddPartyOrgMemberInput:
    party_org_id: strawberry.ID = strawberry.field(description="The organisation.")
    person_id: strawberry.ID = strawberry.field(description="The person (marked a party member).")
    role: PartyOrgRole = strawberry.field(default=PartyOrgRole.MEMBER, description="Office.")
    joined_on: date | None = strawberry.field(default=None, description="Joined on.")


@strawberry.input(description="A compound's owner committee for a term (成立业委会; party secretary in scope).")
class CreateOwnerCommitteeInput:
    compound_id: strawberry.ID = strawberry.field(description="The compound.")
    name: str = strawberry.field(description="Name, e.g. 某某小区第二届业主委员会.")
    chair_name: str = strawberry.field(description="The chair's name (业委会主任).")
    chair_person_id: strawberry.ID | None = strawberry.field(default=None, description="The chair on the register.")
    term_start: date = strawberry.field(description="Term start.")
    term_end: date = strawberry.field(description="Term end.")


@strawberry.input(description="A self-governing zone or group (新建自治片区/小组; party secretary in scope, "
                              "street admin).")
class CreateSelfGoverningUnitInput:
    area_id: strawberry.ID = strawberry.field(description="The community, compound or building it sits on.")
    kind: SelfGoverningKind = strawberry.field(description="Zone or group.")
    name: str = strawberry.field(description="Name, unique on the area, e.g. 第一自治片区, 第三小组.")
    parent_id: strawberry.ID | None = strawberry.field(default=None,
                                                       description="For a group: its zone on the same area.")


@strawberry.input(description="A group's central party-member household (设立党员中心户).")
class AddCentralHouseholdInput:
    unit_id: strawberry.ID = strawberry.field(description="The self-governing group.")
    household_id: strawberry.ID = strawberry.field(description="A household of the group's area.")
    person_id: strawberry.ID = strawberry.field(description="The party member registered in that household.")
    appointed_on: date | None = strawberry.field(default=None, description="Appointed on.")


@strawberry.input(description="Move an area and its subtree under another parent you manage (移动区域).")
class MoveAreaInput:
    id: strawberry.ID = strawberry.field(description="The area.")
    new_parent_id: strawberry.ID = strawberry.field(description="Its new parent.")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.input(description="Archive an area and its subtree (归档区域): never deleted, out of lists.")
class ArchiveAreaInput:
    id: strawberry.ID = strawberry.field(description="The area.")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.type(description="Result of a property firm mutation.")
class PropertyFirmPayload:
    property_firm: PropertyFirm | None = strawberry.field(description="The firm, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a service contract mutation.")
class ServiceContractPayload:
    service_contract: ServiceContract | None = strawberry.field(description="The contract, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createPartyOrg.")
class PartyOrgPayload:
    party_org: PartyOrg | None = strawberry.field(description="The organisation, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of addPartyOrgMember.")
class PartyOrgMemberPayload:
    member: PartyOrgMember | None = strawberry.field(description="The membership, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createOwnerCommittee.")
class OwnerCommitteePayload:
    owner_committee: OwnerCommittee | None = strawberry.field(description="The committee, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of createSelfGoverningUnit.")
class SelfGoverningUnitPayload:
    unit: SelfGoverningUnit | None = strawberry.field(description="The zone or group, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of addCentralHousehold.")
class CentralHouseholdPayload:
    central_household: CentralHousehold | None = strawberry.field(description="The central household, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of moveArea or archiveArea.")
class AreaMovePayload:
    area: AreaNode | None = strawberry.field(description="The area, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _w(cls: Any, row: Any) -> Any:
    return None if row is None else cls(_m=row)


@strawberry.type
class OrganisationQuery:
    @field(description="Service contracts (物业服务合同) of compounds you may read; `on`: in force that day.")
    async def service_contracts(self, info: Info, firm_id: strawberry.ID | None = None,
                                compound_id: strawberry.ID | None = None, on: date | None = None,
                                first: int | None = 20, after: str | None = None) -> Connection[ServiceContract]:
        page = await query_call(svc.list_service_contracts(
            context(info), firm_id=decode_id(firm_id, "PropertyFirm", "firmId"),
            compound_id=decode_id(compound_id, "Compound", "compoundId"), on=on, first=first, after=after))
        return connection(page, lambda m: ServiceContract(_m=m))  # type: ignore[no-any-return]

    @field(description="Party organisations (党组织) on areas you may read, optionally inside an area.")
    async def party_orgs(self, info: Info, area_id: strawberry.ID | None = None, first: int | None = 20,
                         after: str | None = None) -> Connection[PartyOrg]:
        page = await query_call(svc.list_party_orgs(context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES,
                                                                                     "areaId"),
                                                    first=first, after=after))
        return connection(page, lambda m: PartyOrg(_m=m))  # type: ignore[no-any-return]

    @field(description="Owner committees (业委会) of compounds you may read.")
    async def owner_committees(self, info: Info, compound_id: strawberry.ID | None = None, first: int | None = 20,
                               after: str | None = None) -> Connection[OwnerCommittee]:
        page = await query_call(svc.list_owner_committees(
            context(info), compound_id=decode_id(compound_id, "Compound", "compoundId"), first=first, after=after))
        return connection(page, lambda m: OwnerCommittee(_m=m))  # type: ignore[no-any-return]

    @field(description="Self-governing zones and groups (自治片区、自治小组) on areas you may read, optionally "
                       "inside an area and of one kind.")
    async def self_governing_units(self, info: Info, area_id: strawberry.ID | None = None,
                                   kind: SelfGoverningKind | None = None, first: int | None = 20,
                                   after: str | None = None) -> Connection[SelfGoverningUnit]:
        page = await query_call(svc.list_self_governing_units(
            context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"), kind=kind, first=first,
            after=after))
        return connection(page, lambda m: SelfGoverningUnit(_m=m))  # type: ignore[no-any-return]

    @field(description="Central party-member households (党员中心户) of groups on areas you may read, optionally "
                       "inside an area or of one group.")
    async def central_households(self, info: Info, area_id: strawberry.ID | None = None,
                                 unit_id: Annotated[strawberry.ID | None, strawberry.argument(
                                     description="Only this self-governing group's (自治小组ID).")] = None,
                                 first: int | None = 20,
                                 after: str | None = None) -> Connection[CentralHousehold]:
        page = await query_call(svc.list_central_households(
            context(info), area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            unit_id=decode_id(unit_id, "SelfGoverningUnit", "unitId"), first=first, after=after))
        return connection(page, lambda m: CentralHousehold(_m=m))  # type: ignore[no-any-return]


@strawberry.type
class OrganisationMutation:
    @mutation(description="Add a property firm (新增物业公司; street admin).")
    async def create_property_firm(self, info: Info, input: CreatePropertyFirmInput) -> PropertyFirmPayload:
        async def run() -> Any:
            return await svc.create_property_firm(context(info), name=input.name, credit_code=input.credit_code)

        row, errors = await mutate(info, run)
        return PropertyFirmPayload(property_firm=_w(PropertyFirm, row), errors=errors)

    @mutation(description="Change a property firm (修改物业公司; street admin).")
    async def update_property_firm(self, info: Info, input: UpdatePropertyFirmInput) -> PropertyFirmPayload:
        async def run() -> Any:
            return await svc.update_property_firm(context(info), decode_id(input.id, "PropertyFirm", "id"),
                                                  name=input.name, credit_code=input.credit_code)

        row, errors = await mutate(info, run)
        return PropertyFirmPayload(property_firm=_w(PropertyFirm, row), errors=errors)

    @mutation(description="A firm starts serving a compound (新增物业服务合同; street admin).")
    async def create_service_contract(self, info: Info, input: CreateServiceContractInput) -> ServiceContractPayload:
        async def run() -> Any:
            return await svc.create_service_contract(
                context(info), firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"),
                compound_id=decode_id(input.compound_id, "Compound", "compoundId"),
                valid_from=input.valid_from, valid_until=input.valid_until)

        row, errors = await mutate(info, run)
        return ServiceContractPayload(service_contract=_w(ServiceContract, row), errors=errors)

    @mutation(description="A service contract ends on a day (终止物业服务合同; street admin).")
    async def end_service_contract(self, info: Info, input: EndServiceContractInput) -> ServiceContractPayload:
        async def run() -> Any:
            return await svc.end_service_contract(context(info), decode_id(input.id, "ServiceContract", "id"),
                                                  valid_until=input.valid_until)

        row, errors = await mutate(info, run)
        return ServiceContractPayload(service_contract=_w(ServiceContract, row), errors=errors)

    @mutation(description="Set up a party organisation (新建党组织).")
    async def create_party_org(self, info: Info, input: CreatePartyOrgInput) -> PartyOrgPayload:
        async def run() -> Any:
            return await svc.create_party_org(context(info), svc.PartyOrgFields(
                name=input.name, kind=input.kind, area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"),
                parent_id=decode_id(input.parent_id, "PartyOrg", "parentId")))

        row, errors = await mutate(info, run)
        return PartyOrgPayload(party_org=_w(PartyOrg, row), errors=errors)

    @mutation(description="Add a person of the register to a party organisation (添加党组织成员).")
    async def add_party_org_member(self, info: Info, input: AddPartyOrgMemberInput) -> PartyOrgMemberPayload:
        async def run() -> Any:
            return await svc.add_party_org_member(
                context(info), party_org_id=decode_id(input.party_org_id, "PartyOrg", "partyOrgId"),
                person_id=decode_id(input.person_id, "Person", "personId"), role=input.role,
                joined_on=input.joined_on)

        row, errors = await mutate(info, run)
        return PartyOrgMemberPayload(member=_w(PartyOrgMember, row), errors=errors)

    @mutation(description="Record a compound's owner committee for a term (成立业委会).")
    async def create_owner_committee(self, info: Info, input: CreateOwnerCommitteeInput) -> OwnerCommitteePayload:
        async def run() -> Any:
            return await svc.create_owner_committee(
                context(info), compound_id=decode_id(input.compound_id, "Compound", "compoundId"), name=input.name,
                chair_name=input.chair_name, chair_person_id=decode_id(input.chair_person_id, "Person",
                                                                       "chairPersonId"),
                term_start=input.term_start, term_end=input.term_end)

        row, errors = await mutate(info, run)
        return OwnerCommitteePayload(owner_committee=_w(OwnerCommittee, row), errors=errors)

    @mutation(description="Set up a self-governing zone or group (新建自治片区/小组).")
    async def create_self_governing_unit(self, info: Info,
                                         input: CreateSelfGoverningUnitInput) -> SelfGoverningUnitPayload:
        async def run() -> Any:
            return await svc.create_self_governing_unit(
                context(info), area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), kind=input.kind,
                name=input.name, parent_id=decode_id(input.parent_id, "SelfGoverningUnit", "parentId"))

        row, errors = await mutate(info, run)
        return SelfGoverningUnitPayload(unit=_w(SelfGoverningUnit, row), errors=errors)

    @mutation(description="Name a group's central party-member household (设立党员中心户).")
    async def add_central_household(self, info: Info, input: AddCentralHouseholdInput) -> CentralHouseholdPayload:
        async def run() -> Any:
            return await svc.add_central_household(
                context(info), unit_id=decode_id(input.unit_id, "SelfGoverningUnit", "unitId"),
                household_id=decode_id(input.household_id, "Household", "householdId"),
                person_id=decode_id(input.person_id, "Person", "personId"), appointed_on=input.appointed_on)

        row, errors = await mutate(info, run)
        return CentralHouseholdPayload(central_household=_w(CentralHousehold, row), errors=errors)

    @mutation(description="Move an area and its subtree under another parent (移动区域).")
    async def move_area(self, info: Info, input: MoveAreaInput) -> AreaMovePayload:
        async def run() -> AreaRow:
            return await svc.move_area(context(info), decode_id(input.id, AREA_TYPE_NAMES, "id"),
                                       decode_id(input.new_parent_id, AREA_TYPE_NAMES, "newParentId"),
                                       input.expected_version)

        row, errors = await mutate(info, run)
        return AreaMovePayload(area=area_type(row), errors=errors)

    @mutation(description="Archive an area and its subtree (归档区域): never deleted.")
    async def archive_area(self, info: Info, input: ArchiveAreaInput) -> AreaMovePayload:
        async def run() -> AreaRow:
            return await svc.archive_area(context(info), decode_id(input.id, AREA_TYPE_NAMES, "id"),
                                          input.expected_version)

        row, errors = await mutate(info, run)
        return AreaMovePayload(area=area_type(row), errors=errors)


def _readable(info: Info) -> Any:
    ctx = context(info)
    return select(AreaRow.id).where(area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor))


async def _contract_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(ServiceContractRow).where(
        ServiceContractRow.id == id_, ServiceContractRow.compound_id.in_(_readable(info))))
    return _w(ServiceContract, row)


async def _party_org_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(PartyOrgRow).where(PartyOrgRow.id == id_,
                                                                  PartyOrgRow.area_id.in_(_readable(info))))
    return _w(PartyOrg, row)


async def _committee_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(OwnerCommitteeRow).where(
        OwnerCommitteeRow.id == id_, OwnerCommitteeRow.compound_id.in_(_readable(info))))
    return _w(OwnerCommittee, row)


async def _member_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(PartyOrgMemberRow).where(
        PartyOrgMemberRow.id == id_, PartyOrgMemberRow.party_org_id.in_(
            select(PartyOrgRow.id).where(PartyOrgRow.area_id.in_(_readable(info))))))
    return _w(PartyOrgMember, row)


async def _unit_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(SelfGoverningUnitRow).where(
        SelfGoverningUnitRow.id == id_, SelfGoverningUnitRow.area_id.in_(_readable(info))))
    return _w(SelfGoverningUnit, row)


async def _central_household_node(info: Info, _t: str, id_: uuid.UUID) -> Any:
    row = await context(info).db.scalar(select(CentralHouseholdRow).where(
        CentralHouseholdRow.id == id_, CentralHouseholdRow.unit_id.in_(
            select(SelfGoverningUnitRow.id).where(SelfGoverningUnitRow.area_id.in_(_readable(info))))))
    return _w(CentralHousehold, row)


ORGANISATION_TYPES = (ServiceContract, PartyOrg, PartyOrgMember, OwnerCommittee, SelfGoverningUnit, CentralHousehold)
ORGANISATION_NODES = {"ServiceContract": _contract_node, "PartyOrg": _party_org_node,
                      "PartyOrgMember": _member_node, "OwnerCommittee": _committee_node,
                      "SelfGoverningUnit": _unit_node, "CentralHousehold": _central_household_node}
