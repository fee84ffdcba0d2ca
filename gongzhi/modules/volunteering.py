"""Volunteering (志愿活动与积分): activities, sign-up, hours, the points ledger and redemption."""

from gongzhi.demo import seed_demo_volunteering
from gongzhi.modules.declaration import Demo, Module
from models import Activity, ActivitySignup, PointsAccount, PointsEntry, Redemption, RewardItem, VolunteerSettings
from schema import volunteering
from tenants.provisioning import volunteering_defaults

MODULE = Module(
    name="volunteering",
    tables=(VolunteerSettings, Activity, ActivitySignup, PointsAccount, PointsEntry, RewardItem, Redemption),
    resources=("activity", "points"),
    schema=volunteering.PARTS,
    defaults=volunteering_defaults,
    # The volunteering seeder also rates firms and committees (the demo's evaluation periods).
    demo=Demo("demo volunteering and ratings", seed_demo_volunteering),
)
