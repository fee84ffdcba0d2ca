"""An operation's variables coerced as graphql-core's ``get_variable_values`` coerces them, by a coercer made once
per operation (issue #21, the fast writes of ``gongzhi.http.fast_writes`` and ``fast_moves``).

graphql-core asks every value of every request what its type is (non-null? list? input object? leaf?), walks
the value once more for its nesting depth and reads each variable's type from the document again: ≈ 8 % of a
report's profiled time. Here each variable's type is read once, and its coercer is a tree of closures that
does, for a value, exactly what ``coerce_input_value`` does for it (the same leaf ``coerce_input_value``, the
same defaults — ``coerce_default_value``, memoised by graphql-core on the field — the same ``out_type`` and
one-of rule). Only success is answered: where graphql-core would report an error, ``coerce`` answers None and
the general path answers the request with graphql-core's own error. An operation this does not make a coercer
for (a variable with a default of its own, an unknown type, a recursive input type: graphql-core's depth check
matters there) is coerced by ``get_variable_values`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    is_required_input_field,
)
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.pyutils import is_iterable
from graphql.type import assert_leaf_type
from graphql.utilities.coerce_input_value import coerce_default_value

from models.bounded import keep

__all__ = ["coerce"]

Coercer = Callable[[Any], Any]  # a value → its coerced value, or Undefined (graphql-core: invalid)
# Per operation node (the documents are cached: the same node comes back): the node itself (an id is reused
# once its node is gone), and per variable its name, signature, whether it is required and its coercer; None:
# graphql-core's get_variable_values coerces this operation's variables.
Plan = tuple[tuple[str, GraphQLVariableSignature, bool, Coercer], ...]
_plans: dict[int, tuple[OperationDefinitionNode, Plan | None]] = {}
_PLANS_SIZE = 256


class _Recursive(Exception):
    """An input type that contains itself: left to graphql-core (its depth check)."""


def coerce(schema: GraphQLSchema, operation: OperationDefinitionNode,
           inputs: dict[str, Any] | None) -> VariableValues | None:
    """The operation's variable values as ``get_variable_values`` gives them; None where it gives errors."""
    inputs = inputs or {}
    entry = _plans.get(id(operation))
    if entry is None or entry[0] is not operation:
        entry = keep(_plans, id(operation), (operation, _plan(schema, operation)), _PLANS_SIZE)
    plan = entry[1]
    if plan is None:
        found = get_variable_values(schema, operation.variable_definitions or (), inputs)
        return None if isinstance(found, list) else found
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for name, signature, required, coercer in plan:
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if required:
                return None
            sources[name] = VariableValueSource(signature)  # a nullable variable not given: omitted
            continue
        sources[name] = VariableValueSource(signature, value)
        value = coercer(value)
        if value is Undefined:
            return None
        coerced[name] = value
    return VariableValues(sources, coerced)


def _plan(schema: GraphQLSchema, operation: OperationDefinitionNode) -> Plan | None:
    plan = []
    for node in operation.variable_definitions or ():
        if node.default_value is not None:
            return None
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):
            return None
        try:
            coercer = _coercer(signature.type, ())
        except _Recursive:
            return None
        plan.append((signature.name, signature, isinstance(signature.type, GraphQLNonNull), coercer))
    return tuple(plan)


def _coercer(type_: GraphQLInputType, seen: tuple[GraphQLInputObjectType, ...]) -> Coercer:
    """``coerce_input_value(value, type_)`` for this type, its questions about the type asked once."""
    if isinstance(type_, GraphQLNonNull):
        inner = _coercer(type_.of_type, seen)

        def non_null(value: Any) -> Any:
            if value is None or value is Undefined:
                return Undefined
            return inner(value)

        return non_null
    if isinstance(type_, GraphQLList):
        item = _coercer(type_.of_type, seen)

        def list_(value: Any) -> Any:
            if value is None or value is Undefined:
                return None
            if not is_iterable(value):  # a non-list value is a list of one
                one = item(value)
                return Undefined if one is Undefined else [one]
            out = []
            for v in value:
                c = item(v)
                if c is Undefined:
                    return Undefined
                out.append(c)
            return out

        return list_
    if isinstance(type_, GraphQLInputObjectType):
        if type_ in seen:
            raise _Recursive(type_.name)
        fields = tuple((name, field.out_name or name, field, is_required_input_field(field),
                        _coercer(field.type, (*seen, type_))) for name, field in type_.fields.items())
        known = frozenset(type_.fields)
        out_type, one_of = type_.out_type, type_.is_one_of

        def input_object(value: Any) -> Any:
            if value is None or value is Undefined:
                return None
            if not isinstance(value, dict):
                return Undefined
            defined = 0
            for k, v in value.items():
                if v is Undefined:
                    continue
                defined += 1
                if k not in known:
                    return Undefined
            out: dict[str, Any] = {}
            for name, out_name, field, required, coerce_field in fields:
                v = value.get(name, Undefined)
                if v is Undefined:
                    if required:
                        return Undefined
                    default = coerce_default_value(field)
                    if default is not Undefined:
                        out[out_name] = default
                else:
                    c = coerce_field(v)
                    if c is Undefined:
                        return Undefined
                    out[out_name] = c
            if one_of:
                keys = list(out)
                if defined != 1 or len(keys) != 1 or out[keys[0]] is None:
                    return Undefined
            return out_type(out)

        return input_object
    leaf = assert_leaf_type(type_).coerce_input_value

    def leaf_(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return leaf(value)
        except Exception:  # graphql-core's own: an invalid value
            return Undefined

    return leaf_
