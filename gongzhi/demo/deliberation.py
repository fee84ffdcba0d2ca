"""Demo deliberation (issue #4), driven through the real services, back-dated:
- 燕泉街道 (yanquan) 五岭阁社区 市政府东湾院: the elevator retrofit proposed by the owner committee chair,
  deliberated in a meeting, put to the owners (a change of common parts: Civil Code art. 278, ≥ 3/4), ballots
  cast by the owner households, the result computed at the close, then decided and being carried out;
- 琅琊街道 (langya) 三里亭人家: meetings of the self-governing groups (2 zones, 12 groups) with agendas,
  attendees, minutes and decided topics, one of them raised from a problem-wall case;
- 纬二路街道 (weierlu): 广言亭 and 议事角 deliberation — residents' matters raised at the community's 广言亭
  (a pavilion where residents speak) and at 磨玉市场小区's 议事角, each deliberated in a meeting held there
  and decided (issue #23: the fact as data, not only as prose);
- 白涛街道 (baitao) 建峰社区: the monthly residents' meetings (每月居民议事会) of the collect–handle–review
  loop, the last three months' meetings recorded with their minutes and decided topics;
- every demo tenant: notices from the street office and from a community or compound.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo.driver import Driver
from models import (
    Area,
    AreaKind,
    BallotMethod,
    Case,
    Choice,
    Household,
    MeetingAttendee,
    Member,
    Notice,
    Person,
    PropertyOwner,
    RoleAssignment,
    Tenant,
    User,
    VoteMatter,
)
from resolvers import deliberation as svc
from resolvers.cases import SHANGHAI
from tenants.session import bind_tenant

DONGWAN = "市政府东湾院"
SANLITING = "三里亭人家"


async def _area(d: Driver, name: str, kind: AreaKind, parent: Area | None = None) -> Area:
    async def q(s: AsyncSession) -> Area:
        stmt = select(Area).where(Area.name == name, Area.kind == kind)
        if parent is not None:
            stmt = stmt.where(Area.path.startswith(parent.path))
        found = await s.scalar(stmt)
        assert found is not None, name
        return found

    return await d.query(q)


async def _owner_voters(d: Driver, compound: Area) -> list[tuple[str, uuid.UUID, float]]:
    """(username, dwelling, floor area) for every dwelling of the compound with a registered owner
    (产权人), creating a resident account (yanquan.dongwan1 …) for its first owner when no owner of it
    has one linked yet."""
    async def q(s: AsyncSession) -> list[tuple[str, uuid.UUID, float]]:
        buildings = select(Area.id).where(Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING)
        owned = select(PropertyOwner.household_id).where(PropertyOwner.ended_at.is_(None))
        households = list(await s.scalars(select(Household).where(
            Household.building_id.in_(buildings), Household.id.in_(owned)).order_by(Household.id)))
        out: list[tuple[str, uuid.UUID, float]] = []
        n = 0
        for h in households:
            owners = select(PropertyOwner.person_id).where(PropertyOwner.household_id == h.id,
                                                           PropertyOwner.ended_at.is_(None))
            linked = await s.scalar(select(User.username).join(Member, Member.user_id == User.id)
                                    .where(Member.person_id.in_(owners)).order_by(User.username).limit(1))
            if linked is None:
                head = await s.scalar(select(Person).where(Person.id.in_(owners))
                                      .order_by((Person.relation_to_head != "户主"), Person.birth_date))
                if head is None:
                    continue
                n += 1
                linked = f"{d.tenant.slug}.dongwan{n}"
                user = User(username=linked, display_name=head.name)
                s.add(user)
                await s.flush()
                s.add(RoleAssignment(user_id=user.id, role="resident", scope_area_id=compound.id,
                                     valid_from=d.at(60, 9)))
                s.add(Member(user_id=user.id, person_id=head.id))
            out.append((linked, h.id, float(h.floor_area or 0)))
        return out

    return await d.query(q)


async def _persons(d: Driver, area: Area, n: int) -> list[uuid.UUID]:
    """Adults registered below the area (party members first: the central households, 党员中心户)."""
    async def q(s: AsyncSession) -> list[uuid.UUID]:
        buildings = select(Area.id).where(Area.path.startswith(area.path), Area.kind == AreaKind.BUILDING)
        return list(await s.scalars(
            select(Person.id).join(Household, Household.id == Person.household_id)
            .where(Household.building_id.in_(buildings), Person.phone.is_not(None))
            .order_by(Person.party_member.desc(), Person.id).limit(n)))

    return await d.query(q)


async def _attendee_ids(d: Driver, meeting_id: uuid.UUID) -> list[uuid.UUID]:
    return await d.query(lambda s: _ids(s, meeting_id))


async def _ids(s: AsyncSession, meeting_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await s.scalars(select(MeetingAttendee.id).where(MeetingAttendee.meeting_id == meeting_id)
                                .order_by(MeetingAttendee.position)))


def _attendees(persons: list[uuid.UUID], note: str, *orgs: tuple[str, str]) -> list[svc.AttendeeInput]:
    return ([svc.AttendeeInput(person_id=p, role_note=note) for p in persons]
            + [svc.AttendeeInput(organisation=o, role_note=r) for o, r in orgs])


async def _yanquan(d: Driver) -> None:
    compound = await _area(d, DONGWAN, AreaKind.COMPOUND)
    chair = "yanquan.chair"
    voters = await _owner_voters(d, compound)
    topic = await d.run(chair, d.at(45, 10), partial(
        svc.propose_topic, area_id=compound.id, title="市政府东湾院加装电梯",
        description="东湾院1至3栋均为六层无电梯住宅，老年住户多，上下楼困难。业委会提议利用楼道外侧公共部位"
                    "为每个单元加装电梯，费用按楼层分摊，申请既有住宅加装电梯财政补贴。",
        case_ids=[]))
    await d.run(chair, d.at(44, 9), partial(svc.transition_topic, topic_id=topic.id, action="accept"))
    meeting = await d.run(chair, d.at(43, 9), partial(
        svc.convene_meeting, area_id=compound.id, title="东湾院加装电梯议事会", starts_at=d.at(41, 19, 30),
        place="东湾院业委会活动室", topic_ids=[topic.id],
        attendees=_attendees(await _persons(d, compound, 6), "业主代表",
                             ("五岭阁社区居委会", "社区"), ("市政府机关事务服务中心", "原产权单位"))))
    present = (await _attendee_ids(d, meeting.id))[:-1]
    await d.run(chair, d.at(41, 21), partial(
        svc.close_meeting, meeting_id=meeting.id, attended=present, decisions=[],
        minutes="业委会介绍加装电梯方案与费用分摊办法；低层住户担心采光与噪音，约定电梯井避开主卧窗户。"
                "会议同意将方案提交全体业主表决（改变共有部分用途，须经参与表决专有部分面积四分之三以上、"
                "人数四分之三以上的业主同意）。"))
    vote = await d.run(chair, d.at(40, 9), partial(
        svc.open_vote, topic_id=topic.id, matter=VoteMatter.CHANGE_COMMON_PARTS,
        question="是否同意利用楼道外侧共有部位为1至3栋各单元加装电梯？", closes_at=d.at(26, 18)))
    await d.run(chair, d.at(40, 10), partial(
        svc.publish_notice, area_id=compound.id, title="东湾院加装电梯业主表决公告",
        body="加装电梯方案已在业委会活动室公示。请各户业主于表决截止前在小程序中投票，每户一票，截止前可修改。",
        expires_at=d.at(26, 18)))
    # One owner household does not vote; of those who do, the two smallest flats say no and abstain.
    by_area = sorted(voters, key=lambda v: (v[2], v[1]))
    choices = {by_area[1][1]: Choice.NO, by_area[2][1]: Choice.ABSTAIN}
    # The largest flat's owner is away: their written proxy (委托书) is recorded by the chair.
    proxy = by_area[-1][1]
    await d.run(chair, d.at(38, 10), partial(
        svc.record_ballot, vote_id=vote.id, household_id=proxy, choice=Choice.YES, method=BallotMethod.PROXY,
        document_ref="东湾院业主委托书第001号", proxy_name="业主之子（受托人）"))
    for i, (username, household, _) in enumerate(voters):
        if household in (by_area[0][1], proxy):
            continue
        choice = choices.get(household, Choice.YES)
        if choice is Choice.ABSTAIN:  # a changed mind: this household first said no
            await d.run(username, d.at(39, 8), partial(svc.cast_ballot, vote_id=vote.id, choice=Choice.NO))
        await d.run(username, d.at(39 - i % 12, 20, i % 60), partial(svc.cast_ballot, vote_id=vote.id, choice=choice))
    await d.run(chair, d.at(26, 18, 5), partial(svc.close_vote, vote_id=vote.id))
    await d.run(chair, d.at(25, 9), partial(
        svc.transition_topic, topic_id=topic.id, action="decide",
        text="业主表决通过：1至3栋各单元加装电梯，费用按楼层系数分摊，申请财政补贴。"))
    await d.run(chair, d.at(20, 9), partial(svc.transition_topic, topic_id=topic.id, action="start"))
    steps = (("报送规划与特种设备审批", "业委会", 10, 100, "已取得规划许可"),
             ("电梯施工单位比选", "业委会、五岭阁社区", 0, 60, "三家单位报价，业主代表参与比选"),
             ("1栋1单元电梯井基础施工", "施工单位", -30, 0, None))
    for description, owner, due_in, progress, note in steps:
        step = await d.run(chair, d.at(20, 10), partial(
            svc.add_step, topic_id=topic.id, description=description, owner_name=owner,
            due_date=d.today - timedelta(days=due_in)))
        if progress:
            await d.run(chair, d.at(2, 17), partial(svc.update_step, step_id=step.id, progress=progress, note=note))


async def _langya(d: Driver) -> None:
    compound = await _area(d, SANLITING, AreaKind.COMPOUND)
    b4 = await _area(d, "4栋", AreaKind.BUILDING, compound)
    chair, grid = "langya.chair", "langya.grid"
    noise_case = await d.query(lambda s: s.scalar(select(Case.id).where(Case.title == "夜间广场音响扰民")))
    clutter = await d.run(chair, d.at(30, 9), partial(
        svc.propose_topic, area_id=b4.id, title="4栋楼道杂物清理",
        description="4栋各单元楼道堆放纸箱、旧家具，影响通行和消防安全。", case_ids=[]))
    noise = await d.run(chair, d.at(7, 9), partial(
        svc.propose_topic, area_id=compound.id, title="广场音响夜间扰民",
        description="问题墙反映小区广场夜间音响扰民，转小组议事会协商使用时间。",
        case_ids=[noise_case] if noise_case else []))
    shed = await d.run(grid, d.at(6, 15), partial(
        svc.propose_topic, area_id=compound.id, title="加建非机动车充电棚",
        description="楼道飞线充电隐患，拟在小区东侧空地加建非机动车集中充电棚。", case_ids=[]))
    for t in (clutter, noise, shed):
        await d.run(chair, d.at(30 if t is clutter else 5, 11), partial(
            svc.transition_topic, topic_id=t.id, action="accept"))
    people = await _persons(d, b4, 8)
    property_firm = ("金鹏物业 三里亭人家项目部", "物业")
    # 第一片区第三小组: decides the clean-up, carried out and reviewed.
    m1 = await d.run(grid, d.at(29, 9), partial(
        svc.convene_meeting, area_id=b4.id, title="第一自治片区第三小组议事会", starts_at=d.at(28, 19),
        place="4栋1单元架空层议事角", topic_ids=[clutter.id],
        attendees=_attendees(people[:4], "小组居民", ("三里亭人家网格党支部", "党员中心户"), property_firm)))
    await d.run(grid, d.at(28, 21), partial(
        svc.close_meeting, meeting_id=m1.id, attended=await _attendee_ids(d, m1.id),
        decisions=[svc.TopicDecision(clutter.id, "周六集中清理，党员中心户包单元，物业负责清运；此后每月检查一次。")],
        minutes="小组长通报楼道杂物情况；居民同意自行清理个人物品，无主杂物由物业清运。"))
    await d.run(chair, d.at(27, 9), partial(svc.transition_topic, topic_id=clutter.id, action="start"))
    step = await d.run(chair, d.at(27, 9, 30), partial(
        svc.add_step, topic_id=clutter.id, description="周六集中清理楼道杂物", owner_name="第三小组党员中心户",
        due_date=d.today - timedelta(days=25)))
    await d.run(chair, d.at(25, 18), partial(svc.update_step, step_id=step.id, progress=100,
                                             note="清理纸箱旧家具两车"))
    await d.run(chair, d.at(24, 9), partial(svc.transition_topic, topic_id=clutter.id, action="complete"))
    await d.run(chair, d.at(3, 9), partial(svc.transition_topic, topic_id=clutter.id, action="review",
                                           text="月度检查楼道保持畅通；做法推广到其余11个小组。"))
    # 第二片区第八小组: decides the square's quiet hours (the problem-wall case raised to a topic).
    m2 = await d.run(chair, d.at(5, 12), partial(
        svc.convene_meeting, area_id=compound.id, title="第二自治片区第八小组议事会", starts_at=d.at(4, 19),
        place="小区广场议事亭", topic_ids=[noise.id],
        attendees=_attendees(people[4:7], "小组居民", ("小区广场舞队", "活动队伍"), property_firm)))
    present = (await _attendee_ids(d, m2.id))[:-1]
    await d.run(chair, d.at(4, 21), partial(
        svc.close_meeting, meeting_id=m2.id, attended=present,
        decisions=[svc.TopicDecision(noise.id, "广场音响晚九点半后停用，音量不超过60分贝，由小组长轮值提醒。")],
        minutes="舞队与老年住户面对面协商，约定活动时间与音量；物业缺席，会后书面告知。"))
    await d.run(chair, d.at(3, 10), partial(svc.transition_topic, topic_id=noise.id, action="start"))
    # Both zones, all twelve groups: the charging shed, next week.
    await d.run(chair, d.at(1, 10), partial(
        svc.convene_meeting, area_id=compound.id, title="两自治片区十二小组联席议事会", starts_at=d.at(-4, 19),
        place="三里亭社区党群服务中心", topic_ids=[shed.id],
        attendees=_attendees(people, "党员中心户", ("三里亭社区党委", "社区"), property_firm)))


async def _deliberate(d: Driver, who: str, area: Area, *, title: str, description: str, days_ago: int,
                      meeting: str, place: str, decision: str, minutes: str, people: list[uuid.UUID],
                      orgs: tuple[tuple[str, str], ...]) -> None:
    """One topic proposed, accepted, put on a meeting's agenda, decided there and being carried out."""
    topic = await d.run(who, d.at(days_ago + 6, 9), partial(
        svc.propose_topic, area_id=area.id, title=title, description=description, case_ids=[]))
    await d.run(who, d.at(days_ago + 5, 9), partial(svc.transition_topic, topic_id=topic.id, action="accept"))
    m = await d.run(who, d.at(days_ago + 4, 10), partial(
        svc.convene_meeting, area_id=area.id, title=meeting, starts_at=d.at(days_ago, 9), place=place,
        topic_ids=[topic.id], attendees=_attendees(people, "居民代表", *orgs)))
    await d.run(who, d.at(days_ago, 11, 30), partial(
        svc.close_meeting, meeting_id=m.id, attended=await _attendee_ids(d, m.id),
        decisions=[svc.TopicDecision(topic.id, decision)], minutes=minutes))
    await d.run(who, d.at(max(days_ago - 2, 0), 9), partial(svc.transition_topic, topic_id=topic.id, action="start"))


async def _weierlu(d: Driver) -> None:
    """广言亭 and 议事角 (DESIGN.md §7): where 纬二路's residents raise matters and deliberate them."""
    yard = await _area(d, "纬二路32号院", AreaKind.COMPOUND)
    market = await _area(d, "磨玉市场小区", AreaKind.COMPOUND)
    who = "weierlu.secretary"
    await _deliberate(
        d, who, yard, title="32号院化粪池清掏与排污管道改造", days_ago=24,
        description="无物业老旧小区化粪池多年未清掏，雨季污水外溢。居民在广言亭议事日提出。",
        meeting="广言亭议事会", place="纬二路社区广言亭",
        decision="社区协调环卫所本月清掏化粪池；排污管道改造申报老旧小区改造项目，居民代表监督施工。",
        minutes="居民代表反映化粪池外溢情况；社区说明清掏与改造的资金来源；与会居民同意先清掏、再改造。",
        people=await _persons(d, yard, 4), orgs=(("纬二路社区居委会", "社区"), ("纬二路街道城管办", "街道")))
    await _deliberate(
        d, who, market, title="磨玉市场商铺油烟与噪音扰民", days_ago=10,
        description="楼下商铺排烟管道低矮，油烟与夜间噪音影响楼上住户。居民在议事角提出。",
        meeting="议事角协商会", place="磨玉市场小区议事角",
        decision="商铺统一加高排烟管道并加装油烟净化器；晚十点后停止室外经营，由第三方管理公司巡查。",
        minutes="商户与楼上住户在议事角面对面协商；第三方管理公司承诺每晚巡查一次。",
        people=await _persons(d, market, 4),
        orgs=(("蚌埠市惠邻物业服务有限公司", "管理公司"), ("磨玉市场商户代表", "商户")))


def _month_back(day: date, months: int) -> date:
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


BAITAO_MONTHLY = (
    # (months ago, compound, topic, description, decision)
    (3, "建峰一村", "建峰一村下水管道老化改造", "建峰一村1至3栋下水管道老化，多次堵塞。",
     "社区申报老旧管网改造，施工期间物业与网格员每日巡查。"),
    (2, "建峰二村", "建峰二村增设非机动车停放点", "建峰二村无物业，电动车乱停堵塞通道。",
     "在2栋东侧空地划设停放点，居民志愿者轮值劝导。"),
    (1, "建峰花园", "建峰花园电梯维保不及时", "建峰花园A栋电梯多次困人，维保不及时。",
     "物业一周内更换维保单位，每月公示维保记录，业委会监督。"),
)


async def _baitao(d: Driver) -> None:
    """建峰社区's monthly residents' meetings (每月居民议事会, DESIGN.md §7): collect, handle, review."""
    community = await _area(d, "建峰社区", AreaKind.COMMUNITY)
    who = "baitao.secretary"
    for months, compound_name, title, description, decision in BAITAO_MONTHLY:
        month = _month_back(d.today, months)
        # held on the first Thursday from the 20th of that month (always before today)
        day = month.replace(day=20) + timedelta(days=(3 - month.replace(day=20).weekday()) % 7)
        days_ago = max((d.today - day).days, 1)
        compound = await _area(d, compound_name, AreaKind.COMPOUND, community)
        await _deliberate(
            d, who, community, title=title, description=description, days_ago=days_ago,
            meeting=f"建峰社区{month.month}月居民议事会", place="建峰社区党群服务中心", decision=decision,
            minutes=f"{month.month}月居民议事会：网格员汇总本月收集的居民诉求，逐项通报办理进展并回访；"
                    f"与会居民代表就“{title}”协商，形成决定。",
            people=await _persons(d, compound, 5), orgs=(("建峰社区居委会", "社区"), ("社区网格员", "网格")))


NOTICES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # slug → (publisher's user suffix — the notice goes to the publisher's scope, title, body)
    "weierlu": (
        ("admin", "纬二路街道老旧小区环境整治通知", "本月开展无物业小区环境整治，请居民配合清理楼道杂物。"),
        ("secretary", "广言亭议事日安排", "每月第一个周六上午在广言亭开展议事，欢迎居民提出议题。"),
    ),
    "baitao": (
        ("admin", "白涛街道月度居民议事会通知", "各社区于本月最后一周召开居民议事会，收集、办理、复盘居民诉求。"),
        ("secretary", "建峰社区微心愿征集", "面向困难群众征集微心愿，由党员和共建单位认领。"),
    ),
    "langya": (
        ("admin", "琅琊街道汛期安全提示", "汛期请勿在低洼处停放车辆，发现下水道堵塞请及时通过问题墙反映。"),
        ("chair", "三里亭人家小组议事会通知", "联席议事会将讨论加建非机动车充电棚，请各小组长通知居民。"),
    ),
    "yanquan": (
        ("admin", "燕泉街道邻长走访工作安排", "邻长每周走访重点户、每季度走访全部住户，走访情况请及时录入。"),
        ("secretary", "振兴社区飞线充电整治回头看", "请居民使用集中充电桩，严禁飞线充电。"),
    ),
}


async def _notices(d: Driver) -> None:
    for i, (suffix, title, body) in enumerate(NOTICES.get(d.tenant.slug, ())):
        username = f"{d.tenant.slug}.{suffix}"
        area = await d.scope_of(username)
        await d.run(username, d.at(10 - 3 * i, 9), partial(
            svc.publish_notice, area_id=area, title=title, body=body, expires_at=d.at(-30 + 10 * i, 18)))


SCRIPTS = {"langya": _langya, "yanquan": _yanquan, "weierlu": _weierlu, "baitao": _baitao}


async def seed_demo_deliberation(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed into every demo tenant that has no notices yet; returns the slugs seeded."""
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
        if await d.query(lambda s: s.scalar(select(func.count()).select_from(Notice))):
            continue
        script = SCRIPTS.get(slug)
        if script is not None:
            await script(d)
        await _notices(d)
        seeded.append(slug)
    return seeded
