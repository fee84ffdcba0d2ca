"""A small, fully known world for the tests: one tenant of it is drawn below; every test tenant has
the same shape (and its own ids), so expected answers can be counted by hand.

    S street
    ├── C1 东风社区
    │   ├── P1 幸福小区 (firm F1 安居物业 serves it)      B1 1栋 · B2 2栋
    │   ├── P2 老街小区 (无物业)                          B3 3栋
    │   ├── G1 一网格 covers B1
    │   └── G2 二网格 covers B2, B3   (cuts across P1 and P2)
    └── C2 西湖社区
        ├── Z1 一片区
        │   └── P3 湖畔小区 (F1's contract expired)       B4 4栋
        └── G3 三网格 covers B4

    H1 B1 1-101: h1a (户主, living_alone), h1b       H2 B2 1-201: h2a
    H3 B3 1-301: h3a (party member, disabled)        H4 B4 1-401: h4a (veteran)

Users (username = f"{slug}-{key}"): admin street_admin@S · secretary party_secretary@C1 ·
grid1 grid_leader@G1 · grid2 grid_leader@G2 · grid3 grid_leader@G3 · chair owner_committee_chair@P1
(lives in H2) · firm property_firm@P1 for F1 · resident resident@P1 (h1b, H1) · resident4 resident@P3
(h4a, H4) · secretary2 party_secretary@C2 living in H1 (h1a) · expired grid_leader@G1 ended
yesterday · nobody (no role).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.modules import provision
from models import (
    Area,
    AreaKind,
    GridBuilding,
    Household,
    Member,
    Person,
    PersonCareTag,
    PropertyFirm,
    PropertyManagement,
    PropertyOwner,
    RoleAssignment,
    ServiceContract,
    User,
    path_segment,
    uuid7,
)
from resolvers.validation import id_card_check_char
from tenants.session import bind_tenant

ROLE_USERS = {
    "admin": ("street_admin", "S"),
    "secretary": ("party_secretary", "C1"),
    "grid1": ("grid_leader", "G1"),
    "grid2": ("grid_leader", "G2"),
    "grid3": ("grid_leader", "G3"),
    "chair": ("owner_committee_chair", "P1"),
    "firm": ("property_firm", "P1"),
    "resident": ("resident", "P1"),
    "resident4": ("resident", "P3"),
    "secretary2": ("party_secretary", "C2"),
    "expired": ("grid_leader", "G1"),
}
# Whose own register entry each user is (for the "own" condition).
USER_PERSON = {"resident": "h1b", "resident4": "h4a", "secretary2": "h1a", "chair": "h2a"}


def make_id_card(region: str, born: date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_card_check_char(first17)


@dataclass
class TenantWorld:
    slug: str
    tenant_id: uuid.UUID
    areas: dict[str, uuid.UUID] = field(default_factory=dict)
    households: dict[str, uuid.UUID] = field(default_factory=dict)
    persons: dict[str, uuid.UUID] = field(default_factory=dict)
    firms: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    id_cards: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)

    def username(self, key: str) -> str:
        return f"{self.slug}-{key}"


async def build_tenant(sm: async_sessionmaker[AsyncSession], slug: str, region: str = "340302") -> TenantWorld:
    tenant = await provision(sm, slug=slug, name=f"{slug} 街道")
    w = TenantWorld(slug=slug, tenant_id=tenant.id)
    async with sm() as s:
        bind_tenant(s, tenant.id)
        async with s.begin():
            root = (await s.scalars(select(Area).where(Area.kind == AreaKind.STREET))).one()
            w.areas["S"] = root.id
            rows: dict[str, Area] = {"S": root}

            def area(key: str, parent: str, kind: AreaKind, name: str, **kw: object) -> Area:
                p = rows[parent]
                aid = uuid7()
                a = Area(id=aid, parent_id=p.id, kind=kind, name=name, path=p.path + path_segment(aid),
                         depth=p.depth + 1, **kw)
                rows[key] = a
                w.areas[key] = aid
                s.add(a)
                return a

            area("C1", "S", AreaKind.COMMUNITY, "东风社区")
            area("P1", "C1", AreaKind.COMPOUND, "幸福小区", property_management=PropertyManagement.FIRM)
            area("B1", "P1", AreaKind.BUILDING, "1栋", floors=6, unit_count=2)
            area("B2", "P1", AreaKind.BUILDING, "2栋", floors=6, unit_count=2)
            area("P2", "C1", AreaKind.COMPOUND, "老街小区", property_management=PropertyManagement.NONE)
            area("B3", "P2", AreaKind.BUILDING, "3栋", floors=5, unit_count=1)
            area("G1", "C1", AreaKind.GRID, "一网格")
            area("G2", "C1", AreaKind.GRID, "二网格")
            area("C2", "S", AreaKind.COMMUNITY, "西湖社区")
            area("Z1", "C2", AreaKind.ZONE, "一片区")
            area("P3", "Z1", AreaKind.COMPOUND, "湖畔小区", property_management=PropertyManagement.FIRM)
            area("B4", "P3", AreaKind.BUILDING, "4栋", floors=11, unit_count=2)
            area("G3", "C2", AreaKind.GRID, "三网格")
            await s.flush()
            for grid, building in (("G1", "B1"), ("G2", "B2"), ("G2", "B3"), ("G3", "B4")):
                s.add(GridBuilding(grid_id=w.areas[grid], building_id=w.areas[building]))

            f1 = PropertyFirm(id=uuid7(), name="安居物业")
            s.add(f1)
            w.firms["F1"] = f1.id
            await s.flush()
            s.add(ServiceContract(firm_id=f1.id, compound_id=w.areas["P1"], valid_from=date(2020, 1, 1)))
            s.add(ServiceContract(firm_id=f1.id, compound_id=w.areas["P3"], valid_from=date(2020, 1, 1),
                                  valid_until=date(2021, 12, 31)))

            for key, building, room in (("H1", "B1", "101"), ("H2", "B2", "201"), ("H3", "B3", "301"),
                                        ("H4", "B4", "401")):
                h = Household(id=uuid7(), building_id=w.areas[building], unit="1", room=room,
                              floor_area=Decimal("88.50"))
                s.add(h)
                w.households[key] = h.id
            await s.flush()
            people = (
                ("h1a", "H1", "张建国", date(1948, 3, 5), "户主", False, ["living_alone"]),
                ("h1b", "H1", "张小梅", date(1980, 7, 12), "子女", False, []),
                ("h2a", "H2", "李秀英", date(1962, 11, 2), "户主", False, []),
                ("h3a", "H3", "王德明", date(1955, 1, 20), "户主", True, ["disabled"]),
                ("h4a", "H4", "赵卫东", date(1970, 9, 9), "户主", False, ["veteran"]),
            )
            for i, (key, hh, name, born, rel, party, tags) in enumerate(people, start=1):
                card = make_id_card(region, born, 100 + i)
                phone = f"139{sum(map(ord, slug)) % 10000:04d}{i:04d}"
                p = Person(id=uuid7(), household_id=w.households[hh], name=name, birth_date=born,
                           id_card_no=card, phone=phone, relation_to_head=rel, party_member=party,
                           in_service_party_member=False)
                s.add(p)
                w.persons[key] = p.id
                w.id_cards[key] = card
                w.phones[key] = phone
                await s.flush()
                for t in tags:
                    s.add(PersonCareTag(person_id=p.id, code=t))
                # The households are owner-occupied: their people are on the title (产权人), the electors
                # of owners' votes (DESIGN.md §8).
                s.add(PropertyOwner(household_id=w.households[hh], person_id=p.id))

            start = datetime(2024, 1, 1, tzinfo=UTC)
            for key in (*ROLE_USERS, "nobody"):
                u = User(id=uuid7(), username=w.username(key), display_name=f"{slug} {key}",
                         home_tenant_id=tenant.id)
                s.add(u)
                w.users[key] = u.id
            await s.flush()
            for key, (role, scope) in ROLE_USERS.items():
                until = datetime.now(UTC) - timedelta(days=1) if key == "expired" else None
                s.add(RoleAssignment(user_id=w.users[key], role=role, scope_area_id=w.areas[scope],
                                     firm_id=w.firms["F1"] if role == "property_firm" else None,
                                     valid_from=start, valid_until=until))
            for key in (*ROLE_USERS, "nobody"):
                person = USER_PERSON.get(key)
                s.add(Member(user_id=w.users[key], person_id=w.persons[person] if person else None))
    return w
