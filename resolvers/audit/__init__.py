"""resolvers of the audit domain: its public module (other domains import only this)."""

from .chain import (
    BATCH,
    CONTENT_COLUMNS,
    JOB_LIMIT,
    Break,
    ChainReport,
    canonical,
    chain_start,
    document,
    hash_of,
    purgeable,
    seal,
    sealed_rows,
    verify,
)
from .service import (
    AREA_PATH_OF,
    audit_list_filters,
    audit_predicate,
    get_audit_entry,
    list_audit,
    object_id_needle,
    record_mutation,
)

__all__ = [
    "AREA_PATH_OF",
    "BATCH",
    "CONTENT_COLUMNS",
    "JOB_LIMIT",
    "Break",
    "ChainReport",
    "audit_list_filters",
    "audit_predicate",
    "canonical",
    "chain_start",
    "document",
    "get_audit_entry",
    "hash_of",
    "list_audit",
    "object_id_needle",
    "purgeable",
    "record_mutation",
    "seal",
    "sealed_rows",
    "verify",
]
