"""The ledger export's 考核指标 sheet (issue #22): the case rates of the export's area and period — in
total, per community, per handling unit (ranked) and per category — computed by the same function as
the caseRates query (resolvers/cases/rates.py), so the figures agree. Empty for a reader without the
statistics grant."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from resolvers import cases as rates
from resolvers.cases import RATE_KEYS
from resolvers.context import RequestContext

HEADERS = ["分组", "名称", "事件数", "响应率", "解决率", "满意率", "按时办结率", "回退率", "重办率", "回访率",
           "综合得分"]
_GROUP_ZH = {rates.RateGroupBy.TOTAL: "合计", rates.RateGroupBy.COMMUNITY: "社区",
             rates.RateGroupBy.HANDLING_UNIT: "承办单位", rates.RateGroupBy.CATEGORY: "类别"}


def _cell(r: rates.Ratio) -> str:
    """numerator/denominator and the percentage, e.g. 3/4 (75.00%); — for 0/0."""
    return "—" if r.rate is None else f"{r.numerator}/{r.denominator} ({100 * r.rate:.2f}%)"


async def rate_rows(ctx: RequestContext, area_id: uuid.UUID, start: date, end: date) -> list[list[Any]]:
    if not ctx.actor.grant("statistics", "read"):
        return []
    out: list[list[Any]] = []
    for group in _GROUP_ZH:
        result = await rates.case_rates(ctx, start=start, end=end, group_by=group, area_id=area_id)
        rows = rates.ranked(result.rows) if group is rates.RateGroupBy.HANDLING_UNIT else result.rows
        out.extend([_GROUP_ZH[group], r.label, r.cases, *(_cell(r.ratios[k]) for k in RATE_KEYS),
                    "—" if r.score is None else r.score] for r in rows)
    return out
