"""Compiled reads of the tenant's one-row rules (issue #21): ``caseSettings``, ``caseWorkflowSettings``,
``careSettings`` and ``pointsPerHour`` as the resolvers read them — the tenant's row, or the resolvers'
defaults when it has none (a tenant that never set them), with the resolvers' own check of the actor
(the case rules are staff only: ``resolvers.cases.require_staff``; the care rules and the points rule are
any reader's, as the resolvers let them).

The row is read as the resolvers' ``scalar(select(…))`` reads it: the first row of the tenant's (there is
one: the writers read it before they add one), each column defaulted.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, func, literal, select

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import column
from models import CareSettings, CaseSettings, CaseWorkflowSettings, VolunteerSettings
from resolvers import cases as case_service
from resolvers.care import DEFAULT_KEY_VISIT_DAYS, DEFAULT_ROUTINE_VISIT_DAYS
from resolvers.errors import ServiceError


def _staff(cx: Compiler) -> None:
    """resolvers.cases.settings and workflow_settings check the actor first: the same check (refused,
    strawberry answers with their error)."""
    try:
        case_service.require_staff(cx.ctx)
    except ServiceError:
        raise Unsupported("refused by the resolvers") from None


def _row(cx: Compiler, model: Any, defaults: dict[str, Any]) -> Any:
    """The tenant's row of ``model`` (its first), each column or its default when there is none."""
    t = model.__table__
    cols = [func.coalesce(select(t.c[name]).where(t.c.tenant_id == cx.tenant_id).limit(1).scalar_subquery(),
                          literal(value)).label(name) for name, value in defaults.items()]
    return select(*cols).subquery("r")


def _object(cx: Compiler, sel: Sel, type_name: str, model: Any, defaults: dict[str, Any]) -> ColumnElement[Any]:
    row = _row(cx, model, defaults)
    return select(cx.sub(type_name, sel, row)).select_from(row).scalar_subquery()


def case_settings(cx: Compiler, _row_: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cases.settings: the row, or a feedback wait of 7 days."""
    _staff(cx)
    return _object(cx, sel, "CaseSettings", CaseSettings, {"feedback_wait_days": 7})


def case_workflow_settings(cx: Compiler, _row_: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cases.workflow_settings: the row, or auto-supervision on and the default minimum."""
    _staff(cx)
    return _object(cx, sel, "CaseWorkflowSettings", CaseWorkflowSettings,
                   {"auto_supervise_overdue": True, "min_handling_minutes": case_service.DEFAULT_MIN_HANDLING_MINUTES})


def care_settings(cx: Compiler, _row_: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.care.care_settings: the row, or 5–15 households a lead, visits every 7 and 90 days."""
    return _object(cx, sel, "CareSettings", CareSettings,
                   {"lead_min_households": 5, "lead_max_households": 15, "key_visit_days": DEFAULT_KEY_VISIT_DAYS,
                    "routine_visit_days": DEFAULT_ROUTINE_VISIT_DAYS})


def points_per_hour(cx: Compiler, _row_: None, _sel: Sel) -> ColumnElement[Any]:
    """resolvers.volunteering.points_per_hour: the row's rule, 0 without one (``… or 0``: NULL is 0 too)."""
    t = VolunteerSettings.__table__
    rule = select(t.c.points_per_hour).where(t.c.tenant_id == cx.tenant_id).limit(1).scalar_subquery()
    return func.coalesce(rule, literal(0, Integer))


TABLES: dict[str, FieldTable] = {
    "Query": {"caseSettings": case_settings, "caseWorkflowSettings": case_workflow_settings,
              "careSettings": care_settings, "pointsPerHour": points_per_hour},
    "CaseSettings": {"feedbackWaitDays": column("feedback_wait_days")},
    "CaseWorkflowSettings": {"autoSuperviseOverdue": column("auto_supervise_overdue"),
                             "minHandlingMinutes": column("min_handling_minutes")},
    "CareSettings": {f: column(c) for f, c in (("leadMinHouseholds", "lead_min_households"),
                                                ("leadMaxHouseholds", "lead_max_households"),
                                                ("keyVisitDays", "key_visit_days"),
                                                ("routineVisitDays", "routine_visit_days"))},
}
