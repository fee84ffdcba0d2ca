"""Co-building (共驻共建): partner units, agreements, partner API clients, 双报到."""

from datetime import datetime

from gongzhi.demo import seed_demo_cobuilding
from gongzhi.jobs import Job, JobResult
from gongzhi.modules.declaration import Demo, Module
from models import Agreement, AgreementCommunity, InServiceMember, InServiceRecord, PartnerClient, PartnerUnit
from resolvers import cobuilding as cobuilding_service
from resolvers.context import Db
from schema import cobuilding


async def _expire(db: Db, now: datetime) -> JobResult:
    return await cobuilding_service.expire_agreements(db, now=now), []


EXPIRE_AGREEMENTS = Job("expire_agreements", "agreements expired", _expire)

MODULE = Module(
    name="cobuilding",
    tables=(PartnerUnit, Agreement, AgreementCommunity, PartnerClient, InServiceMember, InServiceRecord),
    resources=("agreement", "inservice"),
    schema=cobuilding.PARTS,
    jobs=(EXPIRE_AGREEMENTS,),
    demo=Demo("demo co-building", seed_demo_cobuilding, separator="; "),
    partner={
        "me": None,  # the client's own account
        "myAgreements": None,  # its own agreements in force
        "myAgreementsConnection": None,  # the same, paged (issue #25)
        "inserviceSummary": None,  # its own in-service members (the resolver keeps it to its unit)
        "sharedActivities": ("activity", "read"),
        "sharedWishes": ("wish", "read"),
        "sharedStatistics": ("statistics", "read"),
        "claimSharedWish": ("wish", "claim"),
        "fulfilSharedWish": ("wish", "fulfil"),
    },
)
