"""resolvers of the register domain: its public module (other domains import only this)."""

from .areas import (
    AreaFields,
    create_area,
    get_readable_area,
    list_areas,
    set_grid_buildings,
    update_area,
)
from .owners import (
    end_property_ownership,
    owners_by_household,
    register_property_owner,
)
from .residence import MOVES, move, person_moves
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
    "MOVES",
    "AreaFields",
    "HouseholdFields",
    "PersonFields",
    "care_tag_kinds",
    "create_area",
    "create_household",
    "create_person",
    "end_property_ownership",
    "get_readable_area",
    "list_areas",
    "list_households",
    "list_persons",
    "move",
    "owners_by_household",
    "person_moves",
    "register_property_owner",
    "set_grid_buildings",
    "update_area",
    "update_household",
    "update_person",
]
