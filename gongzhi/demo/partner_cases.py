"""A case handled by a partner unit (issue #22, DESIGN.md §8 "Handlers"), in every demo street office with a
co-building partner unit whose agreement covers the case's community: reported and accepted by the
street's staff, dispatched to the unit by its record, and started by the unit's own system — an API
client of the unit, acting as its token would (role partner_unit, its agreements in force), through the
service startAssignedCase calls. Driven through the real services, back-dated; seeded once per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Agreement,
    AgreementCommunity,
    Area,
    AreaKind,
    Case,
    CasePriority,
    CaseSource,
    HandlerKind,
    PartnerUnit,
)
from policies.cobuilding import active_on
from resolvers import cases as svc
from resolvers import cobuilding as co

from .driver import Driver


@dataclass(frozen=True)
class PartnerCase:
    unit: str  # the partner unit that handles it, by name
    community: str
    compound: str
    building: str
    reporter: str  # reports, accepts and dispatches (a user who may, in that building)
    manager: str  # the street admin who gives the unit's system its API client
    source: CaseSource
    category: str
    title: str
    description: str
    start_note: str


PARTNER_CASES: dict[str, PartnerCase] = {
    # 建峰社区: the volunteers' association (志愿服务联做) clears a stairwell the grid worker found blocked.
    "baitao": PartnerCase(
        "白涛街道志愿者协会", "建峰社区", "建峰一村", "3栋", "baitao.grid", "baitao.admin", CaseSource.GRID_PATROL,
        "garbage", "建峰一村3栋楼道杂物堆积", "3栋1单元楼道堆放旧家具和纸箱，影响通行，存在消防隐患。",
        "志愿者协会已安排6名志愿者周末入户劝导并清运。"),
    # 阳光苑社区 盈丰国际: 蓝天救援队 (防溺水安全演练) secures a pond whose railing is broken.
    "yanquan": PartnerCase(
        "蓝天救援队", "阳光苑社区", "盈丰国际", "1栋", "yanquan.admin", "yanquan.admin", CaseSource.RESIDENT_REPORT,
        "safety", "盈丰国际景观水池护栏破损", "1栋南侧景观水池护栏断开两处，暑期孩子常在附近玩耍，有溺水隐患。",
        "救援队已到场设置临时警戒线，联系物业更换护栏。"),
}


async def _place(s: AsyncSession, spec: PartnerCase, day: date) -> tuple[PartnerUnit, Area, date] | None:
    """The unit, the building, and since when an agreement of the unit covering the case's community has
    been in force (one in force on ``day``); None when there is none (then no partner case is seeded)."""
    unit = await s.scalar(select(PartnerUnit).where(PartnerUnit.name == spec.unit))
    community = await s.scalar(select(Area).where(Area.name == spec.community, Area.kind == AreaKind.COMMUNITY))
    if unit is None or community is None:
        return None
    since = await s.scalar(
        select(func.min(Agreement.valid_from))
        .join(AgreementCommunity, and_(AgreementCommunity.tenant_id == Agreement.tenant_id,
                                       AgreementCommunity.agreement_id == Agreement.id))
        .where(Agreement.partner_unit_id == unit.id, active_on(day),
               AgreementCommunity.community_path == community.path))
    compound = await s.scalar(select(Area.path).where(Area.name == spec.compound, Area.kind == AreaKind.COMPOUND,
                                                      Area.path.startswith(community.path)))
    if since is None or compound is None:
        return None
    building = await s.scalar(select(Area).where(Area.name == spec.building, Area.kind == AreaKind.BUILDING,
                                                 Area.path.startswith(compound)))
    return None if building is None else (unit, building, since)


async def seed_partner_case(d: Driver) -> list[str]:
    """The tenant's partner-handled case, unless it has one already or no partner unit to handle it."""
    spec = PARTNER_CASES.get(d.tenant.slug)
    if spec is None:
        return []
    if await d.query(lambda s: s.scalar(select(func.count()).select_from(Case)
                                        .where(Case.handler_partner_id.is_not(None)))):
        return []
    found = await d.query(lambda s: _place(s, spec, d.today))
    if found is None:
        return []
    unit, building, since = found
    # Reported the day before yesterday and started yesterday, inside the agreement's validity.
    span = (d.today - since).days
    reported_on, started_on = min(2, span), min(1, span)
    data = svc.ReportInput(area_id=building.id, category=spec.category, priority=CasePriority.HIGH,
                           title=spec.title, description=spec.description, source=spec.source)
    case = await d.run(spec.reporter, d.at(reported_on, 9, 10), lambda ctx: svc.report_case(ctx, data))
    case = await d.run(spec.reporter, d.at(reported_on, 9, 40), lambda ctx: svc.simple_transition(
        ctx, case.id, "accept", note="已受理", expected_version=None))
    dispatch = svc.DispatchInput(handler_kind=HandlerKind.PARTNER_UNIT, partner_unit_id=unit.id,
                                 note=f"派{spec.unit}协助处置")
    case = await d.run(spec.reporter, d.at(reported_on, 10, 10), lambda ctx: svc.dispatch_case(ctx, case.id, dispatch))
    client, _secret = await d.run(spec.manager, d.at(reported_on, 10, 30), partial(
        co.create_partner_client, partner_unit_id=unit.id, label=f"{spec.unit}派单系统"))
    # The unit's system starts it, as startAssignedCase does for its token.
    await d.run_partner(client.client_id, d.at(started_on, 15, 0), lambda ctx: svc.simple_transition(
        ctx, case.id, "start", note=spec.start_note, expected_version=None))
    return [f"case {case.number} {spec.title} dispatched to {spec.unit} and started by its system "
            f"(API client {client.client_id}, its secret rotated in the explorer)"]
