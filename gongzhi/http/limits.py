"""Query limits, checked on the parsed document before any database work: depth, aliases and a cost
that weighs page sizes. The token limit is applied by the parser itself.

Cost model: every field costs 1; a field that returns a list multiplies what is below it by the
number of items it may return — its ``first`` argument (a literal or a variable), else the page
default for connections, else ``LIST_GUESS``. So ``households(first: 100) { nodes { persons { … } } }``
costs about 100 × (1 + 10 × …): a huge page of deep lists is refused before it runs.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from resolvers.i18n import t
from schema.schema import MAX_ALIASES, MAX_DEPTH  # one set of limits (also used over WebSocket)

MAX_COST = 50_000
DEFAULT_PAGE = 20
LIST_GUESS = 10
COST_CAP = 10**12  # counting stops here: nested pages grow geometrically


@dataclass(frozen=True)
class Limits:
    depth: int = MAX_DEPTH
    aliases: int = MAX_ALIASES
    cost: int = MAX_COST


@dataclass
class Verdict:
    depth: int
    aliases: int
    cost: int
    # (code, Chinese, English): verdicts are remembered across requests of either language.
    refusal: tuple[str, str, str] | None = None

    @property
    def error(self) -> tuple[str, str] | None:
        """(code, message in the request's language), or None."""
        return None if self.refusal is None else (self.refusal[0], t(self.refusal[1], self.refusal[2]))


def _unwrap(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _is_list(t: Any) -> bool:
    return isinstance(_unwrap(t), GraphQLList)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


class _Reads(dict[str, Any]):
    """The request's variables, noting which the walk reads (only page sizes matter to a verdict)."""

    def __init__(self, variables: dict[str, Any]) -> None:
        super().__init__(variables)
        self.read: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self.read:
            self.read.append(key)
        return super().get(key, default)


def _first(node: FieldNode, variables: dict[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            return _int_or_none(variables.get(arg.value.name.value))
    return None


class _Walker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.aliases = 0

    def walk(self, selection: SelectionSetNode | None, parent: Any, depth: int, seen: frozenset[str]
             ) -> tuple[int, int]:
        """(max depth, cost) of a selection set under a parent type."""
        if selection is None:
            return depth, 0
        # Plain fields add up; fragments on a type condition apply to one concrete type at a time, so
        # only the costliest of them counts.
        max_depth, cost, typed = depth, 0, 0
        for sel in selection.selections:
            conditional = False
            if isinstance(sel, FieldNode):
                if sel.alias is not None:
                    self.aliases += 1
                d, c = self._field(sel, parent, depth + 1, seen)
            elif isinstance(sel, InlineFragmentNode):
                target = parent
                if sel.type_condition is not None:
                    target = self.schema.get_type(sel.type_condition.name.value) or parent
                    conditional = target is not parent
                d, c = self.walk(sel.selection_set, target, depth, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:
                    continue
                target = self.schema.get_type(frag.type_condition.name.value) or parent
                conditional = target is not get_named_type(parent)
                d, c = self.walk(frag.selection_set, target, depth, seen | {name})
            else:
                continue
            max_depth = max(max_depth, d)
            if conditional:
                typed = max(typed, c)
            else:
                cost = min(cost + c, COST_CAP)
        return max_depth, min(cost + typed, COST_CAP)

    def _field(self, node: FieldNode, parent: Any, depth: int, seen: frozenset[str]) -> tuple[int, int]:
        named = get_named_type(parent)
        field_def = None
        if isinstance(named, GraphQLObjectType) or hasattr(named, "fields"):
            field_def = getattr(named, "fields", {}).get(node.name.value)
        if field_def is None:
            return depth, 1
        child_type = field_def.type
        d, below = self.walk(node.selection_set, get_named_type(child_type), depth, seen)
        result = get_named_type(child_type)
        first = _first(node, self.variables)
        if getattr(named, "name", "").endswith("Connection") and node.name.value in ("nodes", "edges"):
            multiplier = 1  # the connection field already counted its page
        elif first is not None:
            multiplier = max(first, 1)
        elif getattr(result, "name", "").endswith("Connection"):
            multiplier = DEFAULT_PAGE
        elif _is_list(child_type):
            multiplier = LIST_GUESS
        else:
            multiplier = 1
        return d, min(1 + multiplier * below, COST_CAP)


# Verdicts per (document, operation, limits), then per the values of the variables the walk read:
# the app's documents come from its parse cache, so the same query text is the same document object
# (held here, so its id is not reused while the entry lives). Issue #9: the walk was 4 % of a node lookup.
_verdicts: OrderedDict[tuple[int, str | None, Limits], tuple[Any, tuple[str, ...], dict[tuple[Any, ...], Verdict]]] = (
    OrderedDict())
_VERDICTS_SIZE = 512


def check(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: dict[str, Any] | None,
          limits: Limits = Limits()) -> Verdict:
    """Depth, aliases and cost of the operation that will run; an error when one is over its limit."""
    variables = variables or {}
    key = (id(document), operation_name, limits)
    entry = _verdicts.get(key)
    if entry is not None and entry[0] is document:
        _doc, names, by_values = entry
        values = tuple(_int_or_none(variables.get(n)) for n in names)
        found = by_values.get(values)
        if found is not None:
            _verdicts.move_to_end(key)
            return found
    reads = _Reads(variables)
    verdict = _check(schema, document, operation_name, reads, limits)
    names = tuple(reads.read)
    if entry is None or entry[0] is not document or entry[1] != names:
        entry = (document, names, {})
        _verdicts[key] = entry
        while len(_verdicts) > _VERDICTS_SIZE:
            _verdicts.popitem(last=False)
    if len(entry[2]) < 64:
        entry[2][tuple(_int_or_none(variables.get(n)) for n in names)] = verdict
    return verdict


def _check(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: dict[str, Any],
           limits: Limits) -> Verdict:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    walker = _Walker(schema, fragments, variables)
    depth = cost = 0
    for op in operations:
        root = {"query": schema.query_type, "mutation": schema.mutation_type,
                "subscription": schema.subscription_type}[op.operation.value]
        d, c = walker.walk(op.selection_set, root, 0, frozenset())
        depth, cost = max(depth, d), max(cost, c)
    verdict = Verdict(depth=depth, aliases=walker.aliases, cost=cost)
    if depth > limits.depth:
        verdict.refusal = ("QUERY_TOO_DEEP", f"查询嵌套 {depth} 层，最多 {limits.depth} 层",
                           f"the query's depth is {depth}; at most {limits.depth}")
    elif walker.aliases > limits.aliases:
        verdict.refusal = ("TOO_MANY_ALIASES", f"查询使用了 {walker.aliases} 个别名，最多 {limits.aliases} 个",
                           f"the query uses {walker.aliases} aliases; at most {limits.aliases}")
    elif cost > limits.cost:
        verdict.refusal = ("QUERY_TOO_COSTLY",
                           f"查询代价可能达到 {cost}（按分页大小计），最多 {limits.cost}，请减小每页条数",
                           f"the query could cost {cost} (page sizes weigh); at most {limits.cost} — "
                           "ask for smaller pages")
    return verdict
