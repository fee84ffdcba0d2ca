"""node(id:) for audit entries: those the actor may read (the party secretary's scope, or all)."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.types import Info

from resolvers import audit as audit_service
from schema.audit.types import AuditEntry
from schema.common import context
from schema.parts import NodeResolver


async def audit_entry_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    row = await audit_service.get_audit_entry(context(info), id_)
    return None if row is None else AuditEntry(_m=row)


NODES: dict[str, NodeResolver] = {"AuditEntry": audit_entry_node}
