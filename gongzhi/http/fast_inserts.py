"""Plain inserts answered without strawberry's execution or the ORM (issue #21, bench.mix): ``publishNotice``
(resolvers.deliberation.notices_fast, exported as ``resolvers.deliberation.prepare_notice``) as portals send it
(bench/mix_writes.py) — the field alone at the root, its ``input``, and of its payload the new row's plain fields
and ``errors``. Added to ``gongzhi.http.fast_moves``'s ``MOVES`` (recognised, run and answered as the moves are:
``fast_moves.recognise``, ``move_input``, ``answer``); anything else takes the general path, and so does every
request the fast path would not answer itself.
"""

from __future__ import annotations

from typing import Any

from gongzhi.http import fast_moves, fast_writes
from gongzhi.http.fast_moves import Field, Move, Run, _at, _column
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


def _publish(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    area_id = decode_id(given["areaId"], AREA_TYPE_NAMES, "areaId")
    title, body, expires_at = given["title"], given["body"], given.get("expiresAt")
    return lambda ctx: deliberation_service.prepare_notice(ctx, area_id, title, body, expires_at)


INSERTS = {"publishNotice": Move("NoticePayload", "notice", NOTICE_FIELDS, _publish)}

fast_moves.MOVES.update(INSERTS)
fast_writes.MOVES.update(dict.fromkeys(INSERTS, fast_moves.recognise))
