"""The stages of a case in GraphQL (办理环节, issue #22): the enums, a stage with its due time, and the
tenant's stage limits, workflow settings and category closure rules."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from models import CallbackResult, CaseStageKind, SlaUnit, UrgencyTier
from models import CaseStage as CaseStageRow
from models.cases import aware
from schema.columns import column_field
from schema.common import field, graphql_enum, legacy_string_reason

graphql_enum(CaseStageKind, name="CaseStageKind",
             description="Stage of a case (办理环节): ACCEPT 受理/签收, DISPATCH 派遣, HANDLE 处置/办结, "
                         "CALLBACK 回访.")
graphql_enum(UrgencyTier, name="UrgencyTier",
             description="Urgency tier of stage limits (紧急程度分级): URGENT 紧急 (priority URGENT), EXPEDITED 加急 "
                         "(HIGH), ORDINARY 一般 (NORMAL, LOW).")
graphql_enum(CallbackResult, name="CaseCallbackResult",
             description="What the reporter said at the call-back (回访结果): SATISFIED 满意, "
                         "BASICALLY_SATISFIED 基本满意, UNSATISFIED 不满意, NOT_SOLVED 未解决 (reopens the case), "
                         "UNREACHABLE 无法联系.")



class CaseStep(enum.Enum):
    """Every step a case's timeline records (resolvers/cases/machine.py TRANSITIONS, the report, the
    system's auto-close and overdue steps, recategorisation): the closed set of CaseTimelineEntry.step."""

    REPORT = "report"
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    DISPATCH = "dispatch"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    SUPERVISE = "supervise"
    URGE = "urge"
    ESCALATE = "escalate"
    FEEDBACK = "feedback"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    TRANSFER = "transfer"
    REWORK = "rework"
    CALLBACK = "callback"
    LIFT_SUPERVISION = "lift_supervision"
    STAGE_OVERDUE = "stage_overdue"
    AUTO_CLOSE = "auto_close"
    RECATEGORISE = "recategorise"


graphql_enum(CaseStep, name="CaseStep", description="A step of a case's timeline (处置环节), as recorded.")


def case_step(action: str | None) -> CaseStep | None:
    """The enum of a recorded action; null for one this schema does not know (never expected)."""
    try:
        return None if action is None else CaseStep(action)
    except ValueError:
        return None

@strawberry.type(description="One passage of a case through a stage (办理环节), with its time limit (环节时限).")
class CaseStage:
    _m: strawberry.Private[CaseStageRow]
    _now: strawberry.Private[datetime]

    @field(description="Which stage.")
    def stage(self) -> CaseStageKind:
        return self._m.stage

    @field(description="When the case entered it (开始时间).")
    def started_at(self) -> datetime:
        return self._m.started_at

    @field(description="When it is due (环节时限), on the tenant's working calendar; null: no limit configured.")
    def due_at(self) -> datetime | None:
        return self._m.due_at

    @field(description="When the case left it (完成时间); null while open.")
    def completed_at(self) -> datetime | None:
        return self._m.completed_at

    @field(description="The step that completed it: accept, reject, withdraw, dispatch, return, transfer, resolve, "
                       "callback, close …; null while open.",
           deprecation_reason=legacy_string_reason("outcomeStep"))
    def outcome(self) -> str | None:
        return self._m.outcome

    @field(description="The step that completed it (完成环节); null while open.")
    def outcome_step(self) -> CaseStep | None:
        return case_step(self._m.outcome)

    @field(description="Ran over its due time (超时): open past due, or completed after it.")
    def overdue(self) -> bool:
        if self._m.due_at is None:
            return False
        end = self._m.completed_at or self._now
        return aware(end) > aware(self._m.due_at)

    @field(description="The due time the handler asked for in a pending extension request (延期申请); null: none.")
    def requested_due_at(self) -> datetime | None:
        return self._m.requested_due_at

    @field(description="Extensions granted in this stage (延期次数).")
    def extensions(self) -> int:
        return self._m.extensions


@strawberry.type(description="Time limit of a stage for an urgency tier and category (环节时限); no category: the "
                             "default. The HANDLE stage's limit is the SLA rule (slaRules).")
class CaseStageLimit:
    _m: strawberry.Private[Any]
    stage = column_field("stage", CaseStageKind, description="Stage.")
    tier = column_field("tier", UrgencyTier, description="Urgency tier.")
    category = column_field("category_code", str | None, description="Category code; null for the tenant's default.")
    amount = column_field("amount", float, description="How many units.")
    unit = column_field("unit", SlaUnit,
                        description="Which unit: working hours or days, calendar hours or days.")


@strawberry.type(description="Case workflow settings of the tenant (办理流程设置).")
class CaseWorkflowSettings:
    auto_supervise_overdue: bool = strawberry.field(
        description="A stage that runs over puts an open case under supervision (超时自动督办).")
    min_handling_minutes: int = strawberry.field(
        description="A resolution sooner than this after the handling started is flagged for review (0: never).")


@strawberry.type(description="Closure rule of a case category (办结要求).")
class CaseCategoryRule:
    _m: strawberry.Private[Any]
    category = column_field("category_code", str, description="Category code.")
    requires_photo = column_field("requires_photo", bool,
                                  description="Resolving needs at least one photo of the result.")
