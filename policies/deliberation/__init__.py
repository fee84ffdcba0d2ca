"""policies of the deliberation domain: its public module (other domains import only this)."""

from .filters import (
    area_rows_predicate,
)

__all__ = [
    "area_rows_predicate",
]
