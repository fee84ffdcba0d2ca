"""The compiled cases list's filters and order (issue #23): the arguments of ``cases`` as SQL
predicates, with the general path's checks — a value the resolvers would refuse raises Unsupported and
the request takes the general path, which answers the error (split from compiled/fields.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    cast,
    false,
    or_,
    select,
    true,
)

from compiled.compiler import (
    Compiler,
    Sel,
    Unsupported,
)
from compiled.sql import lit
from models import (
    Area,
    AreaKind,
    Case,
    CasePriority,
    CaseSource,
    HandlerKind,
)
from policies.cases import case_in_area
from resolvers import validation as v
from resolvers.cases import CaseOrder
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id

AREA_TYPE_OF = {AreaKind.STREET: "Street", AreaKind.COMMUNITY: "Community", AreaKind.ZONE: "Zone",
                AreaKind.COMPOUND: "Compound", AreaKind.GRID: "Grid", AreaKind.BUILDING: "Building"}
AREA_KIND_OF = {v: k for k, v in AREA_TYPE_OF.items()}


def area_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        type_name, id_ = decode_global_id(str(a["areaId"]))
    except ServiceError:
        raise Unsupported("bad id") from None
    if type_name not in AREA_KIND_OF:
        raise Unsupported("not an area")
    return id_


def case_order(a: dict[str, Any]) -> CaseOrder:
    return CaseOrder(a.get("order") or CaseOrder.NEWEST)


def _reported(a: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The reported window as the resolvers check it (zones, order); a bad one is theirs to refuse."""
    start, end = a.get("reportedFrom"), a.get("reportedBefore")
    try:
        v.period_filter(Case.created_at, start, end, ("reportedFrom", "reportedBefore"))
    except ServiceError:
        raise Unsupported("bad period") from None
    return start, end


def _text_pattern(a: dict[str, Any]) -> str:
    """cases(text:) as a LIKE pattern with "/" escaping, as the resolvers' contains(autoescape=True)."""
    try:
        term = v.text(a["text"], "text", max_len=50)
    except ServiceError:
        raise Unsupported("bad text") from None
    return "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _firm_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["handlerFirmId"]), "PropertyFirm", "handlerFirmId").id
    except ServiceError:
        raise Unsupported("bad id") from None


def _partner_unit_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["handlerPartnerUnitId"]), "PartnerUnit", "handlerPartnerUnitId").id
    except ServiceError:
        raise Unsupported("bad id") from None


def case_filters(cx: Compiler, sel: Sel) -> list[ColumnElement[bool]]:
    """The filters of cases(…) the resolvers apply (resolvers.cases.reads.list_cases), in the same terms."""
    filters: list[ColumnElement[bool]] = []
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("fa")
        path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                .scalar_subquery())
        cx.guards.append(path.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        filters.append(case_in_area(cast(path, Text)))  # type: ignore[arg-type]  # a path expression, not a text
    if cx.shape(sel, lambda a: bool(a.get("assignedToMe"))):
        firms = [x.firm_id for x in cx.ctx.actor.assignments if x.firm_id is not None]  # the actor is in the key
        filters.append(Case.handler_firm_id.in_(firms))
    flagged = cx.shape(sel, lambda a: a.get("closureFlagged"))
    if flagged is not None:
        filters.append(Case.closure_flagged.is_(true() if flagged else false()))
    sources = cx.shape(sel, lambda a: tuple(CaseSource(x).value for x in a.get("sources") or ()))
    if sources:
        filters.append(Case.source.in_([lit(x) for x in sources]))
    if cx.shape(sel, lambda a: a.get("externalTicketNo") is not None):
        number = cx.param(sel, lambda a: str(a["externalTicketNo"]).strip(), "text")
        filters.append(and_(Case.external_ticket_no == number, case_read_predicate(cx.ctx, public=False)))
    start, end = cx.shape(sel, lambda a: tuple(x is not None for x in _reported(a)))
    if start:
        filters.append(Case.created_at >= cx.param(sel, lambda a: _reported(a)[0], "timestamptz"))
    if end:
        filters.append(Case.created_at < cx.param(sel, lambda a: _reported(a)[1], "timestamptz"))
    priorities = cx.shape(sel, lambda a: tuple(CasePriority(x).value for x in a.get("priorities") or ()))
    if priorities:
        filters.append(Case.priority.in_([lit(x) for x in priorities]))
    kind = cx.shape(sel, lambda a: None if a.get("handlerKind") is None else HandlerKind(a["handlerKind"]).value)
    if kind is not None:
        filters.append(Case.handler_kind == lit(kind))
    if cx.shape(sel, lambda a: a.get("handlerFirmId") is not None):
        filters.append(Case.handler_firm_id == cx.param(sel, _firm_uuid, "uuid"))
    if cx.shape(sel, lambda a: a.get("handlerPartnerUnitId") is not None):
        filters.append(Case.handler_partner_id == cx.param(sel, _partner_unit_uuid, "uuid"))
    if cx.shape(sel, lambda a: a.get("text") is not None):
        pattern = cx.param(sel, _text_pattern, "text")
        filters.append(or_(Case.title.like(pattern, escape="/"),
                           and_(Case.description.like(pattern, escape="/"), case_read_predicate(cx.ctx, public=False))))
    return filters


# NO_TIME as the compiled SQL writes it (a constant: no parameter).
