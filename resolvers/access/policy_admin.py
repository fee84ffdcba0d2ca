"""Policy administration: the street admin reads and edits the tenant's Casbin policy lines, within
what the platform allows. Every change bumps the tenant's policy version; each request reads that
version with the tenant row, so every server process enforces a change from its next request on.
(Changes are audited like every mutation.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select, update

from models import CasbinRule, Tenant
from policies.enforcer import default_rules
from policies.roles import Condition, Role
from resolvers import register as register_service
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# Resources that hold personal data or govern access: never granted to partner units.
_NOT_FOR_PARTNERS = frozenset(
    {"household", "person", "role_assignment", "policy", "audit_log", "visit", "care_service"}
)


@dataclass(frozen=True)
class Rule:
    role: str
    resource: str
    action: str
    condition: str


def platform_actions() -> frozenset[tuple[str, str]]:
    """The (resource, action) pairs the platform implements: those of the default policy."""
    return frozenset((r[2], r[3]) for r in default_rules() if r[0] == "p")


def administers_policy(ctx: RequestContext) -> bool:
    """Whether the actor administers the tenant's policy (reads and edits it): the street admin."""
    return ctx.actor.grant("policy", "edit").all


# The order of the policy's lines as ``policy`` lists them, the compiled read's (compiled/policy.py)
# too: by resource, action and role, then condition and id, so that no two lines tie.
RULE_ORDER = (CasbinRule.v2, CasbinRule.v3, CasbinRule.v0, CasbinRule.v4, CasbinRule.id)


def _require_admin(ctx: RequestContext) -> None:
    if not administers_policy(ctx):
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以管理权限策略",
                                                  "only the street admin administers the policy"), "role")


def validate(rule: Rule) -> None:
    """What no tenant may grant, whatever it edits."""
    try:
        role = Role(rule.role)
    except ValueError:
        raise ServiceError(ErrorCode.INVALID, t(f"没有角色 {rule.role!r}",
                                                f"unknown role {rule.role!r}"), "role") from None
    try:
        cond = Condition(rule.condition)
    except ValueError:
        raise ServiceError(ErrorCode.INVALID, t(f"没有条件 {rule.condition!r}",
                                                f"unknown condition {rule.condition!r}"), "condition") from None
    if (rule.resource, rule.action) not in platform_actions():
        raise ServiceError(ErrorCode.INVALID, t(f"平台没有 {rule.resource}·{rule.action} 这项操作",
                                                f"the platform has no action {rule.resource}·{rule.action}"), "action")
    if role is Role.PARTNER_UNIT:
        if (rule.resource, rule.action) == register_service.CONSENTED_GRANT:
            pass  # personal data of consenting persons only; grant_permission checks consents exist
        elif rule.resource in _NOT_FOR_PARTNERS or (rule.resource, rule.action) == ("person", "read_pii"):
            raise ServiceError(ErrorCode.FORBIDDEN, t("共建单位不能获得个人信息或权限管理",
                                                      "partner units never get personal data or access control"),
                               "resource")
        if cond is not Condition.AGREEMENT:
            raise ServiceError(ErrorCode.INVALID, t("共建单位只能通过共建协议行事",
                                                    "partner units act only through agreements"), "condition")
    if cond is Condition.ALL and role is not Role.STREET_ADMIN:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以对整个街道操作",
                                                  "only the street admin acts on the whole tenant"), "condition")
    if rule.resource == "policy" and role is not Role.STREET_ADMIN:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以管理权限策略",
                                                  "only the street admin administers the policy"), "resource")


async def list_rules(ctx: RequestContext) -> tuple[int, list[Rule]]:
    _require_admin(ctx)
    rows = await ctx.db.all(select(CasbinRule.v0, CasbinRule.v2, CasbinRule.v3, CasbinRule.v4)
                            .where(CasbinRule.ptype == "p").order_by(*RULE_ORDER))
    version = await ctx.db.scalar(select(Tenant.policy_version).where(Tenant.id == ctx.tenant.id))
    return int(version or 0), [Rule(*r) for r in rows]


def _match(rule: Rule) -> tuple[ColumnElement[bool], ...]:
    return (CasbinRule.ptype == "p", CasbinRule.v0 == rule.role, CasbinRule.v2 == rule.resource,
            CasbinRule.v3 == rule.action, CasbinRule.v4 == rule.condition)


async def _bump(ctx: RequestContext) -> int:
    await ctx.db.execute(update(Tenant).where(Tenant.id == ctx.tenant.id)
                         .values(policy_version=Tenant.policy_version + 1)
                         .execution_options(synchronize_session=False))
    return int(await ctx.db.scalar(select(Tenant.policy_version).where(Tenant.id == ctx.tenant.id)))


async def grant_permission(ctx: RequestContext, rule: Rule) -> int:
    _require_admin(ctx)
    validate(rule)
    if rule.role == Role.PARTNER_UNIT.value and (rule.resource, rule.action) == register_service.CONSENTED_GRANT:
        await register_service.require_consents(ctx, "resource")  # PIPL art. 23
    if await ctx.db.scalar(select(CasbinRule.id).where(*_match(rule))) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("策略中已有这一条", "the policy already has this line"), "role")
    await ctx.db.flush(CasbinRule(ptype="p", v0=rule.role, v1=str(ctx.tenant.id), v2=rule.resource,
                                  v3=rule.action, v4=rule.condition, v5="", created_at=ctx.now))
    return await _bump(ctx)


async def revoke_permission(ctx: RequestContext, rule: Rule) -> int:
    _require_admin(ctx)
    if rule == Rule("street_admin", "policy", "edit", "all"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("街道管理员须保留编辑策略的权限",
                                                  "the street admin keeps the right to edit the policy"), "role")
    result = await ctx.db.execute(delete(CasbinRule).where(*_match(rule)))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ServiceError(ErrorCode.NOT_FOUND, t("策略中没有这一条", "the policy has no such line"), "role")
    return await _bump(ctx)
