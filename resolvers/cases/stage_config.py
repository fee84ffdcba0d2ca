"""A tenant's stage limits (环节时限), workflow settings and category closure rules (issue #22): read by
staff, changed by the street admin (policy: case · configure). The 处置 stage's limit is the SLA rule
(resolvers.cases.config); a change applies to stages opened afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, case, func, select, type_coerce

from models import (
    CaseCategory,
    CaseCategoryRule,
    CaseStageKind,
    CaseStageLimit,
    CaseWorkflowSettings,
    SlaUnit,
    UrgencyTier,
)
from resolvers.cases.closure import DEFAULT_MIN_HANDLING_MINUTES
from resolvers.cases.config import SLA_LIMITS, _require_configure, _require_staff
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, sorted_page

__all__ = ["CATEGORY_RULES", "STAGE_LIMITS", "StageLimitInput", "category_rule_rows", "category_rules",
           "category_rules_page", "set_category_rule", "set_stage_limit", "set_workflow_settings", "stage_limit_rows",
           "stage_limits", "stage_limits_page", "workflow_settings"]


# Stage limits in the stages' order, the tenant's default (no category) before each category's, then
# by tier in the tiers' order: the enums' declaration order, as a CASE, so that SQL sorts and pages it.
# The CASE compares the stored texts (typed values render as literals too: the compiled read inlines them).
STAGE_LIMITS = ListOrder("caseStageLimits", (
    Key(case({k.value: i for i, k in enumerate(CaseStageKind)}, value=type_coerce(CaseStageLimit.stage, String),
             else_=len(CaseStageKind))),
    Key(func.coalesce(CaseStageLimit.category_code, "")),
    Key(case({k.value: i for i, k in enumerate(UrgencyTier)}, value=type_coerce(CaseStageLimit.tier, String),
             else_=len(UrgencyTier))),
    Key(CaseStageLimit.id),
))
CATEGORY_RULES = ListOrder("caseCategoryRules", (Key(CaseCategoryRule.category_code), Key(CaseCategoryRule.id)))


def stage_limit_rows(ctx: RequestContext) -> Select[Any]:
    """The rows of the list and its connection (and of the compiled read), the actor checked first."""
    _require_staff(ctx)
    return select(CaseStageLimit)


def category_rule_rows(ctx: RequestContext) -> Select[Any]:
    _require_staff(ctx)
    return select(CaseCategoryRule)


async def stage_limits(ctx: RequestContext) -> list[CaseStageLimit]:
    return list(await ctx.db.scalars(stage_limit_rows(ctx).order_by(*STAGE_LIMITS.order_by())))


async def stage_limits_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[CaseStageLimit]:
    return await sorted_page(ctx.db, stage_limit_rows(ctx), STAGE_LIMITS, first=first, after=after)


@dataclass
class StageLimitInput:
    stage: CaseStageKind
    tier: UrgencyTier
    amount: float
    unit: SlaUnit
    category: str | None = None


async def _known_category(ctx: RequestContext, code: str) -> None:
    if await ctx.db.scalar(select(CaseCategory.id).where(CaseCategory.code == code)) is None:
        raise ServiceError(ErrorCode.INVALID, t(f"没有事件类别 {code!r}", f"unknown case category {code!r}"),
                           "category")


async def set_stage_limit(ctx: RequestContext, data: StageLimitInput) -> CaseStageLimit:
    _require_configure(ctx)
    errors = FieldErrors()
    if data.stage is CaseStageKind.HANDLE:
        errors.add(ErrorCode.INVALID, t("处置环节的时限即办理时限规则，请用 setSlaRule",
                                        "the handling stage's limit is the SLA rule: use setSlaRule"), "stage")
    top = SLA_LIMITS[data.unit]
    if not 0 < data.amount <= top:
        errors.add(ErrorCode.INVALID, t(f"时限应大于 0 且不超过 {top} {data.unit.value}",
                                        f"amount must be above 0 and at most {top} {data.unit.value}"), "amount")
    elif data.unit is SlaUnit.WORKING_DAYS and data.amount != int(data.amount):
        errors.add(ErrorCode.INVALID, t("工作日须为整天", "working days are whole days"), "amount")
    errors.raise_if_any()
    if data.category is not None:
        await _known_category(ctx, data.category)
    cat = (CaseStageLimit.category_code.is_(None) if data.category is None
           else CaseStageLimit.category_code == data.category)
    row: CaseStageLimit | None = await ctx.db.scalar(select(CaseStageLimit).where(
        cat, CaseStageLimit.stage == data.stage, CaseStageLimit.tier == data.tier))
    if row is None:
        row = CaseStageLimit(stage=data.stage, tier=data.tier, category_code=data.category, amount=data.amount,
                             unit=data.unit, created_at=ctx.now)
    else:
        row.amount, row.unit = data.amount, data.unit
    await ctx.db.flush(row)
    return row


async def workflow_settings(ctx: RequestContext) -> CaseWorkflowSettings:
    _require_staff(ctx)
    row = await ctx.db.scalar(select(CaseWorkflowSettings))
    return row or CaseWorkflowSettings(auto_supervise_overdue=True, min_handling_minutes=DEFAULT_MIN_HANDLING_MINUTES)


async def set_workflow_settings(ctx: RequestContext, *, auto_supervise_overdue: bool | None,
                                min_handling_minutes: int | None) -> CaseWorkflowSettings:
    _require_configure(ctx)
    if min_handling_minutes is not None and not 0 <= min_handling_minutes <= 10080:
        raise ServiceError(ErrorCode.INVALID, t("应为 0 到 10080 分钟（0：不标记）",
                                                "between 0 and 10080 minutes (0: flag nothing)"), "minHandlingMinutes")
    row: CaseWorkflowSettings | None = await ctx.db.scalar(select(CaseWorkflowSettings))
    if row is None:
        row = CaseWorkflowSettings(auto_supervise_overdue=True, min_handling_minutes=DEFAULT_MIN_HANDLING_MINUTES,
                                   created_at=ctx.now)
    if auto_supervise_overdue is not None:
        row.auto_supervise_overdue = auto_supervise_overdue
    if min_handling_minutes is not None:
        row.min_handling_minutes = min_handling_minutes
    await ctx.db.flush(row)
    return row


async def category_rules(ctx: RequestContext) -> list[CaseCategoryRule]:
    return list(await ctx.db.scalars(category_rule_rows(ctx).order_by(*CATEGORY_RULES.order_by())))


async def category_rules_page(ctx: RequestContext, *, first: int | None, after: str | None
                              ) -> Page[CaseCategoryRule]:
    return await sorted_page(ctx.db, category_rule_rows(ctx), CATEGORY_RULES, first=first, after=after)


async def set_category_rule(ctx: RequestContext, *, category: str, requires_photo: bool) -> CaseCategoryRule:
    _require_configure(ctx)
    await _known_category(ctx, category)
    row: CaseCategoryRule | None = await ctx.db.scalar(
        select(CaseCategoryRule).where(CaseCategoryRule.category_code == category))
    if row is None:
        row = CaseCategoryRule(category_code=category, requires_photo=requires_photo, created_at=ctx.now)
    else:
        row.requires_photo = requires_photo
    await ctx.db.flush(row)
    return row
