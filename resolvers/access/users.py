"""The street office's accounts (账号, issues #23/#24): create, list, deactivate, reactivate.

An account belongs to one street office (DESIGN.md §8): ``users.home_tenant_id`` is the tenant, and the
tenant's ``members`` row is its presence there. An identity the operator linked to several street
offices has ``tenant_id`` null and a ``members`` row in each; a street admin sees it in the list but
only the operator deactivates it. Nothing here reads an account of another street office: every
lookup goes through this tenant's ``members``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, select

from models import Member, Person, User, account_id_for_subject
from policies.filters import person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


async def find_user(ctx: RequestContext, username: str) -> User | None:
    """This street office's account with that username, or None — never another tenant's."""
    found: User | None = await ctx.db.scalar(
        select(User).where(User.username == username, User.id.in_(select(Member.user_id))))
    return found


async def new_account(ctx: RequestContext, *, username: str, display_name: str | None, subject: str | None,
                      person_id: uuid.UUID | None = None) -> tuple[User, Member]:
    """A new account of this street office and its presence (members row)."""
    name = v.text(display_name, "displayName", max_len=100) if display_name else username
    sub = v.text(subject, "subject", max_len=255) if subject else None
    if sub is not None:
        uid = account_id_for_subject(sub)
        if await ctx.db.scalar(select(User.id).where((User.id == uid) | (User.subject == sub))) is not None:
            # Another account (possibly of another street office) is bound to it: only the operator
            # links one identity to several street offices. The message names nothing of it.
            raise ServiceError(ErrorCode.CONFLICT, t("该身份已绑定账号；一人多街道由运维人员关联",
                                                     "this identity already has an account; the operator links "
                                                     "one identity to several street offices"), "subject")
    else:
        uid = uuid.uuid4()
        sub = str(uid)
    user = User(id=uid, username=username, display_name=name, home_tenant_id=ctx.actor.tenant_id, subject=sub)
    await ctx.db.flush(user)
    member = Member(user_id=user.id, person_id=person_id)
    await ctx.db.flush(member)
    return user, member


def _may(ctx: RequestContext, action: str) -> None:
    if not ctx.actor.grant("user", action).all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员管理账号", "only the street admin manages accounts"),
                           None)


async def create_user(ctx: RequestContext, *, username: str, display_name: str, subject: str | None,
                      person_id: uuid.UUID | None) -> User:
    _may(ctx, "manage")
    username = v.text(username, "username", max_len=64)
    if await find_user(ctx, username) is not None or await ctx.db.scalar(
            select(User.id).where(User.username == username, User.home_tenant_id == ctx.actor.tenant_id)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("本街道已有该用户名", "this street office has that username already"),
                           "username")
    if person_id is not None:
        readable = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
        if await ctx.db.scalar(select(Person.id).where(Person.id == person_id, readable)) is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "personId")
    user, _member = await new_account(ctx, username=username, display_name=display_name, subject=subject,
                                      person_id=person_id)
    return user


async def _own_user(ctx: RequestContext, user_id: uuid.UUID) -> User:
    user: User | None = await ctx.db.scalar(
        select(User).where(User.id == user_id, User.id.in_(select(Member.user_id))))
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("账号不存在", "user not found"), "id")
    return user


async def set_active(ctx: RequestContext, user_id: uuid.UUID, *, active: bool) -> User:
    _may(ctx, "manage")
    user = await _own_user(ctx, user_id)
    if user.home_tenant_id != ctx.actor.tenant_id:
        raise ServiceError(ErrorCode.FORBIDDEN, t("该账号由运维人员关联到多个街道，只能由运维人员停用",
                                                  "a linked identity is deactivated by the operator"), "id")
    if user.id == ctx.actor.user_id and not active:
        raise ServiceError(ErrorCode.INVALID, t("不能停用自己的账号", "you cannot deactivate your own account"), "id")
    if (user.deactivated_at is None) == active:
        raise ServiceError(ErrorCode.CONFLICT, t("账号已是该状态", "the account is in that state already"), "id")
    user.deactivated_at = None if active else ctx.now
    await ctx.db.flush(user)
    return user


async def list_users(ctx: RequestContext, *, include_deactivated: bool = False, first: int | None = None,
                     after: str | None = None) -> Page[User]:
    _may(ctx, "read")
    stmt = select(User).where(*user_list_filters(include_deactivated=include_deactivated))
    return await keyset_page(ctx.db, stmt, User.id, first=first, after=after)


def user_list_filters(*, include_deactivated: bool = False) -> list[ColumnElement[bool]]:
    """The rows of ``users`` (for a street admin): this street office's members, active unless the
    deactivated are asked too. The compiled read (compiled/users.py) uses the same."""
    out: list[ColumnElement[bool]] = [User.id.in_(select(Member.user_id))]
    if not include_deactivated:
        out.append(User.deactivated_at.is_(None))
    return out
