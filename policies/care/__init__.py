"""policies of the care domain: its public module (other domains import only this). Its default
policy lines are policies/care/policy.csv."""

from .filters import (
    acts_as_lead,
    care_household_predicate,
    care_service_predicate,
    wish_predicate,
)

__all__ = ["acts_as_lead", "care_household_predicate", "care_service_predicate", "wish_predicate"]
