"""gongzhi.http.fast_variables: a fast write's variables coerced as graphql-core's get_variable_values coerces them
(issue #21) — the same values for every input it accepts, None for every input it refuses, and the operation's
variable types read once."""

from __future__ import annotations

import random
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.values import get_argument_values, get_variable_values

from gongzhi.http import fast_variables

REPORT = """mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id } errors { code } } }"""
DISPATCH = """mutation D($input: DispatchCaseInput!) { dispatchCase(input: $input) { case { id } } }"""
FEEDBACK = """mutation F($input: CaseFeedbackInput!) { giveCaseFeedback(input: $input) { case { id } } }"""
# A literal beside the variable, a nullable variable, a variable of its own default (graphql-core's path).
INLINE = """mutation I($title: String!, $lat: Float, $key: String = "k1") {
  reportCase(input: {areaId: "QXJlYQ", category: "road", title: $title, latitude: $lat, idempotencyKey: $key}) {
    case { id } } }"""

AREA = "QnVpbGRpbmc6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAx"
# Per field, values of every kind a client may send: valid ones, and ones graphql-core refuses.
CANDIDATES: dict[str, list[Any]] = {
    "areaId": [AREA, 7, None, True, 1.5, ["x"]],
    "category": ["road", "", None, 3, False],
    "title": ["楼道灯不亮", None, 12, {"a": 1}],
    "priority": ["NORMAL", "HIGH", "LOW", "URGENT", "normal", "nope", None, 1],
    "description": ["三单元二楼楼道灯坏了。", None, 0],
    "locationText": ["三单元", None, 5],
    "latitude": [31.2, 31, -90, None, "31.2", True, float("inf"), 2**40],
    "longitude": [121.5, 121, None, "x", False],
    "photoIds": [[AREA], AREA, [], None, [AREA, None], [[AREA]], [1], 5],
    "idempotencyKey": ["k-1", None, 5],
    "source": ["RESIDENT_REPORT", "GRID_PATROL", "HOTLINE_12345", "bogus", None],
    "externalTicketNo": ["12345-1", None],
    "unknownField": ["x"],
}


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    from gongzhi.modules import build_schema

    return build_schema(introspection=False)._schema


def _operation(text: str) -> OperationDefinitionNode:
    node = parse(text).definitions[0]
    assert isinstance(node, OperationDefinitionNode)
    return node


def _same(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any] | None) -> None:
    """fast_variables.coerce answers what get_variable_values answers, and the root field's arguments read from it
    are the same (values and types: enums are members, floats floats)."""
    expected = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    got = fast_variables.coerce(schema, operation, variables)
    if isinstance(expected, list):
        assert got is None, (variables, expected)
        return
    assert got is not None, (variables, got)
    assert got.coerced == expected.coerced
    assert {k: [type(x) for x in v.values()] if isinstance(v, dict) else type(v) for k, v in got.coerced.items()} == {
        k: [type(x) for x in v.values()] if isinstance(v, dict) else type(v) for k, v in expected.coerced.items()}
    # The sources: the same variables, types and given values (a signature is made once per operation here).
    def sources(found: Any) -> dict[str, Any]:
        return {k: (v.signature.name, str(v.signature.type), v.signature.default, v.value)
                for k, v in found.sources.items()}

    assert sources(got) == sources(expected)
    assert schema.mutation_type is not None
    root = operation.selection_set.selections[0]
    field = schema.mutation_type.fields[root.name.value]  # type: ignore[attr-defined]
    assert get_argument_values(field, root, got) == get_argument_values(field, root, expected)  # type: ignore[arg-type]


def test_a_report_input_of_every_kind_is_coerced_as_graphql_core_does(schema: GraphQLSchema) -> None:
    operation = _operation(REPORT)
    base = {"areaId": AREA, "category": "road", "title": "楼道灯不亮"}
    _same(schema, operation, {"input": base})
    _same(schema, operation, {"input": {**base, "priority": "HIGH", "latitude": 31, "photoIds": AREA}})
    for none in (None, {}, {"other": 1}, {"input": None}, {"input": "x"}, {"input": [base]}):
        _same(schema, operation, none)
    # Each field alone with each of its candidates, then many random combinations of them.
    for name, values in CANDIDATES.items():
        for value in values:
            _same(schema, operation, {"input": {**base, name: value}})
        _same(schema, operation, {"input": {k: v for k, v in base.items() if k != name}})
    rng = random.Random(21)
    for _ in range(600):
        given = {name: rng.choice(values) for name, values in CANDIDATES.items() if rng.random() < 0.5}
        _same(schema, operation, {"input": {**base, **given} if rng.random() < 0.7 else given})


def test_the_steps_inputs_and_literals_beside_variables(schema: GraphQLSchema) -> None:
    dispatch, feedback, inline = _operation(DISPATCH), _operation(FEEDBACK), _operation(INLINE)
    for variables in ({"input": {"id": AREA, "handlerKind": "COMMUNITY", "communityId": AREA, "note": "社区"}},
                      {"input": {"id": AREA, "handlerKind": "community"}}, {"input": {"id": AREA}},
                      {"input": {"id": AREA, "handlerKind": "GRID", "expectedVersion": 3}}):
        _same(schema, dispatch, variables)
    for variables in ({"input": {"id": AREA, "satisfied": True, "comment": "很及时", "idempotencyKey": "k"}},
                      {"input": {"id": AREA, "satisfied": "yes"}}, {"input": {"id": AREA, "satisfied": 1}},
                      {"input": {"id": AREA, "satisfied": False, "expectedVersion": 2**31}},
                      {"input": {"id": AREA, "satisfied": False, "expectedVersion": 2.0}}):
        _same(schema, feedback, variables)
    for variables in ({"title": "t"}, {"title": "t", "lat": 3}, {"title": "t", "lat": None, "key": None},
                      {"title": "t", "key": "k2"}, {"lat": 1.0}, {"title": None}):
        _same(schema, inline, variables)


def test_an_operation_s_variable_types_are_read_once(schema: GraphQLSchema, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module (issue #21): a second request of the same operation reads no type from the
    document again and runs none of graphql-core's coercion."""
    import graphql.execution.values as values

    operation = _operation(REPORT)
    signatures = []
    real = fast_variables.get_variable_signature
    monkeypatch.setattr(fast_variables, "get_variable_signature", lambda s, n: signatures.append(n) or real(s, n))
    variables = {"input": {"areaId": AREA, "category": "road", "title": "t", "priority": "HIGH"}}
    first = fast_variables.coerce(schema, operation, variables)
    assert first is not None and len(signatures) == 1

    def refused(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("graphql-core's coercion ran")

    monkeypatch.setattr(values, "coerce_input_value", refused)
    monkeypatch.setattr(values, "input_is_nested_too_deeply", refused)
    again = fast_variables.coerce(schema, operation, variables)
    assert again is not None and again.coerced == first.coerced and len(signatures) == 1
