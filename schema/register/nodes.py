"""node(id:) for the area tree and the register: areas of every kind, households, persons, firms."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from strawberry.types import Info

from models import PropertyFirm as PropertyFirmRow
from resolvers import loaders
from schema.common import context
from schema.parts import NodeResolver
from schema.register.types import AREA_TYPE_NAMES, AREA_TYPES, Household, Person, PropertyFirm, area_type


async def area_node(info: Info, type_name: str, id_: uuid.UUID) -> Any:
    area = await loaders.area_by_id(context(info)).load(id_)
    return area_type(area) if area is not None and AREA_TYPES[area.kind].__name__ == type_name else None


async def household_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    h = await loaders.household_by_id(context(info)).load(id_)
    return None if h is None else Household(_m=h)


async def person_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    p = await loaders.person_by_id(context(info)).load(id_)
    return None if p is None else Person(_m=p)


async def property_firm_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    ctx = context(info)
    firm = await ctx.db.scalar(select(PropertyFirmRow).where(PropertyFirmRow.id == id_))
    return None if firm is None or not ctx.actor.assignments else PropertyFirm(_m=firm)


NODES: dict[str, NodeResolver] = {
    **dict.fromkeys(sorted(AREA_TYPE_NAMES), area_node),
    "Household": household_node,
    "Person": person_node,
    "PropertyFirm": property_firm_node,
}
