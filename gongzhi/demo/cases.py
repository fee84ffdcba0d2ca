"""Demo cases: the ones the four street offices describe, driven through the real services (so
every timeline, due time and permission check is what the API would produce), back-dated."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    CallbackResult,
    Case,
    CasePriority,
    HandlerKind,
    Tenant,
)
from resolvers import cases as svc
from resolvers.cases.workcalendar import SHANGHAI
from tenants.session import bind_tenant

from .driver import Driver
from .hotline import seed_hotline


async def _loop(
    d: Driver, *, reporter: str, handler_user: str, area: uuid.UUID, category: str, priority: CasePriority,
    title: str, description: str, days_ago: int, stop_after: str, to_firm: bool = True,
    resolution: str = "已处理完毕", feedback: bool | None = True, comment: str | None = None,
    supervisor: str | None = None, supervise_note: str | None = None,
) -> Case:
    """Drive one case from the report up to ``stop_after`` (report, accept, dispatch, start, resolve,
    feedback), a few working hours between steps."""
    steps = ["report", "accept", "dispatch", "start", "resolve", "feedback"]
    last = steps.index(stop_after)
    data = svc.ReportInput(area_id=area, category=category, priority=priority, title=title, description=description)
    case = await d.run(reporter, d.at(days_ago, 9, 20), lambda ctx: svc.report_case(ctx, data))
    if last >= 1:
        case = await d.run(handler_user, d.at(days_ago, 10, 5), lambda ctx: svc.simple_transition(
            ctx, case.id, "accept", note="已受理", expected_version=None))
    if last >= 2:
        firm = await d.firm_serving(area) if to_firm else None
        if firm is not None:
            dispatch = svc.DispatchInput(handler_kind=HandlerKind.PROPERTY_FIRM, firm_id=firm, note="请尽快处理")
        else:
            dispatch = svc.DispatchInput(handler_kind=HandlerKind.COMMUNITY, community_id=await d.community_of(area),
                                         note="社区牵头处理")
        case = await d.run(handler_user, d.at(days_ago, 10, 30), lambda ctx: svc.dispatch_case(ctx, case.id, dispatch))
    if last >= 3:
        case = await d.run(handler_user, d.at(days_ago, 14, 0),
                           lambda ctx: svc.simple_transition(ctx, case.id, "start", note=None, expected_version=None))
    if supervisor is not None:
        case = await d.run(supervisor, d.at(days_ago, 15, 0) if days_ago < 2 else d.at(days_ago - 1, 9, 0),
                           lambda ctx: svc.supervise_case(ctx, case.id, note=supervise_note, expected_version=None))
    if last >= 4:
        later = max(days_ago - 1, 0)
        case = await d.run(handler_user, d.at(later, 16, 0),
                           lambda ctx: svc.resolve_case(ctx, case.id, resolution=resolution, photo_ids=[],
                                                        expected_version=None))
    if last >= 5 and feedback is not None:
        later = max(days_ago - 2, 0)
        case = await d.run(reporter, d.at(later, 10, 0),
                           lambda ctx: svc.give_feedback(ctx, case.id, satisfied=feedback, comment=comment,
                                                         expected_version=None))
    return case


async def seed_demo_cases(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed the demo cases into every demo tenant that has none yet; returns the slugs seeded."""
    day = today or datetime.now(SHANGHAI).date()
    async with sm() as s:
        bind_tenant(s, None)
        tenants = {t.slug: t for t in await s.scalars(select(Tenant))}
    seeded: list[str] = []
    for slug, script in SCRIPTS.items():
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        d = Driver(sm, tenant, day)
        count = await d.query(lambda s: s.scalar(select(func.count()).select_from(Case)))
        if count:
            continue
        await script(d)
        await seed_hotline(d, slug)  # one 12345 work order each (issue #22)
        seeded.append(slug)
    return seeded


async def _langya(d: Driver) -> None:
    # 花园街社区 扬天小区 11栋: the grid worker reports the sewage, the street's discipline member
    # follows it under supervision, the community has it repaired, the reporter is satisfied.
    b11 = await d.grid_building("langya.grid2", "11栋")
    sewage = await _loop(d, reporter="langya.grid2", handler_user="langya.grid2", area=b11, category="drainage",
                priority=CasePriority.HIGH, title="扬天小区11栋污水外溢", days_ago=12, stop_after="feedback",
                description="11栋1单元门口下水道堵塞，污水外溢至楼道口，气味较大。", to_firm=False,
                resolution="疏通主管道并清理化粪池，已恢复正常。", supervisor="langya.admin",
                supervise_note="纪检委员跟踪督办")
    # 受理 → 派遣 → 处置 → 回访 (issue #22): the grid worker calls the reporter back the day it closed.
    await d.run("langya.grid2", d.at(10, 15, 0), lambda ctx: svc.record_callback(
        ctx, sewage.id, result=CallbackResult.SATISFIED, note="电话回访：下水道通畅，居民满意。",
        expected_version=None))
    # 三里亭人家: a neighbourhood lead's report on the problem wall, dispatched to the firm, now late.
    home = await d.home_building("langya.lead")
    await _loop(d, reporter="langya.lead", handler_user="langya.grid", area=home, category="noise",
                priority=CasePriority.NORMAL, title="夜间广场音响扰民", days_ago=8, stop_after="start",
                description="小区广场晚上十点后仍有音响声音，影响老人休息。", supervisor="langya.secretary",
                supervise_note="超期未办结，列入督办")
    # 三里亭人家's echo wall (回音壁): the lead's earlier reports, answered by the firm — one closed on the
    # reporter's good verdict, one resolved and waiting for it.
    home = await d.home_building("langya.lead")
    await _loop(d, reporter="langya.lead", handler_user="langya.grid", area=home, category="lighting",
                priority=CasePriority.NORMAL, title="楼道声控灯损坏", days_ago=21, stop_after="feedback",
                description="1单元2楼至4楼声控灯不亮，老人夜间上下楼不便。",
                resolution="物业已更换1单元声控灯6盏，并对全楼灯具做了检查。", comment="修得很快")
    await _loop(d, reporter="langya.lead", handler_user="langya.grid", area=home, category="garbage",
                priority=CasePriority.NORMAL, title="小区东侧绿化带垃圾堆积", days_ago=6, stop_after="resolve",
                description="东侧绿化带里堆了建筑垃圾和旧家具，一直没人清运。",
                resolution="物业已清运建筑垃圾两车，绿化带设置禁止堆放提示牌，纳入每周巡查。")
    home = await d.home_building("langya.resident")
    await _loop(d, reporter="langya.resident", handler_user="langya.grid2", area=home, category="lighting",
                priority=CasePriority.NORMAL, title="楼道灯不亮", days_ago=1, stop_after="report",
                description="2单元3楼到5楼楼道灯坏了，晚上上下楼不方便。")


async def _yanquan(d: Driver) -> None:
    # 振兴社区 香樟雅苑: flying-wire charging cleared by the party branch, owner committee and firm.
    b = await d.grid_building("yanquan.grid")
    await _loop(d, reporter="yanquan.grid", handler_user="yanquan.grid", area=b, category="fly_wire",
                priority=CasePriority.HIGH, title="香樟雅苑电动车飞线充电", days_ago=15, stop_after="feedback",
                description="多个单元有住户从窗口拉线给电动车充电，存在火灾隐患。",
                resolution="党支部、业委会、物业联合入户劝导，清理飞线23处，新增集中充电桩40个。")
    home = await d.home_building("yanquan.resident")
    await _loop(d, reporter="yanquan.resident", handler_user="yanquan.grid", area=home, category="safety",
                priority=CasePriority.NORMAL, title="电动车楼道停放堵塞通道", days_ago=2, stop_after="report",
                description="3栋楼道里停了好几辆电动车，堵住了消防通道。")
    case = await _loop(d, reporter="yanquan.resident", handler_user="yanquan.grid", area=home, category="other",
                       priority=CasePriority.LOW, title="希望延长广场舞时间", days_ago=5, stop_after="report",
                       description="希望晚上广场舞能跳到九点半。")
    await d.run("yanquan.grid", d.at(4, 9, 0), lambda ctx: svc.reject_case(
        ctx, case.id, reason="不属于事件受理范围，已转小区议事会协商。", expected_version=None))


async def _weierlu(d: Driver) -> None:
    # 磨玉市场小区: the reporter is not satisfied, the case is reopened and handled again.
    home = await d.home_building("weierlu.resident")
    case = await _loop(d, reporter="weierlu.resident", handler_user="weierlu.grid", area=home, category="garbage",
                       priority=CasePriority.NORMAL, title="市场后门垃圾堆积", days_ago=9, stop_after="feedback",
                       description="磨玉市场后门垃圾堆了三天没人清运，夏天有异味。", resolution="已清运。",
                       feedback=False, comment="只清了一半，后面还有。")
    dispatch = svc.DispatchInput(handler_kind=HandlerKind.PROPERTY_FIRM,
                                 firm_id=await d.firm_serving(home), note="重新派单，彻底清运")
    await d.run("weierlu.grid", d.at(6, 9, 30), lambda ctx: svc.dispatch_case(ctx, case.id, dispatch))
    # 纬二路32号院 (无物业): the community handles it; resolved, waiting for the reporter's verdict.
    home = await d.home_building("weierlu.lead")
    await _loop(d, reporter="weierlu.lead", handler_user="weierlu.admin", area=home, category="lighting",
                priority=CasePriority.NORMAL, title="院内路灯损坏", days_ago=3, stop_after="resolve",
                description="32号院门口路灯不亮已一周。", to_firm=False, resolution="社区协调供电所更换灯具。")


async def _baitao(d: Driver) -> None:
    # 建峰社区: the collect–handle–review loop, with the month's review recorded by the secretary.
    b = await d.grid_building("baitao.grid")
    await _loop(d, reporter="baitao.grid", handler_user="baitao.grid", area=b, category="facility",
                priority=CasePriority.NORMAL, title="健身器材损坏", days_ago=20, stop_after="feedback",
                description="小区广场两台健身器材螺丝松动，存在安全隐患。", resolution="已更换螺丝并加固。")
    home = await d.home_building("baitao.resident")
    case = await _loop(d, reporter="baitao.resident", handler_user="baitao.grid", area=home, category="parking",
                       priority=CasePriority.HIGH, title="车辆乱停堵塞消防通道", days_ago=4, stop_after="dispatch",
                       description="小区东门内侧长期有车辆停放，堵塞消防通道。", to_firm=False,
                       supervisor="baitao.secretary", supervise_note="消防通道问题列入督办")
    await d.run("baitao.secretary", d.at(2, 9, 0), lambda ctx: svc.urge_case(
        ctx, case.id, note="请本周内完成清理并设置隔离桩。", expected_version=None))
    community = await d.scope_of("baitao.secretary")
    first = (d.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last_day = d.today.replace(day=1) - timedelta(days=1)
    await d.run("baitao.secretary", d.at(0, 8, 0), lambda ctx: svc.create_review(
        ctx, area_id=community, start=first, end=last_day,
        summary="本月居民议事会收集问题，逐项办理并回访；累计解决居民诉求47件。",
        decisions="消防通道整治纳入下月重点；健身器材每月巡检。"))


SCRIPTS: dict[str, Callable[[Driver], Awaitable[Any]]] = {
    "langya": _langya,
    "yanquan": _yanquan,
    "weierlu": _weierlu,
    "baitao": _baitao,
}
