"""Root query fields. Thin: read context, call one service, wrap."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import AreaKind, PropertyManagement
from models import RoleAssignment as RoleAssignmentRow
from policies.roles import Role
from resolvers import access as access_service
from resolvers import audit as audit_service
from resolvers import loaders
from resolvers import register as area_service
from resolvers import register as register_service
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_global_id, decode_id
from schema.audit import AuditEntry
from schema.audit import wrap as audit_wrap
from schema.common import (
    Connection,
    ErrorCodeEntry,
    Node,
    PublicError,
    connection,
    context,
    error_catalogue,
    field,
    node_resolvers,
    plain_list_reason,
    query_call,
)
from schema.register.types import (
    AREA_TYPE_NAMES,
    AreaNode,
    CareTagKind,
    Household,
    Me,
    Person,
    PropertyFirm,
    RoleAssignment,
    Tenant,
    area_type,
)


async def resolve_node(info: Info, gid: str) -> Any:
    """The object a global ID names, through the resolver its domain registered for the type
    (``SchemaParts.nodes``); each checks tenant and scope itself, so another tenant's or an
    out-of-scope object is None, as one that does not exist."""
    try:
        type_name, id_ = decode_global_id(gid)
    except ServiceError as e:
        raise PublicError(e) from None
    resolver = node_resolvers(info).get(type_name)
    if resolver is None:
        raise PublicError(ServiceError(ErrorCode.INVALID_ID, t("id 不属于任何已知类型",
                                                               "id names no known type"), "id"))
    return await resolver(info, type_name, id_)


@strawberry.type
class Query:
    @field(description="You in the selected tenant: user, tenant, roles with scopes (当前用户).")
    async def me(self, info: Info) -> Me:
        ctx = context(info)
        # The actor's assignments are these rows as the request's first statement read them (in force, by
        # id: gongzhi_request_actor, load_actor): no statement of their own (issue #21). Transient rows,
        # never added to the session.
        rows = [RoleAssignmentRow(id=a.id, tenant_id=ctx.tenant.id, user_id=ctx.actor.user_id, role=a.role.value,
                                  scope_area_id=a.scope_area_id, firm_id=a.firm_id, valid_from=a.valid_from,
                                  valid_until=a.valid_until, revoked_at=None)
                for a in sorted(ctx.actor.assignments, key=lambda a: a.id)]
        person = None
        if ctx.actor.person_id is not None:
            p = await loaders.person_by_id(ctx).load(ctx.actor.person_id)
            person = None if p is None else Person(_m=p)
        return Me(
            username=ctx.actor.username,
            display_name=ctx.actor.display_name,
            tenant=Tenant(slug=ctx.tenant.slug, name=ctx.tenant.name),
            roles=[RoleAssignment(_m=r, _now=ctx.now) for r in rows],
            person=person,
        )

    @field(description="The catalogue of every error code the API can return, with its HTTP status and "
                       "meaning (错误代码目录); the same as the ApiErrorCode enum and docs/errors.md.")
    def error_codes(self) -> list[ErrorCodeEntry]:
        return error_catalogue()

    @field(description="Fetch any object by global ID; null when it does not exist for you (节点).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        found: Node | None = await resolve_node(info, str(id))
        return found

    @field(description="Fetch up to 100 objects by global ID, in order; null where not found.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise PublicError(ServiceError(ErrorCode.INVALID, t("最多 100 个 id", "at most 100 ids"), "ids"))
        # Concurrently, so the loaders batch the ids of each type into one statement; every lookup
        # ends before the first error (a bad id) is raised, as when they ran one after another.
        found = await asyncio.gather(*(resolve_node(info, str(i)) for i in ids), return_exceptions=True)
        out: list[Node | None] = []
        for f in found:
            if isinstance(f, BaseException):
                raise f
            out.append(f)
        return out

    @field(description="Areas you may read (区域), filtered by kind, parent, subtree and name.")
    async def areas(
        self,
        info: Info,
        kind: AreaKind | None = None,
        parent_id: strawberry.ID | None = None,
        within: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only areas strictly below this area.")
        ] = None,
        search: Annotated[str | None, strawberry.argument(description="Part of the name.")] = None,
        property_management: Annotated[PropertyManagement | None, strawberry.argument(
            description="Only compounds managed this way, e.g. NONE for 无物业小区.")] = None,
        first: int | None = 20,
        after: str | None = None,
        include_archived: Annotated[bool, strawberry.argument(
            description="Archived areas too (含已归档); left out by default.")] = False,
    ) -> Connection[AreaNode]:
        names = AREA_TYPE_NAMES
        page = await query_call(area_service.list_areas(
            context(info), kind=kind,
            parent_id=decode_id(parent_id, names, "parentId"),
            within_id=decode_id(within, names, "within"),
            search=search, property_management=property_management, include_archived=include_archived,
            first=first, after=after,
        ))
        return connection(page, area_type)  # type: ignore[no-any-return]

    @field(description="Households you may read (住户), optionally inside an area.")
    async def households(
        self,
        info: Info,
        area_id: strawberry.ID | None = None,
        search: Annotated[str | None, strawberry.argument(description="Part of the room number.")] = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Household]:
        page = await query_call(register_service.list_households(
            context(info),
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            search=search, first=first, after=after,
        ))
        return connection(page, lambda m: Household(_m=m))  # type: ignore[no-any-return]

    @field(description="Persons you may read (居民), by area, household, care group, party membership, "
                       "name, or exactly by ID number or phone.")
    async def persons(
        self,
        info: Info,
        area_id: strawberry.ID | None = None,
        household_id: strawberry.ID | None = None,
        care_tag: Annotated[str | None, strawberry.argument(description="Care group code, e.g. living_alone.")] = None,
        party_member: bool | None = None,
        search: Annotated[str | None, strawberry.argument(description="Part of the name.")] = None,
        id_card_no: Annotated[str | None, strawberry.argument(
            description="Exact ID number (身份证号): only persons you may read in full; the lookup is audited.")
        ] = None,
        phone: Annotated[str | None, strawberry.argument(
            description="Exact phone number (手机号): only persons you may read in full; the lookup is audited.")
        ] = None,
        first: int | None = 20,
        after: str | None = None,
        archived: Annotated[bool, strawberry.argument(
            description="True: those moved out or deceased instead of the current register (已迁出/注销).")] = False,
    ) -> Connection[Person]:
        page = await query_call(register_service.list_persons(
            context(info),
            area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            household_id=decode_id(household_id, "Household", "householdId"),
            care_tag=care_tag, party_member=party_member, search=search, id_card_no=id_card_no, phone=phone,
            first=first, after=after, archived=archived,
        ))
        return connection(page, lambda m: Person(_m=m))  # type: ignore[no-any-return]

    @field(description="Property firms of the tenant (物业公司), for dispatching and grants.",
           deprecation_reason=plain_list_reason("propertyFirmsConnection"))
    async def property_firms(self, info: Info) -> list[PropertyFirm]:
        return [PropertyFirm(_m=f) for f in await register_service.property_firms(context(info))]

    @field(description="Property firms of the tenant (物业公司), for dispatching and grants; by name.")
    async def property_firms_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[PropertyFirm]:
        page = await query_call(register_service.property_firms_page(context(info), first=first, after=after))
        return connection(page, lambda f: PropertyFirm(_m=f))  # type: ignore[no-any-return]

    @field(description="The tenant's care groups (重点人群类别).",
           deprecation_reason=plain_list_reason("careTagKindsConnection"))
    async def care_tag_kinds(self, info: Info) -> list[CareTagKind]:
        rows = await register_service.care_tag_kinds(context(info))
        return [CareTagKind(_m=r) for r in rows]

    @field(description="The tenant's care groups (重点人群类别).")
    async def care_tag_kinds_connection(
        self, info: Info,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CareTagKind]:
        page = await query_call(register_service.care_tag_kinds_page(context(info), first=first, after=after))
        return connection(page, lambda r: CareTagKind(_m=r))  # type: ignore[no-any-return]

    @field(description="Role assignments you may read (角色授权), by area subtree and role.")
    async def role_assignments(
        self,
        info: Info,
        area_id: strawberry.ID | None = None,
        role: Role | None = None,
        include_inactive: bool = False,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[RoleAssignment]:
        ctx = context(info)
        page = await query_call(access_service.list_role_assignments(
            ctx, area_id=decode_id(area_id, AREA_TYPE_NAMES, "areaId"),
            role=role, include_inactive=include_inactive, first=first, after=after,
        ))
        return connection(page, lambda m: RoleAssignment(_m=m, _now=ctx.now))  # type: ignore[no-any-return]

    @field(description="The audit log (审计日志), newest first: the party secretary's scope, or all for "
                       "the street admin.")
    async def audit_log(
        self,
        info: Info,
        action: str | None = None,
        username: str | None = None,
        object_id: Annotated[strawberry.ID | None, strawberry.argument(description="A row's uuid.")] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        oid = None
        if object_id is not None:
            try:
                oid = uuid.UUID(str(object_id))
            except ValueError:
                raise PublicError(ServiceError(ErrorCode.INVALID_ID, t("objectId 应为记录的 uuid",
                                                                       "objectId is a row uuid"), "objectId")) from None
        page = await query_call(audit_service.list_audit(
            context(info), action=action, username=username, object_id=oid, since=since, until=until,
            first=first, after=after))
        return connection(page, audit_wrap)  # type: ignore[no-any-return]
