"""Cases (事件/诉求): the closed loop, 督办, feedback, SLA on the working calendar, photos, reviews."""

from datetime import datetime

from gongzhi.demo import seed_demo_cases
from gongzhi.jobs import Job, JobResult
from gongzhi.modules.declaration import Demo, Module
from models import (
    Attachment,
    CalendarOverride,
    Case,
    CaseCategory,
    CaseEvent,
    CaseReview,
    CaseSettings,
    Notification,
    SlaRule,
)
from resolvers import cases as case_service
from resolvers.context import Db
from schema import cases
from tenants.provisioning import cases_defaults


async def _close_waiting(db: Db, now: datetime) -> JobResult:
    events = await case_service.close_waiting_cases(db, now=now)
    return len(events), events


CLOSE_WAITING = Job("close_waiting_cases", "closed", _close_waiting)

MODULE = Module(
    name="cases",
    tables=(CaseCategory, SlaRule, CalendarOverride, CaseSettings, Case, CaseEvent, Attachment, Notification,
            CaseReview),
    resources=("case", "statistics"),
    schema=cases.PARTS,
    defaults=cases_defaults,
    jobs=(CLOSE_WAITING,),
    demo=Demo("demo cases", seed_demo_cases),
)
