"""Policy administration in GraphQL (策略管理): the street admin's view and edits of the tenant's
permission lines."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

import schema.register  # noqa: F401  # declares the Role enum (in place) before PolicyRuleInput resolves it
from policies.roles import Condition, Role
from resolvers.access import policy_admin as svc
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from schema.common import UserError, context, field, graphql_enum, legacy_string_reason, mutate, mutation, query_call

graphql_enum(Condition, name="PolicyCondition",
             description="The condition a permission line puts on the object (权限条件), DESIGN.md §4.")


@strawberry.type(description="A permission line (权限规则): a role may do an action on a resource under a condition.")
class PolicyRule:
    role: str = strawberry.field(description="Role, e.g. grid_leader.",
                                 deprecation_reason=legacy_string_reason("grantedRole"))
    resource: str = strawberry.field(description="Resource type, e.g. case.")
    action: str = strawberry.field(description="Action, e.g. dispatch.")
    condition: str = strawberry.field(description="Condition: all, scope, own, own_compound, served, assigned, "
                                                  "public, agreement, own_reports, party_member, grid_compound.",
                                      deprecation_reason=legacy_string_reason("conditionKind"))
    granted_role: Role | None = strawberry.field(
        default=None, description="The role the line is for (角色); null only for a stored name not known.")
    condition_kind: Condition | None = strawberry.field(
        default=None, description="Its condition (条件); null only for a stored name not known.")


@strawberry.type(description="The tenant's policy (权限策略) at a version.")
class Policy:
    version: int = strawberry.field(description="Bumped by every change; every server enforces the newest.")
    rules: list[PolicyRule] = strawberry.field(description="Its permission lines (inherited along the role chain).")


@strawberry.input(description="A permission line to add or remove.")
class PolicyRuleInput:
    role: str | None = strawberry.field(default=None, description="Role.",
                                        deprecation_reason=legacy_string_reason("grantedRole"))
    resource: str = strawberry.field(description="Resource type.")
    action: str = strawberry.field(description="Action.")
    condition: str | None = strawberry.field(default=None, description="Condition.",
                                             deprecation_reason=legacy_string_reason("conditionKind"))
    granted_role: Role | None = strawberry.field(
        default=None, description="The role the line is for (角色); give this or the deprecated role.")
    condition_kind: Condition | None = strawberry.field(
        default=None, description="Its condition (条件); give this or the deprecated condition.")


@strawberry.type(description="Result of a policy change.")
class PolicyChangePayload:
    version: int | None = strawberry.field(description="The policy version after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _rule(i: PolicyRuleInput) -> svc.Rule:
    return svc.Rule(role=_one(i.role, i.granted_role, "grantedRole"), resource=i.resource.strip(),
                    action=i.action.strip(), condition=_one(i.condition, i.condition_kind, "conditionKind"))


def _one(legacy: str | None, typed: Role | Condition | None, field_name: str) -> str:
    """The enum, or (deprecated) its String: exactly one (issue #25)."""
    if (legacy is None) == (typed is None):
        raise ServiceError(ErrorCode.INVALID, t(f"请给出 {field_name}（与旧的字符串字段二选一）",
                                                f"give {field_name} (or the deprecated string), exactly one"),
                           field_name)
    return legacy.strip() if legacy is not None else typed.value  # type: ignore[union-attr]


def _known(kind: type[Role] | type[Condition], value: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        return None


@strawberry.type
class PolicyQuery:
    @field(description="The tenant's permission policy (street admin).")
    async def policy(self, info: Info) -> Policy:
        version, rules = await query_call(svc.list_rules(context(info)))
        return Policy(version=version, rules=[PolicyRule(role=r.role, resource=r.resource, action=r.action,
                                                         condition=r.condition, granted_role=_known(Role, r.role),
                                                         condition_kind=_known(Condition, r.condition))
                                              for r in rules])


@strawberry.type
class PolicyMutation:
    @mutation(description="Add a permission line (street admin; audited; within what the platform allows).")
    async def grant_permission(self, info: Info, input: PolicyRuleInput) -> PolicyChangePayload:
        async def run() -> Any:
            return await svc.grant_permission(context(info), _rule(input))

        version, errors = await mutate(info, run)
        return PolicyChangePayload(version=version, errors=errors)

    @mutation(description="Remove a permission line (street admin; audited).")
    async def revoke_permission(self, info: Info, input: PolicyRuleInput) -> PolicyChangePayload:
        async def run() -> Any:
            return await svc.revoke_permission(context(info), _rule(input))

        version, errors = await mutate(info, run)
        return PolicyChangePayload(version=version, errors=errors)
