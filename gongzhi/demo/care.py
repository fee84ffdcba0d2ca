"""Demo care data, driven through the real services and back-dated: 燕泉街道's neighbourhood lead
and grid worker visiting (key households weekly, all quarterly — some now overdue), 建峰社区's
service lists for its care groups, service records, and micro-wishes claimed and fulfilled."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo.driver import Driver
from models import (
    Area,
    CareService,
    CareServiceRecord,
    CareTagKind,
    GridBuilding,
    Household,
    LeadTitle,
    Member,
    NeighborLead,
    Person,
    PersonCareTag,
    Tenant,
    User,
    VisitKind,
    Wish,
)
from resolvers import care as care_svc
from resolvers.cases import SHANGHAI
from resolvers.context import RequestContext
from tenants.session import bind_tenant


async def seed_demo_care(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed the care demo into 燕泉街道 and 白涛街道 when they have none yet, and the service lists of
    ``AREA_SERVICE_LISTS`` into the areas that have none; returns the slugs seeded."""
    day = today or datetime.now(SHANGHAI).date()
    async with sm() as s:
        bind_tenant(s, None)
        tenants = {t.slug: t for t in await s.scalars(select(Tenant))}
    seeded: list[str] = []
    for slug, script in (("yanquan", _yanquan), ("baitao", _baitao)):
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        d = Driver(sm, tenant, day)
        marker = NeighborLead if slug == "yanquan" else Wish
        done = await d.query(partial(_count, marker))
        if done:
            continue
        await script(d)
        seeded.append(slug)
    for slug, lists in AREA_SERVICE_LISTS.items():
        tenant = tenants.get(slug)
        if tenant is not None and await _area_service_lists(Driver(sm, tenant, day), lists) and slug not in seeded:
            seeded.append(slug)
    return seeded


# The services a community or compound runs for its care groups, named in the street offices' accounts
# (DESIGN.md §7, issue #23): 凤凰社区's elderly care station and childcare, 新贵华城's elders' canteen.
# area name → (care group, service, frequency, provider); a care group the tenant lacks is added first.
AREA_SERVICE_LISTS: dict[str, dict[str, tuple[tuple[str, str, str, str], ...]]] = {
    "langya": {
        "凤凰社区": (
            ("living_alone", "养老服务站助餐、助浴与健康监测", "每日", "凤凰社区养老服务站"),
            ("empty_nest", "养老服务站日间照料与文娱活动", "每日", "凤凰社区养老服务站"),
            ("infant_family", "社区托育：0–3岁婴幼儿日间托管与育儿指导", "工作日", "凤凰社区托育服务点"),
        ),
    },
    "yanquan": {
        "新贵华城": (
            ("living_alone", "长者食堂助餐（行动不便者送餐上门）", "每日午餐、晚餐", "新贵华城长者食堂"),
            ("empty_nest", "长者食堂优惠助餐", "每日午餐", "新贵华城长者食堂"),
        ),
    },
}
EXTRA_CARE_GROUPS = {"infant_family": "婴幼儿家庭"}


async def _area_service_lists(d: Driver, lists: dict[str, tuple[tuple[str, str, str, str], ...]]) -> bool:
    """Each area's service list, through the services as the street admin; an area that has one is left."""
    admin = f"{d.tenant.slug}.admin"
    did = False
    for area_name, services in lists.items():
        area = await d.query(partial(_area_named, area_name))
        if await d.query(partial(_has_services, area)):
            continue
        for code, name, freq, provider in services:
            if code in EXTRA_CARE_GROUPS and not await d.query(partial(_has_care_group, code)):
                await d.run(admin, d.at(90, 9), partial(_add_care_group, code, EXTRA_CARE_GROUPS[code]))
            data = care_svc.ServiceInput(tag_code=code, area_id=area, name=name, frequency=freq, provider=provider)
            await d.run(admin, d.at(90, 10), partial(_create_service, data))
        did = True
    return did


async def _area_named(name: str, s: AsyncSession) -> uuid.UUID:
    found = await s.scalar(select(Area.id).where(Area.name == name))
    assert found is not None, name
    return found


async def _has_services(area: uuid.UUID, s: AsyncSession) -> bool:
    return bool(await s.scalar(select(func.count()).select_from(CareService).where(CareService.area_id == area)))


async def _has_care_group(code: str, s: AsyncSession) -> bool:
    return await s.scalar(select(CareTagKind.id).where(CareTagKind.code == code)) is not None


async def _add_care_group(code: str, name: str, ctx: RequestContext) -> CareTagKind:
    return await care_svc.add_care_tag_kind(ctx, code=code, name=name)


async def _count(model: type[NeighborLead] | type[Wish], s: AsyncSession) -> int:
    return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def _households_with_keys(d: Driver, building_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, bool]]:
    """Households of the buildings, in order, each with whether it is a key household."""
    async def q(s: AsyncSession) -> list[tuple[uuid.UUID, bool]]:
        key = select(Person.household_id).join(PersonCareTag, PersonCareTag.person_id == Person.id)
        rows = (await s.execute(select(Household.id, Household.id.in_(key)).where(
            Household.building_id.in_(building_ids)).order_by(Household.building_id, Household.unit,
                                                                Household.room))).all()
        return [(r[0], bool(r[1])) for r in rows]

    return await d.query(q)


async def _compound_of(d: Driver, username: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    building = await d.home_building(username)

    async def q(s: AsyncSession) -> tuple[uuid.UUID, list[uuid.UUID]]:
        parent = await s.scalar(select(Area.parent_id).where(Area.id == building))
        assert parent is not None
        buildings = list(await s.scalars(select(Area.id).where(Area.parent_id == parent).order_by(Area.name)))
        return parent, buildings

    return await d.query(q)


async def _yanquan(d: Driver) -> None:
    # 燕北社区 新贵华城: the lead (邻长) keeps 10 households of their compound, appointed 120 days ago.
    compound, buildings = await _compound_of(d, "yanquan.lead")
    households = (await _households_with_keys(d, buildings))[:10]
    person_id = await _lead_person(d, "yanquan.lead")
    assert person_id is not None
    await d.run("yanquan.admin", d.at(120, 9), lambda ctx: care_svc.appoint_lead(
        ctx, person_id=person_id, title=LeadTitle.NEIGHBOR, area_id=compound,
        household_ids=[h for h, _ in households]))
    # Key households weekly for the past eight weeks (the last one skipped for two of them: overdue),
    # every other household once this quarter, two of them not yet (overdue).
    for i, (hid, key) in enumerate(households):
        if key:
            weeks = range(1, 9) if i % 3 else range(2, 9)
            for w in weeks:
                await _visit(d, "yanquan.lead", w * 7 - (i % 3), hid, VisitKind.KEY_HOUSEHOLD,
                             "老人身体状况稳定，按时服药；家中用电用气安全。", None)
        elif i % 4 != 3:
            await _visit(d, "yanquan.lead", 20 + i * 5, hid, VisitKind.ROUTINE, "家庭情况正常，无特殊困难。",
                         "希望小区增设休息座椅。" if i == 1 else None)
    # 振兴社区第一网格: the grid worker's quarterly round, one visit raising a case (fly-wire charging).
    grid_building = await d.grid_building("yanquan.grid")
    grid_households = (await _households_with_keys(d, [grid_building]))[:6]
    for i, (hid, _key) in enumerate(grid_households):
        await _visit(d, "yanquan.grid", 10 + i * 9, hid, VisitKind.CARE if _key else VisitKind.ROUTINE,
                     "入户走访，宣传电动车安全充电。", None)
    if grid_households:
        hid = grid_households[0][0]
        await d.run("yanquan.grid", d.at(3, 15), lambda ctx: care_svc.record_visit(ctx, care_svc.VisitInput(
            household_id=hid, kind=VisitKind.FOLLOW_UP, visited_at=d.at(3, 15),
            findings="回访发现楼道仍有飞线充电现象。", needs="希望增设电动车充电桩。",
            raise_case=care_svc.RaiseCase(category="fly_wire", title="楼道飞线充电",
                                          description="2单元楼道有住户从窗口拉线给电动车充电。"))))


async def _lead_person(d: Driver, username: str) -> uuid.UUID | None:
    return await d.query(lambda s: s.scalar(
        select(Member.person_id).join(User, User.id == Member.user_id).where(User.username == username)))


async def _visit(d: Driver, user: str, days_ago: int, household: uuid.UUID, kind: VisitKind, findings: str,
                 needs: str | None) -> None:
    when = d.at(days_ago, 10)
    await d.run(user, when, lambda ctx: care_svc.record_visit(ctx, care_svc.VisitInput(
        household_id=household, kind=kind, visited_at=when, findings=findings, needs=needs)))


SERVICE_LISTS = (
    ("living_alone", "上门探视、代购生活用品", "每周一次", "网格员、邻长"),
    ("living_alone", "长者食堂助餐", "每日", "社区长者食堂"),
    ("disabled", "康复辅具借用与上门康复指导", "每月一次", "社区卫生服务站"),
    ("child_in_difficulty", "课业辅导与心理关爱", "每周两次", "共建单位建峰小学志愿者"),
    ("bereaved_family", "节日慰问与结对帮扶", "每季度一次", "社区党委、结对党员"),
)

WISHES = (
    ("想要一台收音机听戏", "老人眼睛不好，希望有台收音机。"),
    ("需要更换家里的旧灯泡", "厨房和卫生间灯泡坏了，自己够不着。"),
    ("希望有人陪同去医院复查", "下月初需到区人民医院复查。"),
    ("想要一套初中数学辅导书", "孩子上初二，家里没有辅导资料。"),
    ("轮椅刹车维修", "轮椅刹车失灵，出门不安全。"),
    ("冬天需要一床厚棉被", ""),
)


async def _baitao(d: Driver) -> None:
    community = await d.scope_of("baitao.secretary")
    services: dict[str, uuid.UUID] = {}
    for code, name, freq, provider in SERVICE_LISTS:
        data = care_svc.ServiceInput(tag_code=code, area_id=community, name=name, frequency=freq, provider=provider)
        svc = await d.run("baitao.secretary", d.at(60, 9), partial(_create_service, data))
        services.setdefault(code, svc.id)
    # The first grid's persons in a care group, for service records and wishes.
    grid = await d.scope_of("baitao.grid")

    async def tagged(s: AsyncSession) -> list[tuple[uuid.UUID, str]]:
        rows = await s.execute(
            select(Person.id, PersonCareTag.code).join(PersonCareTag, PersonCareTag.person_id == Person.id)
            .join(Household, Household.id == Person.household_id)
            .join(GridBuilding, GridBuilding.building_id == Household.building_id)
            .where(GridBuilding.grid_id == grid).order_by(Person.id))
        return [(r[0], r[1]) for r in rows]

    people = await d.query(tagged)
    for i, (pid, code) in enumerate(people[:8]):
        sid = services.get(code)
        if sid is None:
            continue
        for days_ago in (35, 21, 7):
            when = d.at(days_ago - i % 3, 14)
            rec = care_svc.ServiceRecordInput(service_id=sid, person_id=pid, provided_at=when,
                                              provided_by="第一网格网格员")
            await d.run("baitao.grid", when, partial(_record_service, rec))
    # Micro-wishes: posted by the grid worker for people in care groups; most claimed and fulfilled.
    beneficiaries = list(dict.fromkeys(pid for pid, _ in people))[:len(WISHES)]
    for i, pid in enumerate(beneficiaries):
        title, description = WISHES[i]
        wish = await d.run("baitao.grid", d.at(30 - i, 10), partial(_post_wish, pid, title, description))
        # Most are claimed and fulfilled by the community's party secretary and confirmed by the grid
        # worker who posted them (a poster never claims their own wish, DESIGN.md §8); the last are
        # still open, waiting for a claimant.
        done = {0: 3, 1: 3, 2: 2, 3: 1}.get(i, 0)
        for step, days_ago in (("claim", 28), ("fulfil", 25), ("confirm", 24))[:done]:
            who = "baitao.grid" if step == "confirm" else "baitao.secretary"
            await d.run(who, d.at(days_ago - i, 11), partial(_wish_step, step, wish.id))


async def _wish_step(step: str, wish_id: uuid.UUID, ctx: RequestContext) -> Wish:
    if step == "claim":
        return await care_svc.claim_wish(ctx, wish_id, expected_version=None)
    if step == "fulfil":
        return await care_svc.fulfil_wish(ctx, wish_id, note="党员志愿者已上门完成。", expected_version=None)
    return await care_svc.confirm_wish(ctx, wish_id, expected_version=None)


async def _create_service(data: care_svc.ServiceInput, ctx: RequestContext) -> CareService:
    return await care_svc.create_care_service(ctx, data)


async def _record_service(data: care_svc.ServiceRecordInput, ctx: RequestContext) -> CareServiceRecord:
    return await care_svc.record_care_service(ctx, data)


async def _post_wish(person_id: uuid.UUID, title: str, description: str, ctx: RequestContext) -> Wish:
    return await care_svc.post_wish(ctx, person_id=person_id, title=title, description=description)
