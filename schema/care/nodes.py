"""Node resolution for the care domain: node(id:) finds each type through its service's read predicate."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.types import Info

from resolvers import care as care_service
from schema.care.types import (
    CareService,
    CareServiceRecord,
    NeighborLead,
    Visit,
    Wish,
)
from schema.common import context


async def resolve_care_node(info: Info, type_name: str, id_: uuid.UUID) -> Any:
    ctx = context(info)
    if type_name == "NeighborLead":
        lead = await care_service.get_lead(ctx, id_)
        return None if lead is None else NeighborLead(_m=lead)
    if type_name == "Visit":
        visit = await care_service.get_visit(ctx, id_)
        return None if visit is None else Visit(_m=visit)
    if type_name == "CareService":
        svc = await care_service.get_care_service(ctx, id_)
        return None if svc is None else CareService(_m=svc)
    if type_name == "CareServiceRecord":
        record = await care_service.get_service_record(ctx, id_)
        return None if record is None else CareServiceRecord(_m=record)
    if type_name == "Wish":
        wish = await care_service.get_wish(ctx, id_)
        return None if wish is None else Wish(_m=wish)
    return None


CARE_NODE_TYPES = frozenset({"NeighborLead", "Visit", "CareService", "CareServiceRecord", "Wish"})
CARE_TYPES = [NeighborLead, Visit, CareService, CareServiceRecord, Wish]
