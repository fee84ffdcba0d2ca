"""Demo data: the four street offices of DESIGN.md §7, with a small, deterministic register and one
user for every role in each tenant.

The tree, firms and party organisations follow the facts the street offices published; the people
are invented (names, valid but fictitious ID numbers, phones) from a ``random.Random(slug)``, so a
fresh database always gets the same register.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
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
    PropertyOwner,
    RoleAssignment,
    ServiceContract,
    Tenant,
    Tenure,
    User,
    path_segment,
    uuid7,
)
from policies.roles import Role, rank
from resolvers.validation import id_card_check_char
from tenants.session import bind_tenant

from .specs import (
    CARE_TAGS,
    CONTRACT_FROM,
    REFERENCE_YEAR,
    STREETS,
    VALID_FROM,
    BuildingSpec,
    CommunitySpec,
    CompoundSpec,
    GridSpec,
    StreetSpec,
)

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
                # On the title (产权人) of an owner-occupied flat: the head and their spouse, the electors of
                # owners' votes (DESIGN.md §8). Renters are not; their landlords are not on this register.
                if household.tenure is Tenure.OWNER and adult and draft.relation in ("户主", "配偶"):
                    self.rows.append(PropertyOwner(household_id=household.id, person_id=person.id))
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


# Creates a tenant with its policy and every domain's defaults (the composition root's
# ``gongzhi.modules.provision``, handed in: the demo sits below the module declarations).
Provision = Callable[..., Awaitable[Tenant]]


async def _seed_street(
    sessionmaker: async_sessionmaker[AsyncSession], spec: StreetSpec, tenant_no: int, provision: Provision
) -> None:
    tenant = await provision(sessionmaker, slug=spec.slug, name=spec.name)
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


async def seed_demo(sessionmaker: async_sessionmaker[AsyncSession], *, provision: Provision) -> list[str]:
    """Provision and fill the demo street offices that do not exist yet; returns the slugs created."""
    async with sessionmaker() as s:
        bind_tenant(s, None)  # tenants is a platform table: no tenant to bind
        existing = set(await s.scalars(select(Tenant.slug)))
    created: list[str] = []
    for no, spec in enumerate(STREETS, start=1):
        if spec.slug in existing:
            continue
        await _seed_street(sessionmaker, spec, no, provision)
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
