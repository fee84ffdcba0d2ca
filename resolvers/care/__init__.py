"""resolvers of the care domain: its public module (other domains import only this).

Care (关爱): neighbourhood leads and home visits with their cadence, care-group service lists and
service records, needs and micro-wishes (需求清单/微心愿).

Checks follow the house order: validate input, find the object through the read predicate (else
NOT_FOUND), check the action's grant reaches it (else FORBIDDEN), check state (INVALID_TRANSITION),
write.
"""

from .cadence import (
    GROUPINGS,
    CoverageGroup,
    HouseholdCadence,
    cadence,
    coverage,
    overdue_visits,
)
from .leads import (
    appoint_lead,
    end_lead,
    get_lead,
    list_leads,
    set_lead_households,
)
from .loaders import (
    care_service_by_id,
    households_by_lead,
    lead_by_id,
    person_name_by_id,
    wish_identity_visible,
)
from .service_lists import (
    ServiceInput,
    ServiceRecordInput,
    add_care_tag_kind,
    care_services_page,
    create_care_service,
    get_care_service,
    get_service_record,
    list_care_services,
    list_service_records,
    record_care_service,
    retire_care_service,
)
from .settings import (
    SettingsInput,
    care_settings,
    update_care_settings,
)
from .visits import (
    RaiseCase,
    VisitInput,
    get_visit,
    list_visits,
    record_visit,
    visit_list_filters,
    visit_period,
    visit_read_predicate,
)
from .wishes import (
    WISH,
    W,
    cancel_wish,
    claim_wish,
    confirm_wish,
    fulfil_wish,
    get_wish,
    identity_predicate,
    is_party_member,
    list_wishes,
    post_wish,
    release_wish,
    wish_read_predicate,
    wish_read_sql,
)

__all__ = [
    "GROUPINGS",
    "WISH",
    "CoverageGroup",
    "HouseholdCadence",
    "RaiseCase",
    "ServiceInput",
    "ServiceRecordInput",
    "SettingsInput",
    "VisitInput",
    "W",
    "add_care_tag_kind",
    "appoint_lead",
    "cadence",
    "cancel_wish",
    "care_service_by_id",
    "care_services_page",
    "care_settings",
    "claim_wish",
    "confirm_wish",
    "coverage",
    "create_care_service",
    "end_lead",
    "fulfil_wish",
    "get_care_service",
    "get_lead",
    "get_service_record",
    "get_visit",
    "get_wish",
    "households_by_lead",
    "identity_predicate",
    "is_party_member",
    "lead_by_id",
    "list_care_services",
    "list_leads",
    "list_service_records",
    "list_visits",
    "list_wishes",
    "overdue_visits",
    "person_name_by_id",
    "post_wish",
    "record_care_service",
    "record_visit",
    "release_wish",
    "retire_care_service",
    "set_lead_households",
    "update_care_settings",
    "visit_list_filters",
    "visit_period",
    "visit_read_predicate",
    "wish_identity_visible",
    "wish_read_predicate",
    "wish_read_sql",
]
