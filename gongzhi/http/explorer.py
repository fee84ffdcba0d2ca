"""The demo's GraphQL explorer (issues #12, #25): GraphiQL with an actor bar and example operations.

Only mounted when ``settings.demo`` is on: ``GET /graphql`` (HTML) serves the page, ``GET /demo/users``
lists the demo users (tenant, user, role, scope) and ``POST /demo/token`` {tenant, user} returns a
development token for one of them, which the page sends as ``Authorization`` with
``X-Gongzhi-Tenant``. ``GET /demo/example-variables?tenant=&user=`` answers the variables of every
example tab for that user, read from the user's own data (``explorer_examples``).
``GET /demo/partner-clients`` lists the partner API clients of the demo tenants; to act as one, the
page does what a street office and a partner system would: as the tenant's street admin it rotates
the client's secret (``rotatePartnerClientSecret``, the seed's secret is kept only hashed) and
exchanges id and new secret at ``POST /oauth/token`` (client credentials) for the partner token it
then sends.

The page (``static/explorer.html``) opens acting as the first demo user, so the schema, the docs and
every tab work at first click; the actor and the language (简体中文 or English) are remembered in
localStorage. GraphiQL, React and ReactDOM are served from ``gongzhi/http/static/explorer`` under
``/demo/static`` (the npm packages' built files, unchanged: their SRI hashes are those of the
published packages), so the explorer works offline. Outside the demo none of this exists (the
routes are not registered: 404).
"""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gongzhi.demo import demo_users
from gongzhi.http.auth import issue_dev_token
from gongzhi.http.explorer_examples import EXAMPLES, example_operations, example_variables, tabs_of
from gongzhi.settings import Settings
from models import PartnerClient, PartnerUnit, RoleAssignment, Tenant, User
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant

__all__ = ["EXAMPLES", "demo_partner_clients", "demo_routes", "example_operations", "explorer_html"]

# The vendored GraphiQL/React builds (see the module docstring), served at /demo/static.
STATIC = Path(__file__).resolve().parent / "static" / "explorer"
# The page itself: not under STATIC (it is not served as a file, only filled in here).
PAGE = Path(__file__).resolve().parent / "static" / "explorer.html"


def explorer_html(examples: list[dict[str, str]]) -> str:
    """The page, its tabs one per operation of the example files ({name, query} each)."""
    tabs = json.dumps([t.as_json() for t in tabs_of(examples)], ensure_ascii=False)
    # Inside <script>: no "</" may close the tag early.
    tabs = tabs.replace("</", "<\\/")
    return PAGE.read_text(encoding="utf-8").replace("__TABS__", tabs).replace(
        "__TITLE__", html.escape("共治 · GraphQL 接口浏览器（演示）"))


async def _demo_user(sessionmaker: async_sessionmaker[AsyncSession], tenant: Any, user: Any
                     ) -> tuple[int, str | uuid.UUID]:
    """(200, the user's id) for a demo user of that tenant, else (status, error message)."""
    if not isinstance(tenant, str) or not isinstance(user, str):
        return 400, 'give the tenant slug and the username: {"tenant": slug, "user": username}'
    known = {(u["tenant"], u["user"]) for u in await demo_users(sessionmaker)}
    if (tenant, user) not in known:
        return 404, "no such demo user in that tenant"
    # Usernames are unique per street office only (DESIGN.md §8 "Accounts"): the account is looked up
    # among that office's own accounts (and identities the operator linked to it) holding a role there,
    # never by its name alone, which another office may use too.
    async with sessionmaker() as s:
        bind_tenant(s, None)
        tenant_id = await s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
    if tenant_id is None:  # pragma: no cover - demo_users only lists existing tenants
        return 404, "no such demo user"
    async with sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            found = await s.scalar(select(User.id).where(
                User.username == user, or_(User.home_tenant_id == tenant_id, User.home_tenant_id.is_(None)),
                User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.tenant_id == tenant_id))))
    if found is None:  # pragma: no cover - demo_users only lists existing users
        return 404, "no such demo user"
    return 200, found


async def demo_partner_clients(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, str]]:
    """The partner API clients (not revoked) of every tenant, each with the demo street admin who
    manages it: tenant, client_id (for /oauth/token), id (global ID, for rotatePartnerClientSecret),
    label, unit, manager."""
    async with sessionmaker() as s:
        bind_tenant(s, None)
        tenants = list(await s.scalars(select(Tenant).order_by(Tenant.slug)))
    admins: dict[str, str] = {}
    for u in await demo_users(sessionmaker):
        if u["role"] == "street_admin":
            admins.setdefault(u["tenant"], u["user"])
    out: list[dict[str, str]] = []
    for tenant in tenants:
        if tenant.slug not in admins:
            continue
        async with sessionmaker() as s:
            bind_tenant(s, tenant.id)
            async with s.begin():
                rows = (await s.execute(
                    select(PartnerClient.id, PartnerClient.client_id, PartnerClient.label, PartnerUnit.name)
                    .join(PartnerUnit, PartnerUnit.id == PartnerClient.partner_unit_id)
                    .where(PartnerClient.revoked_at.is_(None)).order_by(PartnerClient.id))).all()
        out.extend({"tenant": tenant.slug, "client_id": client_id, "id": encode_global_id("PartnerClient", id_),
                    "label": label, "unit": unit, "manager": admins[tenant.slug]}
                   for id_, client_id, label, unit in rows)
    return out


def demo_routes(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> list[BaseRoute]:
    async def users(_request: Request) -> Response:
        return JSONResponse(await demo_users(sessionmaker))

    async def partner_clients(_request: Request) -> Response:
        return JSONResponse(await demo_partner_clients(sessionmaker))

    async def token(request: Request) -> Response:
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            body = {}
        status, found = await _demo_user(sessionmaker, body.get("tenant"), body.get("user"))
        if not isinstance(found, uuid.UUID):
            return JSONResponse({"error": found}, status_code=status)
        jwt = issue_dev_token(settings, user_id=found, username=body["user"], tenants=[body["tenant"]])
        return JSONResponse({"token": jwt, "tenant": body["tenant"],
                             "headers": {"Authorization": f"Bearer {jwt}", "X-Gongzhi-Tenant": body["tenant"]}})

    async def variables(request: Request) -> Response:
        tenant, user = request.query_params.get("tenant"), request.query_params.get("user")
        status, found = await _demo_user(sessionmaker, tenant, user)
        if not isinstance(found, uuid.UUID) or tenant is None:
            return JSONResponse({"error": found}, status_code=status)
        return JSONResponse({"tenant": tenant, "user": user, **await example_variables(request, found, tenant)})

    return [Route("/demo/users", users, methods=["GET"]), Route("/demo/token", token, methods=["POST"]),
            Route("/demo/example-variables", variables, methods=["GET"]),
            Route("/demo/partner-clients", partner_clients, methods=["GET"]),
            Mount("/demo/static", StaticFiles(directory=STATIC), name="explorer-static")]
