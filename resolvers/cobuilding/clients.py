"""Partner API clients (接口凭据): credentials of a partner unit's system, issued, rotated and
revoked by whoever manages the unit; the secret is kept only as a scrypt hash."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import PartnerClient, PartnerUnit, User, uuid7
from resolvers import validation as v
from resolvers.cobuilding.units import get_partner_unit, unit_manageable
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **SCRYPT).hex()


def _new_secret() -> tuple[str, str, str]:
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return secret, salt, hash_secret(secret, salt)


async def create_partner_client(ctx: RequestContext, partner_unit_id: uuid.UUID, label: str
                                ) -> tuple[PartnerClient, str]:
    """New credentials for a unit's system. The secret is returned once and kept only hashed."""
    text = v.text(label, "label", max_len=100)
    unit = await get_partner_unit(ctx, partner_unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位不存在", "partner unit not found"), "partnerUnitId")
    await unit_manageable(ctx, unit, "partnerUnitId")
    secret, salt, digest = await asyncio.to_thread(_new_secret)
    client_id = f"{ctx.tenant.slug}.{secrets.token_hex(10)}"
    user = User(id=uuid7(), username=f"partner-client-{uuid.uuid4().hex[:20]}",
                display_name=f"{unit.name} · {text}"[:100], created_at=ctx.now)
    await ctx.db.flush(user)
    client = PartnerClient(id=uuid7(), partner_unit_id=unit.id, client_id=client_id, label=text, user_id=user.id,
                           secret_salt=salt, secret_hash=digest, secret_version=1, created_by=ctx.actor.user_id,
                           created_at=ctx.now)
    await ctx.db.flush(client)
    return client, secret


async def _manageable_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient:
    client = await get_partner_client(ctx, client_id)
    if client is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位客户端不存在", "partner client not found"), "id")
    unit = await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == client.partner_unit_id))
    assert unit is not None
    await unit_manageable(ctx, unit, "id")
    if client.revoked_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该客户端已吊销", "the client is revoked"), "id")
    return client


async def rotate_partner_client_secret(ctx: RequestContext, client_id: uuid.UUID) -> tuple[PartnerClient, str]:
    """A new secret; the old one gets no token from now on."""
    client = await _manageable_client(ctx, client_id)
    secret, salt, digest = await asyncio.to_thread(_new_secret)
    client.secret_salt, client.secret_hash = salt, digest
    client.secret_version += 1
    client.rotated_at = ctx.now
    await ctx.db.flush(client)
    return client, secret


async def revoke_partner_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient:
    """Revoked: no token from now on, and tokens already issued stop working on the next request."""
    client = await _manageable_client(ctx, client_id)
    client.revoked_at = ctx.now
    await ctx.db.flush(client)
    return client


async def get_partner_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient | None:
    if not ctx.actor.grant("agreement", "manage"):
        return None
    client: PartnerClient | None = await ctx.db.scalar(select(PartnerClient).where(PartnerClient.id == client_id))
    return client


_DUMMY_SALT = secrets.token_hex(16)


async def verify_client_secret(session: AsyncSession, client_id: str, secret: str) -> PartnerClient | None:
    """The client whose id and secret these are, not revoked (None otherwise). The session must be
    bound to the client id's tenant. A hash is computed either way, so timing tells nothing."""
    client = await session.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))
    salt = client.secret_salt if client is not None else _DUMMY_SALT
    digest = await asyncio.to_thread(hash_secret, secret, salt)
    if client is None or not hmac.compare_digest(digest, client.secret_hash) or client.revoked_at is not None:
        return None
    return client
