"""Demo organisations of the area tree that the street offices' accounts name (DESIGN.md §7, issue #23),
driven through the real services as the street admin, back-dated:

- 琅琊街道 (langya) 三里亭人家: 2 self-governing zones (自治片区) of 6 groups (自治小组) each, and each group's
  central party-member household (党员中心户) — a party member's household of the compound, the party
  member joining the grid's party branch when they were not yet in it;
- 燕泉街道 (yanquan) 振兴社区 香樟雅苑: its owner committee (业委会) with its chair, the third party of the
  fly-wire clean-up beside the compound's party branch and its firm.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo.driver import Driver
from models import (
    Area,
    AreaKind,
    Household,
    OwnerCommittee,
    PartyOrg,
    PartyOrgRole,
    Person,
    PropertyOwner,
    SelfGoverningKind,
    SelfGoverningUnit,
    Tenant,
)
from resolvers import register as svc
from resolvers.cases import SHANGHAI
from resolvers.context import RequestContext
from tenants.session import bind_tenant

SANLITING = "三里亭人家"
SANLITING_BRANCH = "三里亭人家网格党支部"
ZONES = ("第一自治片区", "第二自治片区")
GROUPS_PER_ZONE = 6
NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
XIANGZHANG = "香樟雅苑"


async def _compound(name: str, s: AsyncSession) -> Area:
    found = await s.scalar(select(Area).where(Area.name == name, Area.kind == AreaKind.COMPOUND))
    assert found is not None, name
    return found


async def _central_candidates(compound: Area, n: int, s: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(household, adult, already a party member) for n households of the compound: 4栋 first (the
    building the accounts name), households with a party member first, the party member (else the
    household's eldest adult) named."""
    buildings = {a.id: a.name for a in await s.scalars(select(Area).where(
        Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING))}
    households = list(await s.scalars(select(Household).where(Household.building_id.in_(buildings))))
    people = list(await s.scalars(select(Person).where(
        Person.household_id.in_([h.id for h in households]), Person.phone.is_not(None))
        .order_by(Person.party_member.desc(), Person.birth_date, Person.id)))
    first_adult: dict[uuid.UUID, Person] = {}
    for p in people:
        assert p.household_id is not None
        first_adult.setdefault(p.household_id, p)
    ranked = sorted((h for h in households if h.id in first_adult), key=lambda h: (
        buildings[h.building_id] != "4栋", not first_adult[h.id].party_member, buildings[h.building_id], h.unit,
        h.room))
    return [(h.id, first_adult[h.id].id, first_adult[h.id].party_member) for h in ranked[:n]]


async def _sanliting(d: Driver) -> bool:
    if await d.query(lambda s: s.scalar(select(func.count()).select_from(SelfGoverningUnit))):
        return False
    admin = f"{d.tenant.slug}.admin"
    compound = await d.query(partial(_compound, SANLITING))
    branch = await d.query(lambda s: s.scalar(select(PartyOrg.id).where(PartyOrg.name == SANLITING_BRANCH)))
    assert branch is not None
    candidates = await d.query(partial(_central_candidates, compound, len(ZONES) * GROUPS_PER_ZONE))
    assert len(candidates) == len(ZONES) * GROUPS_PER_ZONE, len(candidates)
    when = d.at(200, 9)
    n = 0
    for zone_name in ZONES:
        zone = await d.run(admin, when, partial(_unit, compound.id, SelfGoverningKind.ZONE, zone_name, None))
        for _ in range(GROUPS_PER_ZONE):
            household, person, party = candidates[n]
            group = await d.run(admin, when, partial(_unit, compound.id, SelfGoverningKind.GROUP,
                                                     f"第{NUMERALS[n]}小组", zone.id))
            if not party:  # the household's party member joins the grid's branch (党员 on the register)
                await d.run(admin, when, partial(_join, branch, person))
            await d.run(admin, when, partial(_central, group.id, household, person, when.date()))
            n += 1
    return True


async def _unit(area_id: uuid.UUID, kind: SelfGoverningKind, name: str, parent_id: uuid.UUID | None,
                ctx: RequestContext) -> SelfGoverningUnit:
    return await svc.create_self_governing_unit(ctx, area_id=area_id, kind=kind, name=name, parent_id=parent_id)


async def _join(branch: uuid.UUID, person: uuid.UUID, ctx: RequestContext) -> object:
    return await svc.add_party_org_member(ctx, party_org_id=branch, person_id=person, role=PartyOrgRole.MEMBER,
                                          joined_on=None)


async def _central(unit: uuid.UUID, household: uuid.UUID, person: uuid.UUID, on: date, ctx: RequestContext) -> object:
    return await svc.add_central_household(ctx, unit_id=unit, household_id=household, person_id=person,
                                           appointed_on=on)


async def _owner(compound: Area, s: AsyncSession) -> Person:
    buildings = select(Area.id).where(Area.path.startswith(compound.path), Area.kind == AreaKind.BUILDING)
    owners = select(PropertyOwner.person_id).join(Household, Household.id == PropertyOwner.household_id).where(
        Household.building_id.in_(buildings), PropertyOwner.ended_at.is_(None))
    found = await s.scalar(select(Person).where(Person.id.in_(owners)).order_by(Person.birth_date, Person.id))
    assert found is not None, compound.name
    return found


async def _xiangzhang(d: Driver) -> bool:
    compound = await d.query(partial(_compound, XIANGZHANG))
    if await d.query(lambda s: s.scalar(select(func.count()).select_from(OwnerCommittee)
                                        .where(OwnerCommittee.compound_id == compound.id))):
        return False
    chair = await d.query(partial(_owner, compound))
    await d.run(f"{d.tenant.slug}.admin", d.at(150, 10), partial(
        _committee, compound.id, "香樟雅苑第二届业主委员会", chair))
    return True


async def _committee(compound: uuid.UUID, name: str, chair: Person, ctx: RequestContext) -> OwnerCommittee:
    return await svc.create_owner_committee(ctx, compound_id=compound, name=name, chair_name=chair.name,
                                            chair_person_id=chair.id, term_start=date(2024, 5, 1),
                                            term_end=date(2029, 4, 30))


SCRIPTS = {"langya": _sanliting, "yanquan": _xiangzhang}


async def seed_demo_organisations(sm: async_sessionmaker[AsyncSession], today: date | None = None) -> list[str]:
    """Seed into the demo tenants that lack them; returns the slugs seeded."""
    day = today or datetime.now(SHANGHAI).date()
    async with sm() as s:
        bind_tenant(s, None)
        tenants = {t.slug: t for t in await s.scalars(select(Tenant))}
    seeded: list[str] = []
    for slug, script in SCRIPTS.items():
        tenant = tenants.get(slug)
        if tenant is not None and await script(Driver(sm, tenant, day)):
            seeded.append(slug)
    return seeded
