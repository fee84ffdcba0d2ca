"""Mutations answered without strawberry's execution or the ORM (issue #21, bench.compare op 4): the
shapes of ``reportCase`` and of the case steps portals send most (``acceptCase``, ``dispatchCase``, ``startCase``,
``resolveCase``, ``giveCaseFeedback``: resolvers.cases.steps_fast) as portals send them (docs/portals.md,
bench/ops, bench/mix_ops.py, bench/mix_writes.py) — the field alone at the root, its input, and of its
payload ``case`` with the case's plain fields and ``errors``.

As compiled reads do, a document is recognised once (``Shapes``); anything else — another mutation, a
fragment, a directive, a field of the case that needs a loader — is None and takes the general path.
A recognised request runs on a ``DriverTransaction``: the request's first statement, the report's checks
in one statement, its rows with the audit entry and notifications in one more, sent with COMMIT and the
events' NOTIFY after it (``resolvers.cases.report_fast``, ``tenants.commit.write_and_commit``): three round
trips — two once the process keeps the area's path and the category's limit, the checks then inside the
write (``report_fast._guard``). Whatever the report's checks would refuse, the general path answers
from the start, so the typed errors, their Chinese messages and the refusal's audit entry are its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from asyncpg.exceptions import IntegrityConstraintViolationError
from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import get_argument_values

from gongzhi.http import fast_variables
from models import HandlerKind
from models.bounded import keep
from resolvers import cases as case_service
from resolvers.errors import ServiceError
from resolvers.ids import decode_id, encode_global_id
from schema.register import AREA_TYPE_NAMES

_STEPS = case_service.STEPS

CaseField = Callable[[dict[str, Any]], Any]  # of the new case's values (resolvers.cases.report.case_values)


def _enum_name(attr: str) -> CaseField:
    return lambda c: c[attr].name


def _column(attr: str) -> CaseField:
    return lambda c: c.get(attr)


def _at(attr: str) -> CaseField:
    def value(c: dict[str, Any]) -> Any:
        at = c.get(attr)
        return None if at is None else at.isoformat()  # strawberry's DateTime

    return value


# The fields of a just-reported case whose value the new row holds as the general path's answer gives it
# (tests/cases/test_report_fast.py compares every one of them with that answer); any other field of the
# case (a loader's: area, categoryName, stages …; a default the flush fills: closureFlagged) is not here.
CASE_FIELDS: dict[str, CaseField] = {
    "__typename": lambda _c: "Case",
    "id": lambda c: encode_global_id("Case", c["id"]),
    "number": _column("number"),
    "title": _column("title"),
    "description": _column("description"),
    "category": _column("category_code"),
    "priority": _enum_name("priority"),
    "state": _enum_name("state"),
    "locationText": _column("location_text"),
    "latitude": _column("latitude"),
    "longitude": _column("longitude"),
    "onProblemWall": _column("on_wall"),
    "reportedByMe": lambda _c: True,
    "dueAt": _at("due_at"),
    "supervised": _column("supervised"),
    "reopenCount": _column("reopen_count"),
    "version": _column("version"),
    "reportedAt": _at("created_at"),
}
# A case after a step: its fields as above (reportedByMe: whether the actor reported it), and what steps set.
STEP_FIELDS: dict[str, CaseField] = CASE_FIELDS | {
    "handlerKind": lambda c: None if c.get("handler_kind") is None else c["handler_kind"].name,
    "handlerName": _column("handler_name"),
    "resolution": _column("resolution"),
    "rejectReason": _column("reject_reason"),
    "satisfied": _column("satisfied"),
    "feedbackComment": _column("feedback_comment"),
}
_ERROR_FIELDS = frozenset({"__typename", "code", "message", "field"})


@dataclass(frozen=True)
class ReportShape:
    """A recognised document of ``reportCase`` or a step (``name``): the root field's node, its response key and
    the payload's keys."""

    root: FieldNode
    key: str
    payload: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # (key, field, ((key, case field) …))
    name: str = "reportCase"


def _plain(ss: SelectionSetNode | None) -> list[FieldNode] | None:
    """The selection's fields when it is a plain list of fields (no fragment, directive or repeated key)."""
    if ss is None:
        return None
    nodes = []
    for node in ss.selections:
        if not isinstance(node, FieldNode) or node.directives:
            return None
        nodes.append(node)
    keys = [(n.alias or n.name).value for n in nodes]
    return nodes if len(set(keys)) == len(keys) else None


# Other mutations recognised here, by root field: their module's ``recognise`` (gongzhi.http.fast_moves).
MOVES: dict[str, Callable[[FieldNode], ReportShape | None]] = {}


def recognise(operation: OperationDefinitionNode) -> ReportShape | None:
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return None
    roots = _plain(operation.selection_set)
    if roots is not None and len(roots) == 1 and roots[0].name.value in MOVES:
        return MOVES[roots[0].name.value](roots[0])
    if roots is None or len(roots) != 1 or (roots[0].name.value != "reportCase" and roots[0].name.value not in _STEPS):
        return None
    root = roots[0]
    known = CASE_FIELDS if root.name.value == "reportCase" else STEP_FIELDS
    fields = _plain(root.selection_set)
    if fields is None:
        return None
    payload: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    for node in fields:
        key, name = (node.alias or node.name).value, node.name.value
        if name == "__typename":
            payload.append((key, name, ()))
        elif name == "case":
            sub = _plain(node.selection_set)
            if sub is None or any(n.name.value not in known or n.arguments for n in sub):
                return None
            payload.append((key, name, tuple(((n.alias or n.name).value, n.name.value) for n in sub)))
        elif name == "errors":
            sub = _plain(node.selection_set)
            if sub is None or any(n.name.value not in _ERROR_FIELDS for n in sub):
                return None
            payload.append((key, name, ()))
        else:
            return None
    return ReportShape(root=root, key=(root.alias or root.name).value, payload=tuple(payload), name=root.name.value)


class Shapes:
    """Recognised documents per (document text, operation name); None: the general path's."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._shapes: dict[tuple[str, str | None], ReportShape | None] = {}

    def get(self, query: str, op_name: str | None, operation: OperationDefinitionNode) -> ReportShape | None:
        key = (query, op_name)
        if key in self._shapes:
            return self._shapes[key]
        return keep(self._shapes, key, recognise(operation), self.size)


def report_input(schema: GraphQLSchema, operation: OperationDefinitionNode, shape: ReportShape,
                 variables: dict[str, Any] | None) -> case_service.ReportInput | None:
    """The input as ``schema.cases.mutation.report_case`` makes it; None where that would answer an error."""
    coerced = fast_variables.coerce(schema, operation, variables)
    if coerced is None:
        return None
    mutation = schema.mutation_type
    assert mutation is not None
    try:
        given = get_argument_values(mutation.fields["reportCase"], shape.root, coerced)["input"]
        return case_service.ReportInput(
            area_id=decode_id(given["areaId"], AREA_TYPE_NAMES, "areaId"), category=given["category"],
            priority=given["priority"], title=given["title"], description=given["description"],
            location_text=given["locationText"], latitude=given["latitude"], longitude=given["longitude"],
            photo_ids=[decode_id(p, "Attachment", "photoIds") for p in given["photoIds"] or []],
            idempotency_key=given["idempotencyKey"], source=given["source"],
            external_ticket_no=given["externalTicketNo"],
        )
    except (ServiceError, KeyError, TypeError):
        return None


def step_input(schema: GraphQLSchema, operation: OperationDefinitionNode, shape: ReportShape,
               variables: dict[str, Any] | None) -> case_service.StepInput | None:
    """A step's input as its resolver in ``schema.cases.mutation`` reads it; None where that would answer an
    error, or where it names what the fast path leaves to the general one (a handler other than a community,
    photos)."""
    coerced = fast_variables.coerce(schema, operation, variables)
    if coerced is None:
        return None
    mutation = schema.mutation_type
    assert mutation is not None
    name = shape.name
    try:
        given = get_argument_values(mutation.fields[name], shape.root, coerced)["input"]
        case_id = decode_id(given["id"], "Case", "id")
        version = given.get("expectedVersion")
        if name in ("acceptCase", "startCase"):
            return case_service.StepInput(name, case_id, version, text=given.get("note"))
        if name == "dispatchCase":
            if (given["handlerKind"] is not HandlerKind.COMMUNITY or any(
                    given.get(k) is not None for k in ("firmId", "gridId", "partnerUnitId", "partnerName"))):
                return None
            return case_service.StepInput(name, case_id, version, text=given.get("note"),
                                          community_id=decode_id(given["communityId"], AREA_TYPE_NAMES, "communityId"))
        if name == "resolveCase":
            if given.get("photoIds"):
                return None
            return case_service.StepInput(name, case_id, version, text=given["resolution"])
        return case_service.StepInput(name, case_id, version, text=given.get("comment"), satisfied=given["satisfied"],
                                      idempotency_key=given.get("idempotencyKey"))
    except (ServiceError, KeyError, TypeError):
        return None


def answer(shape: ReportShape, case: dict[str, Any], me: Any = None) -> bytes:
    """The response body, as the general path writes it for this selection (``me``: the actor of a step, for
    ``reportedByMe``)."""
    fields = CASE_FIELDS if me is None else STEP_FIELDS
    payload: dict[str, Any] = {}
    for key, name, sub in shape.payload:
        if name == "__typename":
            payload[key] = "CasePayload"
        elif name == "case":
            payload[key] = {k: (case["reporter_user_id"] == me if f == "reportedByMe" and me is not None
                                else fields[f](case)) for k, f in sub}
        else:
            payload[key] = []
    return orjson.dumps({"data": {shape.key: payload}})


# A write that met a constraint (a concurrent retry with the same key, a colliding case number): rolled
# back, and the general path answers (it retries the number, or answers with the retry's case).
WRITE_REFUSED = IntegrityConstraintViolationError
