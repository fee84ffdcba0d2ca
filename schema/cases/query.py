"""The cases domain's Query fields: cases, notifications, categories, review figures and reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import CasePriority, CaseSource, CaseState, HandlerKind
from resolvers import cases as case_service
from resolvers.cases import CaseOrder
from resolvers.ids import decode_id
from schema.cases.config import CaseConfigQuery
from schema.cases.rates import CaseRatesQuery
from schema.cases.steps import CaseStageQuery
from schema.cases.types import Case, CaseCategory, CaseReview, CaseStatistics, Notification, statistics_from
from schema.common import (
    Connection,
    connection,
    context,
    field,
    graphql_enum,
    plain_list_reason,
    query_call,
)
from schema.register import AREA_TYPE_NAMES

graphql_enum(CaseOrder, name="CaseOrder", description="The order of the cases list (事件排序).")


@strawberry.type
class CaseQuery(CaseConfigQuery, CaseStageQuery, CaseRatesQuery):
    @field(description="Cases you may read, newest first unless ordered otherwise (事件列表): your scope, "
                       "your firm's assigned and served cases, your own reports and your compound's problem wall.")
    async def cases(
        self,
        info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        states: list[CaseState] | None = None,
        category: str | None = None,
        supervised: Annotated[bool | None, strawberry.argument(description="督办 cases only (or none).")] = None,
        overdue: Annotated[bool | None, strawberry.argument(description="Open and past due (or not).")] = None,
        reported_by_me: bool | None = None,
        assigned_to_me: Annotated[bool | None, strawberry.argument(
            description="Dispatched to your firm.")] = None,
        closure_flagged: Annotated[bool | None, strawberry.argument(
            description="Resolved faster than the tenant's minimum and not yet reviewed (待核查), or not.")] = None,
        first: int | None = 20,
        after: str | None = None,
        sources: Annotated[list[CaseSource] | None, strawberry.argument(
            description="Only from these source channels (来源渠道).")] = None,
        external_ticket_no: Annotated[str | None, strawberry.argument(
            description="Only the case with this 12345 work-order number (工单号).")] = None,
        priorities: Annotated[list[CasePriority] | None, strawberry.argument(
            description="Only these priorities (紧急程度).")] = None,
        reported_from: Annotated[datetime | None, strawberry.argument(
            description="Only cases reported at or after this time (上报时间起).")] = None,
        reported_before: Annotated[datetime | None, strawberry.argument(
            description="Only cases reported before this time (上报时间止, exclusive).")] = None,
        handler_kind: Annotated[HandlerKind | None, strawberry.argument(
            description="Only cases dispatched to this kind of handling unit (承办单位类型).")] = None,
        handler_firm_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only cases dispatched to this property firm (承办物业).")] = None,
        handler_partner_unit_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only cases dispatched to this partner unit (承办共建单位), by its record.")] = None,
        text: Annotated[str | None, strawberry.argument(
            description="Part of the title, or of the description where you see it in full (关键词, ≤ 50).")
        ] = None,
        order: Annotated[CaseOrder, strawberry.argument(
            description="The order (排序): newest first, due soonest, or overdue first. A cursor is valid "
                        "with the order it was given for.")] = CaseOrder.NEWEST,
    ) -> Connection[Case]:
        f = case_service.CaseFilter(
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            states=states, category=category, supervised=supervised, overdue=overdue,
            reported_by_me=reported_by_me, assigned_to_me=assigned_to_me, closure_flagged=closure_flagged,
            sources=sources, external_ticket_no=external_ticket_no, priorities=priorities,
            reported_from=reported_from, reported_before=reported_before, handler_kind=handler_kind,
            handler_firm_id=decode_id(handler_firm_id, "PropertyFirm", "handlerFirmId"),
            handler_partner_unit_id=decode_id(handler_partner_unit_id, "PartnerUnit", "handlerPartnerUnitId"),
            text=text, order=order,
        )
        page = await query_call(case_service.list_cases(context(info), f, first=first, after=after))
        return connection(page, lambda m: Case(_m=m))  # type: ignore[no-any-return]

    @field(description="Your notifications (通知), newest first.")
    async def notifications(self, info: Info, unread_only: bool = False, first: int | None = 20,
                            after: str | None = None) -> Connection[Notification]:
        page = await query_call(case_service.list_notifications(context(info), unread_only=unread_only,
                                                                first=first, after=after))
        return connection(page, lambda m: Notification(_m=m))  # type: ignore[no-any-return]

    @field(description="How many of your notifications you have not read (未读通知数): your own read state, "
                       "whoever else of your firm or area read them (one statement).")
    async def unread_notification_count(self, info: Info) -> int:
        return await query_call(case_service.unread_count(context(info)))

    @field(description="The tenant's case categories (事件类别).",
           deprecation_reason=plain_list_reason("caseCategoriesConnection"))
    async def case_categories(self, info: Info) -> list[CaseCategory]:
        return [CaseCategory(_m=c) for c in await case_service.categories(context(info))]

    @field(description="The tenant's case categories (事件类别).")
    async def case_categories_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CaseCategory]:
        page = await query_call(case_service.categories_page(context(info), first=first, after=after))
        return connection(page, lambda c: CaseCategory(_m=c))  # type: ignore[no-any-return]

    @field(description="Review figures (复盘统计) for an area subtree and a period of local dates.")
    async def case_statistics(
        self, info: Info, area_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive).")],
    ) -> CaseStatistics:
        stats = await query_call(case_service.statistics(
            context(info), decode_id(area_id, AREA_TYPE_NAMES, "areaId"), from_, to))
        return statistics_from(stats)

    @field(description="Recorded reviews (复盘记录) of an area, newest period first.",
           deprecation_reason=plain_list_reason("caseReviewsConnection"))
    async def case_reviews(self, info: Info, area_id: strawberry.ID) -> list[CaseReview]:
        rows = await case_service.list_reviews(context(info), decode_id(area_id, AREA_TYPE_NAMES, "areaId"))
        return [CaseReview(_m=r) for r in rows]

    @field(description="Recorded reviews (复盘记录) of an area, newest period first.")
    async def case_reviews_connection(
        self, info: Info, area_id: strawberry.ID,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CaseReview]:
        page = await query_call(case_service.list_reviews_page(
            context(info), decode_id(area_id, AREA_TYPE_NAMES, "areaId"), first=first, after=after))
        return connection(page, lambda r: CaseReview(_m=r))  # type: ignore[no-any-return]
