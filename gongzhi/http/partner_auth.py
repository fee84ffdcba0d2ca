"""Partner units' API clients (issue #7): the OAuth 2 client-credentials token endpoint and the
actor a partner token acts as.

``POST /oauth/token`` takes ``grant_type=client_credentials`` with ``client_id`` and
``client_secret`` (form fields, or HTTP Basic as RFC 6749 §2.3.1 prefers) and answers
``{access_token, token_type: "bearer", expires_in}``: a short-lived JWT whose ``pc`` claim names the
client. The client id starts with its tenant's slug, so the tenant is known before any tenant row
is read. Every GraphQL request with such a token re-reads the client (revoked: refused) and the
unit's agreements active at the request's time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gongzhi.http import pipeline
from gongzhi.http.auth import PARTNER_TOKEN_TTL, issue_partner_token
from models import AuditEntry, Tenant, TenantStatus
from resolvers.cobuilding import verify_client_secret
from tenants.session import switch_tenant

if TYPE_CHECKING:
    from gongzhi.http.state import AppState

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str, basic: bool = False) -> Response:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="gongzhi"' if basic else 'Bearer realm="gongzhi"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (unquote(cid), unquote(secret)) if sep else None


def partner_token_endpoint(state: AppState) -> Callable[[Request], Awaitable[Response]]:
    async def token(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
        raw = await request.body()
        if len(raw) > 4096:
            return _oauth_error(400, "invalid_request", "request too large")
        try:
            form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False).items()}
        except UnicodeDecodeError:
            return _oauth_error(400, "invalid_request", "the form is not UTF-8")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        basic = _basic_credentials(request.headers.get("authorization"))
        client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret", ""))
        if not client_id or not secret:
            return _oauth_error(400, "invalid_request", "give client_id and client_secret")
        slug, dot, _ = client_id.partition(".")
        async with state.sessionmaker() as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug)) if dot else None
            if tenant is None or tenant.status is not TenantStatus.ACTIVE:
                return _oauth_error(401, "invalid_client", "unknown client or wrong secret", basic is not None)
            await switch_tenant(session, tenant.id)
            client = await verify_client_secret(session, client_id, secret)
            if client is None:
                return _oauth_error(401, "invalid_client", "unknown client or wrong secret", basic is not None)
            now = datetime.now(UTC)
            access = issue_partner_token(state.settings, user_id=client.user_id, client_id=client.client_id,
                                         tenant=tenant.slug, now=now)
            session.add(AuditEntry(
                user_id=client.user_id, roles="partner_unit", action="partner_client.token",
                object_type="partner_clients", object_ids=[str(client.id)], detail={"outcome": "ok"},
                request_id=pipeline.request_id(), client_addr=pipeline.client_addr(request),
                created_at=state.clock()))
            await session.commit()
        return JSONResponse({"access_token": access, "token_type": "bearer",
                             "expires_in": int(PARTNER_TOKEN_TTL.total_seconds())}, headers=_NO_STORE)

    return token
