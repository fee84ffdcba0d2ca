"""schema of the care domain: its public module (other domains import only this)."""

from .inputs import (
    AddCareTagKindInput,
    AppointLeadInput,
    CareServicePayload,
    CareServiceRecordPayload,
    CareSettingsPayload,
    CareTagKindPayload,
    CreateCareServiceInput,
    NeighborLeadPayload,
    PostWishInput,
    RecordCareServiceInput,
    RecordVisitInput,
    SetLeadHouseholdsInput,
    UpdateCareSettingsInput,
    VisitCaseInput,
    VisitPayload,
    WishPayload,
    WishTransitionInput,
)
from .mutation import CareMutation
from .nodes import (
    CARE_NODE_TYPES,
    CARE_TYPES,
    resolve_care_node,
)
from .query import CareQuery
from .types import (
    CareService,
    CareServiceRecord,
    CareSettings,
    CoverageGrouping,
    NeighborLead,
    Visit,
    VisitCadence,
    VisitCoverage,
    Wish,
)

__all__ = [
    "CARE_NODE_TYPES",
    "CARE_TYPES",
    "AddCareTagKindInput",
    "AppointLeadInput",
    "CareMutation",
    "CareQuery",
    "CareService",
    "CareServicePayload",
    "CareServiceRecord",
    "CareServiceRecordPayload",
    "CareSettings",
    "CareSettingsPayload",
    "CareTagKindPayload",
    "CoverageGrouping",
    "CreateCareServiceInput",
    "NeighborLead",
    "NeighborLeadPayload",
    "PostWishInput",
    "RecordCareServiceInput",
    "RecordVisitInput",
    "SetLeadHouseholdsInput",
    "UpdateCareSettingsInput",
    "Visit",
    "VisitCadence",
    "VisitCaseInput",
    "VisitCoverage",
    "VisitPayload",
    "Wish",
    "WishPayload",
    "WishTransitionInput",
    "resolve_care_node",
]

from schema.parts import SchemaParts

PARTS = SchemaParts(query=CareQuery, mutation=CareMutation, types=tuple(CARE_TYPES),
                    nodes=dict.fromkeys(sorted(CARE_NODE_TYPES), resolve_care_node))
