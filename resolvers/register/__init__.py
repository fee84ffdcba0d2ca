"""resolvers of the register domain: its public module (other domains import only this)."""

from .area_moves import archive_area, move_area
from .areas import (
    AreaFields,
    create_area,
    get_readable_area,
    list_areas,
    set_grid_buildings,
    update_area,
)
from .onboarding_import import ImportReport as OnboardingReport
from .onboarding_import import run_import as run_onboarding_import
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
    update_property_firm,
)
from .service import (
    HouseholdFields,
    PersonFields,
    care_tag_kinds,
    create_household,
    create_person,
    list_households,
    list_persons,
    update_household,
    update_person,
)

__all__ = [
    "AreaFields",
    "HouseholdFields",
    "OnboardingReport",
    "PartyOrgFields",
    "PersonFields",
    "add_party_org_member",
    "archive_area",
    "care_tag_kinds",
    "create_area",
    "create_household",
    "create_owner_committee",
    "create_party_org",
    "create_person",
    "create_property_firm",
    "create_service_contract",
    "end_service_contract",
    "firm_serves",
    "get_readable_area",
    "list_areas",
    "list_households",
    "list_owner_committees",
    "list_party_orgs",
    "list_persons",
    "list_property_firms",
    "list_service_contracts",
    "move_area",
    "onboarding_template_xlsx",
    "run_onboarding_import",
    "set_grid_buildings",
    "update_area",
    "update_household",
    "update_person",
    "update_property_firm",
]
