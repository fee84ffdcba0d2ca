"""Transitions answered without strawberry's execution or the ORM (issue #21, bench.mix): ``claimWish``
(resolvers.care.wishes_fast), ``checkInActivity`` (resolvers.volunteering.checkin_fast) and ``signUpForActivity``
(resolvers.volunteering.signup_fast) and ``requestRedemption`` (resolvers.volunteering.redemption_fast) as portals
send them
(bench/mix_writes.py) — the field alone at the root, its ``input``, and of its payload the moved row's plain
fields and ``errors``. Recognised once per document by ``gongzhi.http.fast_writes`` (``MOVES``), run by the
endpoint as a case step is (``GraphQLEndpoint._write_on_driver``); anything else takes the general path, and so
does every request this path would not answer itself (resolvers.fast_moves).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_argument_values

from gongzhi.http import fast_variables, fast_writes
from gongzhi.http.fast_writes import ReportShape
from resolvers import care as care_service
from resolvers import volunteering as volunteering_service
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove
from resolvers.ids import decode_id, encode_global_id

Field = Callable[[dict[str, Any], uuid.UUID], Any]  # of the row after the move and the actor
Run = Callable[[RequestContext], Awaitable[PreparedMove | None]]


def _column(attr: str) -> Field:
    return lambda r, _me: r.get(attr)


def _at(attr: str) -> Field:
    def value(r: dict[str, Any], _me: uuid.UUID) -> Any:
        at = r.get(attr)
        return None if at is None else at.isoformat()  # strawberry's DateTime

    return value


def _node(type_name: str) -> dict[str, Field]:
    return {"__typename": lambda _r, _me: type_name, "id": lambda r, _me: encode_global_id(type_name, r["id"]),
            "state": lambda r, _me: r["state"].name}


# The fields of the moved row whose value the row holds as the general path's answer gives it (tests compare
# every one with that answer); any other (a loader's: the beneficiary, the activity, the person …) is not here.
WISH_FIELDS: dict[str, Field] = _node("Wish") | {
    "title": _column("title"), "description": _column("description"),
    "claimedByMe": lambda r, me: r["claimant_user_id"] == me, "postedByMe": lambda r, me: r["poster_user_id"] == me,
    "postedAt": _at("created_at"), "claimedAt": _at("claimed_at"), "fulfilledAt": _at("fulfilled_at"),
    "fulfilNote": _column("fulfil_note"), "confirmedAt": _at("confirmed_at"), "version": _column("version"),
}
SIGNUP_FIELDS: dict[str, Field] = _node("ActivitySignup") | {
    "checkedInAt": _at("checked_in_at"), "checkedOutAt": _at("checked_out_at"), "confirmedAt": _at("confirmed_at"),
    "hours": lambda r, _me: None if r.get("hours") is None else float(r["hours"]),
}
REDEMPTION_FIELDS: dict[str, Field] = _node("Redemption") | {
    "points": _column("points"), "note": _column("note"), "requestedAt": _at("created_at"),
    "decidedAt": _at("decided_at"),
}
_ERROR_FIELDS = frozenset({"__typename", "code", "message", "field"})


def _claim(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    wish_id, version = decode_id(given["id"], "Wish", "id"), given.get("expectedVersion")
    return lambda ctx: care_service.prepare_claim(ctx, wish_id, version)


def _check_in(given: dict[str, Any], args: dict[str, Any]) -> Run | None:
    if args.get("id") is not None:  # both forms: one_form's INVALID (the general path)
        return None
    signup_id = decode_id(given["id"], "ActivitySignup", "id")
    return lambda ctx: volunteering_service.prepare_check_in(ctx, signup_id)


def _sign_up(given: dict[str, Any], args: dict[str, Any]) -> Run | None:
    if args.get("activityId") is not None or args.get("idempotencyKey") is not None:  # one_form's (general path)
        return None
    activity_id, key = decode_id(given["activityId"], "Activity", "activityId"), given.get("idempotencyKey")
    return lambda ctx: volunteering_service.prepare_sign_up(ctx, activity_id, key)


def _redeem(given: dict[str, Any], args: dict[str, Any]) -> Run | None:
    if args.get("itemId") is not None or args.get("idempotencyKey") is not None:  # one_form's (general path)
        return None
    item_id, key = decode_id(given["itemId"], "RewardItem", "itemId"), given.get("idempotencyKey")
    return lambda ctx: volunteering_service.prepare_redemption(ctx, item_id, key)


@dataclass(frozen=True)
class Move:
    """A mutation taken here: its payload's type and row field, the row's fields, and its input read. ``scalar``:
    the payload's field is a plain value the row holds under its name (markNotificationsRead's ``marked``).

    ``generic_plans``: its transaction runs its statements on their generic plans from their first run on a
    connection (``AppState.open_context``), as the report and the case steps do — for a move whose every statement
    PostgreSQL settles on the generic plan of anyway after five custom ones (checked statement by statement:
    ``bench.inproc <op> 1 --explain`` prints each one's generic / custom plans on its connection; issue #21,
    bench/RESULTS.md h-moves). False: PostgreSQL's own choice (``plan_cache_mode`` as the session has it)."""

    payload_type: str
    row_field: str
    fields: dict[str, Field]
    run: Callable[[dict[str, Any], dict[str, Any]], Run | None]
    scalar: bool = False
    generic_plans: bool = False


# Generic plans from the first run for each (``Move.generic_plans``): on main every read of each settled on its generic
# plan after five custom ones (``--explain``: 36 generic, 5 custom — claimWish's 4.4 kB check, signUpForActivity's
# and requestRedemption's key and item reads, checkInActivity's signup read), their writes by primary key.
MOVES = {"claimWish": Move("WishPayload", "wish", WISH_FIELDS, _claim, generic_plans=True),
         "checkInActivity": Move("ActivitySignupPayload", "signup", SIGNUP_FIELDS, _check_in, generic_plans=True),
         "signUpForActivity": Move("ActivitySignupPayload", "signup", SIGNUP_FIELDS, _sign_up, generic_plans=True),
         "requestRedemption": Move("RedemptionPayload", "redemption", REDEMPTION_FIELDS, _redeem,
                                   generic_plans=True)}


def _plain(node: FieldNode) -> list[FieldNode] | None:
    return fast_writes._plain(node.selection_set)


def recognise(root: FieldNode) -> ReportShape | None:
    """The shape of a document whose only root field (``root``) is a mutation of ``MOVES``; None: the general
    path's."""
    move = MOVES[root.name.value]
    fields = _plain(root)
    if fields is None:
        return None
    payload: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    for node in fields:
        key, name = (node.alias or node.name).value, node.name.value
        if name == "__typename":
            payload.append((key, name, ()))
        elif name == move.row_field and move.scalar:
            if node.selection_set is not None or node.arguments:
                return None
            payload.append((key, name, ()))
        elif name == move.row_field:
            sub = _plain(node)
            if sub is None or any(n.name.value not in move.fields or n.arguments for n in sub):
                return None
            payload.append((key, name, tuple(((n.alias or n.name).value, n.name.value) for n in sub)))
        elif name == "errors":
            sub = _plain(node)
            if sub is None or any(n.name.value not in _ERROR_FIELDS for n in sub):
                return None
            payload.append((key, name, ()))
        else:
            return None
    return ReportShape(root=root, key=(root.alias or root.name).value, payload=tuple(payload), name=root.name.value)


def move_input(schema: GraphQLSchema, operation: OperationDefinitionNode, shape: ReportShape,
               variables: dict[str, Any] | None) -> Run | None:
    """The move to run for this request's input, as the mutation's resolver reads it; None where that would answer
    an error (the general path does)."""
    coerced = fast_variables.coerce(schema, operation, variables)
    if coerced is None:
        return None
    mutation = schema.mutation_type
    assert mutation is not None
    try:
        args = get_argument_values(mutation.fields[shape.name], shape.root, coerced)
        given = args.get("input")
        if given is None:
            return None
        return MOVES[shape.name].run(given, args)
    except (ServiceError, KeyError, TypeError):
        return None


def answer(shape: ReportShape, row: dict[str, Any], me: uuid.UUID) -> bytes:
    """The response body, as the general path writes it for this selection."""
    move = MOVES[shape.name]
    payload: dict[str, Any] = {}
    for key, name, sub in shape.payload:
        if name == "__typename":
            payload[key] = move.payload_type
        elif name == move.row_field:
            payload[key] = row[name] if move.scalar else {k: move.fields[f](row, me) for k, f in sub}
        else:
            payload[key] = []
    return orjson.dumps({"data": {shape.key: payload}})


fast_writes.MOVES.update(dict.fromkeys(MOVES, recognise))
