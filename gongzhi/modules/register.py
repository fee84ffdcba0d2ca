"""Areas and the household register (区域与户籍): the area tree, grids, firms, party organisations,
households and persons."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo import seed_demo, seed_demo_organisations
from gongzhi.jobs import Job, JobResult
from gongzhi.modules.declaration import Demo, Module
from models import (
    Area,
    CareTagKind,
    CentralHousehold,
    GridBuilding,
    Household,
    OwnerCommittee,
    PartyOrg,
    PartyOrgMember,
    Person,
    PersonalDataConsent,
    PersonCareTag,
    PersonErasure,
    PersonMove,
    PrivacySettings,
    PropertyFirm,
    PropertyOwner,
    SelfGoverningUnit,
    ServiceContract,
)
from resolvers import register as register_service
from resolvers.context import Db
from schema import register


async def seed_demo_register(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """The four demo street offices, provisioned as every new tenant is (policy, each module's defaults),
    and the organisations their accounts name (self-governing groups, an owner committee), through the
    services."""
    from gongzhi.modules import provision  # the registry imports this module

    created = await seed_demo(sessionmaker, provision=provision)
    await seed_demo_organisations(sessionmaker)
    return created


async def _apply_retention(db: Db, now: datetime) -> JobResult:
    return await register_service.apply_retention(db, now), []


# Closed matters lose their personal details after the tenant's retention (issue #24, PIPL).
APPLY_RETENTION = Job("apply_personal_data_retention", "personal details cleared", _apply_retention)

MODULE = Module(
    name="register",
    tables=(Area, GridBuilding, PropertyFirm, ServiceContract, PartyOrg, Household, Person, PropertyOwner, CareTagKind,
            PersonCareTag, PersonMove, PersonErasure, PrivacySettings, PersonalDataConsent, PartyOrgMember,
            OwnerCommittee, SelfGoverningUnit, CentralHousehold),
    resources=("area", "household", "person", "privacy", "property_firm", "party_org", "owner_committee",
               "self_governing"),
    schema=register.PARTS,
    jobs=(APPLY_RETENTION,),
    demo=Demo("seeded", seed_demo_register, nothing="nothing new (demo tenants exist)"),
    # the error catalogue: the API's contract, for every client; persons: only those who consented to
    # the unit (PIPL art. 23), where an agreement shares person·read
    partner={"errorCodes": None, "persons": ("person", "read")},
)
