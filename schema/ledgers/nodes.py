"""node(id:) for register import jobs."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.types import Info

from resolvers.ledgers import register_import
from schema.common import context
from schema.ledgers.types import ImportJob
from schema.parts import NodeResolver


async def import_job_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    job = await register_import.get_job(context(info), id_)
    return None if job is None else ImportJob(_m=job)


NODES: dict[str, NodeResolver] = {"ImportJob": import_job_node}
