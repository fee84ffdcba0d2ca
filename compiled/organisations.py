"""The compiled organisation lists of the register (issue #21): ``serviceContracts``, ``partyOrgs``,
``ownerCommittees``, ``selfGoverningUnits`` and ``centralHouseholds``, each in one statement like the
notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.register.*_list_filters`` (on areas the actor may read;
the firm, compound, group or kind asked; in force on a day; inside an area's path), here with the ids
and the day as parameters and the area's path read by a subquery — under the area read predicate
where the resolvers read it so (zones, groups, central households), by id alone where they do not
(party organisations); an unknown area is their NOT_FOUND, so the statement yields NULL and strawberry
answers. Ordered by id, with the cursors and page of every other keyset list. The fields are those of
the strawberry types: dates as their ISO text, enums by name, each area read under the area predicate
(the area loader's), a firm by id (the firm loader's, which has no predicate)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Text, case, cast, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, given_id
from compiled.fields import CONNECTION, EDGE, area_by_id, column, connection, enum_of
from compiled.sql import gid, lit
from models import (
    Area,
    CentralHousehold,
    OwnerCommittee,
    PartyOrg,
    PartyOrgKind,
    PropertyFirm,
    SelfGoverningKind,
    SelfGoverningUnit,
    ServiceContract,
)
from policies.filters import area_read_predicate
from resolvers.register import (
    central_household_list_filters,
    owner_committee_list_filters,
    party_org_list_filters,
    self_governing_unit_list_filters,
    service_contract_list_filters,
)


def _area_path(cx: Compiler, sel: Sel, *, readable: bool) -> ColumnElement[str] | None:
    """The path of the area asked (areaId), by a subquery; None when none was asked. Its absence is
    the resolvers' NOT_FOUND (a guard). ``readable``: looked up under the area read predicate."""
    if not cx.shape(sel, lambda a: a.get("areaId") is not None):
        return None
    aa = aliased(Area, name="oa")
    ar = sa_inspect(aa).selectable
    found = select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
    if readable:
        found = found.where(area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, aa))
    path = found.scalar_subquery()
    cx.guards.append(path.is_not(None))
    return cast(path, Text)


def _on(a: dict[str, Any]) -> str:
    on = a["on"]
    assert isinstance(on, date)
    return on.isoformat()


def service_contracts(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    on = None
    if cx.shape(sel, lambda a: a.get("on") is not None):
        on = cast(cx.param(sel, _on, "text"), Date)
    filters = service_contract_list_filters(cx.ctx, firm_id=given_id(cx, sel, "firmId", "PropertyFirm"),
                                            compound_id=given_id(cx, sel, "compoundId", "Compound"), on=on)
    stmt = select(ServiceContract.__table__).where(ServiceContract.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, ServiceContract.id, descending=False, node_type="ServiceContract")


def party_orgs(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    # list_party_orgs looks the area up by id alone (any area of the tenant)
    filters = party_org_list_filters(cx.ctx, area_path=_area_path(cx, sel, readable=False))
    stmt = select(PartyOrg.__table__).where(PartyOrg.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, PartyOrg.id, descending=False, node_type="PartyOrg")


def owner_committees(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    filters = owner_committee_list_filters(cx.ctx, compound_id=given_id(cx, sel, "compoundId", "Compound"))
    stmt = select(OwnerCommittee.__table__).where(OwnerCommittee.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, OwnerCommittee.id, descending=False, node_type="OwnerCommittee")


def self_governing_units(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = _area_path(cx, sel, readable=True)  # the resolvers' _area_path reads it under the predicate
    kind = cx.shape(sel, lambda a: None if a.get("kind") is None else SelfGoverningKind(a["kind"]).value)
    filters = self_governing_unit_list_filters(cx.ctx, area_path=path, kind=None if kind is None else lit(kind))
    stmt = select(SelfGoverningUnit.__table__).where(SelfGoverningUnit.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, SelfGoverningUnit.id, descending=False, node_type="SelfGoverningUnit")


def central_households(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = _area_path(cx, sel, readable=True)
    filters = central_household_list_filters(cx.ctx, area_path=path,
                                             unit_id=given_id(cx, sel, "unitId", "SelfGoverningUnit"))
    stmt = select(CentralHousehold.__table__).where(CentralHousehold.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, CentralHousehold.id, descending=False, node_type="CentralHousehold")


def _firm(cx: Compiler, row: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.by_id(PropertyFirm): the firm by id, no predicate."""
    f = PropertyFirm.__table__.alias("fm")
    return (select(cx.sub("PropertyFirm", s, f)).select_from(f)
            .where(f.c.tenant_id == cx.tenant_id, f.c.id == row.c.firm_id).correlate_except(f).scalar_subquery())


def _gid_or_null(type_name: str, col: str) -> Any:
    return lambda _cx, r, _s: case((r.c[col].is_(None), null()), else_=gid(type_name, r.c[col]))


SERVICE_CONTRACT: FieldTable = {
    "id": lambda _cx, r, _s: gid("ServiceContract", r.c.id),
    "firm": _firm,
    "compound": lambda cx, r, s: area_by_id(cx, s, r.c.compound_id),
    "validFrom": column("valid_from"),
    "validUntil": column("valid_until"),
}
PARTY_ORG: FieldTable = {
    "id": lambda _cx, r, _s: gid("PartyOrg", r.c.id),
    "name": column("name"),
    "kind": enum_of("kind", PartyOrgKind),
    "area": lambda cx, r, s: area_by_id(cx, s, r.c.area_id),
    "parentId": _gid_or_null("PartyOrg", "parent_id"),
}
OWNER_COMMITTEE: FieldTable = {
    "id": lambda _cx, r, _s: gid("OwnerCommittee", r.c.id),
    "name": column("name"),
    "chairName": column("chair_name"),
    "compound": lambda cx, r, s: area_by_id(cx, s, r.c.compound_id),
    "termStart": column("term_start"),
    "termEnd": column("term_end"),
}
SELF_GOVERNING_UNIT: FieldTable = {
    "id": lambda _cx, r, _s: gid("SelfGoverningUnit", r.c.id),
    "name": column("name"),
    "kind": enum_of("kind", SelfGoverningKind),
    "area": lambda cx, r, s: area_by_id(cx, s, r.c.area_id),
    "parentId": _gid_or_null("SelfGoverningUnit", "parent_id"),
}
CENTRAL_HOUSEHOLD: FieldTable = {
    "id": lambda _cx, r, _s: gid("CentralHousehold", r.c.id),
    "unitId": lambda _cx, r, _s: gid("SelfGoverningUnit", r.c.unit_id),
    "householdId": lambda _cx, r, _s: gid("Household", r.c.household_id),
    "personId": lambda _cx, r, _s: gid("Person", r.c.person_id),
    "appointedOn": column("appointed_on"),
}

# What compiled.fields adds to its FIELDS: the Query fields and the types they reach.
TABLES: dict[str, FieldTable] = {
    "Query": {"serviceContracts": service_contracts, "partyOrgs": party_orgs, "ownerCommittees": owner_committees,
              "selfGoverningUnits": self_governing_units, "centralHouseholds": central_households},
    "ServiceContract": SERVICE_CONTRACT, "PartyOrg": PARTY_ORG,  # PropertyFirm: compiled/settings.py's
    "OwnerCommittee": OWNER_COMMITTEE, "SelfGoverningUnit": SELF_GOVERNING_UNIT,
    "CentralHousehold": CENTRAL_HOUSEHOLD,
    **{f"{t}Connection": CONNECTION for t in ("ServiceContract", "PartyOrg", "OwnerCommittee", "SelfGoverningUnit",
                                              "CentralHousehold")},
    **{f"{t}Edge": EDGE for t in ("ServiceContract", "PartyOrg", "OwnerCommittee", "SelfGoverningUnit",
                                  "CentralHousehold")},
}
