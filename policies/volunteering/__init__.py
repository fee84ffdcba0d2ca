"""policies of the volunteering domain: its public module (other domains import only this)."""

from .filters import (
    activity_signup_predicate,
    compound_predicate,
    person_points_predicate,
)

__all__ = [
    "activity_signup_predicate",
    "compound_predicate",
    "person_points_predicate",
]
