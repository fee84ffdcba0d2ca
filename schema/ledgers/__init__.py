"""schema of the ledgers domain: its public module (other domains import only this)."""

from .types import (
    NODE_TYPES,
    ImportJob,
    ImportJobKind,
    ImportJobStatus,
    LedgerQuery,
)

__all__ = [
    "NODE_TYPES",
    "ImportJob",
    "ImportJobKind",
    "ImportJobStatus",
    "LedgerQuery",
]

from schema.parts import SchemaParts

from .nodes import NODES

PARTS = SchemaParts(query=LedgerQuery, types=tuple(NODE_TYPES), nodes=NODES)
