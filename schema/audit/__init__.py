"""schema of the audit domain: its public module (other domains import only this)."""

from .types import (
    AuditChange,
    AuditEntry,
    AuditFieldChange,
    wrap,
)

__all__ = [
    "AuditChange",
    "AuditEntry",
    "AuditFieldChange",
    "wrap",
]
