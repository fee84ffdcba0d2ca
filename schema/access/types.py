"""Policy administration in GraphQL (策略管理): the street admin's view and edits of the tenant's
permission lines."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.access import policy_admin as svc
from schema.common import UserError, context, field, mutate, mutation, query_call


@strawberry.type(description="A permission line (权限规则): a role may do an action on a resource under a condition.")
class PolicyRule:
    role: str = strawberry.field(description="Role, e.g. grid_leader.")
    resource: str = strawberry.field(description="Resource type, e.g. case.")
    action: str = strawberry.field(description="Action, e.g. dispatch.")
    condition: str = strawberry.field(description="Condition: all, scope, own, own_compound, served, assigned, "
                                                  "public, agreement, own_reports, party_member, grid_compound.")


@strawberry.type(description="The tenant's policy (权限策略) at a version.")
class Policy:
    version: int = strawberry.field(description="Bumped by every change; every server enforces the newest.")
    rules: list[PolicyRule] = strawberry.field(description="Its permission lines (inherited along the role chain).")


@strawberry.input(description="A permission line to add or remove.")
class PolicyRuleInput:
    role: str = strawberry.field(description="Role.")
    resource: str = strawberry.field(description="Resource type.")
    action: str = strawberry.field(description="Action.")
    condition: str = strawberry.field(description="Condition.")


@strawberry.type(description="Result of a policy change.")
class PolicyChangePayload:
    version: int | None = strawberry.field(description="The policy version after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _rule(i: PolicyRuleInput) -> svc.Rule:
    return svc.Rule(role=i.role.strip(), resource=i.resource.strip(), action=i.action.strip(),
                    condition=i.condition.strip())


@strawberry.type
class PolicyQuery:
    @field(description="The tenant's permission policy (street admin).")
    async def policy(self, info: Info) -> Policy:
        version, rules = await query_call(svc.list_rules(context(info)))
        return Policy(version=version, rules=[PolicyRule(role=r.role, resource=r.resource, action=r.action,
                                                         condition=r.condition) for r in rules])


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
