"""Cases (事件/诉求): the closed loop, 督办, feedback, SLA on the working calendar, photos, reviews."""

import logging
from datetime import date, datetime

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.demo import seed_demo_cases
from gongzhi.jobs import Check, Job, JobResult
from gongzhi.modules.declaration import Demo, Module
from models import (
    Attachment,
    CalendarOverride,
    Case,
    CaseCategory,
    CaseCategoryRule,
    CaseEvent,
    CaseReview,
    CaseSettings,
    CaseStage,
    CaseStageLimit,
    CaseWorkflowSettings,
    Notification,
    NotificationRead,
    SlaRule,
)
from resolvers import cases as case_service
from resolvers.context import Db
from schema import cases
from tenants.provisioning import cases_defaults

log = logging.getLogger("gongzhi.calendar")

# 1 from 1 November while next year's holiday arrangement is neither in the package nor loaded (issue #22).
CALENDAR_NEXT_YEAR_MISSING = Gauge(
    "gongzhi_calendar_next_year_missing",
    "1 from 1 November while next year's holiday arrangement is neither in the package nor loaded, else 0",
    multiprocess_mode="max")
_warned_on: set[date] = set()  # the days this process has warned on: once per process per day


async def _close_waiting(db: Db, now: datetime) -> JobResult:
    events = await case_service.close_waiting_cases(db, now=now)
    return len(events), events


async def _check_next_year(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    async with sessionmaker() as session:
        year = await case_service.next_year_missing(session, now)
    CALENDAR_NEXT_YEAR_MISSING.set(0 if year is None else 1)
    today = now.astimezone(case_service.SHANGHAI).date()
    if year is None or today in _warned_on:
        return
    _warned_on.clear()
    _warned_on.add(today)
    log.warning("no holiday arrangement for %s: neither the package nor the platform has it, so %s counts only "
                "the computed statutory holidays and weekends as days off (no 调休 make-up days); load the State "
                "Council's notice with `gongzhi calendar load FILE` (docs/operations.md)", year, year,
                extra={"fields": {"year": year}})


async def _stage_overdue(db: Db, now: datetime) -> JobResult:
    events = await case_service.report_overdue_stages(db, now=now)
    return sum(1 for e in events if e["topic"] == "case"), events


CLOSE_WAITING = Job("close_waiting_cases", "closed", _close_waiting)
# Stages past their due time: the next level up told once, 督办 where the tenant says so (issue #22).
STAGE_OVERDUE = Job("case_stage_overdue", "overdue stages reported", _stage_overdue)
CALENDAR_NEXT_YEAR = Check("calendar_next_year", _check_next_year)

MODULE = Module(
    name="cases",
    tables=(CaseCategory, SlaRule, CalendarOverride, CaseSettings, Case, CaseEvent, Attachment, Notification,
            CaseReview, CaseStageLimit, CaseStage, CaseWorkflowSettings, CaseCategoryRule, NotificationRead),
    resources=("case", "statistics", "calendar"),
    schema=cases.PARTS,
    defaults=cases_defaults,
    jobs=(CLOSE_WAITING, STAGE_OVERDUE),
    checks=(CALENDAR_NEXT_YEAR,),
    demo=Demo("demo cases", seed_demo_cases),
    # the working calendar: public facts (holidays), read by every role and a partner's system alike;
    # a partner unit's desk for the cases dispatched to it (issue #22): its policy lines (partner_unit,
    # condition assigned) keep each field to its unit's cases, so no agreement grant is asked here
    partner={"workingCalendar": None, "assignedCases": None, "unitNotifications": None,
             "markNotificationsRead": None, "startAssignedCase": None, "resolveAssignedCase": None,
             "returnAssignedCase": None, "requestAssignedCaseExtension": None},
)
