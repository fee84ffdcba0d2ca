"""Plain inserts answered without strawberry's execution or the ORM (issue #21, bench.mix): ``publishNotice``
(resolvers.deliberation.notices_fast), ``proposeTopic`` without cases (resolvers.deliberation.topics_fast),
``postWish`` (resolvers.care.wish_post_fast) and ``recordVisit`` without a case to raise
(resolvers.care.visit_fast), exported by their packages (``prepare_notice`` …), as portals send them
(bench/mix_writes.py) — the field alone at the root, its ``input``, and of its payload the new row's plain fields
and ``errors``. Added to ``gongzhi.http.fast_moves``'s ``MOVES`` (recognised, run and answered as the moves are:
``fast_moves.recognise``, ``move_input``, ``answer``); anything else takes the general path, and so does every
request the fast path would not answer itself.
"""

from __future__ import annotations

from typing import Any

from gongzhi.http import fast_moves, fast_writes
from gongzhi.http.fast_moves import WISH_FIELDS, Field, Move, Run, _at, _column, _node
from models import VisitKind
from resolvers import care as care_service
from resolvers import deliberation as deliberation_service
from resolvers.ids import decode_id, encode_global_id
from schema.register import AREA_TYPE_NAMES

# The notice's fields whose value the row holds as the general path's answer gives it (tests compare each with
# that answer); the area and the publisher are loaders' (general path).
NOTICE_FIELDS: dict[str, Field] = {
    "__typename": lambda _r, _me: "Notice", "id": lambda r, _me: encode_global_id("Notice", r["id"]),
    "title": _column("title"), "body": _column("body"), "publishedAt": _at("created_at"),
    "expiresAt": _at("expires_at"), "withdrawnAt": _at("withdrawn_at"),
}
TOPIC_FIELDS: dict[str, Field] = _node("Topic") | {
    "title": _column("title"), "description": _column("description"), "proposedAt": _at("created_at"),
    "decision": _column("decision"), "decidedAt": _at("decided_at"), "declineReason": _column("decline_reason"),
    "cancelReason": _column("cancel_reason"), "review": _column("review"), "version": _column("version"),
}


def _publish(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    area_id = decode_id(given["areaId"], AREA_TYPE_NAMES, "areaId")
    title, body, expires_at = given["title"], given["body"], given.get("expiresAt")
    return lambda ctx: deliberation_service.prepare_notice(ctx, area_id, title, body, expires_at)


def _propose(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    if given.get("caseIds"):  # cases taken up: their reads and links are the general path's
        return None
    area_id = decode_id(given["areaId"], AREA_TYPE_NAMES, "areaId")
    title, description = given["title"], given.get("description", "")
    return lambda ctx: deliberation_service.prepare_topic(ctx, area_id, title, description)


def _post_wish(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    person_id = decode_id(given["personId"], "Person", "personId")
    title, description = given["title"], given.get("description", "")
    return lambda ctx: care_service.prepare_post_wish(ctx, person_id, title, description)


VISIT_FIELDS: dict[str, Field] = {
    "__typename": lambda _r, _me: "Visit", "id": lambda r, _me: encode_global_id("Visit", r["id"]),
    "kind": lambda r, _me: r["kind"].name, "visitedAt": _at("visited_at"), "findings": _column("findings"),
    "needs": _column("needs"), "householdId": lambda r, _me: encode_global_id("Household", r["household_id"]),
}


def _visit(given: dict[str, Any], args: dict[str, Any]) -> Run | None:
    if given.get("raiseCase") is not None:  # the case's report is the general path's
        return None
    household_id = decode_id(given["householdId"], "Household", "householdId")
    kind = given["kind"]
    if not isinstance(kind, VisitKind):
        return None
    visited_at, findings, needs, key = given["visitedAt"], given["findings"], given.get("needs"), given.get(
        "idempotencyKey")
    return lambda ctx: care_service.prepare_visit(ctx, household_id, kind, visited_at, findings, needs, key)


# Generic plans from the first run for each (Move.generic_plans): on main every read of each settled on its generic
# plan after five custom ones (--explain: 36 generic, 5 custom — the area checks of publishNotice and proposeTopic,
# postWish's person read, recordVisit's key and household reads); the inserts take no plan choice worth a custom one.
INSERTS = {"publishNotice": Move("NoticePayload", "notice", NOTICE_FIELDS, _publish, generic_plans=True),
           "proposeTopic": Move("TopicPayload", "topic", TOPIC_FIELDS, _propose, generic_plans=True),
           "postWish": Move("WishPayload", "wish", WISH_FIELDS, _post_wish, generic_plans=True),
           "recordVisit": Move("VisitPayload", "visit", VISIT_FIELDS, _visit, generic_plans=True)}

fast_moves.MOVES.update(INSERTS)
fast_writes.MOVES.update(dict.fromkeys(INSERTS, fast_moves.recognise))
