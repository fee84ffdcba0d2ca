"""The tenant's case configuration in GraphQL: categories, SLA rules, calendar overrides and the
feedback period — read by staff, changed by the street admin."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import CasePriority, SlaUnit
from resolvers.cases import config as svc
from schema.cases.calendar import WorkingCalendarQuery
from schema.columns import column_field
from schema.common import (
    Connection,
    UserError,
    connection,
    context,
    field,
    given,
    graphql_enum,
    legacy_argument,
    mutate,
    mutation,
    one_form,
    plain_list_reason,
    query_call,
)

graphql_enum(CasePriority, name="CasePriority", description="Priority (紧急程度).")
graphql_enum(SlaUnit, name="SlaUnit", description="Unit of an SLA (时限单位): working days, working "
                                                "hours (Chinese calendar), or calendar hours.")


@strawberry.type(description="A case category with its state (事件类别).")
class CaseCategorySetting:
    _m: strawberry.Private[Any]
    code = column_field("code", str, description="Stable code.")
    name = column_field("name", str, description="Display name.")
    active = column_field("active", bool, description="Offered for new reports.")


@strawberry.type(description="Handling time for a category and priority (办理时限); no category: the default.")
class SlaRule:
    _m: strawberry.Private[Any]
    category = column_field("category_code", str | None, description="Category code; null for the tenant's default.")
    priority = column_field("priority", CasePriority, description="Priority.")
    amount = column_field("amount", float, description="How many units.")
    unit = column_field("unit", SlaUnit, description="Which unit.")


@strawberry.type(description="The tenant's own working-day fact for a date (工作日调整), winning over the "
                             "holiday package (e.g. for years it does not know yet).")
class CalendarOverride:
    _m: strawberry.Private[Any]
    day = column_field("day", date, description="The date.")
    workday = column_field("workday", bool, description="True: a working day; false: a day off.")
    note = column_field("note", str | None, description="Why, e.g. 2027 春节调休.")


@strawberry.type(description="Case settings of the tenant (事件设置).")
class CaseSettings:
    feedback_wait_days: int = strawberry.field(
        description="Days a resolved case waits for the reporter's verdict before it closes by itself.")


def _sla(r: Any) -> SlaRule:
    return SlaRule(_m=r)


@strawberry.type
class CaseConfigQuery(WorkingCalendarQuery):
    @field(description="All case categories, active or not (事件类别设置). Staff only.",
           deprecation_reason=plain_list_reason("caseCategorySettingsConnection"))
    async def case_category_settings(self, info: Info) -> list[CaseCategorySetting]:
        rows = await query_call(svc.all_categories(context(info)))
        return [CaseCategorySetting(_m=r) for r in rows]

    @field(description="All case categories, active or not (事件类别设置). Staff only.")
    async def case_category_settings_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CaseCategorySetting]:
        page = await query_call(svc.all_categories_page(context(info), first=first, after=after))
        return connection(  # type: ignore[no-any-return]
            page, lambda r: CaseCategorySetting(_m=r))

    @field(description="SLA rules (办理时限). Staff only.",
           deprecation_reason=plain_list_reason("slaRulesConnection"))
    async def sla_rules(self, info: Info) -> list[SlaRule]:
        return [_sla(r) for r in await query_call(svc.sla_rules(context(info)))]

    @field(description="SLA rules (办理时限). Staff only.")
    async def sla_rules_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[SlaRule]:
        page = await query_call(svc.sla_rules_page(context(info), first=first, after=after))
        return connection(page, _sla)  # type: ignore[no-any-return]

    @field(description="Calendar overrides of a year (工作日调整). Staff only.",
           deprecation_reason=plain_list_reason("calendarOverridesConnection"))
    async def calendar_overrides(self, info: Info, year: int) -> list[CalendarOverride]:
        rows = await query_call(svc.calendar_overrides(context(info), year))
        return [CalendarOverride(_m=r) for r in rows]

    @field(description="Calendar overrides of a year (工作日调整). Staff only.")
    async def calendar_overrides_connection(
        self, info: Info, year: int,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CalendarOverride]:
        page = await query_call(svc.calendar_overrides_page(context(info), year, first=first, after=after))
        return connection(  # type: ignore[no-any-return]
            page, lambda r: CalendarOverride(_m=r))

    @field(description="Case settings (事件设置). Staff only.")
    async def case_settings(self, info: Info) -> CaseSettings:
        row = await query_call(svc.settings(context(info)))
        return CaseSettings(feedback_wait_days=row.feedback_wait_days)


@strawberry.input(description="Remove a calendar override (删除工作日调整).")
class RemoveCalendarOverrideInput:
    day: date = strawberry.field(description="The local day whose override to remove (日期).")


@strawberry.input(description="Set how long a resolved case waits for feedback (反馈等待天数).")
class SetFeedbackWaitDaysInput:
    days: int = strawberry.field(description="Days a resolved case waits for feedback before it closes (反馈等待天数).")


@strawberry.input(description="Add or change a case category.")
class SetCaseCategoryInput:
    code: str = strawberry.field(description="Stable code: lowercase letters, digits, underscores.")
    name: str = strawberry.field(description="Display name, at most 50 characters.")
    active: bool = strawberry.field(default=True, description="Offered for new reports.")


@strawberry.input(description="Add or change an SLA rule.")
class SetSlaRuleInput:
    priority: CasePriority = strawberry.field(description="Priority.")
    amount: float = strawberry.field(description="How many units (> 0).")
    unit: SlaUnit = strawberry.field(description="Which unit.")
    category: str | None = strawberry.field(default=None, description="Category code; omit for the default.")


@strawberry.input(description="Declare a date a working day or a day off for this tenant.")
class SetCalendarOverrideInput:
    day: date = strawberry.field(description="The date.")
    workday: bool = strawberry.field(description="True: working day; false: day off.")
    note: str | None = strawberry.field(default=None, description="Why, at most 100 characters.")


@strawberry.type(description="Result of setCaseCategory.")
class CaseCategoryPayload:
    category: CaseCategorySetting | None = strawberry.field(description="The category, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setSlaRule.")
class SlaRulePayload:
    rule: SlaRule | None = strawberry.field(description="The rule, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a calendar override mutation.")
class CalendarOverridePayload:
    override: CalendarOverride | None = strawberry.field(description="The override (null after removal).")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setFeedbackWaitDays.")
class CaseSettingsPayload:
    settings: CaseSettings | None = strawberry.field(description="The settings, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class CaseConfigMutation:
    @mutation(description="Add or change a case category (street admin).")
    async def set_case_category(self, info: Info, input: SetCaseCategoryInput) -> CaseCategoryPayload:
        async def run() -> Any:
            return await svc.set_category(context(info), code=input.code, name=input.name, active=input.active)

        row, errors = await mutate(info, run)
        return CaseCategoryPayload(
            category=None if row is None else CaseCategorySetting(_m=row),
            errors=errors)

    @mutation(description="Add or change an SLA rule (street admin); applies to later dispatches.")
    async def set_sla_rule(self, info: Info, input: SetSlaRuleInput) -> SlaRulePayload:
        async def run() -> Any:
            return await svc.set_sla_rule(context(info), svc.SlaInput(
                category=input.category, priority=input.priority, amount=input.amount, unit=input.unit))

        row, errors = await mutate(info, run)
        return SlaRulePayload(rule=None if row is None else _sla(row), errors=errors)

    @mutation(description="Declare a date a working day or a day off (street admin).")
    async def set_calendar_override(self, info: Info, input: SetCalendarOverrideInput) -> CalendarOverridePayload:
        async def run() -> Any:
            return await svc.set_calendar_override(context(info), day=input.day, workday=input.workday,
                                                   note=input.note)

        row, errors = await mutate(info, run)
        return CalendarOverridePayload(
            override=None if row is None else CalendarOverride(_m=row),
            errors=errors)

    @mutation(description="Remove a calendar override (street admin).")
    async def remove_calendar_override(
        self, info: Info, input: RemoveCalendarOverrideInput | None = None,
        day: Annotated[date | None, legacy_argument("removeCalendarOverride")] = None,
    ) -> CalendarOverridePayload:
        async def run() -> Any:
            one_form(input, [day])
            return await svc.remove_calendar_override(context(info), input.day if input is not None else given(day))

        _, errors = await mutate(info, run)
        return CalendarOverridePayload(override=None, errors=errors)

    @mutation(description="Set how long a resolved case waits for feedback (street admin).")
    async def set_feedback_wait_days(
        self, info: Info, input: SetFeedbackWaitDaysInput | None = None,
        days: Annotated[int | None, legacy_argument("setFeedbackWaitDays")] = None,
    ) -> CaseSettingsPayload:
        async def run() -> Any:
            one_form(input, [days])
            return await svc.set_feedback_wait_days(context(info), input.days if input is not None else given(days))

        row, errors = await mutate(info, run)
        return CaseSettingsPayload(
            settings=None if row is None else CaseSettings(feedback_wait_days=row.feedback_wait_days), errors=errors)
