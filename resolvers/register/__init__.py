"""resolvers of the register domain: its public module (other domains import only this)."""

from .area_moves import archive_area, move_area
from .areas import (
    AreaFields,
    area_list_filters,
    create_area,
    get_readable_area,
    list_areas,
    set_grid_buildings,
    update_area,
)
from .consent import (
    CONSENTED_GRANT,
    consent_required,
    consents_in_force,
    record_consent,
    require_consents,
    withdraw_consent,
)
from .erasure import ERASED_NAME, ErasureRequest, erase_person, is_erased, reapply_erasures
from .onboarding_import import KIND as ONBOARDING_KIND
from .onboarding_import import ImportReport as OnboardingReport
from .onboarding_import import check_may_onboard
from .onboarding_import import new_job as new_onboarding_job
from .onboarding_import import report_xlsx as onboarding_report_xlsx
from .onboarding_import import run_import as run_onboarding_import
from .onboarding_import import summary as onboarding_summary
from .onboarding_import import template_xlsx as onboarding_template_xlsx
from .organisations import (
    PartyOrgFields,
    add_party_org_member,
    create_owner_committee,
    create_party_org,
    create_property_firm,
    create_service_contract,
    end_service_contract,
    firm_serves,
    list_owner_committees,
    list_party_orgs,
    list_property_firms,
    list_service_contracts,
    property_firms,
    property_firms_page,
    update_property_firm,
)
from .owners import (
    end_property_ownership,
    owners_by_household,
    register_property_owner,
)
from .personal_data import NOT_WALKED, Reference, personal_data_report, references
from .residence import MOVES, move, moves_by_person, person_moves
from .retention import apply_retention, months_before, retention_months, set_retention_months
from .self_governing import (
    add_central_household,
    create_self_governing_unit,
    list_central_households,
    list_self_governing_units,
)
from .service import (
    HouseholdFields,
    PersonFields,
    care_tag_kinds,
    care_tag_kinds_page,
    create_household,
    create_person,
    list_households,
    list_persons,
    person_list_filters,
    update_household,
    update_person,
)

__all__ = [
    "CONSENTED_GRANT",
    "ERASED_NAME",
    "MOVES",
    "NOT_WALKED",
    "ONBOARDING_KIND",
    "AreaFields",
    "ErasureRequest",
    "HouseholdFields",
    "OnboardingReport",
    "PartyOrgFields",
    "PersonFields",
    "Reference",
    "add_central_household",
    "add_party_org_member",
    "apply_retention",
    "archive_area",
    "area_list_filters",
    "care_tag_kinds",
    "care_tag_kinds_page",
    "check_may_onboard",
    "consent_required",
    "consents_in_force",
    "create_area",
    "create_household",
    "create_owner_committee",
    "create_party_org",
    "create_person",
    "create_property_firm",
    "create_self_governing_unit",
    "create_service_contract",
    "end_property_ownership",
    "end_service_contract",
    "erase_person",
    "firm_serves",
    "get_readable_area",
    "is_erased",
    "list_areas",
    "list_central_households",
    "list_households",
    "list_owner_committees",
    "list_party_orgs",
    "list_persons",
    "list_property_firms",
    "list_self_governing_units",
    "list_service_contracts",
    "months_before",
    "move",
    "move_area",
    "moves_by_person",
    "new_onboarding_job",
    "onboarding_report_xlsx",
    "onboarding_summary",
    "onboarding_template_xlsx",
    "owners_by_household",
    "person_list_filters",
    "person_moves",
    "personal_data_report",
    "property_firms",
    "property_firms_page",
    "reapply_erasures",
    "record_consent",
    "references",
    "register_property_owner",
    "require_consents",
    "retention_months",
    "run_onboarding_import",
    "set_grid_buildings",
    "set_retention_months",
    "update_area",
    "update_household",
    "update_person",
    "update_property_firm",
    "withdraw_consent",
]
