"""Compiled reads of the tenant's settings lists (issue #21): the case configuration (categories, SLA
rules, calendar overrides, stage limits, closure rules), the case categories offered to reporters, the
care groups, the property firms, the evaluation items and periods — each plain list and its connection,
from one declaration per list: the resolvers' own statement (which checks the actor: staff only where
the resolvers say so) and the resolvers' own order (``compiled.sorted_lists``). The node fields are the
strawberry types' column declarations.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS``: the root fields and the types they reach."""

from __future__ import annotations

from typing import Any

from compiled.compiler import FieldTable
from compiled.fields import CONNECTION, EDGE
from compiled.sorted_lists import SortedList, node_fields, sorted_connection, sorted_list
from compiled.sql import gid
from models import EvaluationTarget
from resolvers import cases as case_lists
from resolvers import evaluations as evaluation_lists
from resolvers import register as register_lists
from schema.cases import CalendarOverride, CaseCategory, CaseCategoryRule, CaseCategorySetting, CaseStageLimit, SlaRule
from schema.evaluations import EvaluationItem, EvaluationPeriod
from schema.register import CareTagKind, PropertyFirm


def _year(a: dict[str, Any]) -> int:
    return int(a["year"])


def _items_of(a: dict[str, Any]) -> tuple[EvaluationTarget, bool]:
    return EvaluationTarget(a["target"]), bool(a.get("includeInactive"))


# root list (plain form) → how it is read; its connection is "<name>Connection"
LISTS: dict[str, SortedList] = {
    "caseCategorySettings": SortedList("CaseCategorySetting", lambda ctx, _: case_lists.category_setting_rows(ctx),
                                       case_lists.CATEGORY_SETTINGS),
    "slaRules": SortedList("SlaRule", lambda ctx, _: case_lists.sla_rule_rows(ctx), case_lists.SLA_RULES),
    "calendarOverrides": SortedList("CalendarOverride", case_lists.calendar_override_rows,
                                    case_lists.CALENDAR_OVERRIDES, _year),
    "caseStageLimits": SortedList("CaseStageLimit", lambda ctx, _: case_lists.stage_limit_rows(ctx),
                                  case_lists.STAGE_LIMITS),
    "caseCategoryRules": SortedList("CaseCategoryRule", lambda ctx, _: case_lists.category_rule_rows(ctx),
                                    case_lists.CATEGORY_RULES),
    "caseCategories": SortedList("CaseCategory", lambda ctx, _: case_lists.category_rows(ctx), case_lists.CATEGORIES),
    "careTagKinds": SortedList("CareTagKind", lambda ctx, _: register_lists.care_tag_kind_rows(ctx),
                               register_lists.CARE_TAG_KINDS),
    "propertyFirms": SortedList("PropertyFirm", lambda ctx, _: register_lists.property_firm_rows(ctx),
                                register_lists.PROPERTY_FIRMS),
    "evaluationItems": SortedList("EvaluationItem", lambda _ctx, v: evaluation_lists.item_rows(*v),
                                  evaluation_lists.ITEMS, _items_of),
    "evaluationPeriods": SortedList("EvaluationPeriod", lambda _ctx, _: evaluation_lists.period_rows(),
                                    evaluation_lists.PERIODS),
}

NODES: dict[str, FieldTable] = {
    "CaseCategorySetting": node_fields(CaseCategorySetting),
    "SlaRule": node_fields(SlaRule),
    "CalendarOverride": node_fields(CalendarOverride),
    "CaseStageLimit": node_fields(CaseStageLimit),
    "CaseCategoryRule": node_fields(CaseCategoryRule),
    "CaseCategory": node_fields(CaseCategory),
    "CareTagKind": node_fields(CareTagKind),
    "PropertyFirm": {"id": lambda _cx, f, _s: gid("PropertyFirm", f.c.id), **node_fields(PropertyFirm)},
    # active: the resolvers give the row's flag with includeInactive, else True — for rows that are all
    # active then (item_rows filters them), so the column either way
    "EvaluationItem": {**node_fields(EvaluationItem), "active": lambda _cx, i, _s: i.c.active},
    "EvaluationPeriod": {"id": lambda _cx, p, _s: gid("EvaluationPeriod", p.c.id), **node_fields(EvaluationPeriod)},
}

TABLES: dict[str, FieldTable] = {
    "Query": {**{name: sorted_list(spec) for name, spec in LISTS.items()},
              **{f"{name}Connection": sorted_connection(spec) for name, spec in LISTS.items()}},
    **NODES,
    **{f"{spec.node_type}Connection": CONNECTION for spec in LISTS.values()},
    **{f"{spec.node_type}Edge": EDGE for spec in LISTS.values()},
}
