"""schema of the access domain: its public module (other domains import only this)."""

from .types import (
    Policy,
    PolicyChangePayload,
    PolicyMutation,
    PolicyQuery,
    PolicyRule,
    PolicyRuleInput,
)

__all__ = [
    "Policy",
    "PolicyChangePayload",
    "PolicyMutation",
    "PolicyQuery",
    "PolicyRule",
    "PolicyRuleInput",
]

from schema.parts import SchemaParts
from schema.register import RoleAssignment

from .nodes import NODES

PARTS = SchemaParts(query=PolicyQuery, mutation=PolicyMutation, types=(RoleAssignment,), nodes=NODES)
