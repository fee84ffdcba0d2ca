"""The organisations of the area tree (issue #23): property firms and their service contracts, party
organisations and their members, owner committees. Onboarding a street office needs them through the
API (before, only the demo's Python wrote them).

Policy (DESIGN.md §4 style, policies/register/policy.csv): ``property_firm · manage`` street admin
(firms and contracts are the street's); ``party_org · manage`` and ``owner_committee · manage`` party
secretary in scope, street admin all. Reads: firms by anyone with a role (as before), contracts, party
organisations and owner committees where the area is readable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from models import (
    Area,
    AreaKind,
    OwnerCommittee,
    PartyOrg,
    PartyOrgKind,
    PartyOrgMember,
    PartyOrgRole,
    Person,
    PropertyFirm,
    ServiceContract,
)
from policies.filters import area_manage_predicate, area_read_predicate, person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, empty_page, keyset_page, sorted_page

CREDIT_CODE_LEN = 18
# Which area a party organisation of each kind may sit on (community committee; compound, grid or
# community branch; building, grid or compound group).
PARTY_ORG_AREAS: dict[PartyOrgKind, frozenset[AreaKind]] = {
    PartyOrgKind.COMMITTEE: frozenset({AreaKind.STREET, AreaKind.COMMUNITY}),
    PartyOrgKind.BRANCH: frozenset({AreaKind.COMMUNITY, AreaKind.ZONE, AreaKind.COMPOUND, AreaKind.GRID}),
    PartyOrgKind.GROUP: frozenset({AreaKind.COMPOUND, AreaKind.GRID, AreaKind.BUILDING}),
}


def _forbidden(what: str) -> ServiceError:
    return ServiceError(ErrorCode.FORBIDDEN, t(f"您无权管理{what}", f"you may not manage {what}"), None)


# ---------------------------------------------------------------- firms and contracts


async def _firm(ctx: RequestContext, firm_id: uuid.UUID, field: str) -> PropertyFirm:
    firm: PropertyFirm | None = await ctx.db.scalar(select(PropertyFirm).where(PropertyFirm.id == firm_id))
    if firm is None or not ctx.actor.assignments:
        raise ServiceError(ErrorCode.NOT_FOUND, t("物业公司不存在", "property firm not found"), field)
    return firm


async def _firm_fields(ctx: RequestContext, name: str | None, credit_code: str | None,
                       own_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    errors = FieldErrors()
    clean_name = clean_code = None
    with errors.catch():
        clean_name = v.text(name, "name", max_len=100) if name is not None else None
    with errors.catch():
        if credit_code:
            clean_code = v.text(credit_code, "creditCode", max_len=CREDIT_CODE_LEN).upper()
            if len(clean_code) != CREDIT_CODE_LEN or not clean_code.isalnum():
                raise ServiceError(ErrorCode.INVALID, t("统一社会信用代码应为 18 位字母或数字",
                                                        "a credit code has 18 letters or digits"), "creditCode")
    errors.raise_if_any()
    if clean_name is not None:
        stmt = select(PropertyFirm.id).where(PropertyFirm.name == clean_name)
        if own_id is not None:
            stmt = stmt.where(PropertyFirm.id != own_id)
        if await ctx.db.scalar(stmt) is not None:
            raise ServiceError(ErrorCode.CONFLICT, t("已有同名物业公司", "a firm of that name exists"), "name")
    return clean_name, clean_code


async def create_property_firm(ctx: RequestContext, *, name: str, credit_code: str | None) -> PropertyFirm:
    if not ctx.actor.grant("property_firm", "manage").all:
        raise _forbidden("物业公司")
    clean_name, code = await _firm_fields(ctx, name, credit_code, None)
    assert clean_name is not None
    firm = PropertyFirm(name=clean_name, credit_code=code)
    await ctx.db.flush(firm)
    return firm


async def update_property_firm(ctx: RequestContext, firm_id: uuid.UUID, *, name: str | None,
                               credit_code: str | None) -> PropertyFirm:
    firm = await _firm(ctx, firm_id, "id")
    if not ctx.actor.grant("property_firm", "manage").all:
        raise _forbidden("物业公司")
    clean_name, code = await _firm_fields(ctx, name, credit_code, firm.id)
    if clean_name is not None:
        firm.name = clean_name
    if code is not None:
        firm.credit_code = code
    await ctx.db.flush(firm)
    return firm


async def list_property_firms(ctx: RequestContext, *, search: str | None, first: int | None,
                              after: str | None) -> Page[PropertyFirm]:
    stmt = select(PropertyFirm)
    if not ctx.actor.assignments:
        stmt = stmt.where(PropertyFirm.id.is_(None))
    if search:
        stmt = stmt.where(PropertyFirm.name.contains(v.text(search, "search", max_len=50)))
    return await keyset_page(ctx.db, stmt, PropertyFirm.id, first=first, after=after)


# propertyFirms and propertyFirmsConnection (issue #25): by name, the id among equal names.
PROPERTY_FIRMS = ListOrder("propertyFirms", (Key(PropertyFirm.name), Key(PropertyFirm.id)))


def property_firm_rows(ctx: RequestContext) -> Select[Any] | None:
    """The tenant's firms, for staff (dispatching, grants); None: nobody else reads the list (empty)."""
    return select(PropertyFirm) if ctx.actor.assignments else None


async def property_firms(ctx: RequestContext) -> list[PropertyFirm]:
    """The tenant's firms by name."""
    rows = property_firm_rows(ctx)
    return [] if rows is None else list(await ctx.db.scalars(rows.order_by(*PROPERTY_FIRMS.order_by())))


async def property_firms_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[PropertyFirm]:
    rows = property_firm_rows(ctx)
    if rows is None:
        return empty_page(ctx.db, PROPERTY_FIRMS, first=first, after=after)
    return await sorted_page(ctx.db, rows, PROPERTY_FIRMS, first=first, after=after)


def _readable_area(ctx: RequestContext) -> ColumnElement[bool]:
    return area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)


async def create_service_contract(ctx: RequestContext, *, firm_id: uuid.UUID, compound_id: uuid.UUID,
                                  valid_from: date, valid_until: date | None) -> ServiceContract:
    firm = await _firm(ctx, firm_id, "firmId")
    compound: Area | None = await ctx.db.scalar(select(Area).where(Area.id == compound_id, _readable_area(ctx)))
    if compound is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("小区不存在", "compound not found"), "compoundId")
    if not ctx.actor.grant("property_firm", "manage").all:
        raise _forbidden("物业服务合同")
    errors = FieldErrors()
    if compound.kind is not AreaKind.COMPOUND:
        errors.add(ErrorCode.INVALID, t("服务合同针对小区", "a service contract is for a compound"),
                                "compoundId")
    if compound.archived_at is not None:
        errors.add(ErrorCode.INVALID, t("该小区已归档", "the compound is archived"), "compoundId")
    if valid_until is not None and valid_until < valid_from:
        errors.add(ErrorCode.INVALID, t("截止日期不能早于开始日期", "validUntil is before validFrom"),
                                "validUntil")
    errors.raise_if_any()
    overlap = await ctx.db.scalar(select(ServiceContract.id).where(
        ServiceContract.firm_id == firm.id, ServiceContract.compound_id == compound.id,
        or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= valid_from),
        *(() if valid_until is None else (ServiceContract.valid_from <= valid_until,))))
    if overlap is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该公司在这段时间已有该小区的服务合同",
                                                 "the firm has a contract for the compound in that period"),
                           "validFrom")
    contract = ServiceContract(firm_id=firm.id, compound_id=compound.id, valid_from=valid_from,
                               valid_until=valid_until)
    await ctx.db.flush(contract)
    return contract


async def end_service_contract(ctx: RequestContext, contract_id: uuid.UUID, *, valid_until: date) -> ServiceContract:
    contract: ServiceContract | None = await ctx.db.scalar(
        select(ServiceContract).where(ServiceContract.id == contract_id,
                                      ServiceContract.compound_id.in_(select(Area.id).where(_readable_area(ctx)))))
    if contract is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("服务合同不存在", "service contract not found"), "id")
    if not ctx.actor.grant("property_firm", "manage").all:
        raise _forbidden("物业服务合同")
    if valid_until < contract.valid_from:
        raise ServiceError(ErrorCode.INVALID, t("截止日期不能早于开始日期", "validUntil is before validFrom"),
                           "validUntil")
    if contract.valid_until is not None and contract.valid_until <= valid_until:
        raise ServiceError(ErrorCode.INVALID_TRANSITION,
                           t("合同在该日期前已结束", "the contract ends before that already"), "validUntil")
    contract.valid_until = valid_until
    await ctx.db.flush(contract)
    return contract


def service_contract_list_filters(ctx: RequestContext, *, firm_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                                  compound_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                                  on: date | ColumnElement[date] | None) -> list[ColumnElement[bool]]:
    """The service contracts list's rows: of compounds the actor may read, of the firm and compound
    when given, in force on ``on``. The compiled read (compiled/organisations.py) filters with this too,
    with the values as SQL parameters."""
    filters: list[ColumnElement[bool]] = [ServiceContract.compound_id.in_(select(Area.id).where(_readable_area(ctx)))]
    if firm_id is not None:
        filters.append(ServiceContract.firm_id == firm_id)
    if compound_id is not None:
        filters.append(ServiceContract.compound_id == compound_id)
    if on is not None:
        filters += [ServiceContract.valid_from <= on,
                    or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= on)]
    return filters


async def list_service_contracts(ctx: RequestContext, *, firm_id: uuid.UUID | None, compound_id: uuid.UUID | None,
                                 on: date | None, first: int | None, after: str | None) -> Page[ServiceContract]:
    stmt = select(ServiceContract).where(*service_contract_list_filters(ctx, firm_id=firm_id,
                                                                        compound_id=compound_id, on=on))
    return await keyset_page(ctx.db, stmt, ServiceContract.id, first=first, after=after)


async def firm_serves(ctx: RequestContext, firm_id: uuid.UUID, area_path: str, on: date) -> bool:
    """Whether the firm has a contract in force on ``on`` for the compound at or above ``area_path``
    (dispatch checks it: a case goes only to a firm serving its compound that day)."""
    ids = [uuid.UUID(hex=s) for s in area_path.strip("/").split("/") if s]
    found = await ctx.db.scalar(select(ServiceContract.id).where(
        ServiceContract.firm_id == firm_id, ServiceContract.compound_id.in_(ids), ServiceContract.valid_from <= on,
        or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= on)).limit(1))
    return found is not None


# ---------------------------------------------------------------- party organisations


async def _managed_area(ctx: RequestContext, resource: str, area_id: uuid.UUID, field: str) -> Area:
    area: Area | None = await ctx.db.scalar(select(Area).where(Area.id == area_id, _readable_area(ctx)))
    if area is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), field)
    grant = ctx.actor.grant(resource, "manage")
    if not grant or await ctx.db.scalar(select(Area.id).where(Area.id == area.id,
                                                              area_manage_predicate(grant))) is None:
        raise _forbidden("该区域的组织")
    return area


# The area an organisation is managed on, checked the same way for every organisation of the tree.
managed_area = _managed_area


@dataclass
class PartyOrgFields:
    name: str
    kind: PartyOrgKind
    area_id: uuid.UUID
    parent_id: uuid.UUID | None = None


async def create_party_org(ctx: RequestContext, f: PartyOrgFields) -> PartyOrg:
    area = await _managed_area(ctx, "party_org", f.area_id, "areaId")
    errors = FieldErrors()
    name = errors.check(v.text, f.name, "name", max_len=100) or ""
    if area.kind not in PARTY_ORG_AREAS[f.kind]:
        errors.add(ErrorCode.INVALID_PARENT, t(f"{f.kind.value} 不能设在 {area.kind.value}",
                                                            f"a {f.kind.value} does not sit on a {area.kind.value}"),
                                "areaId")
    parent: PartyOrg | None = None
    if f.parent_id is not None:
        parent = await ctx.db.scalar(select(PartyOrg).where(
            PartyOrg.id == f.parent_id, PartyOrg.area_id.in_(select(Area.id).where(_readable_area(ctx)))))
        if parent is None:
            errors.add(ErrorCode.NOT_FOUND, t("上级党组织不存在", "parent party organisation not found"),
                                    "parentId")
        else:
            parent_path = await ctx.db.scalar(select(Area.path).where(Area.id == parent.area_id))
            if parent_path is None or not area.path.startswith(parent_path):
                errors.add(ErrorCode.INVALID_PARENT, t("上级党组织应在其上级区域",
                                                                    "the parent organisation sits above it"),
                                        "parentId")
    errors.raise_if_any()
    if await ctx.db.scalar(select(PartyOrg.id).where(PartyOrg.area_id == area.id, PartyOrg.name == name)):
        raise ServiceError(ErrorCode.DUPLICATE_NAME,
                           t("该区域已有同名党组织", "a party organisation of that name exists there"), "name")
    org = PartyOrg(name=name, kind=f.kind, area_id=area.id, parent_id=None if parent is None else parent.id)
    await ctx.db.flush(org)
    return org


async def add_party_org_member(ctx: RequestContext, *, party_org_id: uuid.UUID, person_id: uuid.UUID,
                               role: PartyOrgRole, joined_on: date | None) -> PartyOrgMember:
    org: PartyOrg | None = await ctx.db.scalar(select(PartyOrg).where(
        PartyOrg.id == party_org_id, PartyOrg.area_id.in_(select(Area.id).where(_readable_area(ctx)))))
    if org is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("党组织不存在", "party organisation not found"), "partyOrgId")
    person = await ctx.db.scalar(select(Person).where(
        Person.id == person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    await _managed_area(ctx, "party_org", org.area_id, "partyOrgId")
    if await ctx.db.scalar(select(PartyOrgMember.id).where(PartyOrgMember.party_org_id == org.id,
                                                           PartyOrgMember.person_id == person.id)):
        raise ServiceError(ErrorCode.CONFLICT, t("已是该党组织成员", "already a member"), "personId")
    member = PartyOrgMember(party_org_id=org.id, person_id=person.id, role=role, joined_on=joined_on)
    if not person.party_member:
        person.party_member = True
        await ctx.db.flush(person)
    await ctx.db.flush(member)
    return member


def party_org_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None
                           ) -> list[ColumnElement[bool]]:
    """The party organisations list's rows: on areas the actor may read, inside the area's path when
    one is given (the compiled read's too, with the path a subquery)."""
    filters: list[ColumnElement[bool]] = [PartyOrg.area_id.in_(select(Area.id).where(_readable_area(ctx)))]
    if area_path is not None:
        filters.append(PartyOrg.area_id.in_(select(Area.id).where(Area.path.startswith(area_path))))
    return filters


async def list_party_orgs(ctx: RequestContext, *, area_id: uuid.UUID | None, first: int | None,
                          after: str | None) -> Page[PartyOrg]:
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(PartyOrg).where(*party_org_list_filters(ctx, area_path=path))
    return await keyset_page(ctx.db, stmt, PartyOrg.id, first=first, after=after)


# ---------------------------------------------------------------- owner committees


async def create_owner_committee(ctx: RequestContext, *, compound_id: uuid.UUID, name: str, chair_name: str,
                                 chair_person_id: uuid.UUID | None, term_start: date,
                                 term_end: date) -> OwnerCommittee:
    compound = await _managed_area(ctx, "owner_committee", compound_id, "compoundId")
    errors = FieldErrors()
    if compound.kind is not AreaKind.COMPOUND:
        errors.add(ErrorCode.INVALID, t("业委会属于小区", "an owner committee is a compound's"),
                                "compoundId")
    clean_name = errors.check(v.text, name, "name", max_len=100) or ""
    clean_chair = errors.check(v.text, chair_name, "chairName", max_len=50) or ""
    if term_end <= term_start:
        errors.add(ErrorCode.INVALID, t("任期结束应晚于开始", "termEnd must be after termStart"),
                                "termEnd")
    if chair_person_id is not None and await ctx.db.scalar(select(Person.id).where(
            Person.id == chair_person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor))) is None:
        errors.add(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "chairPersonId")
    errors.raise_if_any()
    clash = await ctx.db.scalar(select(OwnerCommittee.id).where(
        OwnerCommittee.compound_id == compound.id, OwnerCommittee.term_start < term_end,
        OwnerCommittee.term_end > term_start))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该小区在这段任期已有业委会",
                                                 "the compound has an owner committee in that term"), "termStart")
    committee = OwnerCommittee(compound_id=compound.id, name=clean_name, chair_name=clean_chair,
                               chair_person_id=chair_person_id, term_start=term_start, term_end=term_end)
    await ctx.db.flush(committee)
    return committee


def owner_committee_list_filters(ctx: RequestContext, *,
                                 compound_id: uuid.UUID | ColumnElement[uuid.UUID] | None
                                 ) -> list[ColumnElement[bool]]:
    """The owner committees list's rows: of compounds the actor may read, of the compound when given."""
    filters: list[ColumnElement[bool]] = [OwnerCommittee.compound_id.in_(select(Area.id).where(_readable_area(ctx)))]
    if compound_id is not None:
        filters.append(OwnerCommittee.compound_id == compound_id)
    return filters


async def list_owner_committees(ctx: RequestContext, *, compound_id: uuid.UUID | None, first: int | None,
                                after: str | None) -> Page[OwnerCommittee]:
    stmt = select(OwnerCommittee).where(*owner_committee_list_filters(ctx, compound_id=compound_id))
    return await keyset_page(ctx.db, stmt, OwnerCommittee.id, first=first, after=after)
