"""The compiler's machinery: one request's selections, arguments and parameters, and ``obj`` — the
one place a GraphQL object becomes ``json_build_object`` (``compiled.sql.JsonObject``, whose text is
written by concatenation where only its text is read), dispatching each selected field on the
declared field table of its type (``compiled.fields.FIELDS``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    NamedTypeNode,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.sql.elements import ColumnClause

from compiled.sql import MAX_PAIRS, SLOT_TYPES, JsonObject, lit
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.ids import decode_cursor, decode_global_id
from resolvers.pagination import DEFAULT_PAGE, MAX_PAGE

T = TypeVar("T")


class Unsupported(Exception):
    """The request asks for something this compiler does not express; strawberry answers it."""


@dataclass
class Sel:
    """A field of the response: its key, schema field name, field nodes (merged) and definition."""

    key: str
    name: str
    nodes: list[FieldNode]
    field_def: GraphQLField | None


# How one field of one GraphQL type is built: (compiler, the row or page it is read from, the selection).
Handler = Callable[["Compiler", Any, Sel], ColumnElement[Any]]
FieldTable = Mapping[str, Handler]


class ArgRef:
    """A field's arguments in the (cached) document: read again, with each request's variables. Arguments
    written without a variable (``cases(states: [REPORTED …], first: 20)``) are the same on every request:
    coerced once, on first use, and kept here with the plan that holds the reference (issue #21: graphql-core's
    coercion of the open-case page's five states was the largest part of its plan's reuse)."""

    __slots__ = ("constant", "field_def", "node")

    def __init__(self, field_def: GraphQLField, node: FieldNode) -> None:
        self.field_def = field_def
        self.node = node
        self.constant: dict[str, Any] | None = None


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


class Bindings:
    """One request's variables (coerced) and context; argument values are read once per field. ``key``: the
    variables as sent (``compiled.plans.variables_key``), under which a plan keeps what it read from them alone
    (``Plan.fits``, ``Plan.params``); None: nothing is kept."""

    def __init__(self, variables: VariableValues, ctx: RequestContext, key: bytes | None = None) -> None:
        self.variables = variables
        self.ctx = ctx
        self.key = key
        self._args: dict[int, dict[str, Any]] = {}

    def args(self, ref: ArgRef) -> dict[str, Any]:
        if ref.constant is not None:
            return ref.constant
        key = id(ref.node)
        found = self._args.get(key)
        if found is None:
            found = self._args[key] = get_argument_values(ref.field_def, ref.node, self.variables)
        if not any(_has_variable(a.value) for a in ref.node.arguments or ()):
            ref.constant = found  # every reference to the node: a plan's checks each hold their own
        return found


class ArgSlot:
    """A parameter read from a field's arguments alone (``Compiler.param``): ``fn`` of the arguments, which the
    document and the request's variables determine — a reused plan keeps its value per variables
    (``compiled.plans.Plan.params``). Every other slot (the clock, the actor) is read on every request."""

    __slots__ = ("fn", "ref")

    def __init__(self, ref: ArgRef, fn: Callable[[dict[str, Any]], Any]) -> None:
        self.ref = ref
        self.fn = fn

    def __call__(self, b: Bindings) -> Any:
        return self.fn(b.args(self.ref))


class Compiler:
    """One request's compilation: schema, fragments, coerced variables, the actor, and the field
    tables it may use — a field not in its type's table is Unsupported, whatever the schema has."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 bindings: Bindings, ctx: RequestContext, fields: Mapping[str, FieldTable]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.bindings = bindings
        self.ctx = ctx
        self.fields = fields
        self.tenant_id = ctx.actor.tenant_id
        # What the plan depends on: argument values that shape the SQL (checked on reuse), and
        # positional parameters ($1 is the request's clock) read afresh for every request.
        self.checks: list[tuple[ArgRef, Callable[[dict[str, Any]], Any], Any]] = []
        self.slots: list[Callable[[Bindings], Any]] = []
        self._now: ColumnClause[Any] | None = None
        # Conditions the resolvers would turn into an error: when one fails the statement yields
        # NULL and the request is answered by strawberry instead.
        self.guards: list[ColumnElement[bool]] = []

    @property
    def now(self) -> ColumnClause[Any]:
        """The request's clock, a parameter (only when used: PostgreSQL must see every parameter's type)."""
        if self._now is None:
            self._now = self.slot(lambda b: b.ctx.now, "timestamptz")
        return self._now

    def slot(self, getter: Callable[[Bindings], Any], pgtype: str) -> ColumnClause[Any]:
        self.slots.append(getter)
        # A placeholder, numbered once the SQL is rendered: SQLAlchemy may drop an expression (x AND false).
        return literal_column(f"$__slot{len(self.slots) - 1}__::{pgtype}", SLOT_TYPES[pgtype])

    def ref(self, sel: Sel) -> ArgRef:
        if sel.field_def is None:
            raise Unsupported("arguments of __typename")
        if len(sel.nodes) > 1 and any(n.arguments for n in sel.nodes[1:]):
            raise Unsupported("merged fields with arguments")
        return ArgRef(sel.field_def, sel.nodes[0])

    def shape(self, sel: Sel, fn: Callable[[dict[str, Any]], T]) -> T:
        """An argument-derived value the SQL's structure depends on (a plan is reused only for the same).
        ``fn`` reads its arguments and nothing else (no clock, actor or tenant): a plan keeps its verdict per
        variables (``compiled.plans.Plan.fits``; tests/compiled/test_compiled_memo.py reads every ``fn``)."""
        ref = self.ref(sel)
        value = fn(self.bindings.args(ref))
        self.checks.append((ref, fn, value))
        return value

    def param(self, sel: Sel, fn: Callable[[dict[str, Any]], Any], pgtype: str) -> ColumnClause[Any]:
        """An argument-derived value the SQL only carries as a parameter; ``fn`` as for ``shape``, its value kept
        per variables (``ArgSlot``)."""
        ref = self.ref(sel)
        fn(self.bindings.args(ref))  # refuse bad values now (Unsupported), not on reuse only
        return self.slot(ArgSlot(ref, fn), pgtype)

    # -- selection sets

    def collect(self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode]) -> list[Sel]:
        out: dict[str, Sel] = {}

        def applies(cond: NamedTypeNode | None) -> bool:
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

    def obj(self, type_name: str, sels_of: list[SelectionSetNode], row: Any) -> ColumnElement[Any]:
        """The JSON object of ``type_name`` read from ``row``: each selected field by its type's table."""
        type_ = self.schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        table = self.fields.get(type_name)
        if table is None:
            raise Unsupported(type_name)
        pairs: list[ColumnElement[Any]] = []
        for sel in self.collect(type_, sels_of):
            expr: ColumnElement[Any]
            if sel.name == "__typename":
                expr = lit(type_name)
            else:
                handler = table.get(sel.name)
                if handler is None:
                    raise Unsupported(f"{type_name}.{sel.name}")
                expr = handler(self, row, sel)
            pairs.extend((lit(sel.key), expr))
        if len(pairs) > 2 * MAX_PAIRS:
            raise Unsupported("too many fields")
        return JsonObject(*pairs)

    @staticmethod
    def subsets(sel: Sel) -> list[SelectionSetNode]:
        return [n.selection_set for n in sel.nodes if n.selection_set is not None]

    def sub(self, type_name: str, sel: Sel, row: Any) -> ColumnElement[Any]:
        """The object a field with a selection set points to (its sub-selections, read from ``row``)."""
        return self.obj(type_name, self.subsets(sel), row)


def extend(fields: dict[str, FieldTable], tables: Mapping[str, FieldTable]) -> None:
    """Adds a module's field tables to ``fields``: a type already there (Query) gets the module's fields
    as well; a field declared twice is a mistake."""
    for type_name, table in tables.items():
        known = fields.get(type_name, {})
        assert not set(known) & set(table), (type_name, set(known) & set(table))
        fields[type_name] = {**known, **table}


# ---------------------------------------------------------------- argument readers (plan checks)


def page_size(a: dict[str, Any]) -> int:
    return DEFAULT_PAGE if a.get("first") is None else int(a["first"])


def page_size_ok(a: dict[str, Any]) -> bool:
    return 0 <= page_size(a) <= MAX_PAGE


def after_key(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_cursor(a["after"])
    except ServiceError:
        raise Unsupported("bad cursor") from None


def node_type(a: dict[str, Any]) -> str:
    try:
        return decode_global_id(str(a["id"]))[0]
    except ServiceError:
        raise Unsupported("bad id") from None


def node_uuid(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["id"]))[1]
    except ServiceError:
        raise Unsupported("bad id") from None


def last_shape(a: dict[str, Any]) -> bool | None:
    last = a.get("last")
    if last is not None and last < 0:
        raise Unsupported("bad last")  # the resolvers give the typed error
    return None if last is None else last > 0


def id_arg(arg: str, type_name: str) -> Callable[[dict[str, Any]], uuid.UUID]:
    """An ID argument's uuid as the schema's decode_id reads it (of ``type_name``); a bad one is
    Unsupported, so the resolvers give their typed error."""
    def read(a: dict[str, Any]) -> uuid.UUID:
        try:
            return decode_global_id(str(a[arg]), type_name, arg).id
        except ServiceError:
            raise Unsupported(f"bad {arg}") from None
    return read


def given_id(cx: Compiler, sel: Sel, arg: str, type_name: str) -> ColumnElement[Any] | None:
    """The ID argument's uuid as a parameter, or None when it was not given (a shape of the plan)."""
    if not cx.shape(sel, lambda a: a.get(arg) is not None):
        return None
    return cx.param(sel, id_arg(arg, type_name), "uuid")
