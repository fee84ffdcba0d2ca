"""Bearer JWT verification. HS256 with a shared secret (development), RS256 with a PEM public key
or a JWKS file (production). The token names the user (``sub``) and the tenants it may act in."""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from gongzhi.settings import Settings
from models import account_id_for_subject
from resolvers.i18n import t


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    tenants: tuple[str, ...]
    # co-building (issue #7): set when a partner unit's API client holds the token (claim "pc").
    partner_client: str | None = None
    # operations (issue #10): claim "platform": "admin" makes a platform administrator, who manages
    # tenants at /platform/graphql (gongzhi/platform_api.py) and nothing else.
    platform_admin: bool = False
    # str(user_id), asked by every request that presents the token (metrics, rate limit): made once.
    user: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", str(self.user_id))


class TokenVerifier:
    """Verifies bearer tokens. A token that verified is remembered (by its exact text, with its
    expiry) so the signature check and claim parsing run once per token, not once per request
    (issue #9: they were a fifth of a node lookup's CPU). The keys never change in a verifier's life,
    so a remembered answer stays right until the token expires, which is checked on every use."""

    CACHE_SIZE = 4096

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._keys: dict[str | None, Any] = {}
        self._verified: OrderedDict[str, tuple[float, Claims]] = OrderedDict()
        if settings.jwt_public_key_file:
            self._keys[None] = Path(settings.jwt_public_key_file).read_text()
        if settings.jwt_jwks_file:
            jwks = jwt.PyJWKSet.from_dict(json.loads(Path(settings.jwt_jwks_file).read_text()))
            for k in jwks.keys:
                self._keys[k.key_id] = k.key
        if not settings.jwt_secret and not self._keys:
            raise RuntimeError("no JWT key configured: set GONGZHI_JWT_SECRET, _PUBLIC_KEY_FILE or _JWKS_FILE")

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg == "HS256" and self._settings.jwt_secret:
            return self._settings.jwt_secret, ["HS256"]
        if alg == "RS256" and self._keys:
            kid = header.get("kid")
            key = self._keys.get(kid) or self._keys.get(None)
            if key is None:
                raise AuthError(401, "INVALID_TOKEN", t("签名密钥未知", "unknown signing key"))
            return key, ["RS256"]
        raise AuthError(401, "INVALID_TOKEN", t("不接受该令牌的签名算法", "token algorithm not accepted"))

    def verify(self, authorization: str | None) -> Claims:
        if not authorization:
            raise AuthError(401, "UNAUTHENTICATED", t("缺少 Bearer 令牌，请先登录", "missing bearer token"))
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError(401, "UNAUTHENTICATED", t("Authorization 请求头应为 'Bearer <令牌>'",
                                                      "Authorization must be 'Bearer <token>'"))
        token = token.strip()
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[0]:  # PyJWT's own test: expired once exp <= now
                return known[1]
            del self._verified[token]
        found, exp = self._verify(token)
        self._verified[token] = (exp, found)
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return found

    def _verify(self, token: str) -> tuple[Claims, float]:
        try:
            key, algs = self._key_for(token)
            claims = jwt.decode(
                token, key, algorithms=algs, audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer, options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "TOKEN_EXPIRED", t("令牌已过期，请重新获取", "token expired")) from None
        except jwt.PyJWTError as e:
            raise AuthError(401, "INVALID_TOKEN", t(f"令牌无效：{e}", f"invalid token: {e}")) from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip() or len(sub) > 255:
            raise AuthError(401, "INVALID_TOKEN", t("令牌的 sub 应为 1–255 个字符的字符串",
                                                    "sub must be a string of 1–255 characters"))
        # The account the identity provider's subject is bound to (users.subject; docs/onboarding.md).
        user_id = account_id_for_subject(sub)
        tenants = claims.get("tenants")
        if not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
            raise AuthError(401, "INVALID_TOKEN", t("令牌的 tenants 声明应为街道标识的列表",
                                                    "tenants claim must be a list of tenant slugs"))
        pc = claims.get("pc")
        if pc is not None and (not isinstance(pc, str) or len(tenants) != 1):
            raise AuthError(401, "INVALID_TOKEN", t("合作单位客户端的令牌应写明客户端且只含一个街道",
                                                    "a partner client token names its client and one tenant"))
        return Claims(user_id=user_id, tenants=tuple(tenants), partner_client=pc,
                      platform_admin=pc is None and claims.get("platform") == "admin"), float(claims["exp"])


def select_tenant(claims: Claims, requested: str | None) -> str:
    """The one tenant of this request: the header's choice among those the token allows."""
    if requested:
        if requested not in claims.tenants:
            raise AuthError(403, "TENANT_NOT_ALLOWED", t(f"该令牌不能访问街道 {requested!r}",
                                                         f"the token does not allow tenant {requested!r}"))
        return requested
    if len(claims.tenants) == 1:
        return claims.tenants[0]
    if not claims.tenants:
        raise AuthError(403, "TENANT_NOT_ALLOWED", t("该令牌不能访问任何街道", "the token allows no tenant"))
    raise AuthError(400, "TENANT_REQUIRED", t("令牌可用于多个街道，请用 X-Gongzhi-Tenant 请求头选择一个",
                                              "the token allows several tenants: choose one with X-Gongzhi-Tenant"))


def issue_dev_token(settings: Settings, *, user_id: uuid.UUID, username: str, tenants: list[str],
                    ttl: timedelta = timedelta(hours=12), now: datetime | None = None,
                    platform: str | None = None) -> str:
    """An HS256 token for development and tests (production tokens come from the identity provider).
    ``platform="admin"`` adds the platform-administrator claim (issue #10)."""
    if not settings.jwt_secret:
        raise RuntimeError("签发开发令牌需要设置 GONGZHI_JWT_SECRET（或 GONGZHI_DEMO=1）")
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id), "preferred_username": username, "tenants": tenants,
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
        "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()),
    }
    if platform is not None:
        payload["platform"] = platform
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


# --- co-building (issue #7) ---
PARTNER_TOKEN_TTL = timedelta(minutes=10)


def issue_partner_token(settings: Settings, *, user_id: uuid.UUID, client_id: str, tenant: str,
                        ttl: timedelta = PARTNER_TOKEN_TTL, now: datetime | None = None) -> str:
    """A short-lived HS256 token for a partner unit's API client (OAuth 2 client credentials):
    ``pc`` names the client, ``tenants`` its one tenant."""
    if not settings.jwt_secret:
        raise RuntimeError("the partner token endpoint signs with GONGZHI_JWT_SECRET")
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id), "pc": client_id, "tenants": [tenant],
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
        "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")
