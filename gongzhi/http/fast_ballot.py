"""castBallot answered without strawberry's execution or the ORM (issue #21, bench.mix): the document portals send
(bench/mix_writes.py) — the field alone at the root, its ``input``, and of its payload ``__typename``, ``errors``
and the vote's ``__typename``, ``id``, ``state``, ``closesAt``, ``ballotsCast`` — recognised and answered as
``gongzhi.http.fast_moves`` does its moves (one entry in its ``MOVES``), run by the endpoint's ``move`` branch
(``GraphQLEndpoint._write_on_driver``); the cast itself is ``resolvers.deliberation.prepare_ballot``, which leaves
every request it would not answer itself to the general path."""

from __future__ import annotations

from typing import Any

from gongzhi.http import fast_moves, fast_writes
from gongzhi.http.fast_moves import Field, Move, Run, _at, _node
from models import Choice
from resolvers import deliberation as deliberation_service
from resolvers.ids import decode_id

# The vote's fields as the general path answers them right after a cast (tests compare every one with it); a
# loader's (compound, building, myBallot) or one the cast does not read (question, matter, result) is not here.
VOTE_FIELDS: dict[str, Field] = _node("Vote") | {
    "closesAt": _at("closes_at"), "ballotsCast": lambda r, _me: r["ballots_cast"]}


def _cast(given: dict[str, Any], _args: dict[str, Any]) -> Run | None:
    vote_id = decode_id(given["voteId"], "Vote", "voteId")
    raw = given.get("householdId")
    household_id = None if raw is None else decode_id(raw, "Household", "householdId")
    choice, key = Choice(given["choice"]), given.get("idempotencyKey")
    return lambda ctx: deliberation_service.prepare_ballot(ctx, vote_id, choice, key, household_id)


# generic plans from the first run (Move.generic_plans): its check (1.8 kB) settled on its generic plan after five
# custom ones on main (--explain: 36 generic, 5 custom), its write by the elector's key (bench/RESULTS.md h-moves)
fast_moves.MOVES["castBallot"] = Move("VotePayload", "vote", VOTE_FIELDS, _cast, generic_plans=True)
fast_writes.MOVES["castBallot"] = fast_moves.recognise
