"""policies of the cases domain: its public module (other domains import only this). Its default
policy lines are policies/cases/policy.csv."""

from .filters import case_in_area, case_predicate

__all__ = ["case_in_area", "case_predicate"]
