"""Whose verdict counts for 满意率 (DESIGN.md §8, "Satisfaction counts residents"), in one place for the
rates (resolvers.cases.rates) and the review figures (caseStatistics): in Python for loaded cases, and in
SQL for the aggregate PostgreSQL computes.

A case has at most one counted verdict, the latest of:

- the reporter's own verdict (``giveCaseFeedback``: ``satisfied``), when the reporter acted as resident or
  neighbourhood lead (the role recorded at report time) — a staff member's feedback on a case they reported
  is a self-rating and never counts;
- the resident's verdict relayed by staff at 回访 (``recordCaseCallback``: ``callback_result``): 满意 and
  基本满意 are satisfied, 不满意 and 未解决 are not; 无法联系 (unreachable) is no verdict. The call-back is
  the later verdict unless the case was closed again after it (a "not solved" call-back reopens the case,
  which may then be resolved and closed on the reporter's own verdict).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, null, or_

from models import CallbackResult
from models.cases import aware
from resolvers.cases.sources import RESIDENT_ROLES

__all__ = ["RELAYED_VERDICTS", "counted_verdict", "counted_verdict_sql"]

# The call-back results that are a verdict, and whether each is satisfied.
RELAYED_VERDICTS: dict[str, bool] = {
    CallbackResult.SATISFIED.value: True,
    CallbackResult.BASICALLY_SATISFIED.value: True,
    CallbackResult.UNSATISFIED.value: False,
    CallbackResult.NOT_SOLVED.value: False,
}
_RESIDENT_VALUES = sorted(str(r) for r in RESIDENT_ROLES)


def counted_verdict(satisfied: bool | None, reporter_role: str, callback_result: str | None,
                    callback_at: datetime | None, closed_at: datetime | None) -> bool | None:
    """The case's counted verdict: True (satisfied), False, or None (no verdict that counts)."""
    relayed = RELAYED_VERDICTS.get(callback_result or "")
    if relayed is not None and callback_at is not None and (closed_at is None or
                                                            aware(callback_at) >= aware(closed_at)):
        return relayed
    if satisfied is not None and reporter_role in RESIDENT_ROLES:
        return satisfied
    return None


def counted_verdict_sql(satisfied: Any, reporter_role: Any, callback_result: Any, callback_at: Any,
                        closed_at: Any) -> ColumnElement[Any]:
    """:func:`counted_verdict` as a SQL expression over the case's columns: true, false or NULL."""
    relayed = and_(callback_result.in_(list(RELAYED_VERDICTS)), callback_at.is_not(None),
                   or_(closed_at.is_(None), callback_at >= closed_at))
    happy = [k for k, v in RELAYED_VERDICTS.items() if v]
    return case((relayed, callback_result.in_(happy)),
                (and_(satisfied.is_not(None), reporter_role.in_(_RESIDENT_VALUES)), satisfied),
                else_=null())
