"""The compiled cases list's filters and order (issue #23): the arguments of ``cases`` as SQL
predicates, with the general path's checks — a value the resolvers would refuse raises Unsupported and
the request takes the general path, which answers the error (split from compiled/fields.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    Text,
    and_,
    any_,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Select, operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, Grouping, True_
from sqlalchemy.sql.selectable import ScalarSelect, SelectStatementGrouping

from compiled.compiler import (
    Compiler,
    Sel,
    Unsupported,
)
from compiled.sql import indexable, lit
from models import (
    Area,
    AreaKind,
    Case,
    CasePriority,
    CaseSource,
    HandlerKind,
)
from models.cases import overdue_sql
from policies.cases import case_in_area
from policies.filters import BY_PARENT
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
        filters.append(case_in_area(cast(path, Text)))  # a path expression, not a text
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


def _conjuncts(pred: Any) -> list[ColumnElement[bool]]:
    while isinstance(pred, Grouping):
        pred = pred.element
    if isinstance(pred, BooleanClauseList) and pred.operator is operators.and_:
        return [c for x in pred.clauses for c in _conjuncts(x)]
    return [pred]


def areas_of(clause: Any) -> Select[Any] | None:
    """The SELECT of area ids when ``clause`` is ``cases.area_id IN (SELECT …)``, else None."""
    if not (isinstance(clause, BinaryExpression) and clause.operator is operators.in_op
            and getattr(clause.left, "table", None) is Case.__table__ and clause.left.key == "area_id"):
        return None
    right: Any = clause.right
    while isinstance(right, Grouping | SelectStatementGrouping | ScalarSelect):
        right = right.element
    return right if isinstance(right, Select) and len(right.selected_columns) == 1 else None


def among_newest(tenant_id: Any, branches: list[ColumnElement[bool]], where: list[ColumnElement[bool]],
                 limit: int) -> ColumnElement[bool]:
    """A case is among the newest ``limit`` of some branch of the scope (``where`` also holding): the rows the
    open-case page can only come from. As ``id = ANY(ARRAY(…))``: the candidates become one array the page
    reads by primary key; as ``id IN (…)`` the planner chose a hash semi-join that tested the whole scope
    predicate on every open case of the tenant (3,888 rows, ~10 ms, in an office of 15,000 cases). Only the
    newest ``limit`` distinct ids of all branches: each branch's rows meet the page's whole predicate (a branch
    of its scope, its filters), so the page is among them, and the page reads ``limit`` rows by primary key, not
    ``limit`` per branch (op 1: 51 of 153; issue #21)."""
    covered = _subtree_prefixes(branches)
    each = union_all(*[_newest_of_branch(tenant_id, b, where, limit, covered) for b in branches]).subquery("cand")
    ids = select(each.c.id).distinct().order_by(each.c.id.desc()).limit(limit).scalar_subquery()
    return Case.id == any_(func.array(ids, type_=ARRAY(Case.__table__.c.id.type)))


def _subtree_prefixes(branches: list[ColumnElement[bool]]) -> list[Any]:
    """The prefixes of the branches that are a case's path alone (``cases.area_path`` under a given path, no
    escape): a scope's subtree, a resident's compound."""
    out = []
    for branch in branches:
        b: Any = branch
        while isinstance(b, Grouping):
            b = b.element
        if (isinstance(b, BinaryExpression) and b.operator is operators.startswith_op
                and getattr(b.left, "table", None) is Case.__table__ and b.left.key == "area_path"
                and not b.modifiers.get("escape") and not b.modifiers.get("autoescape")):
            out.append(b.right)
    return out


def _outside(tenant_id: Any, area_id: Any, prefixes: list[Any]) -> ColumnElement[bool]:
    """The area ``area_id`` lies under none of ``prefixes`` (by its row in areas; an id without a row is kept)."""
    a = _OUTSIDE_AREA
    return ~exists().where(a.c.tenant_id == tenant_id, a.c.id == area_id,
                           or_(*[func.starts_with(a.c.path, p) for p in prefixes]))


_OUTSIDE_AREA = Area.__table__.alias("covered_area")


def _newest_of_branch(tenant_id: Any, branch: ColumnElement[bool], where: list[ColumnElement[bool]],
                      limit: int, covered: list[Any]) -> Select[Any]:
    """The ids of the newest ``limit`` cases of one branch of a scope (``where`` also holding), for the open-case
    list's candidates (compiled.fields.cases_connection). A branch ``area_id IN (some areas)`` — the buildings a
    grid covers, a compound's areas — is read area by area, each the newest ``limit`` of its own open-case index
    range (ix_cases_open_area: tenant, area, id), then the newest ``limit`` of those: with thousands of open
    cases in a building, the branch as one scan read all of them and sorted them for 21 (issue #21)."""
    conjuncts = _wall_by_areas(tenant_id, _conjuncts(branch))
    pick = next(((c, s) for c in conjuncts if (s := areas_of(c)) is not None), None)
    if pick is None:
        # each conjunct as its scan may read it: a wall branch (on_wall AND a compound's path) took its path as
        # LIKE, which row-level security keeps out of the index, so a resident's wall candidates read every open
        # case of the tenant (18,808 at scale 0.1, 12,442 buffers, 23 ms) for the compound's 129 (issue #21)
        return (select(Case.id).where(Case.tenant_id == tenant_id, *[indexable(c) for c in conjuncts], *where)
                .order_by(Case.id.desc()).limit(limit))
    clause, areas_select = pick
    # the same areas by index probes where the policy says how (policies.filters.grid_compound_ids_by_parent)
    areas_select = areas_select.get_execution_options().get(BY_PARENT, areas_select)
    areas = areas_select.distinct().subquery()
    if covered:
        # An area under a branch that is a path prefix alone (a secretary's community: its grids' buildings,
        # the compounds they touch and those compounds' walls all lie in it) holds only cases of that branch —
        # a case's area_path is its area's path (set at report and import, moved with its area by moveArea,
        # resolvers/register/area_moves.py) — whose newest ``limit`` that branch's own scan gives already: the
        # per-area scans are kept for the areas outside it (bench.secretary op1 s0.1: 100 area scans reading
        # 3,078 open cases, 2,895 buffers, for none the subtree's scan did not give; issue #21).
        areas = select(areas.c[0]).where(_outside(tenant_id, areas.c[0], covered)).subquery()
    rest = [indexable(c) for c in conjuncts if c is not clause]
    newest = (select(Case.id).where(Case.tenant_id == tenant_id, Case.area_id == areas.c[0], *rest, *where)
              .order_by(Case.id.desc()).limit(limit).correlate(areas).lateral())
    return select(newest.c.id).select_from(areas).join(newest, true()).order_by(newest.c.id.desc()).limit(limit)


def _wall_by_areas(tenant_id: Any, conjuncts: list[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """A wall branch by path (``on_wall IS TRUE`` and ``area_path`` under a compound's path: a resident's wall) with
    its path as the areas under it, ``area_id IN (…)``: read area by area, its open cases come from the open wall
    cases' index (ix_cases_open_wall, 0061), where the path index read every case of the compound, closed and off
    the wall included (bench s0.1, bench.resident: 1,014 rows for 129, 1,108 buffers; issue #21). The same cases:
    a case's area_path is its area's path (see ``_newest_of_branch``). Other branches are as given."""
    prefixes = _subtree_prefixes(conjuncts)
    if len(prefixes) != 1 or not any(_on_wall(c) for c in conjuncts):
        return conjuncts
    a = _WALL_AREA
    areas = select(a.c.id).where(a.c.tenant_id == tenant_id, func.starts_with(a.c.path, prefixes[0]))
    return [Case.area_id.in_(areas) if _subtree_prefixes([c]) else c for c in conjuncts]


def _on_wall(clause: Any) -> bool:
    while isinstance(clause, Grouping):
        clause = clause.element
    return (isinstance(clause, BinaryExpression) and clause.operator is operators.is_
            and getattr(clause.left, "table", None) is Case.__table__ and clause.left.key == "on_wall"
            and isinstance(clause.right, True_))


_WALL_AREA = Area.__table__.alias("wall_area")


def late(cx: Compiler, state: SQLColumnExpression[Any], due_at: SQLColumnExpression[Any]) -> ColumnElement[bool]:
    """Open and past due at the request's time: the Case.overdue field and the cases(overdue:) filter,
    by the one rule of models.cases (the resolvers' field and list filter use it too)."""
    return overdue_sql(state, due_at, cx.now, inline_states=True)
