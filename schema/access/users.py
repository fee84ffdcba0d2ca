"""The street office's accounts in GraphQL (账号管理, issues #23/#24): the street admin's ``users`` list,
``createUser``, ``deactivateUser``, ``reactivateUser``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from models import Member
from models import User as UserRow
from resolvers.access import users as svc
from resolvers.ids import decode_id
from schema.common import Connection, Node, UserError, connection, context, field, mutate, mutation, query_call


@strawberry.type(description="An account of this street office (街道账号), bound to an identity-provider subject.")
class UserAccount(Node):
    _m: strawberry.Private[UserRow]

    @field(description="Login name, unique in this street office (用户名).")
    def username(self) -> str:
        return self._m.username

    @field(description="Display name (显示名).")
    def display_name(self) -> str:
        return self._m.display_name

    @field(description="The identity provider's `sub` this account is bound to (身份提供方主体); a token whose "
                       "`sub` is this value acts as this account. Null for an identity the operator linked.")
    def subject(self) -> str | None:
        return self._m.subject if self._m.home_tenant_id is not None else None

    @field(description="False once deactivated: its tokens are refused with USER_DEACTIVATED (启用).")
    def active(self) -> bool:
        return self._m.deactivated_at is None

    @field(description="When it was deactivated (停用时间), if it is.")
    def deactivated_at(self) -> datetime | None:
        return self._m.deactivated_at

    @field(description="True for an identity the operator linked to several street offices (跨街道关联身份): "
                       "only the operator deactivates it.")
    def linked(self) -> bool:
        return self._m.home_tenant_id is None


@strawberry.input(description="A new account of this street office (新建账号; street admin).")
class CreateUserInput:
    username: str = strawberry.field(description="Login name, unique in this street office, at most 64 characters.")
    display_name: str = strawberry.field(description="Display name (显示名).")
    subject: str | None = strawberry.field(
        default=None, description="The identity provider's `sub` for this person (身份提供方主体). Omitted: the "
                                  "account's id, which the identity provider must then issue as `sub`.")
    person_id: strawberry.ID | None = strawberry.field(default=None,
                                                       description="Their own register entry (for 'own').")


@strawberry.input(description="Deactivate an account (停用账号): its tokens are refused from now on.")
class DeactivateUserInput:
    id: strawberry.ID = strawberry.field(description="The account.")


@strawberry.input(description="Reactivate a deactivated account (启用账号).")
class ReactivateUserInput:
    id: strawberry.ID = strawberry.field(description="The account.")


@strawberry.type(description="Result of an account mutation.")
class UserPayload:
    user: UserAccount | None = strawberry.field(description="The account, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _wrap(u: UserRow | None) -> UserAccount | None:
    return None if u is None else UserAccount(_m=u)


@strawberry.type
class UserQuery:
    @field(description="This street office's accounts (街道账号; street admin), deactivated ones on request.")
    async def users(self, info: Info, include_deactivated: bool = False, first: int | None = 20,
                    after: str | None = None) -> Connection[UserAccount]:
        page = await query_call(svc.list_users(context(info), include_deactivated=include_deactivated,
                                               first=first, after=after))
        return connection(page, lambda m: UserAccount(_m=m))  # type: ignore[no-any-return]


@strawberry.type
class UserMutation:
    @mutation(description="Create an account of this street office (新建账号; street admin; audited).")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def run() -> UserRow:
            return await svc.create_user(context(info), username=input.username, display_name=input.display_name,
                                         subject=input.subject,
                                         person_id=decode_id(input.person_id, "Person", "personId"))

        u, errors = await mutate(info, run)
        return UserPayload(user=_wrap(u), errors=errors)

    @mutation(description="Deactivate an account (停用账号; street admin; audited): its tokens are refused.")
    async def deactivate_user(self, info: Info, input: DeactivateUserInput) -> UserPayload:
        async def run() -> UserRow:
            return await svc.set_active(context(info), decode_id(input.id, "UserAccount", "id"), active=False)

        u, errors = await mutate(info, run)
        return UserPayload(user=_wrap(u), errors=errors)

    @mutation(description="Reactivate an account (启用账号; street admin; audited).")
    async def reactivate_user(self, info: Info, input: ReactivateUserInput) -> UserPayload:
        async def run() -> UserRow:
            return await svc.set_active(context(info), decode_id(input.id, "UserAccount", "id"), active=True)

        u, errors = await mutate(info, run)
        return UserPayload(user=_wrap(u), errors=errors)


async def user_node(info: Info, _type_name: str, id_: uuid.UUID) -> Any:
    """node(id:) of an account: the street admin's, of this street office only."""
    ctx = context(info)
    if not ctx.actor.grant("user", "read").all:
        return None
    u = await ctx.db.scalar(select(UserRow).where(UserRow.id == id_, UserRow.id.in_(select(Member.user_id))))
    return _wrap(u)
