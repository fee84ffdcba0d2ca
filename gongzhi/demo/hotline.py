"""Demo 12345 work orders (issue #22): in every demo street office, one hotline work order entered by
the street's 接诉即办 desk with its ticket number and handled to closure, and one resident's report from
the mini-program closed by the resident's own verdict — so each tenant's rates page (caseRates) has
every rate's denominator above zero. Driven through the real services, back-dated."""

from __future__ import annotations

from models import Case, CasePriority, CaseSource, HandlerKind
from resolvers import cases as svc

from .driver import Driver

# slug → (ticket number's serial, title, description, category) of the hotline work order
HOTLINE: dict[str, tuple[int, str, str, str]] = {
    "langya": (1, "12345转办：小区门口共享单车乱停", "市民来电反映小区东门共享单车堆放，影响出行。", "other"),
    "yanquan": (2, "12345转办：楼下餐馆油烟扰民", "市民来电反映楼下餐馆油烟直排，晚间尤甚。", "other"),
    "weierlu": (3, "12345转办：楼顶水箱漏水", "市民来电反映楼顶水箱漏水，顶楼住户墙面渗水。", "facility"),
    "baitao": (4, "12345转办：路口窨井盖缺失", "市民来电反映小区路口窨井盖缺失，夜间存在安全隐患。", "facility"),
}


def ticket_number(d: Driver, serial: int) -> str:
    """The platform's work-order number: GD, the local date it was received, a serial."""
    return f"GD{d.today:%Y%m%d}{serial:04d}"


async def _handle(d: Driver, case: Case, user: str, days_ago: int, resolution: str) -> Case:
    firm = await d.firm_serving(case.area_id)
    dispatch = (svc.DispatchInput(handler_kind=HandlerKind.PROPERTY_FIRM, firm_id=firm, note="请按时办结")
                if firm is not None else
                svc.DispatchInput(handler_kind=HandlerKind.COMMUNITY, community_id=await d.community_of(case.area_id),
                                  note="社区牵头办理"))
    case = await d.run(user, d.at(days_ago, 9, 40), lambda ctx: svc.simple_transition(
        ctx, case.id, "accept", note="已签收", expected_version=None))
    case = await d.run(user, d.at(days_ago, 10, 10), lambda ctx: svc.dispatch_case(ctx, case.id, dispatch))
    case = await d.run(user, d.at(days_ago, 14, 0), lambda ctx: svc.simple_transition(
        ctx, case.id, "start", note=None, expected_version=None))
    return await d.run(user, d.at(days_ago - 1, 16, 0), lambda ctx: svc.resolve_case(
        ctx, case.id, resolution=resolution, photo_ids=[], expected_version=None))


async def seed_hotline(d: Driver, slug: str) -> None:
    admin, resident = f"{slug}.admin", f"{slug}.resident"
    serial, title, description, category = HOTLINE[slug]
    home = await d.home_building(resident)
    order = svc.ReportInput(area_id=home, category=category, priority=CasePriority.NORMAL, title=title,
                            description=description, source=CaseSource.HOTLINE_12345,
                            external_ticket_no=ticket_number(d, serial))
    case = await d.run(admin, d.at(6, 9, 15), lambda ctx: svc.report_case(ctx, order))
    case = await _handle(d, case, admin, 6, "已现场处置并电话告知来电市民。")
    await d.run(admin, d.at(4, 10, 0), lambda ctx: svc.simple_transition(
        ctx, case.id, "close", note="核查属实，办结", expected_version=None))
    # A resident's report from the mini-program, closed by the resident's own verdict (满意率 counts it).
    mine = svc.ReportInput(area_id=home, category="other", priority=CasePriority.LOW, title="单元门禁失灵",
                           description="单元门禁刷卡无反应，老人进出不便。", source=CaseSource.MINI_PROGRAM)
    case = await d.run(resident, d.at(5, 8, 30), lambda ctx: svc.report_case(ctx, mine))
    case = await _handle(d, case, admin, 5, "已更换门禁读卡器。")
    await d.run(resident, d.at(3, 9, 0), lambda ctx: svc.give_feedback(
        ctx, case.id, satisfied=True, comment="修好了，谢谢", expected_version=None))
