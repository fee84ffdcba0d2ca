"""resolvers of the audit domain: its public module (other domains import only this)."""

from .service import (
    AREA_PATH_OF,
    audit_predicate,
    get_audit_entry,
    list_audit,
    record_mutation,
)

__all__ = [
    "AREA_PATH_OF",
    "audit_predicate",
    "get_audit_entry",
    "list_audit",
    "record_mutation",
]
