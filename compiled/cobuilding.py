"""Compiled reads of co-building (共驻共建, issue #21): the staff's ``agreements`` list, and a partner
system's own agreements in force (``myAgreements``, ``myAgreementsConnection``), the activities and the
wishes they share (``sharedActivities``; ``sharedWishes``, by ``shared_wish_predicate``) and its unit's desk
(``assignedCases``, issue #22) — as the resolvers answer them, with their own predicates:
``agreement_read_predicate`` (a covered community in the agreement·read scope), ``active_on`` (the one
in-force rule: active, the request's local day inside the validity),
``agreement_reach`` (the community paths an agreement in force shares a resource·action with this
partner actor, read on every request: ``compiled.plans`` keys a partner's plan by them) and
``resolvers.cases.assigned_predicate`` (the desk's cases). An argument the resolvers would refuse raises
Unsupported: the general path answers with its typed error.

``PARTNER_ROOTS`` are the root fields a partner actor may be answered here (``compiled.plans`` declines
a partner's document that selects any other); ``TABLES`` is what ``compiled.fields`` adds to ``FIELDS``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, case, func, null, select, values
from sqlalchemy import column as sa_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.case_filters import late
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_obj, column, connection, enum_of, timestamp
from compiled.fields import _category_name as category_name
from compiled.sorted_lists import node_fields
from compiled.sql import enum_name, gid, iso, json_list, lit
from models import (
    Activity,
    ActivityState,
    Agreement,
    AgreementCommunity,
    AgreementStatus,
    Area,
    AreaKind,
    Case,
    CasePriority,
    CaseStage,
    CaseState,
    PartnerUnit,
    Wish,
    WishState,
)
from policies.cobuilding import active_on, agreement_reach, agreement_read_predicate, local_date, under
from policies.filters import area_read_predicate
from resolvers.cases import assigned_predicate
from resolvers.cobuilding import LIANCHUANG, shared_wish_predicate
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from schema.cobuilding import AgreementGrant
from schema.cobuilding import PartnerUnit as PartnerUnitType

# What a partner actor may be answered by the compiled path: these root fields and nothing else.
PARTNER_ROOTS = frozenset({"myAgreements", "myAgreementsConnection", "sharedActivities", "sharedWishes",
                           "assignedCases", "sharedStatistics", "unitNotifications"})


def _id_of(name: str, type_name: str) -> Callable[[dict[str, Any]], uuid.UUID | None]:
    """An ID argument as schema.common.decode_id reads it: of ``type_name``, else the resolvers' error."""
    def read(a: dict[str, Any]) -> uuid.UUID | None:
        if a.get(name) is None:
            return None
        try:
            kind, value = decode_global_id(str(a[name]))
        except ServiceError:
            raise Unsupported("bad id") from None
        if kind != type_name:
            raise Unsupported(f"not a {type_name}'s id")
        return value
    return read


def _today(cx: Compiler) -> ColumnElement[date]:
    """The request's local day (policies.cobuilding.local_date), a parameter read afresh each request."""
    return cx.slot(lambda b: local_date(b.ctx.now), "date")


# ---------------------------------------------------------------- the staff's agreements


def agreements(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cobuilding.list_agreements in SQL."""
    filters = [Agreement.tenant_id == cx.tenant_id, agreement_read_predicate(cx.ctx.actor.grant("agreement", "read"))]
    unit = _id_of("partnerUnitId", "PartnerUnit")
    if cx.shape(sel, lambda a: unit(a) is not None):
        filters.append(Agreement.partner_unit_id == cx.param(sel, unit, "uuid"))
    community = _id_of("communityId", "Community")
    if cx.shape(sel, lambda a: community(a) is not None):
        filters.append(Agreement.id.in_(select(AgreementCommunity.agreement_id).where(
            AgreementCommunity.tenant_id == cx.tenant_id,
            AgreementCommunity.community_id == cx.param(sel, community, "uuid"))))
    statuses = cx.shape(sel, lambda a: tuple(AgreementStatus(x).value for x in a.get("statuses") or ()))
    if statuses:
        filters.append(Agreement.status.in_([lit(x) for x in statuses]))
    if cx.shape(sel, lambda a: a.get("activeOn") is not None):
        filters.append(active_on(cx.param(sel, lambda a: a["activeOn"], "date")))
    stmt = select(Agreement.__table__).where(*filters)
    return connection(cx, sel, stmt, Agreement.id, descending=True, node_type="Agreement")


def _communities(cx: Compiler, ag: Any, s: Sel) -> ColumnElement[Any]:
    """Agreement.communities: loaders.communities_by_agreement (by name), then each area as the area
    loader reads it (area·read; one it may not read is left out)."""
    aa = aliased(Area, name="ca")
    a = sa_inspect(aa).selectable
    ac = AgreementCommunity.__table__.alias("acm")
    pred = area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, aa)
    return (select(json_list(area_obj(cx, s, a), a.c.name)).select_from(ac)
            .join(a, and_(a.c.tenant_id == ac.c.tenant_id, a.c.id == ac.c.community_id))
            .where(ac.c.tenant_id == cx.tenant_id, a.c.tenant_id == cx.tenant_id, ac.c.agreement_id == ag.c.id, pred)
            .correlate_except(ac, a).scalar_subquery())


def _community_refs(cx: Compiler, ag: Any, s: Sel) -> ColumnElement[Any]:
    """PartnerAgreement.communities: loaders.communities_by_agreement (by name) as CommunityRef."""
    a = Area.__table__.alias("cr")
    ac = AgreementCommunity.__table__.alias("acr")
    return (select(json_list(cx.sub("CommunityRef", s, a), a.c.name)).select_from(ac)
            .join(a, and_(a.c.tenant_id == ac.c.tenant_id, a.c.id == ac.c.community_id))
            .where(ac.c.tenant_id == cx.tenant_id, a.c.tenant_id == cx.tenant_id, ac.c.agreement_id == ag.c.id)
            .correlate_except(ac, a).scalar_subquery())


def _elements(col: Any, alias: str) -> Any:
    """A JSON array column's texts, numbered in their order."""
    return func.json_array_elements_text(col).table_valued("value", with_ordinality="ord").render_derived(alias)


def _areas(cx: Compiler, ag: Any, s: Sel) -> ColumnElement[Any]:
    """The 六联创 areas: each stored code with its name from resolvers.cobuilding.LIANCHUANG."""
    e = _elements(ag.c.areas, "la")
    return select(json_list(cx.sub("LianchuangArea", s, e), e.c.ord)).select_from(e).scalar_subquery()


def _shared_data(_cx: Compiler, ag: Any, _s: Sel) -> ColumnElement[Any]:
    """schema.cobuilding.grants_of: the stored grants as the enum's names, unknown values left out."""
    e = _elements(ag.c.grants, "sd")
    name = case(*[(e.c.value == lit(g.value), lit(g.name)) for g in AgreementGrant], else_=null())
    return select(json_list(name, e.c.ord, name.is_not(None))).select_from(e).scalar_subquery()


def _in_force(cx: Compiler, ag: Any, _s: Sel) -> ColumnElement[Any]:
    """Agreement.inForce: policies.cobuilding.active_on at the request's local day."""
    return active_on(_today(cx), aliased(Agreement, ag))


def _partner_unit(cx: Compiler, ag: Any, s: Sel) -> ColumnElement[Any]:
    """cobuilding loaders.partner_unit_by_id (no predicate of its own: the agreement was readable)."""
    u = PartnerUnit.__table__.alias("pu")
    return (select(cx.sub("PartnerUnit", s, u)).select_from(u)
            .where(u.c.tenant_id == cx.tenant_id, u.c.id == ag.c.partner_unit_id)
            .correlate_except(u).scalar_subquery())


_COMMON: FieldTable = {  # the fields Agreement and PartnerAgreement share, read the same way
    "id": lambda _cx, ag, _s: gid("Agreement", ag.c.id),
    "title": column("title"),
    "grants": column("grants"),
    "sharedData": _shared_data,
    "areas": _areas,
    "validFrom": column("valid_from"),
    "validUntil": column("valid_until"),
}

AGREEMENT: FieldTable = {
    **_COMMON,
    "partnerUnit": _partner_unit,
    "communityParty": column("community_party"),
    "communities": _communities,
    "status": enum_of("status", AgreementStatus),
    "inForce": _in_force,
    "note": column("note"),
    "version": column("version"),
}

# contactPhone is not here (masked unless the actor manages agreements: the general path answers it).
PARTNER_UNIT: FieldTable = {"id": lambda _cx, u, _s: gid("PartnerUnit", u.c.id), **node_fields(PartnerUnitType)}

def lianchuang_areas(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """The schema's lianchuangAreas: resolvers.cobuilding.LIANCHUANG's codes in its order, a constant of
    the code (LIANCHUANG_AREA names them, as an agreement's areas)."""
    v = (values(sa_column("value", Text), sa_column("ord", Integer), name="lca", literal_binds=True)
         .data([(code, i) for i, code in enumerate(LIANCHUANG)]))
    return select(json_list(cx.sub("LianchuangArea", sel, v), v.c.ord)).select_from(v).scalar_subquery()


LIANCHUANG_AREA: FieldTable = {
    "code": lambda _cx, e, _s: e.c.value,
    "name": lambda _cx, e, _s: case(*[(e.c.value == lit(c), lit(n)) for c, n in LIANCHUANG.items()], else_=null()),
}


# ---------------------------------------------------------------- a partner system's views


def _partner(cx: Compiler) -> uuid.UUID:
    """resolvers.cobuilding.shared's _partner_only: a staff actor gets the resolvers' FORBIDDEN."""
    unit = cx.ctx.actor.partner_unit_id
    if unit is None:
        raise Unsupported("a shared view asked by staff")
    return unit


def _my_agreements(cx: Compiler) -> Any:
    """resolvers.cobuilding.shared._my_agreements: the unit's agreements in force at the request's day."""
    return select(Agreement.__table__).where(
        Agreement.tenant_id == cx.tenant_id, Agreement.partner_unit_id == _partner(cx), active_on(_today(cx)))


def my_agreements(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    rows = _my_agreements(cx).subquery("p")
    return select(json_list(cx.sub("PartnerAgreement", sel, rows), rows.c.id)).select_from(rows).scalar_subquery()


def my_agreements_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return connection(cx, sel, _my_agreements(cx), Agreement.id, descending=False, node_type="PartnerAgreement")


def shared_activities(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cobuilding.shared_activities: not cancelled, under the paths sharing activity·read."""
    _partner(cx)
    paths = agreement_reach(cx.ctx.actor, "activity", "read")
    stmt = select(Activity.__table__).where(Activity.tenant_id == cx.tenant_id, under(Activity.area_path, paths),
                                            Activity.state != lit(ActivityState.CANCELLED.value))
    return connection(cx, sel, stmt, Activity.id, descending=True, node_type="SharedActivity")


def shared_wishes(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cobuilding.shared_wishes: shared_wish_predicate (open, or claimed by this client, in a
    building of the communities sharing wish·read), newest first."""
    _partner(cx)
    stmt = select(Wish.__table__).where(Wish.tenant_id == cx.tenant_id, shared_wish_predicate(cx.ctx))
    return connection(cx, sel, stmt, Wish.id, descending=True, node_type="SharedWish")


def _activity_community(cx: Compiler, act: Any, s: Sel) -> ColumnElement[Any]:
    return community_of(cx, act.c.area_id, s)


def community_of(cx: Compiler, area_id: ColumnElement[Any], s: Sel) -> ColumnElement[Any]:
    """cobuilding loaders.community_by_area: the community whose path the area lies under."""
    a = Area.__table__.alias("aa")
    c = Area.__table__.alias("ac")
    return (select(cx.sub("CommunityRef", s, c)).select_from(a)
            .join(c, and_(c.c.tenant_id == a.c.tenant_id, a.c.path.startswith(c.c.path)))
            .where(a.c.tenant_id == cx.tenant_id, c.c.tenant_id == cx.tenant_id, a.c.id == area_id,
                   c.c.kind == lit(AreaKind.COMMUNITY.value))
            .limit(1).correlate_except(a, c).scalar_subquery())


# ---------------------------------------------------------------- a unit's desk (issue #22)


def assigned_cases(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cases.list_assigned_cases: the desk's cases (assigned_predicate), newest first."""
    filters = [Case.tenant_id == cx.tenant_id, assigned_predicate(cx.ctx)]
    states = cx.shape(sel, lambda a: tuple(CaseState(x).value for x in a.get("states") or ()))
    if states:
        filters.append(Case.state.in_([lit(x) for x in states]))
    return connection(cx, sel, select(Case.__table__).where(*filters), Case.id, descending=True,
                      node_type="AssignedCase")


def _requested_due_at(cx: Compiler, c: Any, _s: Sel) -> ColumnElement[Any]:
    """AssignedCase.requestedDueAt: the last open stage's (loaders.stages_by_case, by seq)."""
    st = CaseStage.__table__.alias("st")
    return (select(iso(st.c.requested_due_at)).where(st.c.tenant_id == cx.tenant_id, st.c.case_id == c.c.id,
                                                     st.c.completed_at.is_(None))
            .order_by(st.c.seq.desc()).limit(1).correlate_except(st).scalar_subquery())


ASSIGNED_CASE: FieldTable = {
    "id": lambda _cx, c, _s: gid("Case", c.c.id),
    **{f: column(c) for f, c in (("number", "number"), ("title", "title"), ("description", "description"),
                                 ("category", "category_code"), ("locationText", "location_text"),
                                 ("resolution", "resolution"), ("version", "version"))},
    "categoryName": category_name,
    "priority": enum_of("priority", CasePriority),
    "state": enum_of("state", CaseState),
    "reportedAt": timestamp("created_at"),
    "dispatchedAt": timestamp("dispatched_at"),
    "dueAt": timestamp("due_at"),
    "resolvedAt": timestamp("resolved_at"),
    "overdue": lambda cx, c, _s: late(cx, c.c.state, c.c.due_at),
    "requestedDueAt": _requested_due_at,
}


PARTNER_AGREEMENT: FieldTable = {**_COMMON, "communities": _community_refs}

COMMUNITY_REF: FieldTable = {
    "id": lambda _cx, a, _s: gid("Community", a.c.id),
    "name": column("name"),
}

SHARED_ACTIVITY: FieldTable = {
    "id": lambda _cx, a, _s: gid("Activity", a.c.id),
    **{f: column(c) for f, c in (("title", "title"), ("description", "description"), ("place", "place"),
                                 ("capacity", "capacity"), ("signedUp", "signed_up"),
                                 ("organiserName", "organiser_name"))},
    "startsAt": timestamp("starts_at"),
    "endsAt": timestamp("ends_at"),
    "state": lambda _cx, a, _s: enum_name(a.c.state, ActivityState),
    "community": _activity_community,
}

# No beneficiary, building or person: the shared type has none of them.
SHARED_WISH: FieldTable = {
    "id": lambda _cx, w, _s: gid("Wish", w.c.id),
    "title": column("title"),
    "description": column("description"),
    "state": lambda _cx, w, _s: enum_name(w.c.state, WishState),
    "postedAt": timestamp("created_at"),
    # NULL is not this client: a wish nobody claimed is not claimed by it (False, as the resolver says)
    "claimedByUs": lambda cx, w, _s: w.c.claimant_user_id.is_not_distinct_from(cx.ctx.actor.user_id),
    "community": lambda cx, w, s: community_of(cx, w.c.building_id, s),
    "version": column("version"),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"agreements": agreements, "myAgreements": my_agreements,
              "myAgreementsConnection": my_agreements_connection, "sharedActivities": shared_activities,
              "sharedWishes": shared_wishes, "assignedCases": assigned_cases, "lianchuangAreas": lianchuang_areas},
    "Agreement": AGREEMENT, "AgreementConnection": CONNECTION, "AgreementEdge": EDGE,
    "PartnerUnit": PARTNER_UNIT, "LianchuangArea": LIANCHUANG_AREA,
    "PartnerAgreement": PARTNER_AGREEMENT, "PartnerAgreementConnection": CONNECTION, "PartnerAgreementEdge": EDGE,
    "CommunityRef": COMMUNITY_REF,
    "SharedActivity": SHARED_ACTIVITY, "SharedActivityConnection": CONNECTION, "SharedActivityEdge": EDGE,
    "SharedWish": SHARED_WISH, "SharedWishConnection": CONNECTION, "SharedWishEdge": EDGE,
    "AssignedCase": ASSIGNED_CASE, "AssignedCaseConnection": CONNECTION, "AssignedCaseEdge": EDGE,
}
