"""What the compiler knows, per GraphQL type: ``FIELDS`` maps each compiled type to its field table
(field name → how that field is built in SQL). ``Compiler.obj`` dispatches on these tables and on
nothing else, so ``compiled_fields()`` — the set of (type, field) the compiler can answer — is read
from the code that answers, not kept beside it; ``tests/test_compiled.py`` checks every one of them
is compared with the resolvers' answer.

Each handler is (compiler, row, selection) → SQL expression; the row is the aliased table, page or
timeline the type is read from."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import FromClause, Subquery

from compiled.case_filters import AREA_KIND_OF, AREA_TYPE_OF, among_newest, area_uuid, case_filters, case_order, late
from compiled.compiler import (
    Compiler,
    FieldTable,
    Handler,
    Sel,
    Unsupported,
    after_key,
    extend,
    last_shape,
    node_type,
    node_uuid,
    page_size,
    page_size_ok,
)
from compiled.counts import capped_count
from compiled.pii import household_pii, person_pii, pii_value
from compiled.sql import (
    cursor,
    enum_name,
    gid,
    iso,
    json_list,
    lit,
    or_branches,
    ordered_cursor,
    page_total,
    reads_marker,
)
from models import (
    OPEN_STATES,
    Area,
    AreaKind,
    Case,
    CaseCategory,
    CaseEvent,
    CaseSource,
    CaseState,
    GridBuilding,
    Household,
    Person,
    PersonCareTag,
    PersonStatus,
    User,
)
from models.area import community_id_sql
from policies.cases import case_predicate
from policies.filters import CaseGrid, area_read_predicate, buildings_in_scope, household_predicate, person_predicate
from resolvers.cases import NO_TIME, CaseOrder, case_sort_key
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.errors import ServiceError
from resolvers.ids import OrderedCursor, decode_ordered_cursor
from schema.cases import Case as CaseType
from schema.columns import column_reads
from schema.register import AREA_TYPES, MASKED_ROOM
from schema.register import Household as HouseholdType
from schema.register import Person as PersonType

_OPEN_VALUES = frozenset(s.value for s in OPEN_STATES)


def column(name: str) -> Handler:
    """A field that is a column of its row as it is."""
    return lambda _cx, row, _s: row.c[name]


def timestamp(name: str) -> Handler:
    """A DateTime field: the column as strawberry serializes it."""
    return lambda _cx, row, _s: iso(row.c[name])


def enum_of(name: str, enum_cls: type[enum.Enum]) -> Handler:
    return lambda _cx, row, _s: enum_name(row.c[name], enum_cls)


def columns_of(strawberry_type: type) -> dict[str, Handler]:
    """The column fields a strawberry type declares (schema.columns.column_field), each as SQL by its
    declared type: the type's resolvers read the same columns, so the mapping is written once."""
    out: dict[str, Handler] = {}
    for name, read in column_reads(strawberry_type).items():
        t = read.type
        if t is datetime:
            out[name] = timestamp(read.column)
        elif isinstance(t, type) and issubclass(t, enum.Enum):
            out[name] = enum_of(read.column, t)
        elif t is Decimal:  # strawberry sends str(Decimal)
            out[name] = (lambda col: lambda _cx, row, _s: cast(row.c[col], Text))(read.column)
        else:
            out[name] = column(read.column)
    return out


# ---------------------------------------------------------------- users


def user(cx: Compiler, sel: Sel, user_id: ColumnElement[Any]) -> ColumnElement[Any]:
    u = User.__table__.alias("u")
    return (select(cx.sub("User", sel, u)).select_from(u).where(u.c.id == user_id)
            .correlate_except(u).scalar_subquery())


USER: FieldTable = {"username": column("username"), "displayName": column("display_name")}


# ---------------------------------------------------------------- areas


def area_obj(cx: Compiler, sel: Sel, a: Any, kinds: tuple[AreaKind, ...] = tuple(AreaKind)) -> ColumnElement[Any]:
    """An area row as its concrete type: one branch per kind that may occur."""
    whens = [(a.c.kind == lit(kind.value), cx.sub(AREA_TYPE_OF[kind], sel, a)) for kind in kinds]
    return whens[0][1] if len(whens) == 1 else case(*whens, else_=null())


def area_by_id(cx: Compiler, sel: Sel, area_id: ColumnElement[Any], kinds: tuple[AreaKind, ...] = tuple(AreaKind)
               ) -> ColumnElement[Any]:
    aa = aliased(Area, name="a")
    a = sa_inspect(aa).selectable
    pred = area_read_predicate(cx.ctx.actor.grant("area", "read"), cx.ctx.actor, aa)
    stmt = (select(area_obj(cx, sel, a, kinds)).select_from(a)
            .where(a.c.tenant_id == cx.tenant_id, a.c.id == area_id, pred).correlate_except(a))
    if len(kinds) < len(AreaKind):
        stmt = stmt.where(a.c.kind.in_([lit(k.value) for k in kinds]))
    return stmt.scalar_subquery()


def _area_fields(kind: AreaKind) -> FieldTable:
    type_name = AREA_TYPE_OF[kind]
    table: dict[str, Handler] = {
        "id": lambda _cx, a, _s: gid(type_name, a.c.id),
        **columns_of(AREA_TYPES[kind]),  # name, kind, code …, floors of a building, a compound's management
    }
    if kind is AreaKind.BUILDING:
        table["households"] = lambda cx, a, s: households_connection(cx, s, Household.building_id == a.c.id,
                                                                     correlate=(a,))
    return table


# ---------------------------------------------------------------- cases


def case_grid(cx: Compiler, c: Any, s: Sel) -> ColumnElement[Any]:
    """Case.grid by the rule of policies.filters.CaseGrid, in SQL (the kind a literal, the tenant
    repeated on each table). Each lookup compares a column with the outer row's column: with
    row-level security on, PostgreSQL uses an index only for such leakproof conditions (not for
    id = coalesce(…))."""
    ga = aliased(Area, name="g")
    g = sa_inspect(ga).selectable
    gb = GridBuilding.__table__.alias("gb")
    obj = area_obj(cx, s, g, (AreaKind.GRID,))
    rule = CaseGrid(cx.ctx.actor, ga, literal=True, tenant_id=cx.tenant_id, columns=g.c)
    covering = rule.covering(c.c.area_id, gb.c)
    by_building = (
        select(obj).select_from(g).join(gb, covering.on).where(*covering.where)
        .order_by(*covering.order_by).limit(1).correlate_except(g, gb).scalar_subquery()
    )
    own = select(obj).select_from(g).where(*rule.own_area(c.c.area_id)).correlate_except(g).scalar_subquery()
    return func.coalesce(by_building, own)


@dataclass
class Timeline:
    """The timeline entries of one case, and whether the case is seen in full."""

    t: FromClause
    full: ColumnElement[Any]


def timeline(cx: Compiler, c: Any, s: Sel) -> ColumnElement[Any]:
    last = cx.shape(s, last_shape)
    where: list[ColumnElement[bool]] = []
    if last:
        # The last n entries as one backward index scan (a derived table), not an IN of a second scan.
        e = CaseEvent.__table__.alias("e")
        n = cx.shape(s, lambda a: int(a["last"]))  # a literal, like every size (see connection)
        t: FromClause = (select(e).where(e.c.tenant_id == cx.tenant_id, e.c.case_id == c.c.id)
                  .order_by(e.c.seq.desc()).limit(n).correlate(c).subquery("t"))
    else:
        t = CaseEvent.__table__.alias("t")
        where = [t.c.tenant_id == cx.tenant_id, t.c.case_id == c.c.id]
    return (select(json_list(cx.sub("CaseTimelineEntry", s, Timeline(t, c.c._full)), t.c.seq))
            .select_from(t).where(*where).correlate_except(t).scalar_subquery())


def _attachment_ids(_cx: Compiler, tl: Timeline, _s: Sel) -> ColumnElement[Any]:
    """The step's photo IDs; none on the public wall (issue #24: the wall never links photos)."""
    a = func.json_array_elements_text(tl.t.c.attachments).table_valued("value").alias("att")
    return select(json_list(gid("Attachment", cast(a.c.value, Area.__table__.c.id.type)), None, where=tl.full)
                  ).select_from(a).scalar_subquery()


TIMELINE_ENTRY: FieldTable = {
    "seq": lambda _cx, tl, _s: tl.t.c.seq,
    "action": lambda _cx, tl, _s: tl.t.c.action,
    "note": lambda _cx, tl, _s: tl.t.c.note,
    "fromState": lambda _cx, tl, _s: enum_name(tl.t.c.from_state, CaseState),
    "toState": lambda _cx, tl, _s: enum_name(tl.t.c.to_state, CaseState),
    "actorRole": lambda _cx, tl, _s: case((tl.full, tl.t.c.actor_role), else_=null()),
    "actor": lambda cx, tl, s: case((and_(tl.full, tl.t.c.actor_user_id.is_not(None)),
                                     user(cx, s, tl.t.c.actor_user_id)), else_=null()),
    "at": lambda _cx, tl, _s: iso(tl.t.c.created_at),
    "attachmentIds": _attachment_ids,
}


def _category_name(cx: Compiler, c: Any, _s: Sel) -> ColumnElement[Any]:
    cc = CaseCategory.__table__.alias("cc")
    return (select(cc.c.name).where(cc.c.tenant_id == cx.tenant_id, cc.c.code == c.c.category_code)
            .correlate_except(cc).scalar_subquery())


# A case row is read from a page with two computed columns (case_columns): _full, whether the case is
# seen in full, and _community, its community's id.
CASE: FieldTable = {
    **columns_of(CaseType),  # number, title, state, dueAt …: the columns schema.cases.Case declares
    "id": lambda _cx, c, _s: gid("Case", c.c.id),
    "reportedByMe": lambda cx, c, _s: c.c.reporter_user_id == cx.ctx.actor.user_id,
    "overdue": lambda cx, c, _s: late(cx, c.c.state, c.c.due_at),
    "categoryName": _category_name,
    "source": lambda _cx, c, _s: case((c.c._full, enum_name(c.c.source, CaseSource)), else_=null()),
    "externalTicketNo": lambda _cx, c, _s: case((c.c._full, c.c.external_ticket_no), else_=null()),
    "reporter": lambda cx, c, s: case((c.c._full, user(cx, s, c.c.reporter_user_id)), else_=null()),
    "area": lambda cx, c, s: area_by_id(cx, s, c.c.area_id),
    "escalatedTo": lambda cx, c, s: area_by_id(cx, s, c.c.escalated_to_area_id),
    "community": lambda cx, c, s: area_by_id(cx, s, c.c._community, (AreaKind.COMMUNITY,)),
    "grid": case_grid,
    "timeline": timeline,
}


def case_columns(cx: Compiler) -> list[Any]:
    """A case row with what its fields need computed once: whether it is seen in full, and its
    community's id (models.area.community_id_sql, the rule Case.community's resolver applies in
    Python) as a column, so that the community lookup is an index probe under row-level security."""
    full = case_predicate(cx.ctx.actor.grant("case", "read"), cx.ctx.actor, public=False)
    return [Case.__table__, full.label("_full"), community_id_sql(Case.area_path).label("_community")]


_NO_TIME_SQL = literal_column(f"'{NO_TIME.isoformat()}'::timestamptz", Case.__table__.c.due_at.type)


def cases_connection(cx: Compiler, sel: Sel) -> ColumnElement[Any]:
    filters = case_filters(cx, sel)
    states: tuple[str, ...] = ()
    if cx.shape(sel, lambda a: bool(a.get("states"))):
        states = cx.shape(sel, lambda a: tuple(CaseState(x).value for x in a["states"]))
        filters.append(Case.state.in_([lit(x) for x in states]))
    if cx.shape(sel, lambda a: bool(a.get("category"))):
        filters.append(Case.category_code == cx.param(sel, lambda a: a["category"], "text"))
    supervised = cx.shape(sel, lambda a: a.get("supervised"))
    if supervised is not None:
        filters.append(Case.supervised.is_(true() if supervised else false()))
    overdue = cx.shape(sel, lambda a: a.get("overdue"))
    if overdue is not None:
        is_late = late(cx, Case.state, Case.due_at)
        filters.append(is_late if overdue else ~is_late)
    if cx.shape(sel, lambda a: bool(a.get("reportedByMe"))):
        filters.append(Case.reporter_user_id == cx.ctx.actor.user_id)
    scope = case_read_predicate(cx.ctx)
    stmt = select(*case_columns(cx)).where(Case.tenant_id == cx.tenant_id, scope, *filters)
    order = cx.shape(sel, case_order)
    if order is not CaseOrder.NEWEST:  # by (bucket, time, id), as resolvers.cases.reads.case_sort_key
        bucket, time = case_sort_key(order, cx.now, no_time=_NO_TIME_SQL)
        return connection(cx, sel, stmt, Case.id, descending=True, node_type="Case",
                          key=SortOrder(order.value, bucket, time))
    candidates = None
    branches = or_branches(scope)
    if states and set(states) <= _OPEN_VALUES and len(branches) > 1:
        # Open cases in a scope of several branches (subtree, grid-covered buildings, own reports…):
        # the page is among the newest ``first + 1`` of each branch, which the open-case indexes
        # give directly; the page query still tests the whole predicate (issue #9, migration 0024).
        def candidates(extra: list[ColumnElement[bool]], limit: int) -> ColumnElement[bool]:
            return among_newest(cx.tenant_id, branches, [*filters, *extra], limit)
    return connection(cx, sel, stmt, Case.id, descending=True, node_type="Case", candidates=candidates)


# ---------------------------------------------------------------- households and persons


def households_connection(cx: Compiler, sel: Sel, where: ColumnElement[bool], correlate: tuple[Any, ...] = ()
                          ) -> ColumnElement[Any]:
    grant = cx.ctx.actor.grant("household", "read")
    stmt = select(Household.__table__).where(Household.tenant_id == cx.tenant_id,
                                             household_predicate(grant, cx.ctx.actor), where)
    return connection(cx, sel, stmt.correlate(*correlate) if correlate else stmt, Household.id,
                      descending=False, node_type="Household")


def persons_of(cx: Compiler, h: Any, sel: Sel) -> ColumnElement[Any]:
    pa = aliased(Person, name="pp")
    p = sa_inspect(pa).selectable
    pred = person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa)
    return (select(json_list(cx.sub("Person", sel, p), p.c.id))
            .select_from(p).where(p.c.tenant_id == cx.tenant_id, p.c.household_id == h.c.id, pred,
                                  p.c.status == PersonStatus.ACTIVE.value)  # the current register (issue #23)
            .correlate_except(p).scalar_subquery())


HOUSEHOLD: FieldTable = {
    "id": lambda _cx, h, _s: gid("Household", h.c.id),
    **columns_of(HouseholdType),  # unit, version, floorArea, tenure
    "room": lambda cx, h, _s: case((household_pii(cx, h), h.c.room), else_=lit(MASKED_ROOM)),
    "addressMasked": lambda cx, h, _s: ~household_pii(cx, h),
    "building": lambda cx, h, s: area_by_id(cx, s, h.c.building_id, (AreaKind.BUILDING,)),
    "persons": persons_of,
}


# A full read is a marker {"$pii": person id, "v": value[, "s": true when sealed]} that
# plans.finish() turns into the value (unsealed) and records for the audit, as the resolvers do.
def _sealed(sealed_col: str, masked_col: str) -> Handler:
    def build(cx: Compiler, p: Any, _s: Sel) -> ColumnElement[Any]:
        sealed = p.c[sealed_col]
        return pii_value(p.c.id, person_pii(cx, p), sealed, p.c[masked_col], sealed=True, absent=sealed.is_(None))
    return build


def _birth_date(cx: Compiler, p: Any, _s: Sel) -> ColumnElement[Any]:
    return pii_value(p.c.id, person_pii(cx, p), p.c.birth_date, absent=p.c.birth_date.is_(None))  # else WITHHELD


def _care_tags(cx: Compiler, p: Any, _s: Sel) -> ColumnElement[Any]:
    t = PersonCareTag.__table__.alias("ct")
    tags = (select(json_list(t.c.code, t.c.code)).select_from(t)
            .where(t.c.tenant_id == cx.tenant_id, t.c.person_id == p.c.id).correlate_except(t)
            .scalar_subquery())
    return pii_value(p.c.id, person_pii(cx, p), tags)  # else WITHHELD (null)


PERSON: FieldTable = {
    "id": lambda _cx, p, _s: gid("Person", p.c.id),
    **columns_of(PersonType),  # name, gender, relationToHead, partyMember, version, inServicePartyMember
    "piiMasked": lambda cx, p, _s: ~person_pii(cx, p),
    "idCardNo": _sealed("id_card_no", "id_card_masked"),
    "phone": _sealed("phone", "phone_masked"),
    "birthDate": _birth_date,
    "careTags": _care_tags,
}


# ---------------------------------------------------------------- connections


@dataclass
class SortOrder:
    """A list's order other than by id (resolvers.pagination.SortKey): bucket and time ascending, then
    the id descending; its cursors name the row's place (resolvers.ids.encode_ordered_cursor)."""

    name: str
    bucket: ColumnElement[Any]
    time: ColumnElement[Any]


@dataclass
class Page:
    """A keyset page of ``first + 1`` rows (the extra one only tells hasNextPage), numbered by _rn."""

    rows: Subquery
    stmt: Select[Any]  # the whole filtered list, for totalCount
    node_type: str
    n: int
    after: bool
    order: ColumnElement[Any]
    on_page: ColumnElement[bool]
    key: SortOrder | None = None  # ordered otherwise than by id: the rows carry _bucket and _time

    def cursor(self) -> ColumnElement[Any]:
        """Each row's cursor, as the resolvers encode it."""
        if self.key is None:
            return cursor(self.rows.c.id)
        return ordered_cursor(self.key.name, self.rows.c._bucket, self.rows.c._time, self.rows.c.id)


def _after_place(name: str) -> Callable[[dict[str, Any]], OrderedCursor]:
    def read(a: dict[str, Any]) -> OrderedCursor:
        try:
            return decode_ordered_cursor(a["after"], name)
        except ServiceError:
            raise Unsupported("bad cursor") from None  # the resolvers give INVALID_CURSOR
    return read


def connection(cx: Compiler, sel: Sel, stmt: Select[Any], id_col: SQLColumnExpression[uuid.UUID], *,
               descending: bool, node_type: str,
               candidates: Callable[[list[ColumnElement[bool]], int], ColumnElement[bool]] | None = None,
               key: SortOrder | None = None, reads: str | None = None, columns: tuple[Any, ...] = ()
               ) -> ColumnElement[Any]:
    """A keyset page as one aggregate over ``first + 1`` rows: the extra row only tells hasNextPage.
    ``reads``: the column naming the person each row on the page reads in full (sql.reads_marker).
    ``columns``: more columns of the page's rows, computed once per row (compiled.pii.readable_columns)."""
    if not cx.shape(sel, page_size_ok):
        raise Unsupported("first out of range")  # the resolvers give the typed error
    # Sizes and state lists are literals, not parameters: a statement whose parameters are only
    # ids and cursors gets PostgreSQL's generic plan, planned once per connection; with the size a
    # parameter PostgreSQL planned the statement anew on every request (issue #9: 2-4 ms of op 1).
    n = cx.shape(sel, page_size)
    after = cx.shape(sel, lambda a: a.get("after") is not None)
    if key is not None:
        return _ordered_connection(cx, sel, stmt, id_col, node_type, n, after, key)
    paged = stmt
    extra: list[ColumnElement[bool]] = []
    if after:
        last = cx.param(sel, after_key, "uuid")
        extra.append(id_col < last if descending else id_col > last)
        paged = paged.where(*extra)
    if candidates is not None:  # rows the page can only come from (totalCount still counts stmt)
        paged = paged.where(candidates(extra, n + 1))
    ordering = id_col.desc() if descending else id_col
    rows = (paged.add_columns(*columns, func.row_number().over(order_by=ordering).label("_rn"))
            .order_by(ordering).limit(n + 1).subquery("p"))
    page = Page(rows, stmt, node_type, n, after, rows.c.id.desc() if descending else rows.c.id, rows.c._rn <= n)
    obj = cx.sub(f"{node_type}Connection", sel, page)
    obj = obj if reads is None else reads_marker(func.json_agg(rows.c[reads]).filter(page.on_page), obj)
    # HAVING makes it an aggregate whatever was asked (totalCount alone aggregates nothing): one row.
    return select(obj).select_from(rows).having(func.count() >= 0).scalar_subquery()


def _ordered_connection(cx: Compiler, sel: Sel, stmt: Select[Any], id_col: SQLColumnExpression[uuid.UUID],
                        node_type: str, n: int, after: bool, key: SortOrder) -> ColumnElement[Any]:
    """connection() in the order of ``key`` (resolvers.pagination.ordered_page): after the cursor's place,
    (bucket, time) ascending and the id descending; each row carries its _bucket and _time for its cursor."""
    paged = stmt
    if after:
        place = _after_place(key.name)
        b = cx.param(sel, lambda a: place(a).bucket, "int")
        t = cx.param(sel, lambda a: place(a).time, "timestamptz")
        i = cx.param(sel, lambda a: place(a).id, "uuid")
        paged = paged.where(or_(key.bucket > b, and_(key.bucket == b, or_(key.time > t, and_(key.time == t,
                                                                                           id_col < i)))))
    ordering = (key.bucket, key.time, id_col.desc())
    rows = (paged.add_columns(key.bucket.label("_bucket"), key.time.label("_time"),
                              func.row_number().over(order_by=ordering).label("_rn"))
            .order_by(*ordering).limit(n + 1).subquery("p"))
    page = Page(rows, stmt, node_type, n, after, rows.c._rn, rows.c._rn <= n, key)
    return (select(cx.sub(f"{node_type}Connection", sel, page)).select_from(rows)
            .having(func.count() >= 0).scalar_subquery())


def _page_cursor(_cx: Compiler, pg: Page, s: Sel) -> ColumnElement[Any]:
    # PostgreSQL has no min(uuid): the first (or last) by row number
    rn = pg.rows.c._rn if s.name == "startCursor" else pg.rows.c._rn.desc()
    if pg.key is not None or type(pg) is not Page:  # the cursors themselves, as text (a subclass: its own)
        texts = func.array_agg(aggregate_order_by(pg.cursor(), rn), type_=ARRAY(Text())).filter(pg.on_page)
        return texts[1]
    ids = func.array_agg(aggregate_order_by(pg.rows.c.id, rn), type_=ARRAY(pg.rows.c.id.type)).filter(pg.on_page)
    return cursor(ids[1])


CONNECTION: FieldTable = {
    "edges": lambda cx, pg, f: json_list(cx.sub(f"{pg.node_type}Edge", f, pg), pg.order, pg.on_page),
    "nodes": lambda cx, pg, f: json_list(cx.sub(pg.node_type, f, pg.rows), pg.order, pg.on_page),
    "totalCount": lambda _cx, pg, _f: page_total(pg.stmt, pg.n, pg.after),
    "cappedCount": capped_count,  # min(totalCount, cap) and hasMore, over at most cap + 1 rows of the same list
    "pageInfo": lambda cx, pg, f: cx.sub("PageInfo", f, pg),
}
EDGE: FieldTable = {
    "cursor": lambda _cx, pg, _e: pg.cursor(),
    "node": lambda cx, pg, e: cx.sub(pg.node_type, e, pg.rows),
}
PAGE_INFO: FieldTable = {
    "hasNextPage": lambda _cx, pg, _f: func.count() > pg.n,
    "hasPreviousPage": lambda _cx, pg, _f: true() if pg.after else false(),
    "startCursor": _page_cursor,
    "endCursor": _page_cursor,
}


# ---------------------------------------------------------------- Query


def node(cx: Compiler, _row: None, sel: Sel, arg: Callable[[Any], Any] = lambda a: a) -> ColumnElement[Any]:
    type_name = cx.shape(sel, lambda a: node_type(arg(a)))  # arg: {"id": …} from the field's arguments
    id_ = cx.param(sel, lambda a: node_uuid(arg(a)), "uuid")
    if type_name == "Case":
        stmt = select(*case_columns(cx)).where(
            Case.tenant_id == cx.tenant_id, Case.id == id_, case_read_predicate(cx.ctx)).subquery("p")
        return select(cx.sub("Case", sel, stmt)).select_from(stmt).scalar_subquery()
    if type_name == "Household":
        h = select(Household.__table__).where(
            Household.tenant_id == cx.tenant_id, Household.id == id_,
            household_predicate(cx.ctx.actor.grant("household", "read"), cx.ctx.actor)).subquery("p")
        return select(cx.sub("Household", sel, h)).select_from(h).scalar_subquery()
    if type_name == "Person":
        p = select(Person.__table__).where(
            Person.tenant_id == cx.tenant_id, Person.id == id_,
            person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor)).subquery("p")
        return select(cx.sub("Person", sel, p)).select_from(p).scalar_subquery()
    kind = AREA_KIND_OF.get(type_name)
    if kind is not None:
        return area_by_id(cx, sel, id_, (kind,))
    raise Unsupported(f"node of {type_name}")


def households(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    if cx.shape(sel, lambda a: bool(a.get("search"))):
        raise Unsupported("households search")  # room numbers: the resolvers check the right
    if not cx.shape(sel, lambda a: a.get("areaId") is not None):
        return households_connection(cx, sel, true())
    ar = Area.__table__.alias("ar")
    area_id = cx.param(sel, area_uuid, "uuid")
    if cx.shape(sel, lambda a: node_type({"id": a["areaId"]})) == "Building":
        # A building's households are those with its id (no grid lies under a building):
        # an equality, not a path prefix a runtime value would keep from using an index.
        cx.guards.append(exists(select(ar.c.id).where(
            ar.c.tenant_id == cx.tenant_id, ar.c.id == area_id, ar.c.kind == lit("building"))))
        return households_connection(cx, sel, Household.building_id == area_id)
    path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == area_id)
            .scalar_subquery())
    # An unknown area is NOT_FOUND from the resolvers: the statement yields NULL, strawberry answers.
    cx.guards.append(path.is_not(None))
    # policies.filters types the scope paths as literal strings; startswith takes an expression as well.
    in_scope = buildings_in_scope((cast(path, Text),))  # type: ignore[arg-type]  # a path expression, see above
    return households_connection(cx, sel, Household.building_id.in_(in_scope))


QUERY: FieldTable = {
    "cases": lambda cx, _row, sel: cases_connection(cx, sel),
    "node": node,
    "households": households,
}


# ---------------------------------------------------------------- the declaration

FIELDS: dict[str, FieldTable] = {
    "Query": QUERY,
    "User": USER,
    **{AREA_TYPE_OF[kind]: _area_fields(kind) for kind in AreaKind},
    "Case": CASE,
    "CaseTimelineEntry": TIMELINE_ENTRY,
    "Household": HOUSEHOLD,
    "Person": PERSON,
    "CaseConnection": CONNECTION, "CaseEdge": EDGE,
    "HouseholdConnection": CONNECTION, "HouseholdEdge": EDGE,
    "PageInfo": PAGE_INFO,
}


# Other domains' fields (imported here, last: built on the helpers above): every module of this package
# but the core ones is a domain with a ``TABLES``, so adding a domain adds a file and no line here.
_CORE = frozenset({"case_filters", "compiler", "fields", "pii", "plans", "sorted_lists", "sql"})
for _info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if _info.name not in _CORE:
        extend(FIELDS, importlib.import_module(f"compiled.{_info.name}").TABLES)
