"""resolvers of the register domain: its public module (other domains import only this)."""

from .areas import (
    AreaFields,
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
from .owners import (
    end_property_ownership,
    owners_by_household,
    register_property_owner,
)
from .personal_data import NOT_WALKED, Reference, personal_data_report, references
from .residence import MOVES, move, person_moves
from .retention import apply_retention, months_before, retention_months, set_retention_months
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
    "CONSENTED_GRANT",
    "ERASED_NAME",
    "MOVES",
    "NOT_WALKED",
    "AreaFields",
    "ErasureRequest",
    "HouseholdFields",
    "PersonFields",
    "Reference",
    "apply_retention",
    "care_tag_kinds",
    "consent_required",
    "consents_in_force",
    "create_area",
    "create_household",
    "create_person",
    "end_property_ownership",
    "erase_person",
    "get_readable_area",
    "is_erased",
    "list_areas",
    "list_households",
    "list_persons",
    "months_before",
    "move",
    "owners_by_household",
    "person_moves",
    "personal_data_report",
    "reapply_erasures",
    "record_consent",
    "references",
    "register_property_owner",
    "require_consents",
    "retention_months",
    "set_grid_buildings",
    "set_retention_months",
    "update_area",
    "update_household",
    "update_person",
    "withdraw_consent",
]
