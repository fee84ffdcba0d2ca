"""schema of the audit domain: its public module (other domains import only this)."""

from .types import (
    AuditChange,
    AuditEntry,
    AuditFieldChange,
    AuditOperation,
    MutationOutcome,
    wrap,
)

__all__ = [
    "AuditChange",
    "AuditEntry",
    "AuditFieldChange",
    "AuditOperation",
    "MutationOutcome",
    "wrap",
]

from schema.parts import SchemaParts

from .nodes import NODES

# The audit log is read through Query.auditLog (the root query of the register); this domain adds
# node(id:) for its entries.
PARTS = SchemaParts(types=(AuditEntry,), nodes=NODES)
