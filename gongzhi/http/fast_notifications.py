"""markNotificationsRead answered without strawberry's execution or the ORM (issue #21, bench.mix): the document
portals send (bench/mix_writes.py) — the field alone at the root, its ``input``, and of its payload ``__typename``,
``marked`` and ``errors`` — recognised and answered as ``gongzhi.http.fast_moves`` does its moves (one entry in its
``MOVES``, ``marked`` a plain value of the payload), run by the endpoint's ``move`` branch
(``GraphQLEndpoint._write_on_driver``); the marks themselves are ``resolvers.cases.prepare_mark_read``, which leaves
every request it would not answer itself to the general path. The deprecated bare ``ids`` argument is the general
path's, alone (its resolver's form) or beside ``input`` (one_form's INVALID)."""

from __future__ import annotations

from typing import Any

from gongzhi.http import fast_moves, fast_writes
from gongzhi.http.fast_moves import Move, Run
from resolvers import cases as case_service
from resolvers.ids import decode_id


def _mark(given: dict[str, Any], args: dict[str, Any]) -> Run | None:
    if args.get("ids") is not None:  # both forms: one_form's INVALID (the general path)
        return None
    ids = [decode_id(i, "Notification", "ids") for i in given["ids"]]
    return lambda ctx: case_service.prepare_mark_read(ctx, ids)


# generic plans from the first run (Move.generic_plans) since its check takes its ids as ARRAY(SELECT unnest(…)), which
# the primary key's index takes on the generic plan too (resolvers.prepared.param_uuids): with CAST(… AS UUID[]) the
# generic plan was a Seq Scan of the tenant's notifications, 5.0–6.0 ms of PostgreSQL a mark (RESULTS.md h-moves)
fast_moves.MOVES["markNotificationsRead"] = Move("MarkReadPayload", "marked", {}, _mark, scalar=True,
                                                 generic_plans=True)
fast_writes.MOVES["markNotificationsRead"] = fast_moves.recognise
