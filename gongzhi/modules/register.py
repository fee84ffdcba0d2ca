"""Areas and the household register (区域与户籍): the area tree, grids, firms, party organisations,
households and persons."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo import seed_demo
from gongzhi.modules.declaration import Demo, Module
from models import (
    Area,
    CareTagKind,
    GridBuilding,
    Household,
    OwnerCommittee,
    PartyOrg,
    PartyOrgMember,
    Person,
    PersonCareTag,
    PropertyFirm,
    ServiceContract,
)
from schema import register


async def seed_demo_register(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """The four demo street offices, provisioned as every new tenant is (policy, each module's defaults)."""
    from gongzhi.modules import provision  # the registry imports this module

    return await seed_demo(sessionmaker, provision=provision)

MODULE = Module(
    name="register",
    tables=(Area, GridBuilding, PropertyFirm, ServiceContract, PartyOrg, Household, Person, CareTagKind,
            PersonCareTag, PartyOrgMember, OwnerCommittee),
    resources=("area", "household", "person", "property_firm", "party_org", "owner_committee"),
    schema=register.PARTS,
    demo=Demo("seeded", seed_demo_register, nothing="nothing new (demo tenants exist)"),
    partner={"errorCodes": None},  # the error catalogue: the API's contract, for every client
)
