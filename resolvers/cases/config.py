"""A tenant's case configuration: categories, SLA rules, calendar overrides, the feedback period.
Read by everyone who works cases; changed by the street admin (policy: case · configure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, String, delete, func, select, type_coerce, update

from models import CalendarOverride, CaseCategory, CasePriority, CaseSettings, SlaRule, SlaUnit, Tenant
from resolvers import validation as v
from resolvers.cases.stages import calendar_changed
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, sorted_page

_CODE = r"^[a-z][a-z0-9_]{1,31}$"
# The longest limit per unit (an SLA rule's and a stage limit's).
SLA_LIMITS = {SlaUnit.WORKING_DAYS: 60, SlaUnit.WORKING_HOURS: 480, SlaUnit.CALENDAR_HOURS: 2000,
              SlaUnit.CALENDAR_DAYS: 90}


def _require_configure(ctx: RequestContext) -> None:
    if not ctx.actor.grant("case", "configure").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以配置事件",
                                                  "only the street admin configures cases"), "input")


def _require_staff(ctx: RequestContext) -> None:
    if not ctx.actor.assignments:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您在本街道没有角色", "you hold no role in this tenant"), "input")


# The orders of the configuration lists (issue #25): the plain list and its connection sort alike.
CATEGORY_SETTINGS = ListOrder("caseCategorySettings", (Key(CaseCategory.code), Key(CaseCategory.id)))
# The tenant's default rule (no category) first, on both backends; the priority by its stored text.
SLA_RULES = ListOrder("slaRules", (Key(func.coalesce(SlaRule.category_code, "")),
                                   Key(type_coerce(SlaRule.priority, String)), Key(SlaRule.id)))
CALENDAR_OVERRIDES = ListOrder("calendarOverrides", (Key(CalendarOverride.day), Key(CalendarOverride.id)))


# Each list's rows as one statement, the actor checked first (FORBIDDEN): the plain list, its connection
# and the compiled read (compiled/settings.py) take the same statement and the same order.
def category_setting_rows(ctx: RequestContext) -> Select[Any]:
    _require_staff(ctx)
    return select(CaseCategory)


def sla_rule_rows(ctx: RequestContext) -> Select[Any]:
    _require_staff(ctx)
    return select(SlaRule)


async def all_categories(ctx: RequestContext) -> list[CaseCategory]:
    return list(await ctx.db.scalars(category_setting_rows(ctx).order_by(*CATEGORY_SETTINGS.order_by())))


async def all_categories_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[CaseCategory]:
    return await sorted_page(ctx.db, category_setting_rows(ctx), CATEGORY_SETTINGS, first=first, after=after)


async def set_category(ctx: RequestContext, *, code: str, name: str, active: bool) -> CaseCategory:
    _require_configure(ctx)
    if not re.match(_CODE, code):
        raise ServiceError(ErrorCode.INVALID, t("代码：小写字母、数字、下划线（2–32 位）",
                                                "code: lowercase letters, digits, underscores (2–32)"), "code")
    label = v.text(name, "name", max_len=50)
    row: CaseCategory | None = await ctx.db.scalar(select(CaseCategory).where(CaseCategory.code == code))
    if row is None:
        row = CaseCategory(code=code, name=label, active=active, created_at=ctx.now)
    else:
        row.name, row.active = label, active
    await ctx.db.flush(row)
    return row


async def sla_rules(ctx: RequestContext) -> list[SlaRule]:
    return list(await ctx.db.scalars(sla_rule_rows(ctx).order_by(*SLA_RULES.order_by())))


async def sla_rules_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[SlaRule]:
    return await sorted_page(ctx.db, sla_rule_rows(ctx), SLA_RULES, first=first, after=after)


@dataclass
class SlaInput:
    category: str | None
    priority: CasePriority
    amount: float
    unit: SlaUnit


async def set_sla_rule(ctx: RequestContext, data: SlaInput) -> SlaRule:
    _require_configure(ctx)
    limit = SLA_LIMITS[data.unit]
    if not 0 < data.amount <= limit:
        raise ServiceError(ErrorCode.INVALID, t(f"时限应大于 0 且不超过 {limit} {data.unit.value}",
                                                f"amount must be above 0 and at most {limit} {data.unit.value}"),
                           "amount")
    if data.unit is SlaUnit.WORKING_DAYS and data.amount != int(data.amount):
        raise ServiceError(ErrorCode.INVALID, t("工作日须为整天", "working days are whole days"), "amount")
    if data.category is not None and await ctx.db.scalar(
        select(CaseCategory.id).where(CaseCategory.code == data.category)
    ) is None:
        raise ServiceError(ErrorCode.INVALID, t(f"没有事件类别 {data.category!r}",
                                                f"unknown case category {data.category!r}"), "category")
    cat = SlaRule.category_code.is_(None) if data.category is None else SlaRule.category_code == data.category
    row: SlaRule | None = await ctx.db.scalar(select(SlaRule).where(cat, SlaRule.priority == data.priority))
    if row is None:
        row = SlaRule(category_code=data.category, priority=data.priority, amount=data.amount, unit=data.unit,
                      created_at=ctx.now)
    else:
        row.amount, row.unit = data.amount, data.unit
    await ctx.db.flush(row)
    return row


def calendar_override_rows(ctx: RequestContext, year: int) -> Select[Any]:
    _require_staff(ctx)
    if not 2000 <= year <= 2100:
        raise ServiceError(ErrorCode.INVALID, t("年份应在 2000 到 2100 之间", "year between 2000 and 2100"), "year")
    return select(CalendarOverride).where(CalendarOverride.day >= date(year, 1, 1),
                                          CalendarOverride.day <= date(year, 12, 31))


async def calendar_overrides(ctx: RequestContext, year: int) -> list[CalendarOverride]:
    return list(await ctx.db.scalars(calendar_override_rows(ctx, year).order_by(*CALENDAR_OVERRIDES.order_by())))


async def calendar_overrides_page(ctx: RequestContext, year: int, *, first: int | None,
                                  after: str | None) -> Page[CalendarOverride]:
    return await sorted_page(ctx.db, calendar_override_rows(ctx, year), CALENDAR_OVERRIDES, first=first, after=after)


async def set_calendar_override(ctx: RequestContext, *, day: date, workday: bool, note: str | None
                                ) -> CalendarOverride:
    _require_configure(ctx)
    if not 2000 <= day.year <= 2100:
        raise ServiceError(ErrorCode.INVALID, t("日期应在 2000 到 2100 年之间", "day between 2000 and 2100"), "day")
    text = None if note is None else v.text(note, "note", max_len=100, required=False) or None
    row: CalendarOverride | None = await ctx.db.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        row = CalendarOverride(day=day, workday=workday, note=text, created_at=ctx.now)
    else:
        row.workday, row.note = workday, text
    await ctx.db.flush(row)
    await _bump_calendar(ctx)
    return row


async def _bump_calendar(ctx: RequestContext) -> None:
    """A new version of the tenant's working calendar, in the transaction that changed it (issue #21):
    every process's next request reads the new version and loads the calendar afresh."""
    await ctx.db.execute(update(Tenant).where(Tenant.id == ctx.tenant.id)
                         .values(calendar_version=Tenant.calendar_version + 1)
                         .execution_options(synchronize_session=False))
    calendar_changed(ctx.db)


async def remove_calendar_override(ctx: RequestContext, day: date) -> bool:
    _require_configure(ctx)
    result = await ctx.db.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
    if result.rowcount:  # type: ignore[attr-defined]  # as below
        await _bump_calendar(ctx)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DELETE/UPDATE gives a CursorResult; Db.execute is typed Result


async def settings(ctx: RequestContext) -> CaseSettings:
    _require_staff(ctx)
    row = await ctx.db.scalar(select(CaseSettings))
    return row or CaseSettings(feedback_wait_days=7)


async def set_feedback_wait_days(ctx: RequestContext, days: int) -> CaseSettings:
    _require_configure(ctx)
    if not 1 <= days <= 60:
        raise ServiceError(ErrorCode.INVALID, t("应为 1 到 60 天", "between 1 and 60 days"), "days")
    row: CaseSettings | None = await ctx.db.scalar(select(CaseSettings))
    if row is None:
        row = CaseSettings(feedback_wait_days=days, created_at=ctx.now)
    else:
        row.feedback_wait_days = days
    await ctx.db.flush(row)
    return row
