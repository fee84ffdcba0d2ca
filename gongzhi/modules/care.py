"""Care (关爱): neighbourhood leads and visits, care groups and service lists, micro-wishes."""

from gongzhi.demo import seed_demo_care
from gongzhi.modules.declaration import Demo, Module
from models import CareService, CareServiceRecord, CareSettings, LeadHousehold, NeighborLead, Visit, Wish
from schema import care
from tenants.provisioning import care_defaults

MODULE = Module(
    name="care",
    tables=(CareSettings, NeighborLead, LeadHousehold, Visit, CareService, CareServiceRecord, Wish),
    resources=("visit", "wish", "care", "care_service", "care_tag"),
    schema=care.PARTS,
    defaults=care_defaults,
    demo=Demo("demo care", seed_demo_care),
)
