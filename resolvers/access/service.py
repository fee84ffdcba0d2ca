"""Role assignments: read and grant within scope, only roles below the granter's own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from models import Area, Member, Person, PropertyFirm, RoleAssignment
from policies.actor import Assignment
from policies.filters import person_predicate, role_assignment_predicate
from policies.roles import Condition, Role, may_grant
from resolvers import validation as v
from resolvers.access.users import find_user, new_account
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


def role_assignment_list_filters(ctx: RequestContext, *, area_path: ColumnElement[str] | str | None = None,
                                 role: Role | None = None, include_inactive: bool = False,
                                 now: ColumnElement[datetime] | datetime | None = None) -> list[ColumnElement[bool]]:
    """The rows of ``roleAssignments``: readable by the grant, under the area's path (when one is
    asked), of the role, in force at ``now`` (the request's clock) unless inactive ones are asked too.
    The compiled read (compiled/access.py) uses the same, with the path a subquery and the clock a parameter."""
    grant = ctx.actor.grant("role_assignment", "read")
    out = [role_assignment_predicate(grant)]
    if area_path is not None:
        # policies.filters types paths as strings; startswith takes an expression (the compiled read's) as well
        out.append(RoleAssignment.scope_area_id.in_(select(Area.id).where(Area.path.startswith(area_path))))
    if role is not None:
        out.append(RoleAssignment.role == role.value)
    if not include_inactive:
        at = ctx.now if now is None else now
        out += [RoleAssignment.revoked_at.is_(None), RoleAssignment.valid_from <= at,
                or_(RoleAssignment.valid_until.is_(None), RoleAssignment.valid_until > at)]
    return out


async def list_role_assignments(
    ctx: RequestContext,
    *,
    area_id: uuid.UUID | None = None,
    role: Role | None = None,
    include_inactive: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> Page[RoleAssignment]:
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(RoleAssignment).where(*role_assignment_list_filters(ctx, area_path=path, role=role,
                                                                      include_inactive=include_inactive))
    return await keyset_page(ctx.db, stmt, RoleAssignment.id, first=first, after=after)


def _granting_assignment(ctx: RequestContext, role: Role, scope_path: str) -> Assignment | None:
    """One of the actor's assignments that lets it grant ``role`` at ``scope_path``, if any."""
    for a in ctx.actor.assignments:
        conds = ctx.actor.policy.conditions(a.role.value, "role_assignment", "grant")
        if not may_grant(a.role, role):
            continue
        if Condition.ALL in conds or (Condition.SCOPE in conds and scope_path.startswith(a.scope_path)):
            return a
    return None


async def grant_role(
    ctx: RequestContext,
    *,
    username: str,
    display_name: str | None,
    role: Role,
    scope_area_id: uuid.UUID,
    firm_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> RoleAssignment:
    username = v.text(username, "username", max_len=64)
    if role is Role.PARTNER_UNIT:
        raise ServiceError(ErrorCode.INVALID, t("共建单位账号通过协议行事，不授予角色",
                                                "partner accounts act through agreements, not role grants"), "role")
    scope: Area | None = await ctx.db.scalar(select(Area).where(Area.id == scope_area_id))
    if scope is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("授权范围的区域不存在", "scope area not found"), "scopeAreaId")
    if not ctx.actor.grant("role_assignment", "grant"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权授予角色", "you may not grant roles"), "role")
    if _granting_assignment(ctx, role, scope.path) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您只能在管辖范围内授予低于自己的角色",
                                                  "you may grant only roles below your own, inside your scope"), "role")
    if role is Role.PROPERTY_FIRM:
        if firm_id is None or await ctx.db.scalar(select(PropertyFirm.id).where(PropertyFirm.id == firm_id)) is None:
            raise ServiceError(ErrorCode.INVALID, t("物业公司角色须指定物业公司",
                                                    "a property firm role names the firm"), "firmId")
    elif firm_id is not None:
        raise ServiceError(ErrorCode.INVALID, t("只有物业公司角色才指定物业公司",
                                                "only a property firm role names a firm"), "firmId")
    start = valid_from or ctx.now
    if valid_until is not None and valid_until <= start:
        raise ServiceError(ErrorCode.INVALID, t("validUntil 应晚于 validFrom",
                                                "validUntil must be after validFrom"), "validUntil")
    # Accounts belong to their street office (DESIGN.md §8): the name is looked up among this
    # tenant's accounts only; an unknown name creates a new account here, whatever other street
    # offices call their users, so no granter can find or name another tenant's account.
    if person_id is not None:
        readable = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
        if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, readable)) is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    user = await find_user(ctx, username)
    if user is None:
        user, member = await new_account(ctx, username=username, display_name=display_name, subject=None,
                                         person_id=person_id)
    else:
        found: Member | None = await ctx.db.scalar(select(Member).where(Member.user_id == user.id))
        assert found is not None  # find_user found it through this tenant's members
        member = found
    if person_id is not None and member.person_id != person_id:
        # Moving someone's "own" household changes what they may read in full: only a street
        # admin re-links an account that is already linked.
        if member.person_id is not None and not ctx.actor.grant("role_assignment", "grant").all:
            raise ServiceError(ErrorCode.CONFLICT, t("该账号已关联登记册上的另一位居民",
                                                     "this account is already linked to another register entry"),
                               "personId")
        member.person_id = person_id
        await ctx.db.flush(member)
    ra = RoleAssignment(
        user_id=user.id, role=role.value, scope_area_id=scope.id, firm_id=firm_id,
        valid_from=start, valid_until=valid_until, granted_by=ctx.actor.user_id,
    )
    await ctx.db.flush(ra)
    return ra


async def revoke_role(ctx: RequestContext, assignment_id: uuid.UUID) -> RoleAssignment:
    read = role_assignment_predicate(ctx.actor.grant("role_assignment", "read"))
    ra: RoleAssignment | None = await ctx.db.scalar(
        select(RoleAssignment).where(RoleAssignment.id == assignment_id, read))
    if ra is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("角色授权不存在", "role assignment not found"), "id")
    if ra.revoked_at is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该角色授权已撤销", "this role assignment is already revoked"), "id")
    scope_path = await ctx.db.scalar(select(Area.path).where(Area.id == ra.scope_area_id))
    try:
        role = Role(ra.role)
    except ValueError:
        role = Role.STREET_ADMIN  # unknown roles can be revoked only by a street admin
    if _granting_assignment(ctx, role, str(scope_path)) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您只能在管辖范围内撤销低于自己的角色",
                                                  "you may revoke only roles below your own, inside your scope"), "id")
    ra.revoked_at = ctx.now
    ra.revoked_by = ctx.actor.user_id
    await ctx.db.flush(ra)
    return ra
