"""The tenant's care rules (关爱设置): the household range a lead keeps and the visit cadence."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import (
    CareSettings,
)
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t

# A tenant without a settings row (the visit cadence's SQL form, resolvers.care.cadence, says the same).
DEFAULT_KEY_VISIT_DAYS = 7
DEFAULT_ROUTINE_VISIT_DAYS = 90


async def care_settings(ctx: RequestContext) -> CareSettings:
    row = await ctx.db.scalar(select(CareSettings))
    return row if row is not None else CareSettings(lead_min_households=5, lead_max_households=15,
                                                     key_visit_days=DEFAULT_KEY_VISIT_DAYS,
                                                     routine_visit_days=DEFAULT_ROUTINE_VISIT_DAYS)


@dataclass
class SettingsInput:
    lead_min_households: int | None = None
    lead_max_households: int | None = None
    key_visit_days: int | None = None
    routine_visit_days: int | None = None


async def update_care_settings(ctx: RequestContext, data: SettingsInput) -> CareSettings:
    if not ctx.actor.grant("care", "configure").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以设置关爱规则",
                                                  "only the street admin sets the care rules"), None)
    s = await care_settings(ctx)
    lo = data.lead_min_households if data.lead_min_households is not None else s.lead_min_households
    hi = data.lead_max_households if data.lead_max_households is not None else s.lead_max_households
    key = data.key_visit_days if data.key_visit_days is not None else s.key_visit_days
    routine = data.routine_visit_days if data.routine_visit_days is not None else s.routine_visit_days
    errors = FieldErrors()
    if not 1 <= lo <= hi <= 100:
        errors.add(ErrorCode.INVALID, t("户数范围应满足 1 ≤ 最少 ≤ 最多 ≤ 100",
                                        "the household range must satisfy 1 ≤ min ≤ max ≤ 100"),
                   "leadMinHouseholds")
    if not 1 <= key <= 366:
        errors.add(ErrorCode.INVALID, t("keyVisitDays 应为 1–366 天", "keyVisitDays must be 1–366"), "keyVisitDays")
    if not 1 <= routine <= 366:
        errors.add(ErrorCode.INVALID, t("routineVisitDays 应为 1–366 天",
                                        "routineVisitDays must be 1–366"), "routineVisitDays")
    errors.raise_if_any()
    s.lead_min_households, s.lead_max_households, s.key_visit_days, s.routine_visit_days = lo, hi, key, routine
    await ctx.db.flush(s)
    return s
