"""The compiled in-service party members list (双报到党员, issue #21): ``inserviceMembers(communityId:,
partnerUnitId:, first:, after:)`` in one statement, like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.cobuilding.inservice_member_list_filters`` (inservice ·
read, of the community and the unit asked), ordered by id. The fields are the strawberry type's: the
person as the person loader reads them (person · read) and then by the compiled Person fields, so
their personal data is masked and a full read audited by the one rule of ``compiled.fields``; the
community under the area predicate (the area loader's); the partner unit by id (its loader has no
predicate), without its contact phone (masked in Python) or clients, which take the general path."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported, given_id
from compiled.fields import CONNECTION, EDGE, area_by_id, column, connection
from compiled.sorted_lists import float_json
from compiled.sql import gid
from models import InServiceMember, PartnerUnit, Person, ServiceKind
from policies.filters import person_predicate
from resolvers.cobuilding import inservice_member_list_filters, inservice_summary_counts, inservice_summary_members


def inservice_members(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    filters = inservice_member_list_filters(cx.ctx, community_id=given_id(cx, sel, "communityId", "Community"),
                                            partner_unit_id=given_id(cx, sel, "partnerUnitId", "PartnerUnit"))
    stmt = select(InServiceMember.__table__).where(InServiceMember.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, InServiceMember.id, descending=False, node_type="InServiceMember")


def _person(cx: Compiler, m: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id: the person if the actor may read them (person · read)."""
    pa = aliased(Person, name="ip")
    p = sa_inspect(pa).selectable
    return (select(cx.sub("Person", s, p)).select_from(p)
            .where(p.c.tenant_id == cx.tenant_id, p.c.id == m.c.person_id,
                   person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
            .correlate_except(p).scalar_subquery())


def _partner_unit(cx: Compiler, m: Any, s: Sel) -> ColumnElement[Any]:
    """partner_unit_by_id: the unit by id; none for a work unit that is no partner unit. (PartnerUnit's fields
    are compiled/cobuilding.py's: one table per type.)"""
    u = PartnerUnit.__table__.alias("pu")
    unit = (select(cx.sub("PartnerUnit", s, u)).select_from(u)
            .where(u.c.tenant_id == cx.tenant_id, u.c.id == m.c.partner_unit_id).correlate_except(u)
            .scalar_subquery())
    return case((m.c.partner_unit_id.is_(None), null()), else_=unit)


INSERVICE_MEMBER: FieldTable = {
    "id": lambda _cx, m, _s: gid("InServiceMember", m.c.id),
    "person": _person,
    "community": lambda cx, m, s: area_by_id(cx, s, m.c.community_id),
    "workUnitName": column("work_unit_name"),
    "partnerUnit": _partner_unit,
    "registeredOn": column("registered_on"),
}
def _period_ok(a: dict[str, Any]) -> bool:
    if not isinstance(a["from"], date) or not isinstance(a["to"], date) or a["to"] < a["from"]:
        raise Unsupported("period")  # the resolvers' INVALID
    return True


def inservice_summary(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cobuilding.inservice_summary for staff (a partner's document is declined by compiled.plans):
    the members it counts (``inservice_summary_members``) and their services of the period by kind
    (``inservice_summary_counts``), in one statement. No unit named is the resolvers' INVALID."""
    cx.shape(sel, _period_ok)
    unit = given_id(cx, sel, "partnerUnitId", "PartnerUnit")
    if unit is None:
        raise Unsupported("no unit")
    members_of = inservice_summary_members(cx.ctx.actor, unit)
    members = (select(func.count()).select_from(InServiceMember)
               .where(InServiceMember.tenant_id == cx.tenant_id, *members_of).scalar_subquery())
    rows = inservice_summary_counts(members_of, cx.param(sel, lambda a: a["from"], "date"),
                                    cx.param(sel, lambda a: a["to"], "date")).subquery("services")
    summary = select(members.label("members"), func.coalesce(func.sum(rows.c.n), 0).label("records"),
                     func.coalesce(func.sum(rows.c.hours), 0).label("hours"),
                     func.coalesce(func.sum(rows.c.n).filter(rows.c.kind == ServiceKind.WISH), 0).label("wishes"),
                     func.coalesce(func.sum(rows.c.n).filter(rows.c.kind == ServiceKind.ACTIVITY), 0)
                     .label("activities")).select_from(rows).subquery("summary")
    return select(cx.sub("InServiceSummary", sel, summary)).select_from(summary).scalar_subquery()


INSERVICE_SUMMARY: FieldTable = {
    "members": column("members"),
    "records": column("records"),
    # Decimal(sum).quantize(0.01) then float: the sum of numeric(6, 2) has two places already; float8's
    # text is Python's repr but for the point (float_json).
    "hours": lambda _cx, r, _s: float_json(cast(r.c.hours, Float)),
    "wishes": column("wishes"),
    "activities": column("activities"),
}

TABLES: dict[str, FieldTable] = {"Query": {"inserviceMembers": inservice_members,
                                           "inserviceSummary": inservice_summary},
                                 "InServiceSummary": INSERVICE_SUMMARY,
                                 "InServiceMember": INSERVICE_MEMBER,
                                 "InServiceMemberConnection": CONNECTION, "InServiceMemberEdge": EDGE}
