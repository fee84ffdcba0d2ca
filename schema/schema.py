"""The assembled strawberry Schema, built from the parts every domain declares (``SchemaParts``);
the composition root (``gongzhi.modules``) says which domains there are, in which order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.tools import merge_types
from strawberry.types.scalar import ScalarDefinition

from schema.descriptions import describe  # frontend teams' experience (issue #12)
from schema.parts import NodeResolver, SchemaParts

MAX_DEPTH = 12
MAX_TOKENS = 5000
MAX_ALIASES = 30


# The depth and alias limiters build a new rule class per instance, and strawberry makes an
# instance per request: the validation cache, keyed by the rules, then never hit (≈ 12 ms a request,
# issue #9). One set of rule classes, made once, keeps the cache warm.
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules]


class _FixedRules(AddValidationRules):
    """The depth and alias limits (schema.MAX_DEPTH, MAX_ALIASES) with the same rule classes every time."""

    def __init__(self) -> None:
        super().__init__(_LIMIT_RULES)


def _utc_isoformat(value: datetime) -> str:
    """One rule for every DateTime the API returns (issue #25): UTC, ISO 8601 with +00:00. A value
    without a zone (SQLite hands some back so) is UTC already: the app stores UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


_DATETIME = ScalarDefinition(
    name="DateTime", serialize=_utc_isoformat, parse_value=DateTimeDefinition.parse_value,
    parse_literal=None, specified_by_url=None,
    description="Date with time, ISO 8601. Every DateTime the API returns is in UTC (+00:00); one you send "
                "should carry its offset (日期时间，UTC).")


class Schema(strawberry.Schema):
    """A strawberry Schema that also knows the resolver of every node type (``node(id:)``)."""

    node_resolvers: Mapping[str, NodeResolver]


def _merged(name: str, roots: Sequence[type | None]) -> type | None:
    present = tuple(r for r in roots if r is not None)
    return merge_types(name, present) if present else None


def build_schema(parts: Sequence[SchemaParts], *, introspection: bool = True) -> Schema:
    """The schema of these domains' parts; production builds it without introspection (the
    committed SDL is the contract). A node type two domains both claim is refused."""
    nodes: dict[str, NodeResolver] = {}
    for p in parts:
        clash = nodes.keys() & p.nodes.keys()
        if clash:
            raise ValueError(f"node types registered twice: {sorted(clash)}")
        nodes.update(p.nodes)
    query = _merged("Query", [p.query for p in parts])
    if query is None:
        raise ValueError("no domain declares a Query field")
    extra = [] if introspection else [DisableIntrospection]
    built = Schema(
        query=query,
        mutation=_merged("Mutation", [p.mutation for p in parts]),
        subscription=_merged("Subscription", [p.subscription for p in parts]),
        types=[t for p in parts for t in p.types],
        extensions=[
            _FixedRules,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            ParserCache,
            ValidationCache,
            *extra,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map={datetime: _DATETIME}),
    )
    built.node_resolvers = nodes
    # Issue #12: the descriptions the definitions leave out (enum values, recurring arguments).
    describe(built._schema)
    return built
