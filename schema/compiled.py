"""Compiled reads (issue #9): a query is answered by ONE PostgreSQL statement that builds the response.

The resolvers answer a page of 50 cases with a handful of batched statements, but graphql-core then
walks every field of every item in Python — most of a request's time. For the operations frontends
send all day, this module turns the whole selection into one ``SELECT json_build_object(…)``: the
database filters, pages, joins and shapes the JSON, and the server passes the text on.

Nothing is given up for it:
- the row filters are the resolvers' own predicates (``policies/filters.py``), computed from the same
  Casbin grants, so a compiled read sees exactly what the resolvers would;
- masking is the same rule: a person's ID number and phone come from their stored masked forms
  (``persons.*_masked``), and an actor who may read any personal data in full is NOT compiled —
  full reads need unsealing and an audit entry, which the resolvers do;
- tenancy: every table is also filtered by ``tenant_id`` and, on PostgreSQL, by row-level security.

Anything this module does not know — a field, an argument it would have to validate, a directive,
a partner actor, SQLite — makes ``compile_request`` return None and the request runs through
strawberry as before. ``tests/test_compiled.py`` checks, per role, that both paths give the same bytes.
"""

from __future__ import annotations

import enum
import functools
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import get_argument_values, get_variable_values
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Text,
    Uuid,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased, with_loader_criteria
from sqlalchemy.sql import Select, operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, Grouping
from sqlalchemy.sql.visitors import replacement_traverse

from models import (
    OPEN_STATES,
    Area,
    AreaKind,
    Case,
    CaseCategory,
    CaseEvent,
    CasePriority,
    CaseState,
    GridBuilding,
    HandlerKind,
    Household,
    Person,
    PersonCareTag,
    TenantScoped,
    User,
)
from models.area import PropertyManagement
from models.register import Gender, Tenure
from models.sealing import KEYRING
from policies.filters import (
    area_read_predicate,
    buildings_in_scope,
    case_predicate,
    household_predicate,
    person_predicate,
)
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.ids import decode_cursor, decode_global_id
from resolvers.pagination import DEFAULT_PAGE, MAX_PAGE
from tenants.session import fetch_first

MAX_PAIRS = 50  # json_build_object takes at most 100 arguments


class Unsupported(Exception):
    """The request asks for something this compiler does not express; strawberry answers it."""


# ---------------------------------------------------------------- SQL building blocks


def lit(value: str) -> Any:
    """A constant string inlined in the SQL (GraphQL names and fixed markers only — never input)."""
    assert "'" not in value
    return literal_column(f"'{value}'", Text)


EMPTY_JSON_ARRAY: Any = literal_column("'[]'::json")


def _b64url(raw: ColumnElement[Any]) -> ColumnElement[str]:
    return func.translate(func.rtrim(func.encode(raw, lit("base64")), lit("=")), lit("+/\n"), lit("-_"))


def gid(type_name: str, id_col: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_global_id in SQL."""
    return _b64url(func.convert_to(lit(type_name + ":") + cast(id_col, Text), lit("UTF8")))


def cursor(id_col: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_cursor in SQL."""
    return _b64url(literal_column("'\\x6b3a'::bytea").op("||")(func.uuid_send(id_col)))


def iso(ts: ColumnElement[Any]) -> ColumnElement[Any]:
    """datetime.isoformat() of an aware UTC timestamp, as strawberry's DateTime serializes it."""
    utc = ts.op("AT TIME ZONE")(lit("UTC"))
    frac = case((cast(func.extract("microseconds", ts), Integer) % 1000000 == 0, lit("")),
                else_=func.to_char(utc, lit(".US")))
    return func.to_char(utc, lit('YYYY-MM-DD"T"HH24:MI:SS')) + frac + lit("+00:00")


def enum_name(col: ColumnElement[Any], enum_cls: type[enum.Enum]) -> ColumnElement[Any]:
    """A stored enum value as GraphQL shows it: the member's name."""
    return case(*[(col == lit(str(m.value)), lit(m.name)) for m in enum_cls], else_=null())


def json_list(expr: ColumnElement[Any], order: ColumnElement[Any] | None,
              where: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    agg: Any = func.json_agg(expr if order is None else aggregate_order_by(expr, order))
    if where is not None:
        agg = agg.filter(where)
    return func.coalesce(agg, EMPTY_JSON_ARRAY)


# ---------------------------------------------------------------- selections


@dataclass
class Sel:
    """A field of the response: its key, schema field name, field nodes (merged) and definition."""

    key: str
    name: str
    nodes: list[FieldNode]
    field_def: GraphQLField | None


class Compiler:
    """One request's compilation: schema, fragments, coerced variables, the actor."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 bindings: Bindings, ctx: RequestContext) -> None:
        self.schema = schema
        self.fragments = fragments
        self.bindings = bindings
        self.ctx = ctx
        self.tenant_id = ctx.actor.tenant_id
        # What the plan depends on: argument values that shape the SQL (checked on reuse), and
        # positional parameters ($1 is the request's clock) read afresh for every request.
        self.checks: list[tuple[ArgRef, Callable[[dict[str, Any]], Any], Any]] = []
        self.slots: list[Callable[[Bindings], Any]] = []
        self._now: Any = None
        # Conditions the resolvers would turn into an error: when one fails the statement yields
        # NULL and the request is answered by strawberry instead.
        self.guards: list[ColumnElement[bool]] = []

    @property
    def now(self) -> Any:
        """The request's clock, a parameter (only when used: PostgreSQL must see every parameter's type)."""
        if self._now is None:
            self._now = self.slot(lambda b: b.ctx.now, "timestamptz")
        return self._now

    def slot(self, getter: Callable[[Bindings], Any], pgtype: str) -> Any:
        self.slots.append(getter)
        # A placeholder, numbered once the SQL is rendered: SQLAlchemy may drop an expression (x AND false).
        return literal_column(f"$__slot{len(self.slots) - 1}__::{pgtype}", SLOT_TYPES[pgtype])

    def ref(self, sel: Sel) -> ArgRef:
        if sel.field_def is None:
            raise Unsupported("arguments of __typename")
        if len(sel.nodes) > 1 and any(n.arguments for n in sel.nodes[1:]):
            raise Unsupported("merged fields with arguments")
        return ArgRef(sel.field_def, sel.nodes[0])

    def shape(self, sel: Sel, fn: Callable[[dict[str, Any]], Any]) -> Any:
        """An argument-derived value the SQL's structure depends on (a plan is reused only for the same)."""
        ref = self.ref(sel)
        value = fn(self.bindings.args(ref))
        self.checks.append((ref, fn, value))
        return value

    def param(self, sel: Sel, fn: Callable[[dict[str, Any]], Any], pgtype: str) -> Any:
        """An argument-derived value the SQL only carries as a parameter."""
        ref = self.ref(sel)
        fn(self.bindings.args(ref))  # refuse bad values now (Unsupported), not on reuse only
        return self.slot(lambda b: fn(b.args(ref)), pgtype)

    # -- selection sets

    def collect(self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode]) -> list[Sel]:
        out: dict[str, Sel] = {}

        def applies(cond: Any) -> bool:
            if cond is None:
                return True
            name = cond.name.value
            if name == type_.name:
                return True
            t = self.schema.get_type(name)
            return isinstance(t, GraphQLInterfaceType) and self.schema.is_sub_type(t, type_)

        def visit(ss: SelectionSetNode) -> None:
            for node in ss.selections:
                if node.directives:
                    raise Unsupported("directive")
                if isinstance(node, FieldNode):
                    key = node.alias.value if node.alias else node.name.value
                    if key in out:
                        out[key].nodes.append(node)
                    else:
                        name = node.name.value
                        fdef = None if name == "__typename" else type_.fields.get(name)
                        if fdef is None and name != "__typename":
                            raise Unsupported(f"{type_.name}.{name}")
                        out[key] = Sel(key, name, [node], fdef)
                elif isinstance(node, InlineFragmentNode):
                    if applies(node.type_condition):
                        visit(node.selection_set)
                elif isinstance(node, FragmentSpreadNode):
                    frag = self.fragments.get(node.name.value)
                    if frag is None:
                        raise Unsupported("fragment")
                    if applies(frag.type_condition):
                        visit(frag.selection_set)

        for ss in selection_sets:
            visit(ss)
        return list(out.values())

    def obj(self, type_name: str, sels_of: list[SelectionSetNode], field: Callable[[Sel], Any]) -> Any:
        type_ = self.schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        pairs: list[Any] = []
        for sel in self.collect(type_, sels_of):
            expr = lit(type_name) if sel.name == "__typename" else field(sel)
            pairs.extend((lit(sel.key), expr))
        if len(pairs) > 2 * MAX_PAIRS:
            raise Unsupported("too many fields")
        return func.json_build_object(*pairs)

    @staticmethod
    def subsets(sel: Sel) -> list[SelectionSetNode]:
        return [n.selection_set for n in sel.nodes if n.selection_set is not None]

    # -- users

    def user(self, sel: Sel, user_id: ColumnElement[Any]) -> Any:
        u = User.__table__.alias("u")

        def field(s: Sel) -> Any:
            if s.name == "username":
                return u.c.username
            if s.name == "displayName":
                return u.c.display_name
            raise Unsupported(f"User.{s.name}")

        return (select(self.obj("User", self.subsets(sel), field)).select_from(u).where(u.c.id == user_id)
                .correlate_except(u).scalar_subquery())

    # -- areas

    def area_field(self, kind: AreaKind, a: Any, s: Sel) -> Any:
        n = s.name
        simple = {"name": a.c.name, "code": a.c.code, "description": a.c.description, "version": a.c.version}
        if n == "id":
            return gid(AREA_TYPE_OF[kind], a.c.id)
        if n in simple:
            return simple[n]
        if n == "kind":
            return enum_name(a.c.kind, AreaKind)
        if kind is AreaKind.BUILDING and n == "floors":
            return a.c.floors
        if kind is AreaKind.BUILDING and n == "unitCount":
            return a.c.unit_count
        if kind is AreaKind.COMPOUND and n == "propertyManagement":
            return enum_name(a.c.property_management, PropertyManagement)
        if kind is AreaKind.BUILDING and n == "households":
            return self.households_connection(s, Household.building_id == a.c.id, correlate=(a,))
        raise Unsupported(f"Area.{n}")

    def area_obj(self, sel: Sel, a: Any, kinds: tuple[AreaKind, ...] = tuple(AreaKind)) -> Any:
        """An area row as its concrete type: one branch per kind that may occur."""
        whens = []
        for kind in kinds:
            obj = self.obj(AREA_TYPE_OF[kind], self.subsets(sel), functools.partial(self.area_field, kind, a))
            whens.append((a.c.kind == lit(kind.value), obj))
        return whens[0][1] if len(whens) == 1 else case(*whens, else_=null())

    def area_by_id(self, sel: Sel, area_id: ColumnElement[Any], kinds: tuple[AreaKind, ...] = tuple(AreaKind)
                   ) -> Any:
        aa = aliased(Area, name="a")
        a = sa_inspect(aa).selectable
        pred = area_read_predicate(self.ctx.actor.grant("area", "read"), self.ctx.actor, aa)
        stmt = (select(self.area_obj(sel, a, kinds)).select_from(a)
                .where(a.c.tenant_id == self.tenant_id, a.c.id == area_id, pred).correlate_except(a))
        if len(kinds) < len(AreaKind):
            stmt = stmt.where(a.c.kind.in_([lit(k.value) for k in kinds]))
        return stmt.scalar_subquery()

    # -- cases

    def case_field(self, c: Any, full: ColumnElement[Any], s: Sel) -> Any:
        n = s.name
        plain = CASE_COLUMNS.get(n)
        if plain is not None:
            return c.c[plain]
        if n == "id":
            return gid("Case", c.c.id)
        if n in CASE_TIMES:
            return iso(c.c[CASE_TIMES[n]])
        if n == "state":
            return enum_name(c.c.state, CaseState)
        if n == "priority":
            return enum_name(c.c.priority, CasePriority)
        if n == "handlerKind":
            return enum_name(c.c.handler_kind, HandlerKind)
        if n == "reportedByMe":
            return c.c.reporter_user_id == self.ctx.actor.user_id
        if n == "overdue":
            return and_(c.c.state.in_([lit(s.value) for s in OPEN_STATES]), c.c.due_at.is_not(None),
                        c.c.due_at < self.now)
        if n == "categoryName":
            cc = CaseCategory.__table__.alias("cc")
            return (select(cc.c.name).where(cc.c.tenant_id == self.tenant_id, cc.c.code == c.c.category_code)
                    .correlate_except(cc).scalar_subquery())
        if n == "reporter":
            return case((full, self.user(s, c.c.reporter_user_id)), else_=null())
        if n == "area":
            return self.area_by_id(s, c.c.area_id)
        if n == "escalatedTo":
            return self.area_by_id(s, c.c.escalated_to_area_id)
        if n == "community":  # the page's _community column: see case_columns
            return self.area_by_id(s, c.c._community, (AreaKind.COMMUNITY,))
        if n == "grid":
            return self.case_grid(s, c)
        if n == "timeline":
            return self.timeline(s, c, full)
        raise Unsupported(f"Case.{n}")

    def case_grid(self, s: Sel, c: Any) -> Any:
        """Each lookup compares a column with the outer row's column: with row-level security on,
        PostgreSQL uses an index only for such leakproof conditions (not for id = coalesce(…))."""
        ga = aliased(Area, name="g")
        g = sa_inspect(ga).selectable
        gb = GridBuilding.__table__.alias("gb")
        pred = area_read_predicate(self.ctx.actor.grant("area", "read"), self.ctx.actor, ga)
        obj = self.area_obj(s, g, (AreaKind.GRID,))
        by_building = (
            select(obj).select_from(g).join(gb, and_(gb.c.tenant_id == g.c.tenant_id, gb.c.grid_id == g.c.id))
            .where(gb.c.tenant_id == self.tenant_id, gb.c.building_id == c.c.area_id, g.c.kind == lit("grid"), pred)
            .order_by(g.c.name).limit(1).correlate_except(g, gb).scalar_subquery()
        )
        own = (select(obj).select_from(g)
               .where(g.c.tenant_id == self.tenant_id, g.c.id == c.c.area_id, g.c.kind == lit("grid"), pred)
               .correlate_except(g).scalar_subquery())
        return func.coalesce(by_building, own)

    def timeline(self, s: Sel, c: Any, full: ColumnElement[Any]) -> Any:
        last = self.shape(s, _last_shape)
        where: list[ColumnElement[bool]] = []
        if last:
            # The last n entries as one backward index scan (a derived table), not an IN of a second scan.
            e = CaseEvent.__table__.alias("e")
            n = self.shape(s, lambda a: int(a["last"]))  # a literal, like every size (see connection)
            t: Any = (select(e).where(e.c.tenant_id == self.tenant_id, e.c.case_id == c.c.id)
                      .order_by(e.c.seq.desc()).limit(n).correlate(c).subquery("t"))
        else:
            t = CaseEvent.__table__.alias("t")
            where = [t.c.tenant_id == self.tenant_id, t.c.case_id == c.c.id]

        def field(f: Sel) -> Any:
            n = f.name
            if n in ("seq", "action", "note"):
                return t.c[n]
            if n == "fromState":
                return enum_name(t.c.from_state, CaseState)
            if n == "toState":
                return enum_name(t.c.to_state, CaseState)
            if n == "actorRole":
                return case((full, t.c.actor_role), else_=null())
            if n == "actor":
                return case((and_(full, t.c.actor_user_id.is_not(None)), self.user(f, t.c.actor_user_id)),
                            else_=null())
            if n == "at":
                return iso(t.c.created_at)
            if n == "attachmentIds":
                a = func.json_array_elements_text(t.c.attachments).table_valued("value").alias("att")
                return select(json_list(gid("Attachment", cast(a.c.value, Area.__table__.c.id.type)), None)
                              ).select_from(a).scalar_subquery()
            raise Unsupported(f"CaseTimelineEntry.{n}")

        return (select(json_list(self.obj("CaseTimelineEntry", self.subsets(s), field), t.c.seq))
                .select_from(t).where(*where).correlate_except(t).scalar_subquery())

    def case_columns(self) -> list[Any]:
        """A case row with what its fields need computed once: whether it is seen in full, and its
        community's id (the second segment of its path) as a column, so that the community lookup
        is an index probe under row-level security."""
        seg = func.nullif(func.split_part(Case.area_path, lit("/"), 3), lit(""))
        return [Case.__table__, self.case_full().label("_full"),
                cast(seg, Area.__table__.c.id.type).label("_community")]

    def case_full(self) -> ColumnElement[bool]:
        return case_predicate(self.ctx.actor.grant("case", "read"), self.ctx.actor, public=False)

    def cases_connection(self, sel: Sel) -> Any:
        if self.shape(sel, lambda a: a.get("areaId") is not None or a.get("assignedToMe") is not None):
            raise Unsupported("cases filter")
        filters: list[ColumnElement[bool]] = []
        states: tuple[str, ...] = ()
        if self.shape(sel, lambda a: bool(a.get("states"))):
            states = self.shape(sel, lambda a: tuple(CaseState(x).value for x in a["states"]))
            filters.append(Case.state.in_([lit(x) for x in states]))
        if self.shape(sel, lambda a: bool(a.get("category"))):
            filters.append(Case.category_code == self.param(sel, lambda a: a["category"], "text"))
        supervised = self.shape(sel, lambda a: a.get("supervised"))
        if supervised is not None:
            filters.append(Case.supervised.is_(true() if supervised else false()))
        overdue = self.shape(sel, lambda a: a.get("overdue"))
        if overdue is not None:
            late = and_(Case.state.in_([lit(s.value) for s in OPEN_STATES]), Case.due_at.is_not(None),
                        Case.due_at < self.now)
            filters.append(late if overdue else ~late)
        if self.shape(sel, lambda a: bool(a.get("reportedByMe"))):
            filters.append(Case.reporter_user_id == self.ctx.actor.user_id)
        scope = case_read_predicate(self.ctx)
        stmt = select(*self.case_columns()).where(Case.tenant_id == self.tenant_id, scope, *filters)
        candidates = None
        branches = _or_branches(scope)
        if states and set(states) <= _OPEN_VALUES and len(branches) > 1:
            # Open cases in a scope of several branches (subtree, grid-covered buildings, own reports…):
            # the page is among the newest ``first + 1`` of each branch, which the open-case indexes
            # give directly; the page query still tests the whole predicate (issue #9, migration 0024).
            def candidates(extra: list[ColumnElement[bool]], limit: int) -> ColumnElement[bool]:
                parts = [select(Case.id).where(Case.tenant_id == self.tenant_id, _indexable(b), *filters, *extra)
                         .order_by(Case.id.desc()).limit(limit) for b in branches]
                return Case.id.in_(union_all(*parts))
        return self.connection(sel, stmt, Case.id, descending=True, type_name="Case",
                               node=lambda s, p: self.case_obj_fields(s, p), candidates=candidates)

    def case_obj_fields(self, sel: Sel, p: Any) -> Any:
        return self.obj("Case", self.subsets(sel), lambda s: self.case_field(p, p.c._full, s))

    # -- households and persons

    def households_connection(self, sel: Sel, where: ColumnElement[bool], correlate: tuple[Any, ...] = ()) -> Any:
        grant = self.ctx.actor.grant("household", "read")
        stmt = select(Household.__table__).where(Household.tenant_id == self.tenant_id,
                                                 household_predicate(grant, self.ctx.actor), where)
        return self.connection(sel, stmt.correlate(*correlate) if correlate else stmt, Household.id,
                               descending=False, type_name="Household",
                               node=lambda s, p: self.obj("Household", self.subsets(s),
                                                          lambda f: self.household_field(p, f)))

    def household_field(self, h: Any, s: Sel) -> Any:
        n = s.name
        if n == "id":
            return gid("Household", h.c.id)
        if n in ("unit", "version"):
            return h.c[n]
        if n == "room":
            return case((self.household_pii(h), h.c.room), else_=lit("***"))
        if n == "addressMasked":
            return ~self.household_pii(h)
        if n == "floorArea":
            return cast(h.c.floor_area, Text)
        if n == "tenure":
            return enum_name(h.c.tenure, Tenure)
        if n == "building":
            return self.area_by_id(s, h.c.building_id, (AreaKind.BUILDING,))
        if n == "persons":
            return self.persons_of(s, h.c.id)
        raise Unsupported(f"Household.{n}")

    def persons_of(self, sel: Sel, household_id: ColumnElement[Any]) -> Any:
        pa = aliased(Person, name="pp")
        p = sa_inspect(pa).selectable
        pred = person_predicate(self.ctx.actor.grant("person", "read"), self.ctx.actor, pa)
        return (select(json_list(self.obj("Person", self.subsets(sel), lambda f: self.person_field(p, f)), p.c.id))
                .select_from(p).where(p.c.tenant_id == self.tenant_id, p.c.household_id == household_id, pred)
                .correlate_except(p).scalar_subquery())

    def person_field(self, p: Any, s: Sel) -> Any:
        n = s.name
        if n == "id":
            return gid("Person", p.c.id)
        simple = {"name": p.c.name, "relationToHead": p.c.relation_to_head, "partyMember": p.c.party_member,
                  "version": p.c.version, "inServicePartyMember": p.c.in_service_party_member}
        if n in simple:
            return simple[n]
        if n == "gender":
            return enum_name(p.c.gender, Gender)
        full = self.person_pii(p)
        if n == "piiMasked":
            return ~full
        # A full read is a marker {"$pii": person id, "v": value[, "s": true when sealed]} that
        # finish() turns into the value (unsealed) and records for the audit, as the resolvers do.
        if n in ("idCardNo", "phone"):
            sealed, masked = (p.c.id_card_no, p.c.id_card_masked) if n == "idCardNo" else (p.c.phone, p.c.phone_masked)
            marker = func.json_build_object(lit("$pii"), p.c.id, lit("v"), sealed, lit("s"), true())
            return case((sealed.is_(None), null()), (full, marker), else_=func.to_json(masked))
        if n == "birthDate":
            marker = func.json_build_object(lit("$pii"), p.c.id, lit("v"), p.c.birth_date)
            return case((p.c.birth_date.is_(None), null()), (full, marker), else_=null())
        if n == "careTags":
            t = PersonCareTag.__table__.alias("ct")
            tags = (select(json_list(t.c.code, t.c.code)).select_from(t)
                    .where(t.c.tenant_id == self.tenant_id, t.c.person_id == p.c.id).correlate_except(t)
                    .scalar_subquery())
            return case((full, func.json_build_object(lit("$pii"), p.c.id, lit("v"), tags)), else_=null())
        raise Unsupported(f"Person.{n}")

    def person_pii(self, p: Any) -> ColumnElement[bool]:
        """The person's personal data may be read in full (loaders.pii_visible_by_person)."""
        pa = aliased(Person, p)
        return person_predicate(self.ctx.actor.grant("person", "read_pii"), self.ctx.actor, pa)

    def household_pii(self, h: Any) -> ColumnElement[bool]:
        """The household's exact address may be read (loaders.pii_visible_by_household)."""
        ha = aliased(Household, h)
        return household_predicate(self.ctx.actor.grant("person", "read_pii"), self.ctx.actor, ha)

    # -- connections

    def connection(self, sel: Sel, stmt: Select[Any], id_col: Any, *, descending: bool, type_name: str,
                   node: Callable[[Sel, Any], Any],
                   candidates: Callable[[list[ColumnElement[bool]], int], ColumnElement[bool]] | None = None) -> Any:
        """A keyset page as one aggregate over ``first + 1`` rows: the extra row only tells hasNextPage."""
        if not self.shape(sel, _page_size_ok):
            raise Unsupported("first out of range")  # the resolvers give the typed error
        # Sizes and state lists are literals, not parameters: a statement whose parameters are only
        # ids and cursors gets PostgreSQL's generic plan, planned once per connection; with the size a
        # parameter PostgreSQL planned the statement anew on every request (issue #9: 2-4 ms of op 1).
        n = self.shape(sel, _page_size)
        after = self.shape(sel, lambda a: a.get("after") is not None)
        paged = stmt
        extra: list[ColumnElement[bool]] = []
        if after:
            key = self.param(sel, _after_key, "uuid")
            extra.append(id_col < key if descending else id_col > key)
            paged = paged.where(*extra)
        if candidates is not None:  # rows the page can only come from (totalCount still counts stmt)
            paged = paged.where(candidates(extra, n + 1))
        ordering = id_col.desc() if descending else id_col
        page = (paged.add_columns(func.row_number().over(order_by=ordering).label("_rn"))
                .order_by(ordering).limit(n + 1).subquery("p"))
        order = page.c.id.desc() if descending else page.c.id
        on_page = page.c._rn <= n

        def edge_field(e: Sel) -> Any:
            if e.name == "cursor":
                return cursor(page.c.id)
            if e.name == "node":
                return node(e, page)
            raise Unsupported(f"Edge.{e.name}")

        def info_field(f: Sel) -> Any:
            if f.name == "hasNextPage":
                return func.count() > n
            if f.name == "hasPreviousPage":
                return true() if after else false()
            if f.name in ("startCursor", "endCursor"):  # PostgreSQL has no min(uuid): the first by row number
                rn = page.c._rn if f.name == "startCursor" else page.c._rn.desc()
                ids = func.array_agg(aggregate_order_by(page.c.id, rn), type_=ARRAY(page.c.id.type)).filter(on_page)
                return cursor(ids[1])
            raise Unsupported(f"PageInfo.{f.name}")

        def field(f: Sel) -> Any:
            if f.name == "edges":
                return json_list(self.obj(f"{type_name}Edge", self.subsets(f), edge_field), order, on_page)
            if f.name == "nodes":
                return json_list(node(f, page), order, on_page)
            if f.name == "totalCount":
                return select(func.count()).select_from(stmt.subquery()).scalar_subquery()
            if f.name == "pageInfo":
                return self.obj("PageInfo", self.subsets(f), info_field)
            raise Unsupported(f"Connection.{f.name}")

        # HAVING makes it an aggregate whatever was asked (totalCount alone aggregates nothing): one row.
        return (select(self.obj(f"{type_name}Connection", self.subsets(sel), field)).select_from(page)
                .having(func.count() >= 0).scalar_subquery())

    # -- node(id:)

    def node(self, sel: Sel) -> Any:
        type_name = self.shape(sel, _node_type)
        id_ = self.param(sel, _node_uuid, "uuid")
        if type_name == "Case":
            stmt = select(*self.case_columns()).where(
                Case.tenant_id == self.tenant_id, Case.id == id_, case_read_predicate(self.ctx)).subquery("p")
            return select(self.case_obj_fields(sel, stmt)).select_from(stmt).scalar_subquery()
        if type_name == "Household":
            h = select(Household.__table__).where(
                Household.tenant_id == self.tenant_id, Household.id == id_,
                household_predicate(self.ctx.actor.grant("household", "read"), self.ctx.actor)).subquery("p")
            return select(self.obj("Household", self.subsets(sel), lambda f: self.household_field(h, f))
                          ).select_from(h).scalar_subquery()
        if type_name == "Person":
            p = select(Person.__table__).where(
                Person.tenant_id == self.tenant_id, Person.id == id_,
                person_predicate(self.ctx.actor.grant("person", "read"), self.ctx.actor)).subquery("p")
            return select(self.obj("Person", self.subsets(sel), lambda f: self.person_field(p, f))
                          ).select_from(p).scalar_subquery()
        kind = AREA_KIND_OF.get(type_name)
        if kind is not None:
            return self.area_by_id(sel, id_, (kind,))
        raise Unsupported(f"node of {type_name}")

    # -- the operation

    def root(self, op: OperationDefinitionNode) -> Select[Any]:
        query = self.schema.query_type
        assert query is not None

        def field(sel: Sel) -> Any:
            if sel.name == "cases":
                return self.cases_connection(sel)
            if sel.name == "node":
                return self.node(sel)
            if sel.name == "households":
                if self.shape(sel, lambda a: bool(a.get("search"))):
                    raise Unsupported("households search")  # room numbers: the resolvers check the right
                if not self.shape(sel, lambda a: a.get("areaId") is not None):
                    return self.households_connection(sel, true())
                ar = Area.__table__.alias("ar")
                area_id = self.param(sel, _area_uuid, "uuid")
                if self.shape(sel, lambda a: _node_type({"id": a["areaId"]})) == "Building":
                    # A building's households are those with its id (no grid lies under a building):
                    # an equality, not a path prefix a runtime value would keep from using an index.
                    self.guards.append(exists(select(ar.c.id).where(
                        ar.c.tenant_id == self.tenant_id, ar.c.id == area_id, ar.c.kind == lit("building"))))
                    return self.households_connection(sel, Household.building_id == area_id)
                path = (select(ar.c.path).where(ar.c.tenant_id == self.tenant_id, ar.c.id == area_id)
                        .scalar_subquery())
                # An unknown area is NOT_FOUND from the resolvers: the statement yields NULL, strawberry answers.
                self.guards.append(path.is_not(None))
                return self.households_connection(
                    sel, Household.building_id.in_(buildings_in_scope((cast(path, Text),))))  # type: ignore[arg-type]
            raise Unsupported(f"Query.{sel.name}")

        data = cast(self.obj(query.name, [op.selection_set], field), Text)
        return select(case((and_(*self.guards), data), else_=null()) if self.guards else data)


# Case fields that are a column as they are.
CASE_COLUMNS = {
    "number": "number", "title": "title", "description": "description", "category": "category_code",
    "locationText": "location_text", "latitude": "latitude", "longitude": "longitude",
    "onProblemWall": "on_wall", "handlerName": "handler_name", "supervised": "supervised",
    "resolution": "resolution", "rejectReason": "reject_reason", "satisfied": "satisfied",
    "feedbackComment": "feedback_comment", "reopenCount": "reopen_count", "version": "version",
}
CASE_TIMES = {"dueAt": "due_at", "reportedAt": "created_at", "resolvedAt": "resolved_at",
              "closedAt": "closed_at"}
AREA_TYPE_OF = {AreaKind.STREET: "Street", AreaKind.COMMUNITY: "Community", AreaKind.ZONE: "Zone",
                AreaKind.COMPOUND: "Compound", AreaKind.GRID: "Grid", AreaKind.BUILDING: "Building"}
AREA_KIND_OF = {v: k for k, v in AREA_TYPE_OF.items()}
SLOT_TYPES: dict[str, Any] = {"int": Integer(), "text": Text(), "uuid": Uuid(), "timestamptz": DateTime(timezone=True),
                              "text[]": ARRAY(Text())}

class ArgRef:
    """A field's arguments in the (cached) document: read again, with each request's variables."""

    __slots__ = ("field_def", "node")

    def __init__(self, field_def: GraphQLField, node: FieldNode) -> None:
        self.field_def = field_def
        self.node = node


class Bindings:
    """One request's variables (coerced) and context; argument values are read once per field."""

    def __init__(self, variables: Any, ctx: RequestContext) -> None:
        self.variables = variables
        self.ctx = ctx
        self._args: dict[int, dict[str, Any]] = {}

    def args(self, ref: ArgRef) -> dict[str, Any]:
        key = id(ref.node)
        if key not in self._args:
            self._args[key] = get_argument_values(ref.field_def, ref.node, self.variables)
        return self._args[key]


def _page_size(a: dict[str, Any]) -> int:
    return DEFAULT_PAGE if a.get("first") is None else int(a["first"])


def _page_size_ok(a: dict[str, Any]) -> bool:
    return 0 <= _page_size(a) <= MAX_PAGE


def _after_key(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_cursor(a["after"])
    except ServiceError:
        raise Unsupported("bad cursor") from None


def _node_type(a: dict[str, Any]) -> str:
    try:
        return decode_global_id(str(a["id"]))[0]
    except ServiceError:
        raise Unsupported("bad id") from None


def _area_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        type_name, id_ = decode_global_id(str(a["areaId"]))
    except ServiceError:
        raise Unsupported("bad id") from None
    if type_name not in AREA_KIND_OF:
        raise Unsupported("not an area")
    return id_


def _node_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["id"]))[1]
    except ServiceError:
        raise Unsupported("bad id") from None


_OPEN_VALUES = frozenset(s.value for s in OPEN_STATES)


def _or_branches(pred: Any) -> list[ColumnElement[bool]]:
    """The alternatives of an OR, nested ORs flattened; a predicate that is no OR is its own one."""
    while isinstance(pred, Grouping):
        pred = pred.element
    if isinstance(pred, BooleanClauseList) and pred.operator is operators.or_:
        return [b for c in pred.clauses for b in _or_branches(c)]
    return [pred]


def _indexable(branch: ColumnElement[bool]) -> ColumnElement[bool]:
    """A branch as its own index scan may read it. A path prefix becomes starts_with, which is
    leakproof (LIKE is not), so row-level security lets the planner use the path index for it: for a
    narrow scope a few index entries instead of a scan of the tenant's cases. As a plain filter over
    many rows starts_with costs more than LIKE, so only the candidate scans use it."""
    if isinstance(branch, BinaryExpression) and branch.operator is operators.startswith_op \
            and not branch.modifiers.get("escape") and not branch.modifiers.get("autoescape"):
        return func.starts_with(branch.left, branch.right)
    return branch


def _area_paths_by_index(element: Any) -> Any:
    """Areas under a given path (a scope's grids, its buildings) as starts_with: the areas' path index
    then finds them under row-level security, where LIKE made every such subquery scan the tenant's
    areas (0.3 ms each, five in a grid leader's case list). Areas are few per tenant, so even where
    no index is used the per-row cost of starts_with does not matter there."""
    if isinstance(element, BinaryExpression) and element.operator is operators.startswith_op:
        table = getattr(element.left, "table", None)
        base = getattr(table, "element", table)
        if getattr(element.left, "key", None) == "path" and getattr(base, "name", None) == "areas":
            return _indexable(element)
    return None


def _last_shape(a: dict[str, Any]) -> bool | None:
    last = a.get("last")
    if last is not None and last < 0:
        raise Unsupported("bad last")  # the resolvers give the typed error
    return None if last is None else last > 0


@dataclass
class Plan:
    """A compiled operation for one actor: SQL text, what it depends on, where its parameters come from."""

    sql: str
    checks: list[tuple[ArgRef, Callable[[dict[str, Any]], Any], Any]]
    slots: list[Callable[[Bindings], Any]]

    def fits(self, b: Bindings) -> bool:
        try:
            return all(fn(b.args(ref)) == value for ref, fn, value in self.checks)
        except Unsupported:
            return False

    def params(self, b: Bindings) -> tuple[Any, ...]:
        return tuple(getter(b) for getter in self.slots)


class PlanCache:
    """Compiled plans per (document, operation, actor): building the SQL costs milliseconds, reusing
    it microseconds. The actor's grants are part of the key (they are inlined in the SQL), and so is
    the tenant's policy version, so a policy change or a new role assignment makes a new plan."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[Any, ...], list[Plan]] = OrderedDict()
        # (document, operation) that compiled for some actor, least recently used first: worth trying
        # before any ORM session. Keys of _plans begin with the two (compile_request builds them).
        self._compiled: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], b: Bindings) -> Plan | None:
        plans = self._plans.get(key)
        if plans is None:
            return None
        self._plans.move_to_end(key)
        plan = next((p for p in plans if p.fits(b)), None)
        if plan is not None:
            self._remember(key)
        return plan

    def put(self, key: tuple[Any, ...], plan: Plan) -> None:
        self._plans.setdefault(key, []).append(plan)
        self._plans.move_to_end(key)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)
        self._remember(key)

    def _remember(self, key: tuple[Any, ...]) -> None:
        # On every use, not only when compiled: a document answered from the cache for hours must
        # not fall out behind documents compiled since.
        self._compiled[key[0], key[1]] = None
        self._compiled.move_to_end((key[0], key[1]))
        while len(self._compiled) > self.size:
            self._compiled.popitem(last=False)

    def compiles(self, query: str, operation_name: str | None) -> bool:
        """Whether this document and operation compiled before, for any actor."""
        return (query, operation_name) in self._compiled


_SLOT = re.compile(r"\$__slot(\d+)__")


def _number_slots(sql: str, slots: list[Callable[[Bindings], Any]]) -> tuple[str, list[Callable[[Bindings], Any]]]:
    """$1, $2 … for the placeholders the rendered SQL kept, in order; the getters of those only."""
    used: dict[int, int] = {}

    def number(m: re.Match[str]) -> str:
        k = int(m.group(1))
        if k not in used:
            used[k] = len(used) + 1
        return f"${used[k]}"

    sql = _SLOT.sub(number, sql)
    return sql, [slots[k] for k in sorted(used, key=used.__getitem__)]


def _actor_key(ctx: RequestContext) -> tuple[Any, ...]:
    a = ctx.actor
    # The texts the actor was read from determine its assignments, person, household and compound.
    rows: tuple[Any, ...] = ((a.source,) if a.source is not None
                             else (tuple(a.assignments), a.person_id, a.household_id, a.own_compound_path))
    return (ctx.tenant.id, ctx.tenant.policy_version, a.user_id, *rows, a.today)


def compile_request(schema: GraphQLSchema, query: str, document: DocumentNode, operation_name: str | None,
                    variables: dict[str, Any] | None, ctx: RequestContext, cache: PlanCache
                    ) -> tuple[str, tuple[Any, ...]] | None:
    """The one statement (SQL, parameters) answering this request's data, or None when strawberry must."""
    if ctx.actor.partner_client_id is not None:
        return None
    dialect = ctx.db.session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(ops) != 1:
            return None
        op = ops[0]
    else:
        matching = [o for o in ops if o.name is not None and o.name.value == operation_name]
        if len(matching) != 1:
            return None
        op = matching[0]
    if op.operation is not OperationType.QUERY or op.directives:
        return None
    coerced = get_variable_values(schema, op.variable_definitions or (), variables or {})
    if isinstance(coerced, list) or getattr(coerced, "errors", None):
        return None
    bindings = Bindings(getattr(coerced, "variable_values", coerced), ctx)
    key = (query, operation_name, *_actor_key(ctx))
    plan = cache.get(key, bindings)
    if plan is None:
        cache.misses += 1
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        compiler = Compiler(schema, fragments, bindings, ctx)
        try:
            stmt = compiler.root(op)
        except Unsupported:
            return None
        stmt = replacement_traverse(stmt, {}, _area_paths_by_index)  # type: ignore[call-overload]
        # The ORM's tenant filter, as tenants/session.py adds it to every ORM statement, reaches the
        # predicates' subqueries too; row-level security repeats it in the database.
        tenant_id = ctx.actor.tenant_id
        stmt = stmt.options(with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id,
                                                 include_aliases=True))
        sql, slots = _number_slots(str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})),
                                   compiler.slots)
        plan = Plan(sql, compiler.checks, slots)
        cache.put(key, plan)
    else:
        cache.hits += 1
    try:
        return plan.sql, plan.params(bindings)
    except Unsupported:
        return None


def finish(data: str, ctx: RequestContext) -> bytes:
    """The response body from the statement's JSON text. Full reads of personal data arrive as
    markers (see Compiler.person_field): unseal them and record the persons for the audit."""
    if '"$pii"' not in data:
        return b'{"data":' + data.encode() + b"}"
    return orjson.dumps({"data": _unmark(orjson.loads(data), ctx)})


def _unmark(value: Any, ctx: RequestContext) -> Any:
    if isinstance(value, dict):
        if "$pii" in value and "v" in value and len(value) <= 3:
            ctx.pii_reads.add(uuid.UUID(value["$pii"]))
            v = value["v"]
            return KEYRING.open(v) if value.get("s") else v
        return {k: _unmark(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_unmark(v, ctx) for v in value]
    return value


async def run_compiled(ctx: RequestContext, sql: str, params: tuple[Any, ...]) -> str | None:
    """Run a plan's SQL on the request's session (so RLS, the transaction and statement counting apply).
    None: a guard failed (e.g. an unknown area); the resolvers must answer, with their error."""
    async def run() -> str | None:
        value = (await fetch_first(ctx.db.session, sql, *params))[0]
        return None if value is None else str(value)

    return await ctx.db.locked(run)
