"""Demo co-building (issue #7), driven through the real services, back-dated:
- 白涛街道 (baitao) 建峰社区: agreements with 11 units, two of them the schools of the school grids
  (建峰小学网格, 白涛中学网格); last year's agreement with 建峰小学 expired and was renewed;
- 燕泉街道 (yanquan) 阳光苑社区 盈丰国际: the 8 partners of the youth partner project (市三医院,
  航空航模协会, 蓝天救援队, 林邑社工服务中心 and four more), and API credentials for 市三医院's system;
- 建峰社区: two in-service party members (双报到) registered from partner units, with service records.
Credit codes are fictitious but carry a valid check character.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo.driver import Driver
from gongzhi.demo.partner_cases import seed_partner_case
from models import Agreement, AgreementStatus, Area, AreaKind, Household, PartnerKind, Person, ServiceKind, Tenant
from resolvers import cobuilding as co
from resolvers.cases import SHANGHAI
from tenants.session import bind_tenant

K = PartnerKind
ALL_GRANTS = ["activity.read", "wish.read", "wish.claim", "statistics.read"]

# (name, kind, contact, 六联创 areas, grants, note)
JIANFENG = (
    ("建峰小学", K.SCHOOL, "陈校长", ["organization", "activities", "civility"], ["activity.read", "statistics.read"],
     "学校网格（建峰小学网格）：校园周边安全、家校社共育。"),
    ("白涛中学", K.SCHOOL, "刘校长", ["organization", "activities", "civility"], ["activity.read", "statistics.read"],
     "学校网格（白涛中学网格）：青少年志愿服务、周边环境整治。"),
    ("重庆建峰工业集团有限公司", K.ENTERPRISE, "王主任", ["organization", "members", "resources"], ALL_GRANTS,
     "在职党员双报到，闲置场地向社区开放。"),
    ("白涛街道社区卫生服务中心", K.HOSPITAL, "张医生", ["services", "activities"], ALL_GRANTS,
     "重点人群上门随访、义诊进社区。"),
    ("中国工商银行涪陵白涛支行", K.ENTERPRISE, "李行长", ["resources", "services"], ["activity.read", "wish.read",
                                                                                 "wish.claim"],
     "金融知识进社区，认领困难群众微心愿。"),
    ("国网涪陵供电公司白涛供电所", K.ENTERPRISE, "赵所长", ["services", "resources"], ["activity.read"],
     "老旧小区线路隐患排查、飞线充电整治。"),
    ("中国邮政白涛邮政支局", K.ENTERPRISE, "孙局长", ["services"], ["activity.read", "wish.read", "wish.claim"],
     "独居老人代缴代收、包裹代送。"),
    ("涪陵区老年大学白涛教学点", K.SCHOOL, "周老师", ["activities", "civility"], ["activity.read"],
     "老年课堂、文艺活动联办。"),
    ("白涛街道志愿者协会", K.ASSOCIATION, "吴会长", ["activities", "services"], ALL_GRANTS,
     "志愿服务联做，微心愿认领。"),
    ("建峰社区社会工作服务站", K.SOCIAL_ORG, "郑社工", ["services", "members"], ALL_GRANTS,
     "困境儿童、空巢老人个案服务。"),
    ("涪陵区白涛派出所", K.OTHER, "冯警官", ["civility", "organization"], ["activity.read", "statistics.read"],
     "平安社区共建：矛盾纠纷联调、防诈宣传。"),
)

YINGFENG = (
    ("市三医院", K.HOSPITAL, "欧阳护士长", ["services", "activities"], ALL_GRANTS, "青少年急救知识课堂、义诊。"),
    ("航空航模协会", K.ASSOCIATION, "黄会长", ["activities"], ["activity.read"], "航模科普进小区。"),
    ("蓝天救援队", K.SOCIAL_ORG, "邓队长", ["activities", "services"], ["activity.read", "statistics.read"],
     "防溺水安全演练、应急演练。"),
    ("林邑社工服务中心", K.SOCIAL_ORG, "曹社工", ["services", "members"], ALL_GRANTS, "四点半课堂、青年志愿者结对。"),
    ("湘南学院", K.SCHOOL, "谭老师", ["activities", "members"], ["activity.read", "wish.read", "wish.claim"],
     "大学生青年合伙人、暑期实践。"),
    ("郴州市图书馆", K.OTHER, "何馆长", ["resources", "civility"], ["activity.read"], "流动书屋、亲子阅读。"),
    ("郴州市青少年宫", K.OTHER, "罗主任", ["activities"], ["activity.read"], "青少年兴趣课堂进社区。"),
    ("中国移动郴州分公司", K.ENTERPRISE, "龙经理", ["resources", "services"], ["activity.read", "statistics.read"],
     "智慧社区网络、老年人智能手机课堂。"),
)


def _credit_code(slug: str, name: str) -> str:
    """A fictitious unified social credit code with a valid check character (GB 32100-2015)."""
    n = zlib.crc32(f"{slug}/{name}".encode())
    body = "".join("0123456789ABCDEFGHJKLMNPQRTUWXY"[(n >> (5 * i)) % 31] for i in range(6))
    first17 = f"91{'500102' if slug == 'baitao' else '431002'}MA{body}{n % 10}"
    return first17 + co.credit_code_check_char(first17)


async def _area(d: Driver, name: str, kind: AreaKind) -> Area:
    async def q(s: AsyncSession) -> Area:
        found = await s.scalar(select(Area).where(Area.name == name, Area.kind == kind))
        assert found is not None, name
        return found

    return await d.query(q)


async def _units_and_agreements(d: Driver, manager: str, community: Area, party: str,
                                units: tuple[tuple[str, PartnerKind, str, list[str], list[str], str], ...],
                                valid_from: date, valid_until: date) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for i, (name, kind, contact, areas, grants, note) in enumerate(units):
        when = d.at((d.today - valid_from).days + 10 - i % 5, 9)
        unit = await d.run(manager, when, partial(co.create_partner_unit, data=co.PartnerUnitInput(
            name=name, kind=kind, credit_code=_credit_code(d.tenant.slug, name), contact_name=contact,
            contact_phone=f"1380{zlib.crc32(name.encode()) % 10_000_000:07d}")))
        ids[name] = unit.id
        data = co.AgreementInput(
            partner_unit_id=unit.id, title=f"{community.name}—{name}共驻共建协议", community_party=party,
            community_ids=[community.id], areas=areas, grants=grants, valid_from=valid_from, valid_until=valid_until,
            signatories=[co.Signatory(name=contact, side="partner", title="单位代表"),
                         co.Signatory(name=party, side="community", title="党组织书记")], note=note)
        agreement = await d.run(manager, when, partial(co.create_agreement, data=data))
        await d.run(manager, when, partial(co.set_agreement_status, agreement_id=agreement.id,
                                           status=AgreementStatus.ACTIVE, expected_version=None))
    return ids


async def _baitao(d: Driver) -> list[str]:
    community = await _area(d, "建峰社区", AreaKind.COMMUNITY)
    year = d.today.year
    units = await _units_and_agreements(d, "baitao.secretary", community, "中共建峰社区委员会", JIANFENG,
                                        date(year, 1, 1), date(year, 12, 31))
    # Last year's agreement with 建峰小学: active through the year, then expired (renewed above).
    last = d.at((d.today - date(year - 1, 1, 1)).days - 5, 9)
    old = await d.run("baitao.secretary", last, partial(co.create_agreement, data=co.AgreementInput(
        partner_unit_id=units["建峰小学"], title=f"建峰社区—建峰小学共驻共建协议（{year - 1}年度）",
        community_party="中共建峰社区委员会", community_ids=[community.id], areas=["organization", "activities"],
        grants=["activity.read"], valid_from=date(year - 1, 1, 1), valid_until=date(year - 1, 12, 31),
        signatories=[co.Signatory(name="陈校长", side="partner"), co.Signatory(name="中共建峰社区委员会",
                                                                            side="community")])))
    await d.run("baitao.secretary", last, partial(co.set_agreement_status, agreement_id=old.id,
                                                  status=AgreementStatus.ACTIVE, expected_version=None))
    await d.run("baitao.secretary", d.at((d.today - date(year, 1, 1)).days, 9),
                partial(co.set_agreement_status, agreement_id=old.id, status=AgreementStatus.EXPIRED,
                        expected_version=None))
    # 双报到: two party members of the register, from two partner units, with service since.
    members = await d.query(lambda s: _party_members(s, community, 2))
    for person_id, unit in zip(members, ("重庆建峰工业集团有限公司", "白涛街道社区卫生服务中心"), strict=False):
        m = await d.run("baitao.secretary", d.at(40, 10), partial(
            co.register_inservice_member, data=co.RegisterInServiceInput(
                person_id=person_id, community_id=community.id, partner_unit_id=units[unit], work_unit_name=None,
                registered_on=d.today - timedelta(days=40))))
        for days_ago, hours, text in ((30, "2", "协助社区议事会会务"), (16, "3", "独居老人上门探访"),
                                      (3, "1.5", "楼道环境整治")):
            await d.run("baitao.grid", d.at(days_ago - 1, 18), partial(
                co.record_inservice_service, data=co.ServiceRecordInput(
                    member_id=m.id, kind=ServiceKind.HOURS, served_on=d.today - timedelta(days=days_ago),
                    hours=Decimal(hours), description=text)))
    return [f"{len(JIANFENG)} agreements in 建峰社区 (+1 expired)", f"{len(members)} 双报到 members"]


async def _party_members(s: AsyncSession, community: Area, n: int) -> list[uuid.UUID]:
    buildings = select(Area.id).where(Area.path.startswith(community.path), Area.kind == AreaKind.BUILDING)
    return list(await s.scalars(
        select(Person.id).join(Household, Household.id == Person.household_id)
        .where(Household.building_id.in_(buildings), Person.party_member.is_(True)).order_by(Person.id).limit(n)))


async def _yanquan(d: Driver) -> list[str]:
    community = await _area(d, "阳光苑社区", AreaKind.COMMUNITY)
    units = await _units_and_agreements(d, "yanquan.admin", community, "中共阳光苑社区委员会（盈丰国际青年合伙人项目）",
                                        YINGFENG, d.today - timedelta(days=200), d.today + timedelta(days=165))
    client, secret = await d.run("yanquan.admin", d.at(2, 9), partial(
        co.create_partner_client, partner_unit_id=units["市三医院"], label="市三医院志愿服务系统"))
    return [f"{len(YINGFENG)} partners of 盈丰国际",
            f"partner client {client.client_id} (secret {secret}; POST /oauth/token; picking it in the "
            "explorer rotates it)"]


SCRIPTS = {"baitao": _baitao, "yanquan": _yanquan}


async def seed_demo_cobuilding(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed into baitao and yanquan when they have no agreements yet, then in each demo tenant with a partner
    unit under such an agreement one case handled by that unit (once); returns what was seeded."""
    from datetime import datetime

    day = today or datetime.now(SHANGHAI).date()
    async with sm() as s:
        bind_tenant(s, None)
        tenants = {t.slug: t for t in await s.scalars(select(Tenant))}
    out: list[str] = []
    for slug, script in SCRIPTS.items():
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        d = Driver(sm, tenant, day)
        if not await d.query(lambda s: s.scalar(select(func.count()).select_from(Agreement))):
            out.extend(f"{slug}: {line}" for line in await script(d))
        out.extend(f"{slug}: {line}" for line in await seed_partner_case(d))
    return out
