"""Platform administration over GraphQL (issue #10): ``POST /platform/graphql``.

A separate, small schema — not part of the tenants' ``/graphql`` — for the city's operators: list
tenants, create, suspend, resume, export, delete and import one; load the State Council's yearly
holiday arrangement for every tenant (issue #22). Only a bearer token with the claim
``"platform": "admin"`` (issued by the identity provider to platform staff) gets in; every other
caller is refused with ``403 PLATFORM_ADMIN_REQUIRED``. Every call, refused ones included, is
appended to ``platform_audit``. Off unless ``GONGZHI_PLATFORM_API=1``; it works as the database
owner (``GONGZHI_MIGRATION_DATABASE_URL``), so serve it on an internal listener only.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import orjson
import strawberry
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.types import Info

from gongzhi.http import observability as obs
from gongzhi.http import pipeline
from gongzhi.http.auth import TokenVerifier
from gongzhi.modules import FirstAdmin, provision
from gongzhi.ops import tenants as tenant_ops
from gongzhi.settings import Settings
from models import PlatformAuditEntry, Tenant, TenantStatus
from resolvers import cases as case_service
from resolvers.i18n import t
from schema.common import field, mutation
from tenants.provisioning import ProvisioningError
from tenants.session import make_engine, make_sessionmaker


@dataclass
class PlatformContext:
    engine: AsyncEngine
    user_id: uuid.UUID
    request_id: str
    client_addr: str | None


@strawberry.type(description="A street office as the platform sees it (平台租户).")
class PlatformTenant:
    slug: str = strawberry.field(description="Short name used in tokens and headers (标识).")
    name: str = strawberry.field(description="The street office's name (名称).")
    status: str = strawberry.field(description="`active` or `suspended` (状态).")


@strawberry.type(description="Why a platform operation did not happen (错误).")
class PlatformError:
    code: str = strawberry.field(description="NOT_FOUND, EXISTS, INVALID, BAD_ARCHIVE, REVISION_MISMATCH, USER_CLASH.")
    message: str = strawberry.field(description="For the operator (说明).")


@strawberry.type(description="Result of a platform operation (平台操作结果).")
class TenantOpPayload:
    tenant: PlatformTenant | None = strawberry.field(description="The tenant after the operation, if it exists.")
    archive: str | None = strawberry.field(
        default=None, description="exportTenant: the zip archive, base64 (personal data sealed) (导出包).")
    rows: int | None = strawberry.field(default=None, description="Rows deleted or imported (行数).")
    errors: list[PlatformError] = strawberry.field(default_factory=list, description="Empty when it happened.")


@strawberry.type(description="One entry of the platform audit log (平台审计).")
class PlatformAuditRecord:
    action: str = strawberry.field(description="The operation (操作).")
    tenant_slug: str | None = strawberry.field(description="The tenant it named (租户).")
    outcome: str = strawberry.field(description="ok, error or refused (结果).")
    user_id: str | None = strawberry.field(description="The platform administrator (操作人).")
    created_at: str = strawberry.field(description="When, ISO 8601 UTC (时间).")


@strawberry.type(description="A year's holiday arrangement loaded for every tenant (国务院节假日安排).")
class PlatformCalendarArrangement:
    year: int = strawberry.field(description="The year (年份).")
    title: str = strawberry.field(description="The notice's title (通知标题).")
    number: str | None = strawberry.field(description="The notice's number (文号).")
    published: date | None = strawberry.field(description="The notice's date (发布日期).")
    days_off: list[date] = strawberry.field(description="Its days off (放假日期).")
    working_days: list[date] = strawberry.field(description="Its 调休 make-up working days (调休上班日期).")
    loaded_by: str | None = strawberry.field(description="`cli` or the platform administrator's id (加载人).")
    loaded_at: str | None = strawberry.field(description="When, ISO 8601 UTC (加载时间).")


@strawberry.type(description="Result of loadWorkingCalendar (加载节假日安排结果).")
class CalendarArrangementPayload:
    arrangement: PlatformCalendarArrangement | None = strawberry.field(description="What is loaded now.")
    warnings: list[str] = strawberry.field(
        default_factory=list, description="Loaded anyway, but look: e.g. a statutory holiday not among the days off.")
    errors: list[PlatformError] = strawberry.field(
        default_factory=list, description="Empty when it was loaded; else INVALID, one per problem (in Chinese).")


def _utc(value: datetime) -> str:
    """One rule for every time the API returns (issue #25): UTC, ISO 8601 with +00:00, as the main
    schema's DateTime scalar (SQLite hands back naive UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _arrangement(stored: case_service.StoredArrangement) -> PlatformCalendarArrangement:
    a = stored.arrangement
    return PlatformCalendarArrangement(year=a.year, title=a.title, number=a.number, published=a.published,
                                       days_off=a.days_off, working_days=a.working_days, loaded_by=stored.loaded_by,
                                       loaded_at=_utc(stored.loaded_at))


async def _read_arrangement(ctx: PlatformContext, year: int) -> PlatformCalendarArrangement | None:
    async with make_sessionmaker(ctx.engine)() as session:
        stored = await case_service.read_arrangement(session, year)
    return None if stored is None else _arrangement(stored)


T = TypeVar("T")

# What the route passes as context_value: {"platform": PlatformContext}.
PlatformInfo = Info[dict[str, PlatformContext], None]


def _ctx(info: PlatformInfo) -> PlatformContext:
    return info.context["platform"]


async def _audit(ctx: PlatformContext, action: str, slug: str | None, outcome: str,
                 detail: dict[str, Any] | None = None) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(insert(tenant_ops.table_of(PlatformAuditEntry)).values(
            id=uuid.uuid4(), user_id=ctx.user_id, action=action, tenant_slug=slug, outcome=outcome,
            detail=detail or {}, request_id=ctx.request_id, client_addr=ctx.client_addr,
            created_at=datetime.now(UTC)))


async def _tenant(ctx: PlatformContext, slug: str) -> PlatformTenant | None:
    t = Tenant.__table__
    async with ctx.engine.connect() as conn:
        row = (await conn.execute(select(t.c.slug, t.c.name, t.c.status).where(t.c.slug == slug))).first()
    return None if row is None else PlatformTenant(slug=row.slug, name=row.name, status=TenantStatus(row.status).value)


async def _run(info: PlatformInfo, action: str, slug: str | None,
               op: Callable[[PlatformContext], Awaitable[TenantOpPayload]]) -> TenantOpPayload:
    ctx = _ctx(info)
    try:
        payload: TenantOpPayload = await op(ctx)
    except (tenant_ops.TenantOpError, ProvisioningError) as e:
        code = e.code if isinstance(e, tenant_ops.TenantOpError) else "INVALID"
        await _audit(ctx, action, slug, "error", {"code": code})
        return TenantOpPayload(tenant=await _tenant(ctx, slug) if slug else None,
                               errors=[PlatformError(code=code, message=str(e))])
    await _audit(ctx, action, slug or (payload.tenant.slug if payload.tenant else None), "ok",
                 {"rows": payload.rows} if payload.rows is not None else {})
    return payload


@strawberry.type(description="Platform queries (平台查询).")
class PlatformQuery:
    @field(description="Every tenant (所有租户).")
    async def tenants(self, info: PlatformInfo) -> list[PlatformTenant]:
        t = Tenant.__table__
        async with _ctx(info).engine.connect() as conn:
            rows = (await conn.execute(select(t.c.slug, t.c.name, t.c.status).order_by(t.c.slug))).all()
        return [PlatformTenant(slug=r.slug, name=r.name, status=TenantStatus(r.status).value) for r in rows]

    @field(description="The latest platform audit entries, newest first (平台审计).")
    async def platform_audit(self, info: PlatformInfo, last: int = 50) -> list[PlatformAuditRecord]:
        a = PlatformAuditEntry.__table__
        async with _ctx(info).engine.connect() as conn:
            rows = (await conn.execute(select(a).order_by(a.c.created_at.desc(), a.c.id.desc())
                                       .limit(max(1, min(last, 500))))).mappings().all()
        return [PlatformAuditRecord(action=r["action"], tenant_slug=r["tenant_slug"], outcome=r["outcome"],
                                    user_id=str(r["user_id"]) if r["user_id"] else None,
                                    created_at=_utc(r["created_at"])) for r in rows]

    @field(description="The holiday arrangement loaded for a year, or null (已加载的节假日安排).")
    async def working_calendar_arrangement(self, info: PlatformInfo, year: int) -> PlatformCalendarArrangement | None:
        return await _read_arrangement(_ctx(info), year)


@strawberry.type(description="Platform operations on tenants (平台租户管理).")
class PlatformMutation:
    @mutation(description="Provision a street office with the default policy (开通租户), and with `adminUsername` "
                           "its first street admin, bound to the identity provider's `adminSubject` (首位街道管理员; "
                           "docs/onboarding.md).")
    async def create_tenant(self, info: PlatformInfo, slug: str, name: str, admin_username: str | None = None,
                            admin_display_name: str | None = None,
                            admin_subject: str | None = None) -> TenantOpPayload:
        admin = None if not admin_username else FirstAdmin(username=admin_username, display_name=admin_display_name,
                                                           subject=admin_subject)

        async def op(ctx: PlatformContext) -> TenantOpPayload:
            await provision(make_sessionmaker(ctx.engine), slug=slug, name=name, admin=admin)
            return TenantOpPayload(tenant=await _tenant(ctx, slug))
        return await _run(info, "createTenant", slug, op)

    @mutation(description="Refuse the tenant's requests with TENANT_SUSPENDED (停用租户).")
    async def suspend_tenant(self, info: PlatformInfo, slug: str) -> TenantOpPayload:
        async def op(ctx: PlatformContext) -> TenantOpPayload:
            await tenant_ops.set_status(ctx.engine, slug, TenantStatus.SUSPENDED)
            return TenantOpPayload(tenant=await _tenant(ctx, slug))
        return await _run(info, "suspendTenant", slug, op)

    @mutation(description="Serve a suspended tenant again (恢复租户).")
    async def resume_tenant(self, info: PlatformInfo, slug: str) -> TenantOpPayload:
        async def op(ctx: PlatformContext) -> TenantOpPayload:
            await tenant_ops.set_status(ctx.engine, slug, TenantStatus.ACTIVE)
            return TenantOpPayload(tenant=await _tenant(ctx, slug))
        return await _run(info, "resumeTenant", slug, op)

    @mutation(description="The tenant's whole data as a zip archive, base64; personal data stays "
                                     "sealed (导出租户).")
    async def export_tenant(self, info: PlatformInfo, slug: str) -> TenantOpPayload:
        async def op(ctx: PlatformContext) -> TenantOpPayload:
            data = await tenant_ops.export_tenant(ctx.engine, slug)
            return TenantOpPayload(tenant=await _tenant(ctx, slug), archive=base64.b64encode(data).decode())
        return await _run(info, "exportTenant", slug, op)

    @mutation(description="Delete the tenant and all its rows; `confirm` repeats the slug (删除租户).")
    async def delete_tenant(self, info: PlatformInfo, slug: str, confirm: str) -> TenantOpPayload:
        async def op(ctx: PlatformContext) -> TenantOpPayload:
            if confirm != slug:
                raise tenant_ops.TenantOpError("INVALID", "confirm must repeat the slug")
            result = await tenant_ops.delete_tenant(ctx.engine, slug)
            return TenantOpPayload(tenant=None, rows=sum(result["tables"].values()))
        return await _run(info, "deleteTenant", slug, op)

    @mutation(description="Restore a tenant from an exportTenant archive, base64 (导入租户).")
    async def import_tenant(self, info: PlatformInfo, archive: str) -> TenantOpPayload:
        async def op(ctx: PlatformContext) -> TenantOpPayload:
            try:
                data = base64.b64decode(archive, validate=True)
            except (binascii.Error, ValueError):
                raise tenant_ops.TenantOpError("BAD_ARCHIVE", "archive is not base64") from None
            result = await tenant_ops.import_tenant(ctx.engine, data)
            return TenantOpPayload(tenant=await _tenant(ctx, result["tenant"]), rows=sum(result["tables"].values()))
        return await _run(info, "importTenant", None, op)


    @mutation(description="Load (or replace) a year's State Council holiday arrangement for every tenant, from "
                           "the JSON of `gongzhi calendar load` (加载节假日安排; docs/operations.md).")
    async def load_working_calendar(self, info: PlatformInfo, arrangement: str) -> CalendarArrangementPayload:
        ctx = _ctx(info)
        try:
            parsed = case_service.parse_arrangement(arrangement)
            async with make_sessionmaker(ctx.engine)() as session:
                await case_service.store_arrangement(session, parsed, loaded_by=str(ctx.user_id),
                                                     now=datetime.now(UTC))
        except case_service.ArrangementError as e:
            await _audit(ctx, "loadWorkingCalendar", None, "error", {"code": "INVALID", "problems": e.problems[:20]})
            return CalendarArrangementPayload(arrangement=None,
                                              errors=[PlatformError(code="INVALID", message=p) for p in e.problems])
        await _audit(ctx, "loadWorkingCalendar", None, "ok", {"year": parsed.year, "days": len(parsed.days)})
        return CalendarArrangementPayload(arrangement=await _read_arrangement(ctx, parsed.year),
                                          warnings=list(parsed.warnings))


platform_schema = strawberry.Schema(query=PlatformQuery, mutation=PlatformMutation)


def platform_routes(settings: Settings, verifier: TokenVerifier, engine: AsyncEngine | None = None) -> list[Route]:
    """The /platform/graphql route (only when GONGZHI_PLATFORM_API=1)."""
    holder: dict[str, AsyncEngine] = {}

    def owner_engine() -> AsyncEngine:
        if engine is not None:
            return engine
        if "e" not in holder:
            # Operators call it rarely: no pool, so no idle owner connection outlives the app.
            holder["e"] = make_engine(settings.owner_url, pooled=False, connect_timeout=settings.db_connect_timeout)
        return holder["e"]

    async def handle(request: Request) -> Response:
        request_id = pipeline.request_id()
        client = pipeline.client_addr(request)
        claims = verifier.verify(request.headers.get("authorization"))  # AuthError: the pipeline's 401/403
        obs.note(user=str(claims.user_id))
        ctx = PlatformContext(owner_engine(), claims.user_id, request_id, client)
        if not claims.platform_admin:
            await _audit(ctx, "platform", None, "refused")
            return pipeline.error_response(403, "PLATFORM_ADMIN_REQUIRED", t("仅限平台管理员",
                                                                             "platform administrators only"))
        try:
            body = orjson.loads(await request.body())
            query, variables = body["query"], body.get("variables") or {}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return pipeline.error_response(400, "BAD_REQUEST", t("请求体应为 {query, variables}",
                                                                 "body must be {query, variables}"))
        result = await platform_schema.execute(query, variable_values=variables,
                                               context_value={"platform": ctx})
        down = pipeline.first_unavailable(result.errors)
        if down is not None:  # the database could not serve it (issue #26)
            return pipeline.unavailable(down)
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(out), media_type="application/json")

    return [Route("/platform/graphql", handle, methods=["POST"])]
