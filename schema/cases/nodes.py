"""node(id:) for cases and monthly reviews."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.types import Info

from resolvers import cases as case_service
from resolvers import loaders
from schema.cases.types import Case, CaseReview, Notification
from schema.common import context
from schema.parts import NodeResolver


async def case_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    case = await loaders.case_by_id(context(info)).load(id_)
    return None if case is None else Case(_m=case)


async def case_review_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    review = await case_service.get_review(context(info), id_)
    return None if review is None else CaseReview(_m=review)


async def notification_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    row = await case_service.get_notification(context(info), id_)
    return None if row is None else Notification(_m=row)


NODES: dict[str, NodeResolver] = {"Case": case_node, "CaseReview": case_review_node, "Notification": notification_node}
