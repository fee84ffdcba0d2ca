"""The four demo street offices of DESIGN.md §7 as data: area tree, firms, party organisations and
one user for every role. ``gongzhi.demo.streets`` turns them into rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from models import PropertyManagement
from policies.roles import Role
from tenants.provisioning import DEFAULT_CARE_TAGS

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
