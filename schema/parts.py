"""What one domain adds to the GraphQL schema (``SchemaParts``), and how ``node(id:)`` finds the
resolver of a type. The composition root (``gongzhi.modules``) hands every domain's parts to
``schema.schema.build_schema``; nothing in this layer lists the domains."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info

# (info, GraphQL type name, row id) → the object, or None when it does not exist for the actor.
NodeResolver = Callable[[Info, str, uuid.UUID], Awaitable[Any]]


@dataclass(frozen=True)
class SchemaParts:
    """A domain's root fields (merged into Query, Mutation, Subscription in module order), the
    types the schema must know although no field names them directly (node types), and the
    resolver ``node(id:)`` uses for each of its node types."""

    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()
    nodes: Mapping[str, NodeResolver] = field(default_factory=dict)
