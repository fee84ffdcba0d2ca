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

import strawberry

from schema.parts import SchemaParts
from schema.register import RoleAssignment

from .nodes import NODES
from .users import UserAccount, UserMutation, UserQuery, user_node


@strawberry.type
class AccessQuery(PolicyQuery, UserQuery):
    pass


@strawberry.type
class AccessMutation(PolicyMutation, UserMutation):
    pass


PARTS = SchemaParts(query=AccessQuery, mutation=AccessMutation, types=(RoleAssignment, UserAccount),
                    nodes={**NODES, "UserAccount": user_node})
