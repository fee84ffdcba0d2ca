"""A case step's rate facts folded into its row by the step's own UPDATE (issue #21, migration 0057).

The facts on a case's row (migration 0056, ``models.cases`` RATE_*) are kept by a trigger on ``case_events``.
Since 0057 that trigger folds the case's latest step into the row's facts and writes nothing when the row
already holds them (``rate_seq``, the ``seq`` of the step last folded in, equals the step's). A step written on
the driver (resolvers/cases/steps_fast.py) is the case's latest (its ``seq`` is the version its conditional
UPDATE returned): it sets, in that UPDATE, the facts it changes by the same rule as the trigger's fold
(``migrations/versions/0057_case_rate_facts_folded.py``'s ``fold``), and ``rate_seq`` — so the case's row is
written once, not once by the step and once by the trigger. Should the step not be the latest after all (a step
of higher ``seq`` written behind the API's back), the trigger recomputes every fact from the rows.

The expressions read the row's values before the step (a SET's right-hand side reads the old row).
"""

from __future__ import annotations

from resolvers.cases.rates import CALLBACK_ACTIONS, RESPONSE_ACTIONS, RETURN_ACTIONS, REWORK_ACTIONS

__all__ = ["folded"]

_CLOSED, _REOPENED = "closed", "reopened"


def folded(action: str, from_state: str | None, to_state: str | None, at: str) -> dict[str, str]:
    """The SET expressions of the rate facts a step (its action, the states it leads from and to, ``at`` its
    time as an SQL expression) changes, as the latest of its case; empty: it changes none (the trigger does not
    run for it)."""
    sets: dict[str, str] = {}
    closure = to_state == _CLOSED and from_state != _CLOSED
    if action in RESPONSE_ACTIONS:  # the first response's time
        sets["rate_responded_at"] = f"coalesce(rate_responded_at, {at})"
    if action in RETURN_ACTIONS:
        sets["rate_returned"] = "true"
    if action in REWORK_ACTIONS or to_state == _REOPENED:
        sets["rate_reworked"] = "true"
    if closure:  # one more closure; the first one's time
        sets["rate_closes"] = "rate_closes + 1"
        sets["rate_closed_at"] = f"coalesce(rate_closed_at, {at})"
    if action in CALLBACK_ACTIONS:  # a 回访 at or after the first closure (in the timeline: it is the latest)
        closed_at = f"coalesce(rate_closed_at, {at})" if closure else "rate_closed_at"
        sets["rate_called_back"] = f"(rate_called_back OR coalesce({closed_at} <= {at}, false))"
    return sets
