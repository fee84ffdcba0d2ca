"""resolvers of the register domain: its public module (other domains import only this)."""

from .areas import (
    AreaFields,
    create_area,
    get_readable_area,
    list_areas,
    set_grid_buildings,
    update_area,
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
    "get_readable_area",
    "list_areas",
    "list_households",
    "list_persons",
    "move",
    "person_moves",
    "set_grid_buildings",
    "update_area",
    "update_household",
    "update_person",
]
