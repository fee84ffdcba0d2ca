"""schema of the cases domain: its public module (other domains import only this)."""

from .config import (
    CalendarOverride,
    CalendarOverridePayload,
    CaseCategoryPayload,
    CaseCategorySetting,
    CaseConfigMutation,
    CaseConfigQuery,
    CaseSettings,
    CaseSettingsPayload,
    SetCalendarOverrideInput,
    SetCaseCategoryInput,
    SetSlaRuleInput,
    SlaRule,
    SlaRulePayload,
)
from .inputs import (
    CaseFeedbackInput,
    CasePayload,
    CaseReasonInput,
    CaseReviewPayload,
    CaseTransitionInput,
    CreateCaseReviewInput,
    DispatchCaseInput,
    EscalateCaseInput,
    MarkReadPayload,
    ReportCaseInput,
    ResolveCaseInput,
)
from .mutation import CaseMutation
from .photos import Photo
from .query import CaseQuery
from .rates import CaseRates, month_rates
from .stage_types import CaseCategoryRule, CaseStageLimit
from .subscriptions import (
    CaseEventMessage,
    Subscription,
)
from .types import (
    Case,
    CaseCategory,
    CaseReview,
    CaseStatistics,
    CaseTimelineEntry,
    KeyCount,
    Notification,
    NotificationKind,
)

__all__ = [
    "CalendarOverride",
    "CalendarOverridePayload",
    "Case",
    "CaseCategory",
    "CaseCategoryPayload",
    "CaseCategoryRule",
    "CaseCategorySetting",
    "CaseConfigMutation",
    "CaseConfigQuery",
    "CaseEventMessage",
    "CaseFeedbackInput",
    "CaseMutation",
    "CasePayload",
    "CaseQuery",
    "CaseRates",
    "CaseReasonInput",
    "CaseReview",
    "CaseReviewPayload",
    "CaseSettings",
    "CaseSettingsPayload",
    "CaseStageLimit",
    "CaseStatistics",
    "CaseTimelineEntry",
    "CaseTransitionInput",
    "CreateCaseReviewInput",
    "DispatchCaseInput",
    "EscalateCaseInput",
    "KeyCount",
    "MarkReadPayload",
    "Notification",
    "NotificationKind",
    "Photo",
    "ReportCaseInput",
    "ResolveCaseInput",
    "SetCalendarOverrideInput",
    "SetCaseCategoryInput",
    "SetSlaRuleInput",
    "SlaRule",
    "SlaRulePayload",
    "Subscription",
    "month_rates",
]

from strawberry.tools import merge_types

from schema.parts import SchemaParts

from .nodes import NODES
from .partner import AssignedCaseMutation, AssignedCaseQuery
from .recategorise import CaseRecategoriseMutation

QUERY = merge_types("CaseQuery", (CaseQuery, AssignedCaseQuery))
MUTATION = merge_types("CaseMutation", (CaseMutation, CaseRecategoriseMutation, AssignedCaseMutation))
PARTS = SchemaParts(query=QUERY, mutation=MUTATION, subscription=Subscription,
                    types=(Case, CaseReview, Notification), nodes=NODES)
