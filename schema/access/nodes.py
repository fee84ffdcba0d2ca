"""node(id:) for role assignments: those the actor may read, and the actor's own."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from strawberry.types import Info

from models import RoleAssignment as RoleAssignmentRow
from policies.filters import role_assignment_predicate
from schema.common import context
from schema.parts import NodeResolver
from schema.register import RoleAssignment


async def role_assignment_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    ctx = context(info)
    pred = or_(role_assignment_predicate(ctx.actor.grant("role_assignment", "read")),
               RoleAssignmentRow.user_id == ctx.actor.user_id)
    ra = await ctx.db.scalar(select(RoleAssignmentRow).where(RoleAssignmentRow.id == id_, pred))
    return None if ra is None else RoleAssignment(_m=ra, _now=ctx.now)


NODES: dict[str, NodeResolver] = {"RoleAssignment": role_assignment_node}
