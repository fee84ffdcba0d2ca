"""Compiled reads of the care domain's visit figures (issue #21): ``overdueVisits`` and ``visitCoverage``
and their connections, each in one statement.

The resolvers compute them in Python from several statements (``resolvers.care.cadence``: the households
in reach, each one's last visit as a local day, its lead, grids and community, the care settings'
intervals; coverage then groups them). ``cadence_sql`` and ``coverage_sql`` are the same rule in SQL,
built from the same filters; here they are read into the response. The connections page the list in its
stable order as ``schema.common.sequence_connection`` does — the item's position is its cursor — with
the position a window function's row number. A value the resolvers would refuse (a period reversed or
longer than a year, a bad ID or cursor, a page size out of range) or a day too far out raises
Unsupported: the general path answers, with its typed error. An unknown area is the resolvers'
NOT_FOUND: the statement yields NULL and strawberry answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Text, and_, case, cast, func, literal_column, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import Subquery

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported, page_size, page_size_ok
from compiled.fields import CONNECTION, EDGE, Page, SortOrder, area_by_id, area_obj, connection, user
from compiled.sql import enum_name, gid, iso, iso_date, json_list, lit, offset_cursor, sorted_cursor
from models import Area, GridBuilding, Household, LeadHousehold, LeadTitle, NeighborLead, Person, User
from models import CareService as CareServiceRow
from policies.filters import area_read_predicate, household_predicate, person_predicate
from resolvers.care import (
    CARE_SERVICES,
    GROUPINGS,
    cadence_sql,
    care_service_filters,
    coverage_sql,
    lead_list_filters,
    lead_read_predicate,
    local_day_bounds,
    overdue_order,
)
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id, decode_offset_cursor, decode_sorted_cursor

# Days the compiled figures answer for; outside, the resolvers do (and their date arithmetic's limits).
_FIRST_DAY, _LAST_DAY = date(1971, 1, 1), date(9000, 12, 31)


def _day(a: dict[str, Any], name: str) -> date:
    d = a[name]
    if not isinstance(d, date) or not _FIRST_DAY <= d <= _LAST_DAY:
        raise Unsupported("day out of range")
    return d


def _area_path(cx: Compiler, sel: Sel) -> ColumnElement[str] | None:
    if not cx.shape(sel, lambda a: a.get("areaId") is not None):
        return None
    ar = Area.__table__.alias("ca")
    found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
             .scalar_subquery())
    cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
    return cast(found, Text)


def _lead_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["leadId"]), "NeighborLead", "leadId").id
    except ServiceError:
        raise Unsupported("bad id") from None


def _before(name: str) -> Any:
    def read(a: dict[str, Any]) -> datetime:
        return local_day_bounds(_day(a, name), _day(a, name))[1]
    return read


# ---------------------------------------------------------------- paged in the list's order


@dataclass
class PositionPage(Page):
    """A page of a list paged by position (schema.common.sequence_connection): the rows carry pos, their
    place in the whole list, and _total, its length; the cursor is the position."""

    def cursor(self) -> ColumnElement[Any]:
        return offset_cursor(self.rows.c.pos)


def _after_position(a: dict[str, Any]) -> int:
    try:
        return decode_offset_cursor(a["after"]) + 1
    except ServiceError:
        raise Unsupported("bad cursor") from None  # the resolvers give INVALID_CURSOR


def positional(cx: Compiler, sel: Sel, ranked: Subquery, node_type: str) -> ColumnElement[Any]:
    """``ranked`` (a list with pos from 0 and _total) as a connection page, as sequence_connection pages it:
    ``first`` items from the one after the cursor's."""
    if not cx.shape(sel, page_size_ok):
        raise Unsupported("first out of range")  # the resolvers give the typed error
    n = cx.shape(sel, page_size)
    after = cx.shape(sel, lambda a: a.get("after") is not None)
    start: Any = cx.param(sel, _after_position, "int") if after else 0
    rows = (select(ranked, func.row_number().over(order_by=ranked.c.pos).label("_rn"))
            .where(ranked.c.pos >= start).order_by(ranked.c.pos).limit(n + 1).subquery("p"))
    # The dummy order says "not by id" to the shared PageInfo (its cursors then come from cursor()).
    key = SortOrder("position", rows.c.pos, rows.c.pos)
    page = PositionPage(rows, select(ranked), node_type, n, after, rows.c._rn, rows.c._rn <= n, key)
    return (select(cx.sub(f"{node_type}Connection", sel, page)).select_from(rows)
            .having(func.count() >= 0).scalar_subquery())


def _total(_cx: Compiler, pg: Page, _s: Sel) -> ColumnElement[Any]:
    """The list's length from its rows' window count; when the page is empty, counted — on a page after a cursor
    only: a first page holds the list's first row if it has one, so an empty first page is an empty list (issue #21:
    the count, the whole list's statement again, stayed in the plan of every first page, set up and shut down
    though never run)."""
    if not pg.after:
        return func.coalesce(func.max(pg.rows.c._total), 0)
    counted = select(func.count()).select_from(pg.stmt.subquery()).scalar_subquery()
    return func.coalesce(func.max(pg.rows.c._total), counted)


POSITION_CONNECTION: FieldTable = {**CONNECTION, "totalCount": _total}


def _ranked(rows: Subquery, order: list[ColumnElement[Any]], where: ColumnElement[bool] | None = None
            ) -> Subquery:
    stmt = select(rows, (func.row_number().over(order_by=order) - 1).label("pos"),
                  func.count().over().label("_total"))
    return (stmt if where is None else stmt.where(where)).subquery("ranked")


# ---------------------------------------------------------------- overdue visits (逾期未访)


def _overdue(cx: Compiler, sel: Sel) -> Subquery:
    as_of = cx.param(sel, lambda a: _day(a, "asOf"), "date")
    before = cx.param(sel, _before("asOf"), "timestamptz")
    lead_id = cx.param(sel, _lead_uuid, "uuid") if cx.shape(sel, lambda a: a.get("leadId") is not None) else None
    rows = cadence_sql(cx.ctx, as_of=as_of, before=before, area_path=_area_path(cx, sel), lead_id=lead_id,
                       where=(Household.tenant_id == cx.tenant_id,)).subquery("cadence")
    return _ranked(rows, overdue_order(rows), rows.c.overdue)


def overdue_visits(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    r = _overdue(cx, sel)
    return select(json_list(cx.sub("VisitCadence", sel, r), r.c.pos)).select_from(r).scalar_subquery()


def overdue_visits_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return positional(cx, sel, _overdue(cx, sel), "VisitCadence")


def _household(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.household_by_id: the household if it may be read (household·read)."""
    h = (select(Household.__table__).where(
        Household.tenant_id == cx.tenant_id, Household.id == r.c.household_id,
        household_predicate(cx.ctx.actor.grant("household", "read"), cx.ctx.actor)).correlate(r).subquery("vh"))
    return select(cx.sub("Household", s, h)).select_from(h).scalar_subquery()


def _grids(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """The grids covering the building, by id, each as the area loader reads it (area·read)."""
    ga = aliased(Area, name="vg")
    g = sa_inspect(ga).selectable
    gb = GridBuilding.__table__.alias("vgb")
    pred = area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, ga)
    return (select(json_list(area_obj(cx, s, g), g.c.id)).select_from(gb)
            .join(g, and_(g.c.tenant_id == cx.tenant_id, g.c.id == gb.c.grid_id))
            .where(gb.c.tenant_id == cx.tenant_id, gb.c.building_id == r.c.building_id, pred)
            .correlate_except(g, gb).scalar_subquery())


def _cadence_lead(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """VisitCadence.lead: loaders.lead_by_id, through the lead list's read predicate."""
    nl = NeighborLead.__table__
    found = (select(nl).where(nl.c.tenant_id == cx.tenant_id, nl.c.id == r.c.lead_id, lead_read_predicate(cx.ctx))
             .correlate(r).subquery("cl"))
    return select(cx.sub("NeighborLead", s, found)).select_from(found).scalar_subquery()


VISIT_CADENCE: FieldTable = {
    "householdId": lambda _cx, r, _s: gid("Household", r.c.household_id),
    "household": _household,
    "building": lambda cx, r, s: area_by_id(cx, s, r.c.building_id),
    "keyHousehold": lambda _cx, r, _s: r.c.key,
    "intervalDays": lambda _cx, r, _s: r.c.interval_days,
    "lastVisitOn": lambda _cx, r, _s: iso_date(r.c.last_visit_on),
    "dueOn": lambda _cx, r, _s: iso_date(r.c.due_on),
    "overdue": lambda _cx, r, _s: r.c.overdue,
    "daysOverdue": lambda _cx, r, _s: r.c.days_overdue,
    "grids": _grids,
    "lead": _cadence_lead,
    "community": lambda cx, r, s: area_by_id(cx, s, r.c.community_id),
}


# ---------------------------------------------------------------- visit coverage (走访覆盖率)

# The global ID type of a group's id, per grouping (the total's and "none" groups have none).
_GROUP_TYPE = {"lead": "NeighborLead", "grid": "Grid", "community": "Community"}


def _grouping(a: dict[str, Any]) -> str:
    g = a.get("groupBy")
    value = str(getattr(g, "value", g))
    if value not in GROUPINGS:
        raise Unsupported("grouping")
    return value


def _period_ok(a: dict[str, Any]) -> bool:
    start, end = _day(a, "from"), _day(a, "to")
    if end < start or (end - start).days > 366:
        raise Unsupported("period")  # the resolvers' INVALID
    return True


def _coverage(cx: Compiler, sel: Sel) -> Subquery:
    """coverage_sql's groups, ranked, with a column named for the grouping (``_KIND``) for groupId and
    groupName."""
    cx.shape(sel, _period_ok)
    group_by = cx.shape(sel, _grouping)
    end = cx.param(sel, lambda a: _day(a, "to"), "date")
    lo = cx.param(sel, lambda a: local_day_bounds(_day(a, "from"), _day(a, "to"))[0], "timestamptz")
    hi = cx.param(sel, _before("to"), "timestamptz")
    stmt = coverage_sql(cx.ctx, as_of=end, before=hi, visited_in=(lo, hi), area_path=_area_path(cx, sel),
                        group_by=group_by, where=(Household.tenant_id == cx.tenant_id,))
    groups = stmt.add_columns(lit(group_by).label(_KIND + group_by)).subquery("groups")
    return _ranked(groups, [groups.c.key_id.is_(None), groups.c.key_id])


def visit_coverage(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    g = _coverage(cx, sel)
    return select(json_list(cx.sub("VisitCoverage", sel, g), g.c.pos)).select_from(g).scalar_subquery()


def visit_coverage_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return positional(cx, sel, _coverage(cx, sel), "VisitCoverage")


# The grouping is the plan's (an argument that shapes it): named by a column of the groups, so a group's id and name
# are the grouping's expression alone, not a CASE over every grouping's — whose subqueries PostgreSQL set up and shut
# down on every request though never run (issue #21: the lead's name and its read predicate in a grid's coverage).
_KIND = "_kind_"


def _kind(g: Any) -> str:
    return next(k for k in GROUPINGS if _KIND + k in g.c)


def _group_id(_cx: Compiler, g: Any, _s: Sel) -> ColumnElement[Any]:
    type_name = _GROUP_TYPE.get(_kind(g))
    return null() if type_name is None else gid(type_name, g.c.key_id)


def _group_name(cx: Compiler, g: Any, _s: Sel) -> ColumnElement[Any]:
    """A lead's display name (lead_by_id: the lead list's predicate; then the user), or the grid's or
    community's name (area_by_id: area·read); the total's group has none."""
    kind = _kind(g)
    if kind == "total":
        return null()
    if kind == "lead":
        return (select(User.display_name).select_from(NeighborLead).join(User, User.id == NeighborLead.user_id)
                .where(NeighborLead.tenant_id == cx.tenant_id, NeighborLead.id == g.c.key_id,
                       lead_read_predicate(cx.ctx))
                .correlate(g).scalar_subquery())
    aa = aliased(Area, name="gn")
    a = sa_inspect(aa).selectable
    return (select(a.c.name).where(a.c.tenant_id == cx.tenant_id, a.c.id == g.c.key_id,
                                   area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, aa))
            .correlate_except(a).scalar_subquery())


_ONE: ColumnElement[Any] = literal_column("'1.0'::json")
_ZERO: ColumnElement[Any] = literal_column("'0.0'::json")


def _ratio(part: ColumnElement[Any], whole: ColumnElement[Any]) -> ColumnElement[Any]:
    """part / whole as Python's float (CoverageGroup.rate): 1.0 and 0.0 keep their point (JSON text),
    the others float8's shortest form, which is Python's repr."""
    return case((whole == 0, null()), (part == whole, _ONE), (part == 0, _ZERO),
                else_=func.to_json(cast(part, Float) / cast(whole, Float)))


VISIT_COVERAGE: FieldTable = {
    "groupId": _group_id,
    "groupName": _group_name,
    "households": lambda _cx, g, _s: g.c.households,
    "visited": lambda _cx, g, _s: g.c.visited,
    "rate": lambda _cx, g, _s: _ratio(g.c.visited, g.c.households),
    "keyHouseholds": lambda _cx, g, _s: g.c.key_households,
    "keyVisited": lambda _cx, g, _s: g.c.key_visited,
    "keyRate": lambda _cx, g, _s: _ratio(g.c.key_visited, g.c.key_households),
    "overdue": lambda _cx, g, _s: g.c.overdue,
}

# ---------------------------------------------------------------- neighbourhood leads (邻长)


def neighbor_leads(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.care.list_leads: its filters (lead_list_filters), by id, the keyset page of every list."""
    include_ended = cx.shape(sel, lambda a: bool(a.get("includeEnded")))
    stmt = select(NeighborLead.__table__).where(
        NeighborLead.tenant_id == cx.tenant_id,
        *lead_list_filters(cx.ctx, area_path=_area_path(cx, sel), include_ended=include_ended))
    return connection(cx, sel, stmt, NeighborLead.id, descending=False, node_type="NeighborLead")


def _lead_households(cx: Compiler, lead: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    lh = LeadHousehold.__table__.alias("lh")
    return lh, [lh.c.tenant_id == cx.tenant_id, lh.c.lead_id == lead.c.id]


def _household_ids(cx: Compiler, lead: Any, _s: Sel) -> ColumnElement[Any]:
    """loaders.households_by_lead: the households kept, by id."""
    lh, where = _lead_households(cx, lead)
    return (select(json_list(gid("Household", lh.c.household_id), lh.c.household_id)).select_from(lh).where(*where)
            .correlate_except(lh).scalar_subquery())


def _household_count(cx: Compiler, lead: Any, _s: Sel) -> ColumnElement[Any]:
    lh, where = _lead_households(cx, lead)
    return select(func.count()).select_from(lh).where(*where).correlate_except(lh).scalar_subquery()


def _lead_person(cx: Compiler, lead: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id: the lead on the register if the actor may read them (person·read)."""
    pa = aliased(Person, name="lp")
    p = sa_inspect(pa).selectable
    return (select(cx.sub("Person", s, p)).select_from(p)
            .where(p.c.tenant_id == cx.tenant_id, p.c.id == lead.c.person_id,
                   person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
            .correlate_except(p).scalar_subquery())


NEIGHBOR_LEAD: FieldTable = {
    "id": lambda _cx, n, _s: gid("NeighborLead", n.c.id),
    "title": lambda _cx, n, _s: enum_name(n.c.title, LeadTitle),
    "user": lambda cx, n, s: user(cx, s, n.c.user_id),
    "person": _lead_person,
    "area": lambda cx, n, s: area_by_id(cx, s, n.c.area_id),
    "householdIds": _household_ids,
    "householdCount": _household_count,
    "appointedAt": lambda _cx, n, _s: iso(n.c.created_at),
    "endedAt": lambda _cx, n, _s: iso(n.c.ended_at),
}


# ---------------------------------------------------------------- service lists (服务清单)


def _tag_code(a: dict[str, Any]) -> str:
    return str(a["tagCode"])


def _services(cx: Compiler, sel: Sel) -> Select[Any]:
    tag_code = cx.param(sel, _tag_code, "text") if cx.shape(sel, lambda a: a.get("tagCode") is not None) else None
    return select(CareServiceRow.__table__).where(
        CareServiceRow.tenant_id == cx.tenant_id,
        *care_service_filters(cx.ctx, tag_code=tag_code, area_path=_area_path(cx, sel)))


def care_services(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """list_care_services: the whole list in CARE_SERVICES' order."""
    rows = _services(cx, sel).subquery("svc")
    order = func.row_number().over(order_by=[rows.c.tag_code, rows.c.id])
    ranked = select(rows, order.label("_rn")).subquery("svcr")
    return select(json_list(cx.sub("CareService", sel, ranked), ranked.c._rn)).select_from(ranked).scalar_subquery()


def _after_service(i: int) -> Any:
    def read(a: dict[str, Any]) -> Any:
        try:
            return decode_sorted_cursor(a["after"], CARE_SERVICES.name, CARE_SERVICES.kinds())[i]
        except ServiceError:
            raise Unsupported("bad cursor") from None  # the resolvers give INVALID_CURSOR
    return read


@dataclass
class SortedPage(Page):
    """A page in a ListOrder (resolvers.pagination.sorted_page): cursors of the rows' sort keys."""

    def cursor(self) -> ColumnElement[Any]:
        return sorted_cursor(CARE_SERVICES.name, [("s", cast(self.rows.c.tag_code, Text)),
                                                   ("u", func.replace(cast(self.rows.c.id, Text), lit("-"), lit("")))])


def care_services_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """care_services_page: sorted_page over the same statement, after the cursor's (tag, id)."""
    if not cx.shape(sel, page_size_ok):
        raise Unsupported("first out of range")
    n = cx.shape(sel, page_size)
    after = cx.shape(sel, lambda a: a.get("after") is not None)
    stmt = _services(cx, sel)
    paged = stmt
    if after:
        paged = stmt.where(CARE_SERVICES.after([cx.param(sel, _after_service(0), "text"),
                                                cx.param(sel, _after_service(1), "uuid")]))
    ordering = CARE_SERVICES.order_by()
    rows = (paged.add_columns(func.row_number().over(order_by=ordering).label("_rn"))
            .order_by(*ordering).limit(n + 1).subquery("p"))
    key = SortOrder(CARE_SERVICES.name, rows.c._rn, rows.c._rn)  # "not by id": cursors from cursor()
    page = SortedPage(rows, stmt, "CareService", n, after, rows.c._rn, rows.c._rn <= n, key)
    return (select(cx.sub("CareServiceConnection", sel, page)).select_from(rows)
            .having(func.count() >= 0).scalar_subquery())


CARE_SERVICE: FieldTable = {
    "id": lambda _cx, c, _s: gid("CareService", c.c.id),
    "tagCode": lambda _cx, c, _s: c.c.tag_code,
    "area": lambda cx, c, s: area_by_id(cx, s, c.c.area_id),
    "name": lambda _cx, c, _s: c.c.name,
    "frequency": lambda _cx, c, _s: c.c.frequency,
    "provider": lambda _cx, c, _s: c.c.provider,
    "note": lambda _cx, c, _s: c.c.note,
    "retiredAt": lambda _cx, c, _s: iso(c.c.retired_at),
}


TABLES: dict[str, FieldTable] = {
    "Query": {"overdueVisits": overdue_visits, "overdueVisitsConnection": overdue_visits_connection,
              "visitCoverage": visit_coverage, "visitCoverageConnection": visit_coverage_connection,
              "neighborLeads": neighbor_leads, "careServices": care_services,
              "careServicesConnection": care_services_connection},
    "VisitCadence": VISIT_CADENCE,
    "VisitCadenceConnection": POSITION_CONNECTION, "VisitCadenceEdge": EDGE,
    "VisitCoverage": VISIT_COVERAGE,
    "VisitCoverageConnection": POSITION_CONNECTION, "VisitCoverageEdge": EDGE,
    "NeighborLead": NEIGHBOR_LEAD, "NeighborLeadConnection": CONNECTION, "NeighborLeadEdge": EDGE,
    "CareService": CARE_SERVICE, "CareServiceConnection": CONNECTION, "CareServiceEdge": EDGE,
}
