"""Co-building's Query fields: staff lists of units, agreements and in-service members, and the
partner systems' shared views."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import cobuilding as svc
from resolvers.ids import decode_id
from schema.cobuilding.enums import AgreementStatus, PartnerKind
from schema.cobuilding.shared import PartnerAgreement, SharedActivity, SharedStatistics, SharedWish, shared_stats
from schema.cobuilding.types import (
    Agreement,
    InServiceMember,
    InServiceSummary,
    LianchuangArea,
    PartnerUnit,
)
from schema.common import (
    Connection,
    connection,
    context,
    field,
    plain_list_reason,
    query_call,
)


@strawberry.type
class CobuildingQuery:
    @field(description="Partner units (共建单位), for those who read agreements.")
    async def partner_units(
        self, info: Info, kind: PartnerKind | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[PartnerUnit]:
        page = await query_call(svc.list_partner_units(context(info), kind=kind, first=first, after=after))
        return connection(page, lambda m: PartnerUnit(_m=m))  # type: ignore[no-any-return]

    @field(description="Co-building agreements (共驻共建协议) covering a community in your scope.")
    async def agreements(
        self, info: Info, partner_unit_id: strawberry.ID | None = None, community_id: strawberry.ID | None = None,
        statuses: list[AgreementStatus] | None = None,
        active_on: date | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[Agreement]:
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        community = decode_id(community_id, "Community", "communityId")
        page = await query_call(svc.list_agreements(
            context(info), partner_unit_id=unit, community_id=community, statuses=statuses, active_on=active_on,
            first=first, after=after))
        return connection(page, lambda m: Agreement(_m=m))  # type: ignore[no-any-return]

    @field(description="The 六联创 areas an agreement may name (六联创).")
    def lianchuang_areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=n) for c, n in svc.LIANCHUANG.items()]

    @field(description="In-service party members (双报到党员) registered in your scope.")
    async def inservice_members(
        self, info: Info, community_id: strawberry.ID | None = None, partner_unit_id: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[InServiceMember]:
        community = decode_id(community_id, "Community", "communityId")
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        page = await query_call(svc.list_inservice_members(context(info), community_id=community,
                                                           partner_unit_id=unit, first=first, after=after))
        return connection(page, lambda m: InServiceMember(_m=m))  # type: ignore[no-any-return]

    @field(description="A work unit's in-service members' service (双报到汇总): a partner unit's own "
                       "system reads its own; staff name the unit.")
    async def inservice_summary(
        self, info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive).")],
        partner_unit_id: strawberry.ID | None = None,
    ) -> InServiceSummary:
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        s = await query_call(svc.inservice_summary(context(info), partner_unit_id=unit, start=from_, end=to))
        return InServiceSummary(members=s.members, records=s.records, hours=float(s.hours), wishes=s.wishes,
                                activities=s.activities)

    # ---- partner units' systems

    @field(description="Partner systems: your unit's agreements in force now (我的协议).",
           deprecation_reason=plain_list_reason("myAgreementsConnection"))
    async def my_agreements(self, info: Info) -> list[PartnerAgreement]:
        return [PartnerAgreement(_m=m) for m in await query_call(svc.my_agreements(context(info)))]

    @field(description="Partner systems: your unit's agreements in force now (我的协议).")
    async def my_agreements_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[PartnerAgreement]:
        page = await query_call(svc.my_agreements_page(context(info), first=first, after=after))
        return connection(page, lambda m: PartnerAgreement(_m=m))  # type: ignore[no-any-return]

    @field(description="Partner systems: activities your agreements share (共享活动), newest first.")
    async def shared_activities(self, info: Info, first: int | None = None, after: str | None = None
                                ) -> Connection[SharedActivity]:
        page = await query_call(svc.shared_activities(context(info), first=first, after=after))
        return connection(page, lambda m: SharedActivity(_m=m))  # type: ignore[no-any-return]

    @field(description="Partner systems: open wishes your agreements share, and those you "
                       "claimed (共享心愿).")
    async def shared_wishes(self, info: Info, first: int | None = None, after: str | None = None
                            ) -> Connection[SharedWish]:
        page = await query_call(svc.shared_wishes(context(info), first=first, after=after))
        return connection(page, lambda m: SharedWish(_m=m))  # type: ignore[no-any-return]

    @field(description="Partner systems: aggregate figures of a covered community (共享统计).")
    async def shared_statistics(
        self, info: Info, community_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from", description="First local day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last local day (inclusive).")],
    ) -> SharedStatistics:
        cid = decode_id(community_id, "Community", "communityId")
        return shared_stats(await query_call(svc.shared_statistics(context(info), cid, from_, to)))
