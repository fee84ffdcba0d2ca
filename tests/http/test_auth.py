"""Bearer JWT authentication and tenant selection: every bad token is refused, none widens the tenant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gongzhi.http.app import create_app
from gongzhi.http.auth import AuthError, TokenVerifier, issue_dev_token
from gongzhi.settings import Settings
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

ME = "{ me { username tenant { slug } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _claims(user_id: uuid.UUID, tenants: list[str], **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id), "tenants": tenants, "iss": "gongzhi", "aud": "gongzhi",
        "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(over)
    return claims


def _hs256_raw(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """Sign by hand (PyJWT rightly refuses to use a PEM key as an HMAC secret)."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def _unauthorized(r: httpx.Response, code: str) -> None:
    assert r.status_code == 401, r.text
    assert r.headers.get("www-authenticate", "").startswith("Bearer"), dict(r.headers)
    body = r.json()
    assert "data" not in body, body
    assert body["errors"][0]["extensions"]["code"] == code, body


# -- missing and malformed credentials


async def test_no_token_is_401(api: Api) -> None:
    _unauthorized(await api.post(ME), "UNAUTHENTICATED")


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "bearer"])
async def test_malformed_authorization_header_is_401(api: Api, authorization: str) -> None:
    _unauthorized(await api.post(ME, headers={"authorization": authorization}), "UNAUTHENTICATED")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "...."])
async def test_garbage_token_is_401(api: Api, token: str) -> None:
    _unauthorized(await api.post(ME, token=token), "INVALID_TOKEN")


async def test_lowercase_bearer_scheme_is_accepted(api: Api, world: World) -> None:
    r = await api.post(ME, headers={"authorization": f"bearer {api.token(world.a, 'grid1')}"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["me"]["username"] == world.a.username("grid1")


# -- bad tokens


async def test_expired_token_is_401_token_expired(api: Api, world: World) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    token = api.token(world.a, "grid1", now=old, ttl=timedelta(hours=1))
    _unauthorized(await api.post(ME, token=token), "TOKEN_EXPIRED")


async def test_forged_token_is_401(api: Api, world: World) -> None:
    other = Settings(jwt_secret="another-secret-that-is-long-enough-0123456789")
    token = issue_dev_token(other, user_id=world.a.users["admin"], username=world.a.username("admin"),
                            tenants=[world.a.slug])
    _unauthorized(await api.post(ME, token=token), "INVALID_TOKEN")


async def test_alg_none_is_401(api: Api, world: World) -> None:
    payload = _claims(world.a.users["admin"], [world.a.slug])
    for alg in ("none", "None", "NONE"):
        token = f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(payload)}."
        _unauthorized(await api.post(ME, token=token), "INVALID_TOKEN")


async def test_tampered_payload_is_401(api: Api, world: World) -> None:
    header, _payload, sig = api.token(world.a, "grid1").split(".")
    # Same signature, but now claiming to be the street admin of both tenants.
    forged = _segment(_claims(world.a.users["admin"], [world.a.slug, world.b.slug]))
    _unauthorized(await api.post(ME, token=f"{header}.{forged}.{sig}"), "INVALID_TOKEN")
    # A flipped signature byte is refused too.
    good = api.token(world.a, "grid1")
    flipped = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    _unauthorized(await api.post(ME, token=flipped), "INVALID_TOKEN")


@pytest.mark.parametrize("field", ["aud", "iss"])
async def test_wrong_audience_or_issuer_is_401(api: Api, world: World, field: str) -> None:
    token = jwt.encode(_claims(world.a.users["grid1"], [world.a.slug], **{field: "someone-else"}), JWT_SECRET,
                       algorithm="HS256")
    _unauthorized(await api.post(ME, token=token), "INVALID_TOKEN")


@pytest.mark.parametrize("missing", ["exp", "sub", "iss", "aud"])
async def test_token_missing_required_claim_is_401(api: Api, world: World, missing: str) -> None:
    claims = _claims(world.a.users["grid1"], [world.a.slug])
    del claims[missing]
    _unauthorized(await api.post(ME, token=jwt.encode(claims, JWT_SECRET, algorithm="HS256")), "INVALID_TOKEN")


@pytest.mark.parametrize("tenants", ["alpha", None, [1, 2], {"a": 1}])
async def test_bad_tenants_claim_is_401(api: Api, world: World, tenants: Any) -> None:
    claims = _claims(world.a.users["grid1"], [])
    claims["tenants"] = tenants
    if tenants is None:
        del claims["tenants"]
    _unauthorized(await api.post(ME, token=jwt.encode(claims, JWT_SECRET, algorithm="HS256")), "INVALID_TOKEN")


async def test_sub_not_a_uuid_is_401(api: Api, world: World) -> None:
    # Since issue #23 a sub that is not a UUID is an identity provider's subject (users.subject): one no
    # account is bound to is still refused, as an unknown user; a sub that is not a string is invalid.
    claims = _claims(world.a.users["grid1"], [world.a.slug], sub="admin")
    _unauthorized(await api.post(ME, token=jwt.encode(claims, JWT_SECRET, algorithm="HS256")), "UNKNOWN_USER")
    claims = _claims(world.a.users["grid1"], [world.a.slug], sub=12345)
    _unauthorized(await api.post(ME, token=jwt.encode(claims, JWT_SECRET, algorithm="HS256")), "INVALID_TOKEN")


async def test_sub_of_unknown_user_is_401(api: Api, world: World) -> None:
    token = issue_dev_token(api.settings, user_id=uuid.uuid4(), username="ghost", tenants=[world.a.slug])
    _unauthorized(await api.post(ME, token=token), "UNKNOWN_USER")


# -- tenant selection


async def test_tenant_header_outside_token_is_403(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "admin"), tenant=world.b.slug)
    assert r.status_code == 403, r.text
    assert "data" not in r.json()
    assert r.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"


async def test_tenant_header_inside_token_selects_it(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "admin"), tenant=world.a.slug)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["me"]["tenant"]["slug"] == world.a.slug


async def test_several_tenants_without_header_is_400(api: Api, world: World) -> None:
    token = api.token(world.a, "admin", tenants=[world.a.slug, world.b.slug])
    r = await api.post(ME, token=token)
    assert r.status_code == 400, r.text
    assert "data" not in r.json()
    assert r.json()["errors"][0]["extensions"]["code"] == "TENANT_REQUIRED"


async def test_several_tenants_header_picks_one_and_gives_no_rights_there(api: Api, world: World) -> None:
    """Choosing tenant B with a token that allows it does not carry A's roles into B."""
    token = api.token(world.a, "admin", tenants=[world.a.slug, world.b.slug])
    r = await api.post("{ me { tenant { slug } roles { role } } households { totalCount } }", token=token,
                       tenant=world.b.slug)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["me"] == {"tenant": {"slug": world.b.slug}, "roles": []}
    assert data["households"]["totalCount"] == 0


async def test_token_allowing_no_tenant_is_403(api: Api, world: World) -> None:
    token = issue_dev_token(api.settings, user_id=world.a.users["admin"], username="x", tenants=[])
    r = await api.post(ME, token=token)
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"


async def test_unknown_tenant_is_403(api: Api, world: World) -> None:
    token = issue_dev_token(api.settings, user_id=world.a.users["admin"], username="x", tenants=["no-such-street"])
    r = await api.post(ME, token=token)
    assert r.status_code == 403, r.text
    assert "data" not in r.json()


# -- RS256: public key and JWKS


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The identity provider's key and a stranger's."""
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pem_settings(tmp_path: Path, key: rsa.RSAPrivateKey, secret: str | None = None) -> Settings:
    pem = tmp_path / "idp.pem"
    pem.write_bytes(_public_pem(key))
    return Settings(jwt_public_key_file=str(pem), jwt_secret=secret)


def _jwks_settings(tmp_path: Path, key: rsa.RSAPrivateKey, kid: str) -> Settings:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return Settings(jwt_jwks_file=str(path))


def _verify_fails(verifier: TokenVerifier, token: str, code: str = "INVALID_TOKEN") -> None:
    with pytest.raises(AuthError) as e:
        verifier.verify(f"Bearer {token}")
    assert (e.value.status, e.value.code) == (401, code)


def test_rs256_with_public_key(tmp_path: Path, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> None:
    key, stranger = rsa_keys
    verifier = TokenVerifier(_pem_settings(tmp_path, key))
    user = uuid.uuid4()
    claims = verifier.verify("Bearer " + jwt.encode(_claims(user, ["langya"]), key, algorithm="RS256"))
    assert claims.user_id == user
    assert claims.tenants == ("langya",)
    _verify_fails(verifier, jwt.encode(_claims(user, ["langya"]), stranger, algorithm="RS256"))
    expired = _claims(user, ["langya"], exp=int((datetime.now(UTC) - timedelta(minutes=5)).timestamp()))
    _verify_fails(verifier, jwt.encode(expired, key, algorithm="RS256"), "TOKEN_EXPIRED")
    # No shared secret configured: HS256 is not accepted at all.
    _verify_fails(verifier, jwt.encode(_claims(user, ["langya"]), JWT_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("secret", [None, JWT_SECRET])
def test_rs256_algorithm_confusion_is_refused(tmp_path: Path, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
                                              secret: str | None) -> None:
    """An HS256 token whose HMAC secret is the (public) PEM key must never verify."""
    key, _ = rsa_keys
    verifier = TokenVerifier(_pem_settings(tmp_path, key, secret))
    pem = _public_pem(key)
    for variant in (pem, pem.strip()):
        token = _hs256_raw({"alg": "HS256", "typ": "JWT"}, _claims(uuid.uuid4(), ["langya"]), variant)
        _verify_fails(verifier, token)


def test_rs256_with_jwks(tmp_path: Path, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> None:
    key, stranger = rsa_keys
    verifier = TokenVerifier(_jwks_settings(tmp_path, key, "k1"))
    user = uuid.uuid4()
    good = jwt.encode(_claims(user, ["baitao", "langya"]), key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(f"Bearer {good}").tenants == ("baitao", "langya")
    _verify_fails(verifier, jwt.encode(_claims(user, ["langya"]), key, algorithm="RS256", headers={"kid": "k2"}))
    _verify_fails(verifier, jwt.encode(_claims(user, ["langya"]), key, algorithm="RS256"))
    _verify_fails(verifier, jwt.encode(_claims(user, ["langya"]), stranger, algorithm="RS256", headers={"kid": "k1"}))
    jwk_json = (tmp_path / "jwks.json").read_bytes()
    _verify_fails(verifier, _hs256_raw({"alg": "HS256", "kid": "k1"}, _claims(user, ["langya"]), jwk_json))
    _verify_fails(verifier, _hs256_raw({"alg": "HS256", "kid": "k1"}, _claims(user, ["langya"]), _public_pem(key)))


def test_verifier_needs_a_key() -> None:
    with pytest.raises(RuntimeError):
        TokenVerifier(Settings(jwt_secret=None))


async def test_rs256_token_accepted_by_app(db: DbEnv, world: World, tmp_path: Path,
                                           rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> None:
    key, _ = rsa_keys
    pem = tmp_path / "idp.pem"
    pem.write_bytes(_public_pem(key))
    app = create_app(Settings(database_url=db.app_url, jwt_public_key_file=str(pem)), engine=db.engine)
    good = jwt.encode(_claims(world.a.users["grid1"], [world.a.slug]), key, algorithm="RS256")
    confused = _hs256_raw({"alg": "HS256"}, _claims(world.a.users["admin"], [world.a.slug]), _public_pem(key))
    headers = {"content-type": "application/json", "accept": "application/graphql-response+json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        r = await client.post("/graphql", json={"query": ME}, headers={**headers, "authorization": f"Bearer {good}"})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["me"]["username"] == world.a.username("grid1")
        r = await client.post("/graphql", json={"query": ME},
                              headers={**headers, "authorization": f"Bearer {confused}"})
        _unauthorized(r, "INVALID_TOKEN")


def _hs_verifier() -> TokenVerifier:
    return TokenVerifier(Settings(jwt_secret=JWT_SECRET))


def test_a_verified_token_is_checked_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = _hs_verifier()
    user = uuid.uuid4()
    token = jwt.encode(_claims(user, ["langya"]), JWT_SECRET, algorithm="HS256")
    decoded: list[str] = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda t, *a, **k: decoded.append(t) or real(t, *a, **k))
    first = verifier.verify(f"Bearer {token}")
    again = verifier.verify(f"bearer  {token}")
    assert first == again and first.user_id == user and first.tenants == ("langya",)
    assert decoded == [token]
    # A different token (another user) is verified on its own, never answered from the first.
    other = jwt.encode(_claims(uuid.uuid4(), ["baitao"]), JWT_SECRET, algorithm="HS256")
    assert verifier.verify(f"Bearer {other}").tenants == ("baitao",)
    assert decoded == [token, other]


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = _hs_verifier()
    now = datetime.now(UTC)
    exp = int((now + timedelta(seconds=30)).timestamp())
    token = jwt.encode(_claims(uuid.uuid4(), ["langya"], exp=exp), JWT_SECRET, algorithm="HS256")
    verifier.verify(f"Bearer {token}")
    import gongzhi.http.auth as auth_module

    monkeypatch.setattr(auth_module.time, "time", lambda: exp + 0.0)  # exp <= now: expired
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(datetime.fromtimestamp(exp + 1, UTC)))
    with pytest.raises(AuthError) as e:
        verifier.verify(f"Bearer {token}")
    assert e.value.code == "TOKEN_EXPIRED"


class _FrozenDatetime:
    """PyJWT reads the time as datetime.now(tz=timezone.utc).timestamp(); this answers a fixed one."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self, tz: Any = None) -> datetime:
        return self._at

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


def test_refused_tokens_are_not_remembered_and_the_memory_is_bounded() -> None:
    verifier = _hs_verifier()
    forged = jwt.encode(_claims(uuid.uuid4(), ["langya"]), "another secret of thirty-two bytes or more",
                        algorithm="HS256")
    for _ in range(2):
        with pytest.raises(AuthError):
            verifier.verify(f"Bearer {forged}")
    assert len(verifier._verified) == 0
    verifier.CACHE_SIZE = 3
    tokens = [jwt.encode(_claims(uuid.uuid4(), ["langya"]), JWT_SECRET, algorithm="HS256") for _ in range(5)]
    for t in tokens:
        verifier.verify(f"Bearer {t}")
    assert list(verifier._verified) == tokens[2:]
