"""resolvers of the access domain: its public module (other domains import only this)."""

from .policy_admin import (
    RULE_ORDER,
    Rule,
    administers_policy,
    grant_permission,
    list_rules,
    platform_actions,
    revoke_permission,
    validate,
)
from .service import (
    grant_role,
    list_role_assignments,
    revoke_role,
    role_assignment_list_filters,
)
from .users import user_list_filters

__all__ = [
    "RULE_ORDER",
    "Rule",
    "administers_policy",
    "grant_permission",
    "grant_role",
    "list_role_assignments",
    "list_rules",
    "platform_actions",
    "revoke_permission",
    "revoke_role",
    "role_assignment_list_filters",
    "user_list_filters",
    "validate",
]
