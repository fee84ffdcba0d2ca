"""Demo data: the four street offices of DESIGN.md §7, with a small, deterministic register and one
user for every role in each tenant.

The tree, firms and party organisations follow the facts the street offices published; the people
are invented (names, valid but fictitious ID numbers, phones) from a ``random.Random(slug)``, so a
fresh database always gets the same register.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    ALLOWED_PARENTS,
    Area,
    AreaKind,
    Base,
    Gender,
    GridBuilding,
    Household,
    Member,
    PartyOrg,
    PartyOrgKind,
    Person,
    PersonCareTag,
    PropertyFirm,
    PropertyManagement,
    RoleAssignment,
    ServiceContract,
    Tenant,
    Tenure,
    User,
    path_segment,
    uuid7,
)
from policies.enforcer import rules_for_domain
from policies.roles import Role, rank
from resolvers.validation import id_card_check_char
from tenants.provisioning import DEFAULT_CARE_TAGS, provision_tenant
from tenants.session import bind_tenant

VALID_FROM = datetime(2024, 1, 1, tzinfo=UTC)
CONTRACT_FROM = date(2024, 1, 1)
# Birth years are drawn relative to this, not today, so the register never changes with the clock.
REFERENCE_YEAR = 2024
CARE_TAGS = frozenset(code for code, _ in DEFAULT_CARE_TAGS)


# -- the specification of the demo tenants ------------------------------------------------------


@dataclass(frozen=True)
class BuildingSpec:
    name: str
    floors: int = 6
    households: int | None = None  # None: 4–8
    first_floor: int = 1  # first residential floor (shops below it)
    party_rate: float = 0.1
    description: str | None = None


@dataclass(frozen=True)
class GridSpec:
    name: str
    # Names of compounds, of single buildings, or "compound/building"; empty: every building under
    # the grid's parent area.
    covers: tuple[str, ...] = ()
    party_branch: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CompoundSpec:
    name: str
    management: PropertyManagement
    buildings: tuple[BuildingSpec, ...]
    firm: str | None = None
    party_branch: str | None = None
    grids: tuple[GridSpec, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class ZoneSpec:
    name: str
    compounds: tuple[CompoundSpec, ...]
    grids: tuple[GridSpec, ...] = ()


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    compounds: tuple[CompoundSpec, ...] = ()
    zones: tuple[ZoneSpec, ...] = ()
    buildings: tuple[BuildingSpec, ...] = ()  # single buildings outside any compound (单体楼)
    grids: tuple[GridSpec, ...] = ()
    party_committee: str | None = None
    party_branches: tuple[str, ...] = ()  # further branches attached to the community itself
    description: str | None = None


@dataclass(frozen=True)
class UserSpec:
    suffix: str  # username is "<slug>.<suffix>"
    role: Role
    scope: str  # name of the scope area
    # Area (compound or grid) whose register holds the user's own person; None: no person link.
    lives_in: str | None = None
    title: str | None = None  # display name when no person is linked


@dataclass(frozen=True)
class StreetSpec:
    slug: str
    name: str
    region: str  # 6-digit administrative division code, first part of the ID numbers
    description: str
    communities: tuple[CommunitySpec, ...]
    users: tuple[UserSpec, ...]


def _b(*names: str, floors: int = 6) -> tuple[BuildingSpec, ...]:
    return tuple(BuildingSpec(n, floors=floors) for n in names)


NONE = PropertyManagement.NONE

WEIERLU = StreetSpec(
    slug="weierlu",
    name="纬二路街道",
    region="340302",
    description="蚌埠市纬二路街道：老旧小区无物业管理（12个小区、7栋单体楼）；社区—片区—小区—网格四级网格；"
    "业委会与物业月度评比；志愿积分兑换；广言亭、议事角议事协商。",
    communities=(
        CommunitySpec(
            name="纬二路社区",
            party_committee="中共纬二路社区委员会",
            zones=(
                ZoneSpec(
                    name="磨玉片区",
                    compounds=(
                        CompoundSpec(
                            name="磨玉市场小区",
                            management=PropertyManagement.THIRD_PARTY,
                            firm="蚌埠市惠邻物业服务有限公司",
                            description="楼下商铺、楼上住户，由第三方公司管理。",
                            buildings=(
                                BuildingSpec("1栋", floors=7, first_floor=3),
                                BuildingSpec("2栋", floors=7, first_floor=3),
                            ),
                            grids=(GridSpec("磨玉市场小区网格", description="社区—片区—小区—网格四级网格"),),
                        ),
                        CompoundSpec("纬二路32号院", NONE, _b("1栋", "2栋"), description="无物业老旧小区"),
                    ),
                ),
                ZoneSpec(
                    name="老城片区",
                    compounds=(
                        CompoundSpec("粮食局宿舍", NONE, _b("1栋", "2栋"), description="无物业老旧小区"),
                        CompoundSpec(
                            "纺织厂家属院", NONE, _b("1栋", "2栋", "3栋"), description="无物业老旧小区"
                        ),
                    ),
                    grids=(GridSpec("老城片区网格"),),
                ),
            ),
        ),
        CommunitySpec(
            name="胜利社区",
            compounds=(
                CompoundSpec(
                    "二马路小区",
                    PropertyManagement.FIRM,
                    _b("1栋", "2栋", "3栋"),
                    firm="蚌埠市华信物业管理有限公司",
                ),
                CompoundSpec("供电所宿舍", NONE, _b("1栋", "2栋"), description="无物业老旧小区"),
            ),
            buildings=(BuildingSpec("胜利路56号楼", floors=5, description="单体楼，无物业"),),
            grids=(
                GridSpec("胜利社区第一网格", covers=("二马路小区", "胜利路56号楼")),
                GridSpec("胜利社区第二网格", covers=("供电所宿舍",)),
            ),
        ),
    ),
    users=(
        UserSpec("admin", Role.STREET_ADMIN, "纬二路街道", title="纬二路街道管理员"),
        UserSpec("secretary", Role.PARTY_SECRETARY, "纬二路社区", title="纬二路社区党委书记"),
        UserSpec("grid", Role.GRID_LEADER, "磨玉市场小区网格", lives_in="磨玉市场小区网格"),
        UserSpec("chair", Role.OWNER_COMMITTEE_CHAIR, "二马路小区", lives_in="二马路小区"),
        UserSpec("firm", Role.PROPERTY_FIRM, "磨玉市场小区", title="惠邻物业 磨玉市场小区项目部"),
        UserSpec("resident", Role.RESIDENT, "磨玉市场小区", lives_in="磨玉市场小区"),
        UserSpec("lead", Role.NEIGHBOR_LEAD, "纬二路32号院", lives_in="纬二路32号院"),
    ),
)

BAITAO = StreetSpec(
    slug="baitao",
    name="白涛街道",
    region="500102",
    description="重庆市涪陵区白涛街道：建峰社区收集—办理—复盘闭环，每月居民议事会。",
    communities=(
        CommunitySpec(
            name="建峰社区",
            description="10个党支部、750名党员、58名网格员；与11家单位签订共驻共建协议（含两个学校网格）；"
            "每月居民议事会解决问题47件，认领微心愿33个；关爱清单。",
            party_committee="中共建峰社区委员会",
            party_branches=("建峰社区离退休第一党支部", "建峰社区离退休第二党支部"),
            compounds=(
                CompoundSpec(
                    "建峰一村",
                    PropertyManagement.SELF_MANAGED,
                    _b("1栋", "2栋", "3栋"),
                    party_branch="建峰一村党支部",
                ),
                CompoundSpec("建峰二村", NONE, _b("1栋", "2栋"), party_branch="建峰二村党支部"),
                CompoundSpec(
                    "建峰花园",
                    PropertyManagement.FIRM,
                    _b("A栋", "B栋", "C栋", floors=11),
                    firm="重庆建峰物业管理有限公司",
                    party_branch="建峰花园党支部",
                ),
                CompoundSpec("建峰学校家属区", PropertyManagement.SELF_MANAGED, _b("1栋", "2栋")),
            ),
            grids=(
                GridSpec("建峰社区第一网格", covers=("建峰一村",), party_branch="建峰社区第一网格党支部"),
                GridSpec("建峰社区第二网格", covers=("建峰二村", "建峰花园")),
                GridSpec(
                    "建峰小学网格", covers=("建峰学校家属区/1栋",), description="学校网格，共建单位建峰小学"
                ),
                GridSpec(
                    "白涛中学网格", covers=("建峰学校家属区/2栋",), description="学校网格，共建单位白涛中学"
                ),
            ),
        ),
        CommunitySpec(
            name="白涛社区",
            compounds=(CompoundSpec("滨江小区", NONE, _b("1栋", "2栋")),),
            grids=(GridSpec("白涛社区网格"),),
        ),
    ),
    users=(
        UserSpec("admin", Role.STREET_ADMIN, "白涛街道", title="白涛街道管理员"),
        UserSpec("secretary", Role.PARTY_SECRETARY, "建峰社区", title="建峰社区党委书记"),
        UserSpec("grid", Role.GRID_LEADER, "建峰社区第一网格", lives_in="建峰社区第一网格"),
        UserSpec("chair", Role.OWNER_COMMITTEE_CHAIR, "建峰花园", lives_in="建峰花园"),
        UserSpec("firm", Role.PROPERTY_FIRM, "建峰花园", title="建峰物业 建峰花园服务中心"),
        UserSpec("resident", Role.RESIDENT, "建峰一村", lives_in="建峰一村"),
        UserSpec("lead", Role.NEIGHBOR_LEAD, "建峰二村", lives_in="建峰二村"),
    ),
)

LANGYA = StreetSpec(
    slug="langya",
    name="琅琊街道",
    region="341102",
    description="滁州市琅琊区琅琊街道：119个无物业小区，78个红色网格，45个网格党支部。",
    communities=(
        CommunitySpec(
            name="凤凰社区",
            description="养老服务站，托育服务。",
            compounds=(
                CompoundSpec(
                    "凤凰城小区",
                    PropertyManagement.FIRM,
                    _b("1栋", "2栋", "3栋", floors=11),
                    firm="滁州市天源物业服务有限公司",
                ),
                CompoundSpec("凤凰新村", NONE, _b("1栋", "2栋"), description="无物业小区"),
            ),
            grids=(GridSpec("凤凰社区第一网格"),),
        ),
        CommunitySpec(
            name="三里亭社区",
            party_committee="中共三里亭社区委员会",
            compounds=(
                CompoundSpec(
                    "三里亭人家",
                    PropertyManagement.FIRM,
                    (
                        BuildingSpec("3栋"),
                        BuildingSpec(
                            "4栋",
                            households=10,
                            party_rate=0.4,
                            description="2个自治片区、12个小组、12户党员中心户；问题墙与回音壁。",
                        ),
                        BuildingSpec("5栋"),
                    ),
                    firm="滁州市金鹏物业服务有限公司",
                    grids=(
                        GridSpec(
                            "三里亭人家网格", party_branch="三里亭人家网格党支部", description="红色网格"
                        ),
                    ),
                ),
                CompoundSpec("铁路新村", NONE, _b("1栋", "2栋"), description="无物业小区"),
            ),
            grids=(GridSpec("三里亭社区第二网格", covers=("铁路新村",)),),
        ),
        CommunitySpec(
            name="花园街社区",
            party_committee="中共花园街社区委员会",
            compounds=(
                CompoundSpec(
                    "扬天小区",
                    NONE,
                    (
                        BuildingSpec("10栋"),
                        BuildingSpec(
                            "11栋", description="污水管道堵塞：网格员上报，纪检委员跟踪，已疏通修复。"
                        ),
                        BuildingSpec("12栋"),
                    ),
                    description="无物业小区",
                    grids=(
                        GridSpec("扬天小区网格", party_branch="扬天小区网格党支部", description="红色网格"),
                    ),
                ),
            ),
        ),
    ),
    users=(
        UserSpec("admin", Role.STREET_ADMIN, "琅琊街道", title="琅琊街道管理员"),
        UserSpec("secretary", Role.PARTY_SECRETARY, "三里亭社区", title="三里亭社区党委书记"),
        UserSpec("grid", Role.GRID_LEADER, "三里亭人家网格", lives_in="三里亭人家网格"),
        UserSpec("grid2", Role.GRID_LEADER, "扬天小区网格", lives_in="扬天小区网格"),
        UserSpec("chair", Role.OWNER_COMMITTEE_CHAIR, "三里亭人家", lives_in="三里亭人家"),
        UserSpec("firm", Role.PROPERTY_FIRM, "三里亭人家", title="金鹏物业 三里亭人家项目部"),
        UserSpec("resident", Role.RESIDENT, "扬天小区", lives_in="扬天小区"),
        UserSpec("lead", Role.NEIGHBOR_LEAD, "三里亭人家", lives_in="三里亭人家"),
    ),
)

YANQUAN = StreetSpec(
    slug="yanquan",
    name="燕泉街道",
    region="431002",
    description="郴州市北湖区燕泉街道：邻长每周走访重点户、每季度走访全部住户。",
    communities=(
        CommunitySpec(
            name="振兴社区",
            compounds=(
                CompoundSpec(
                    "香樟雅苑",
                    PropertyManagement.FIRM,
                    _b("1栋", "2栋", "3栋", floors=18),
                    firm="郴州市香樟物业服务有限公司",
                    party_branch="香樟雅苑党支部",
                    description="飞线充电整治：小区党支部、业委会、物业公司三方联动。",
                ),
            ),
            grids=(GridSpec("振兴社区第一网格"),),
        ),
        CommunitySpec(
            name="阳光苑社区",
            compounds=(
                CompoundSpec(
                    "盈丰国际",
                    PropertyManagement.FIRM,
                    _b("1栋", "2栋", floors=26),
                    firm="郴州盈丰物业管理有限公司",
                    description="青年合伙人项目8家合伙单位：市三医院、航空航模协会、蓝天救援队、林邑社工服务中心等。",
                ),
            ),
            grids=(GridSpec("阳光苑社区网格"),),
        ),
        CommunitySpec(
            name="五岭阁社区",
            compounds=(
                CompoundSpec(
                    "市政府东湾院",
                    PropertyManagement.SELF_MANAGED,
                    _b("1栋", "2栋", "3栋"),
                    description="业委会主任提议加装电梯。",
                ),
            ),
            grids=(GridSpec("五岭阁社区网格"),),
        ),
        CommunitySpec(
            name="燕北社区",
            compounds=(
                CompoundSpec(
                    "新贵华城",
                    PropertyManagement.FIRM,
                    _b("1栋", "2栋", floors=18),
                    firm="郴州市新贵物业服务有限公司",
                    description="长者食堂。",
                ),
            ),
            grids=(GridSpec("燕北社区网格"),),
        ),
    ),
    users=(
        UserSpec("admin", Role.STREET_ADMIN, "燕泉街道", title="燕泉街道管理员"),
        UserSpec("secretary", Role.PARTY_SECRETARY, "振兴社区", title="振兴社区党委书记"),
        UserSpec("grid", Role.GRID_LEADER, "振兴社区第一网格", lives_in="振兴社区第一网格"),
        UserSpec("chair", Role.OWNER_COMMITTEE_CHAIR, "市政府东湾院", lives_in="市政府东湾院"),
        UserSpec("firm", Role.PROPERTY_FIRM, "香樟雅苑", title="香樟物业 香樟雅苑服务中心"),
        UserSpec("resident", Role.RESIDENT, "香樟雅苑", lives_in="香樟雅苑"),
        UserSpec("lead", Role.NEIGHBOR_LEAD, "新贵华城", lives_in="新贵华城"),
    ),
)

STREETS: tuple[StreetSpec, ...] = (WEIERLU, BAITAO, LANGYA, YANQUAN)

# -- invented people --------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董潘袁蔡蒋余杜叶程魏苏吕丁任沈"
# Given names by generation, so a grandmother is not called 梓涵.
GIVEN: dict[tuple[Gender, bool], tuple[str, ...]] = {
    (Gender.MALE, True): (
        "建国",
        "国庆",
        "德胜",
        "长青",
        "振华",
        "卫东",
        "红兵",
        "永刚",
        "春生",
        "福林",
        "国强",
    ),
    (Gender.FEMALE, True): ("秀英", "桂英", "玉兰", "淑芬", "凤英", "秀兰", "桂兰", "玉珍", "素芳", "金凤"),
    (Gender.MALE, False): (
        "伟",
        "磊",
        "涛",
        "志强",
        "海波",
        "文斌",
        "俊杰",
        "浩然",
        "宇轩",
        "子豪",
        "晨",
        "鹏",
    ),
    (Gender.FEMALE, False): (
        "丽",
        "静",
        "敏",
        "燕",
        "晓红",
        "海燕",
        "婷婷",
        "欣怡",
        "梓涵",
        "雨桐",
        "佳怡",
        "雪",
    ),
}
PHONE_PREFIXES = ("138", "139", "137", "135", "158", "159", "186", "187", "189", "177")


@dataclass
class _Draft:
    """A person before the row is made: the household composition is decided first."""

    gender: Gender
    birth: date
    relation: str
    surname: str
    tags: tuple[str, ...] = ()


class _People:
    """Deterministic names, ID numbers and phones for one tenant."""

    def __init__(self, rng: random.Random, region: str, tenant_no: int) -> None:
        self.rng = rng
        self.region = region
        self.tenant_no = tenant_no
        self.ids: set[str] = set()
        self.phones = 0

    def birth(self, year: int) -> date:
        year = min(max(year, 1930), REFERENCE_YEAR - 1)
        return date(year, self.rng.randint(1, 12), self.rng.randint(1, 28))

    def name(self, d: _Draft) -> str:
        return d.surname + self.rng.choice(GIVEN[(d.gender, d.birth.year < 1970)])

    def id_card(self, d: _Draft) -> str:
        # GB 11643: the 17th digit is odd for men, even for women.
        parity = 1 if d.gender is Gender.MALE else 0
        while True:
            seq = f"{self.rng.randint(0, 99):02d}{self.rng.randrange(parity, 10, 2)}"
            first17 = f"{self.region}{d.birth:%Y%m%d}{seq}"
            number = first17 + id_card_check_char(first17)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def phone(self) -> str:
        # The counter makes it unique within the tenant, the tenant number across tenants.
        self.phones += 1
        mid = self.rng.randint(0, 999)
        return f"{self.rng.choice(PHONE_PREFIXES)}{self.tenant_no}{mid:03d}{self.phones:04d}"

    def household(self) -> list[_Draft]:
        """1–4 persons: elderly living alone, an elderly couple, a single adult or a family."""
        rng = self.rng
        surname = rng.choice(SURNAMES)
        head_gender = rng.choice((Gender.MALE, Gender.FEMALE))
        other = Gender.FEMALE if head_gender is Gender.MALE else Gender.MALE
        roll = rng.random()
        if roll < 0.12:
            year = rng.randint(1934, 1954)
            tags: tuple[str, ...] = ("living_alone",)
            if head_gender is Gender.MALE and rng.random() < 0.3:
                tags += ("veteran",)
            return [_Draft(head_gender, self.birth(year), "户主", surname, tags)]
        if roll < 0.24:
            year = rng.randint(1938, 1959)
            tags = ("empty_nest", "bereaved_family") if rng.random() < 0.15 else ("empty_nest",)
            return [
                _Draft(head_gender, self.birth(year), "户主", surname, tags),
                _Draft(other, self.birth(year + rng.randint(-3, 3)), "配偶", rng.choice(SURNAMES)),
            ]
        if roll < 0.36:
            return [_Draft(head_gender, self.birth(rng.randint(1966, 1999)), "户主", surname)]
        year = rng.randint(1962, 1994)
        drafts = [_Draft(head_gender, self.birth(year), "户主", surname)]
        if rng.random() < 0.85:
            drafts.append(_Draft(other, self.birth(year + rng.randint(-3, 3)), "配偶", rng.choice(SURNAMES)))
        for _ in range(rng.randint(0, 2)):
            if len(drafts) < 4:
                tags = ("child_in_difficulty",) if rng.random() < 0.04 else ()
                child_year = year + rng.randint(23, 34)
                gender = rng.choice((Gender.MALE, Gender.FEMALE))
                drafts.append(_Draft(gender, self.birth(child_year), "子女", surname, tags))
        if len(drafts) < 4 and rng.random() < 0.25:
            gender = rng.choice((Gender.MALE, Gender.FEMALE))
            drafts.append(_Draft(gender, self.birth(year - rng.randint(24, 30)), "父母", surname))
        return drafts


# -- building one tenant ------------------------------------------------------------------------


class _TenantSeed:
    """Builds one tenant's rows in memory; the caller adds them in a single transaction."""

    def __init__(self, spec: StreetSpec, root: Area, tenant_no: int) -> None:
        self.spec = spec
        self.root = root
        self.rng = random.Random(spec.slug)
        self.people = _People(self.rng, spec.region, tenant_no)
        self.rows: list[object] = []
        self.areas: dict[str, Area] = {root.name: root}  # every non-building area, by its unique name
        self.buildings: dict[str, Area] = {}  # "parent name/building name" and single-building names
        self.all_buildings: list[Area] = []
        self.grid_buildings: dict[uuid.UUID, list[Area]] = {}
        self.adults: dict[uuid.UUID, list[Person]] = {}  # building id → adults living there, heads first
        self.firms: dict[str, PropertyFirm] = {}
        self.compound_firm: dict[str, PropertyFirm] = {}

    # areas

    def area(self, parent: Area, kind: AreaKind, name: str, **extra: object) -> Area:
        assert parent.kind in ALLOWED_PARENTS[kind], (parent.kind, kind)
        area_id = uuid7()
        area = Area(
            id=area_id,
            parent_id=parent.id,
            kind=kind,
            name=name,
            path=parent.path + path_segment(area_id),
            depth=parent.depth + 1,
            **extra,
        )
        self.rows.append(area)
        if kind is not AreaKind.BUILDING:
            assert name not in self.areas, f"area name {name!r} is not unique"
            self.areas[name] = area
        return area

    def party_org(self, name: str, kind: PartyOrgKind, area: Area, parent: PartyOrg | None) -> PartyOrg:
        org = PartyOrg(
            id=uuid7(), name=name, kind=kind, area_id=area.id, parent_id=parent.id if parent else None
        )
        self.rows.append(org)
        return org

    def build(self) -> None:
        self.root.description = self.spec.description
        for c in self.spec.communities:
            self.community(c)

    def community(self, spec: CommunitySpec) -> None:
        community = self.area(self.root, AreaKind.COMMUNITY, spec.name, description=spec.description)
        committee = None
        if spec.party_committee:
            committee = self.party_org(spec.party_committee, PartyOrgKind.COMMITTEE, community, None)
        for branch in spec.party_branches:
            self.party_org(branch, PartyOrgKind.BRANCH, community, committee)
        # Grids are made last: they cover buildings anywhere in the community.
        grids: list[tuple[GridSpec, Area]] = [(g, community) for g in spec.grids]
        for z in spec.zones:
            zone = self.area(community, AreaKind.ZONE, z.name)
            grids += [(g, zone) for g in z.grids]
            for cs in z.compounds:
                grids += self.compound(zone, cs, committee)
        for cs in spec.compounds:
            grids += self.compound(community, cs, committee)
        for bs in spec.buildings:
            building = self.building(community, bs, committee, PropertyManagement.NONE)
            self.buildings[bs.name] = building
        for gs, parent in grids:
            self.grid(gs, parent, community, committee)

    def compound(
        self, parent: Area, spec: CompoundSpec, committee: PartyOrg | None
    ) -> list[tuple[GridSpec, Area]]:
        compound = self.area(
            parent,
            AreaKind.COMPOUND,
            spec.name,
            property_management=spec.management,
            description=spec.description,
        )
        if spec.firm:
            firm = self.firms.get(spec.firm)
            if firm is None:
                firm = self.firms[spec.firm] = PropertyFirm(id=uuid7(), name=spec.firm)
                self.rows.append(firm)
            self.compound_firm[spec.name] = firm
            self.rows.append(
                ServiceContract(
                    firm_id=firm.id, compound_id=compound.id, valid_from=CONTRACT_FROM, valid_until=None
                )
            )
        org = committee
        if spec.party_branch:
            org = self.party_org(spec.party_branch, PartyOrgKind.BRANCH, compound, committee)
        for bs in spec.buildings:
            self.buildings[f"{spec.name}/{bs.name}"] = self.building(compound, bs, org, spec.management)
        return [(g, compound) for g in spec.grids]

    def building(
        self, parent: Area, spec: BuildingSpec, party_org: PartyOrg | None, management: PropertyManagement
    ) -> Area:
        rng = self.rng
        building = self.area(
            parent,
            AreaKind.BUILDING,
            spec.name,
            floors=spec.floors,
            unit_count=2,
            description=spec.description,
        )
        self.all_buildings.append(building)
        adults: list[Person] = []
        self.adults[building.id] = adults
        # Two flats per landing ("301", "302") in units "1" and "2".
        flats = [
            (unit, f"{floor}{door:02d}")
            for unit in ("1", "2")
            for floor in range(spec.first_floor, spec.floors + 1)
            for door in (1, 2)
        ]
        count = spec.households if spec.households is not None else rng.randint(4, 8)
        renter_rate = 0.35 if management is PropertyManagement.THIRD_PARTY else 0.15
        for unit, room in sorted(rng.sample(flats, count), key=lambda f: (f[0], int(f[1]))):
            household = Household(
                id=uuid7(),
                building_id=building.id,
                unit=unit,
                room=room,
                floor_area=Decimal(f"{rng.randint(48, 136)}.{rng.choice(('00', '20', '50', '80'))}"),
                tenure=Tenure.RENTER if rng.random() < renter_rate else Tenure.OWNER,
            )
            self.rows.append(household)
            for draft in self.people.household():
                adult = REFERENCE_YEAR - draft.birth.year >= 18
                party = adult and rng.random() < spec.party_rate
                person = Person(
                    id=uuid7(),
                    household_id=household.id,
                    name=self.people.name(draft),
                    gender=draft.gender,
                    birth_date=draft.birth,
                    id_card_no=self.people.id_card(draft),
                    phone=self.people.phone() if adult else None,
                    relation_to_head=draft.relation,
                    party_member=party,
                    party_org_id=party_org.id if party and party_org else None,
                    in_service_party_member=party and draft.birth.year >= 1965 and rng.random() < 0.4,
                )
                self.rows.append(person)
                tags = list(draft.tags)
                if adult and rng.random() < 0.04:
                    tags.append("disabled")
                if draft.relation == "户主" and rng.random() < 0.04:
                    tags.append("low_income")
                for code in dict.fromkeys(tags):
                    assert code in CARE_TAGS, code
                    self.rows.append(PersonCareTag(person_id=person.id, code=code))
                if adult:
                    adults.append(person)
        return building

    def grid(self, spec: GridSpec, parent: Area, community: Area, committee: PartyOrg | None) -> None:
        grid = self.area(parent, AreaKind.GRID, spec.name, description=spec.description)
        if spec.party_branch:
            self.party_org(spec.party_branch, PartyOrgKind.BRANCH, grid, committee)
        if spec.covers:
            covered: list[Area] = []
            for name in spec.covers:
                target = self.buildings.get(name) or self.areas[name]
                covered += [b for b in self.all_buildings if b.path.startswith(target.path)]
        else:
            covered = [b for b in self.all_buildings if b.path.startswith(parent.path)]
        assert covered, f"grid {spec.name} covers no building"
        # A grid covers buildings of its own community only.
        assert all(b.path.startswith(community.path) for b in covered), spec.name
        self.grid_buildings[grid.id] = covered
        self.rows += [GridBuilding(grid_id=grid.id, building_id=b.id) for b in covered]

    # users

    def residents_of(self, area_name: str) -> list[Person]:
        area = self.areas[area_name]
        if area.kind is AreaKind.GRID:
            buildings = self.grid_buildings[area.id]
        else:
            buildings = [b for b in self.all_buildings if b.path.startswith(area.path)]
        return [p for b in buildings for p in self.adults[b.id]]

    def users(self, existing: dict[str, User]) -> None:
        taken: set[uuid.UUID] = set()
        for us in self.spec.users:
            person = None
            if us.lives_in is not None:
                candidates = [p for p in self.residents_of(us.lives_in) if p.id not in taken]
                # Prefer a household head: "own household" then means the whole flat.
                person = next((p for p in candidates if p.relation_to_head == "户主"), candidates[0])
                taken.add(person.id)
            username = f"{self.spec.slug}.{us.suffix}"
            user = existing.get(username)
            if user is None:  # a re-seed after the tenant was dropped keeps its platform users
                user = User(
                    id=uuid7(),
                    username=username,
                    display_name=person.name if person else us.title or username,
                )
                self.rows.append(user)
            firm_id = None
            if us.role is Role.PROPERTY_FIRM:
                firm_id = self.compound_firm[us.scope].id
            self.rows.append(Member(user_id=user.id, person_id=person.id if person else None))
            self.rows.append(
                RoleAssignment(
                    user_id=user.id,
                    role=us.role.value,
                    scope_area_id=self.areas[us.scope].id,
                    firm_id=firm_id,
                    valid_from=VALID_FROM,
                    valid_until=None,
                )
            )


async def _seed_street(
    sessionmaker: async_sessionmaker[AsyncSession], spec: StreetSpec, tenant_no: int
) -> None:
    tenant = await provision_tenant(
        sessionmaker, slug=spec.slug, name=spec.name, policy_rules=rules_for_domain
    )
    async with sessionmaker() as s:
        bind_tenant(s, tenant.id)
        async with s.begin():
            root = (await s.scalars(select(Area).where(Area.kind == AreaKind.STREET))).one()
            seed = _TenantSeed(spec, root, tenant_no)
            seed.build()
            usernames = [f"{spec.slug}.{u.suffix}" for u in spec.users]
            existing = {
                u.username: u for u in await s.scalars(select(User).where(User.username.in_(usernames)))
            }
            seed.users(existing)
            # Without relationships the unit of work does not order tables by their foreign keys:
            # flush table by table in dependency order (rows of one table keep their order, parents first).
            for table in Base.metadata.sorted_tables:
                rows = [r for r in seed.rows if getattr(type(r), "__table__", None) is table]
                if rows:
                    s.add_all(rows)
                    await s.flush()


async def seed_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Provision and fill the demo street offices that do not exist yet; returns the slugs created."""
    async with sessionmaker() as s:
        bind_tenant(s, None)  # tenants is a platform table: no tenant to bind
        existing = set(await s.scalars(select(Tenant.slug)))
    created: list[str] = []
    for no, spec in enumerate(STREETS, start=1):
        if spec.slug in existing:
            continue
        await _seed_street(sessionmaker, spec, no)
        created.append(spec.slug)
    return created


def _rank(role: str) -> int:
    try:
        return rank(Role(role))
    except ValueError:
        return 0


async def demo_users(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, str]]:
    """Every active role assignment of every tenant: tenant slug, username, role, scope name, display name.

    Each tenant is read through a session bound to it, so the ORM filter and row-level security allow it.
    """
    async with sessionmaker() as s:
        bind_tenant(s, None)
        tenants = list(await s.scalars(select(Tenant).order_by(Tenant.slug)))
    now = datetime.now(UTC)
    out: list[dict[str, str]] = []
    for tenant in tenants:
        async with sessionmaker() as s:
            bind_tenant(s, tenant.id)
            async with s.begin():
                rows = (
                    await s.execute(
                        select(RoleAssignment.role, User.username, User.display_name, Area.name)
                        .join(User, User.id == RoleAssignment.user_id)
                        .join(
                            Area,
                            and_(
                                Area.tenant_id == RoleAssignment.tenant_id,
                                Area.id == RoleAssignment.scope_area_id,
                            ),
                        )
                        .where(
                            RoleAssignment.revoked_at.is_(None),
                            RoleAssignment.valid_from <= now,
                            or_(RoleAssignment.valid_until.is_(None), RoleAssignment.valid_until > now),
                        )
                    )
                ).all()
        for role, username, display_name, scope in sorted(rows, key=lambda r: (-_rank(r[0]), r[1])):
            out.append(
                {
                    "tenant": tenant.slug,
                    "user": username,
                    "role": role,
                    "scope": scope,
                    "display_name": display_name,
                }
            )
    return out
