"""Demo volunteering, points and evaluations (issue #6), driven through the real services, back-dated:
- 纬二路街道 (weierlu): a points economy — an activity in 磨玉市场小区 with hours confirmed into points, a
  manual award, the community's catalogue and a redemption approved;
- 燕泉街道 (yanquan) 振兴社区 香樟雅苑: the fly-wire charging clean-up, volunteers' hours confirmed;
- 燕泉街道 (yanquan) 阳光苑社区 盈丰国际: the youth partner project's activities, organised by partner units
  (市三医院, 航空航模协会, 蓝天救援队, 林邑社工服务中心), with three young residents of 盈丰国际 as volunteers;
- every demo tenant: last month's ratings of firms and owner committees, the period then closed.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo.driver import Driver
from models import (
    Activity,
    Area,
    AreaKind,
    EvaluationPeriod,
    EvaluationTarget,
    Household,
    Member,
    OrganiserKind,
    Person,
    RoleAssignment,
    Tenant,
    User,
)
from resolvers import evaluations as ev
from resolvers import volunteering as vol
from resolvers.cases import SHANGHAI
from resolvers.errors import ServiceError
from tenants.session import bind_tenant

YOUTH_PARTNERS = (
    ("市三医院", "青少年急救知识课堂", "盈丰国际小区广场", "心肺复苏与止血包扎实操，由市三医院医护人员授课。"),
    ("航空航模协会", "航模科普进小区", "盈丰国际2栋架空层", "青少年航模制作与试飞体验。"),
    ("蓝天救援队", "防溺水安全演练", "盈丰国际小区广场", "暑期防溺水知识讲解与救援演示。"),
    ("林邑社工服务中心", "四点半课堂", "盈丰国际1栋活动室", "放学后作业辅导与阅读陪伴，青年志愿者结对。"),
)


async def _area(d: Driver, name: str, kind: AreaKind) -> Area:
    async def q(s: AsyncSession) -> Area:
        found = await s.scalar(select(Area).where(Area.name == name, Area.kind == kind))
        assert found is not None, name
        return found

    return await d.query(q)


async def _person_of(d: Driver, username: str) -> uuid.UUID:
    async def q(s: AsyncSession) -> uuid.UUID:
        found = await s.scalar(select(Member.person_id).join(User, User.id == Member.user_id)
                               .where(User.username == username))
        assert found is not None, username
        return found

    return await d.query(q)


async def _youth_volunteers(d: Driver, compound: Area, n: int) -> list[str]:
    """Accounts for up to n residents of the compound's register (yanquan.youth1 …), created once."""
    async def q(s: AsyncSession) -> list[str]:
        buildings = select(Area.id).where(Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING)
        linked = select(Member.person_id).where(Member.person_id.is_not(None))
        persons = list(await s.scalars(
            select(Person).join(Household, Household.id == Person.household_id)
            .where(Household.building_id.in_(buildings), Person.id.not_in(linked))
            .order_by(Person.birth_date.desc().nulls_last(), Person.id).limit(n)))
        names = []
        for i, p in enumerate(persons, start=1):
            username = f"{d.tenant.slug}.youth{i}"
            user = User(username=username, display_name=p.name)
            s.add(user)
            await s.flush()
            s.add(RoleAssignment(user_id=user.id, role="resident", scope_area_id=compound.id,
                                 valid_from=datetime(2024, 1, 1, tzinfo=UTC)))
            s.add(Member(user_id=user.id, person_id=p.id))
            names.append(username)
        return names

    return await d.query(q)


async def _activity_with_hours(d: Driver, publisher: str, confirmer: str, volunteers: list[str], days_ago: int,
                               data: vol.ActivityInput, hours: float) -> None:
    act = await d.run(publisher, d.at(days_ago + 7, 10), lambda ctx: vol.publish_activity(ctx, data))
    for i, v in enumerate(volunteers):
        sid = (await d.run(v, d.at(days_ago + 5, 20, i), lambda ctx: vol.sign_up(ctx, act.id))).id
        await d.run(v, data.starts_at + timedelta(minutes=i), partial(vol.check_in, signup_id=sid))
        await d.run(v, data.ends_at, partial(vol.check_out, signup_id=sid))
        await d.run(confirmer, data.ends_at + timedelta(hours=1),
                    partial(vol.confirm_hours, signup_id=sid, hours=hours))


def _slot(d: Driver, days_ago: int, hour: int, length: int) -> tuple[datetime, datetime]:
    start = d.at(days_ago, hour)
    return start, start + timedelta(hours=length)


async def _weierlu(d: Driver) -> None:
    compound = await _area(d, "磨玉市场小区", AreaKind.COMPOUND)
    community = await _area(d, "纬二路社区", AreaKind.COMMUNITY)
    start, end = _slot(d, 10, 9, 3)
    data = vol.ActivityInput(
        title="磨玉市场环境整治志愿服务", area_id=compound.id, place="磨玉市场后门", starts_at=start, ends_at=end,
        capacity=20, organiser_kind=OrganiserKind.COMMUNITY, community_id=community.id,
        description="清理市场后门堆积杂物，劝导商户垃圾分类。")
    await _activity_with_hours(d, "weierlu.secretary", "weierlu.secretary", ["weierlu.resident", "weierlu.grid"],
                               10, data, 3)
    resident = await _person_of(d, "weierlu.resident")
    await d.run("weierlu.grid", d.at(6, 15), lambda ctx: vol.award_points(ctx, resident, 20, "协助调解邻里纠纷"))
    items = []
    for name, points, stock in (("洗衣液", 30, 20), ("大米5kg", 50, 10), ("理发券", 10, 50)):
        items.append(await d.run("weierlu.secretary", d.at(9, 9),
                                 partial(vol.create_reward_item, community_id=community.id,
                                                         name=name, points=points, stock=stock)))
    r = await d.run("weierlu.resident", d.at(4, 19), lambda ctx: vol.request_redemption(ctx, items[0].id))
    await d.run("weierlu.admin", d.at(3, 10), lambda ctx: vol.decide_redemption(ctx, r.id, approve=True, note="已领取"))
    await d.run("weierlu.resident", d.at(1, 19), lambda ctx: vol.request_redemption(ctx, items[2].id))


async def _yanquan(d: Driver) -> None:
    # 振兴社区 香樟雅苑: the fly-wire charging clean-up (飞线充电清理) the party branch, the owner committee and
    # the firm ran together (DESIGN.md §7), as a volunteer activity with its hours.
    xiangzhang = await _area(d, "香樟雅苑", AreaKind.COMPOUND)
    zhenxing = await _area(d, "振兴社区", AreaKind.COMMUNITY)
    start, end = _slot(d, 16, 9, 3)
    data = vol.ActivityInput(
        title="香樟雅苑飞线充电清理行动", area_id=xiangzhang.id, place="香樟雅苑1至3栋", starts_at=start,
        ends_at=end, capacity=30, organiser_kind=OrganiserKind.COMMUNITY, community_id=zhenxing.id,
        description="小区党支部、业委会、物业公司联合入户劝导，拆除楼道与窗口飞线，引导使用集中充电桩。")
    await _activity_with_hours(d, "yanquan.secretary", "yanquan.secretary", ["yanquan.resident", "yanquan.grid"],
                               16, data, 3)
    compound = await _area(d, "盈丰国际", AreaKind.COMPOUND)
    youth = await _youth_volunteers(d, compound, 3)
    for i, (partner, title, place, description) in enumerate(YOUTH_PARTNERS):
        days_ago = 20 - 4 * i
        start, end = _slot(d, days_ago, 15, 2)
        data = vol.ActivityInput(title=title, area_id=compound.id, place=place, starts_at=start, ends_at=end,
                                 capacity=30, organiser_kind=OrganiserKind.PARTNER_UNIT, partner_name=partner,
                                 description=description)
        await _activity_with_hours(d, "yanquan.admin", "yanquan.admin", youth[: 1 + i % 3], days_ago, data, 2)
    # One to come: open for sign-up.
    start, end = _slot(d, -5, 9, 3)
    data = vol.ActivityInput(title="青年合伙人 社区义诊", area_id=compound.id, place="盈丰国际小区广场",
                             starts_at=start, ends_at=end, capacity=15, organiser_kind=OrganiserKind.PARTNER_UNIT,
                             partner_name="市三医院", description="义诊与健康咨询，招募青年志愿者引导秩序。")
    await d.run("yanquan.admin", d.at(1, 10), lambda ctx: vol.publish_activity(ctx, data))
    # One called off (issue #23): its volunteers are notified, and no hours will be granted for it.
    start, end = _slot(d, -3, 15, 2)
    data = vol.ActivityInput(title="青年合伙人 旧衣回收", area_id=compound.id, place="盈丰国际小区东门",
                             starts_at=start, ends_at=end, capacity=20, organiser_kind=OrganiserKind.PARTNER_UNIT,
                             partner_name="林邑社工服务中心", description="回收旧衣物，分拣后捐赠。")
    called_off = await d.run("yanquan.admin", d.at(3, 10), lambda ctx: vol.publish_activity(ctx, data))
    for i, v in enumerate(youth[:2]):
        await d.run(v, d.at(2, 20, i), lambda ctx: vol.sign_up(ctx, called_off.id))
    await d.run("yanquan.admin", d.at(1, 9),
                lambda ctx: vol.cancel_activity(ctx, called_off.id, "台风预警，活动取消，改期另行通知"))


def _score(*parts: str) -> int:
    return 70 + zlib.crc32("/".join(parts).encode()) % 29


async def _ratings(d: Driver) -> None:
    """Last month: every demo role rates what it may; the street admin then closes the period."""
    slug = d.tenant.slug
    month = (d.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    period = await d.run(f"{slug}.admin", d.at((d.today - month).days, 9), lambda ctx: ev.open_period(ctx, month))
    compounds = await d.query(lambda s: _compounds(s))
    when = d.at((d.today - month).days - 20, 10)
    raters = [f"{slug}.{u}" for u in ("admin", "secretary", "grid", "grid2", "chair", "resident", "lead")]
    for target in EvaluationTarget:
        codes = [i.code for i in await d.run(f"{slug}.admin", when, partial(ev.items, target=target))]
        for rater in raters:
            for cid, name in compounds:
                data = ev.RateInput(period_id=period.id, target=target, compound_id=cid,
                                    scores={c: _score(rater, name, c) for c in codes})
                try:
                    await d.run(rater, when, partial(ev.rate, data=data))
                except (ServiceError, AssertionError):
                    continue  # not this rater's to rate (or no such demo user, or no firm)
    await d.run(f"{slug}.admin", d.at((d.today - month).days - 33, 9), lambda ctx: ev.close_period(ctx, period.id))


async def _compounds(s: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    return [(a.id, a.name) for a in await s.scalars(select(Area).where(Area.kind == AreaKind.COMPOUND)
                                                    .order_by(Area.name))]


SCRIPTS = {"weierlu": _weierlu, "yanquan": _yanquan}


async def seed_demo_volunteering(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed into every demo tenant that has no activities and no evaluation periods yet; returns slugs."""
    day = today or datetime.now(SHANGHAI).date()
    async with sm() as s:
        bind_tenant(s, None)
        tenants = {t.slug: t for t in await s.scalars(select(Tenant))}
    seeded: list[str] = []
    for slug in ("langya", "yanquan", "weierlu", "baitao"):
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        d = Driver(sm, tenant, day)
        done = await d.query(lambda s: s.scalar(
            select(func.count()).select_from(EvaluationPeriod)))
        done = done or await d.query(lambda s: s.scalar(select(func.count()).select_from(Activity)))
        if done:
            continue
        script = SCRIPTS.get(slug)
        if script is not None:
            await script(d)
        await _ratings(d)
        seeded.append(slug)
    return seeded
