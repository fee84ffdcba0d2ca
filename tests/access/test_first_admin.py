"""A new street office's first street admin (issue #23): from the CLI (as the app role on PostgreSQL,
under row-level security, no superuser) and from the platform API (platform admins only, audited);
the operator's platform-administrator token from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

import httpx
import jwt
import pytest

from gongzhi.cli import main
from gongzhi.http.app import create_app
from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import Settings
from tests.support.harness import JWT_SECRET, Api, DbEnv, new_slug

ME = "{ me { username displayName tenant { slug } roles { role scope { name } } } }"
CREATE_USER = ("mutation($i: CreateUserInput!) { createUser(input: $i) { user { username } "
               "errors { code } } }")


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue().strip(), err.getvalue().strip()


def cli_env(mp: pytest.MonkeyPatch, db: DbEnv) -> None:
    """The CLI as the operator runs it against this database: on PostgreSQL as the app role (no
    migration URL: the owner URL is the app's), which owns no table and is subject to RLS."""
    for name in ("GONGZHI_MIGRATION_DATABASE_URL", "GONGZHI_JWT_PUBLIC_KEY_FILE", "GONGZHI_JWT_JWKS_FILE",
                 "GONGZHI_JWT_ISSUER", "GONGZHI_JWT_AUDIENCE", "GONGZHI_DEMO"):
        mp.delenv(name, raising=False)
    mp.setenv("GONGZHI_DATABASE_URL", db.app_url)
    mp.setenv("GONGZHI_JWT_SECRET", JWT_SECRET)


async def test_first_street_admin_from_the_cli(api: Api, db: DbEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, db)
    slug = new_slug("cli")
    code, out, err = await asyncio.to_thread(cli, ["tenant", "create", "--slug", slug, "--name", "新城街道",
                                                   "--admin", "xc.admin", "--admin-name", "陈主任"])
    assert code == 0, err
    assert f"created tenant {slug}" in out and "street admin xc.admin" in out
    code, token, err = await asyncio.to_thread(cli, ["token", "--tenant", slug, "--user", "xc.admin"])
    assert code == 0, err
    me = (await api.post(ME, token=token)).json()["data"]["me"]
    assert me == {"username": "xc.admin", "displayName": "陈主任", "tenant": {"slug": slug},
                  "roles": [{"role": "STREET_ADMIN", "scope": {"name": "新城街道"}}]}
    made = (await api.post(CREATE_USER, {"i": {"username": "xc.grid1", "displayName": "网格员"}},
                           token=token)).json()["data"]["createUser"]
    assert made == {"user": {"username": "xc.grid1"}, "errors": []}
    # a second tenant may have a street admin of the same name: a different account
    other = new_slug("cli")
    code, _out, err = await asyncio.to_thread(cli, ["tenant", "create", "--slug", other, "--name", "旧城街道",
                                                    "--admin", "xc.admin"])
    assert code == 0, err
    code, token2, _ = await asyncio.to_thread(cli, ["token", "--tenant", other, "--user", "xc.admin"])
    assert code == 0
    assert jwt.decode(token2, options={"verify_signature": False})["sub"] != \
        jwt.decode(token, options={"verify_signature": False})["sub"]
    # the slug taken: one line, status 2, nothing created
    code, _out, err = await asyncio.to_thread(cli, ["tenant", "create", "--slug", slug, "--name", "x",
                                                    "--admin", "y"])
    assert code == 2 and "exists" in err


async def test_platform_admin_token_from_the_cli(db: DbEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, db)
    code, token, err = await asyncio.to_thread(cli, ["token", "--platform-admin", "--user", "ops.li"])
    assert code == 0, err
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="gongzhi", issuer="gongzhi")
    assert claims["platform"] == "admin" and claims["tenants"] == [] and claims["preferred_username"] == "ops.li"
    code, _out, err = await asyncio.to_thread(cli, ["token", "--user", "x"])  # neither tenant nor platform
    assert code == 2 and "--tenant" in err


async def test_first_street_admin_from_the_platform_api(db: DbEnv) -> None:
    settings = Settings(database_url=db.app_url, migration_database_url=db.owner_url, jwt_secret=JWT_SECRET,
                        rate_limit_per_minute=0, platform_api=True)
    app = create_app(settings, engine=db.engine)
    import uuid

    operator = issue_dev_token(settings, user_id=uuid.uuid4(), username="ops", tenants=[], platform="admin")
    slug = new_slug("pa")
    doc = ("mutation($s: String!, $u: String, $sub: String) { createTenant(slug: $s, name: \"花园街道\", "
           "adminUsername: $u, adminDisplayName: \"周主任\", adminSubject: $sub) { tenant { slug } errors { code } } }")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        async def call(token: str, query: str, variables: dict[str, Any]) -> httpx.Response:
            return await c.post("/platform/graphql", json={"query": query, "variables": variables},
                                headers={"authorization": f"Bearer {token}"})

        api = Api(c, settings)
        # a street admin's token is refused (403) and creates nothing
        someone = issue_dev_token(settings, user_id=uuid.uuid4(), username="x", tenants=[slug])
        r = await call(someone, doc, {"s": slug, "u": "hy.admin", "sub": "idp-7f3a"})
        assert r.status_code == 403
        made = (await call(operator, doc, {"s": slug, "u": "hy.admin", "sub": "idp-7f3a"})).json()
        assert made["data"]["createTenant"] == {"tenant": {"slug": slug}, "errors": []}, made
        # the identity provider's token for that subject is the street admin
        now = int(__import__("time").time())
        idp = jwt.encode({"sub": "idp-7f3a", "tenants": [slug], "iss": "gongzhi", "aud": "gongzhi", "iat": now,
                          "exp": now + 600}, JWT_SECRET, algorithm="HS256")
        me = (await api.post(ME, token=idp)).json()["data"]["me"]
        assert me["username"] == "hy.admin" and me["displayName"] == "周主任"
        assert me["roles"] == [{"role": "STREET_ADMIN", "scope": {"name": "花园街道"}}]
        # the same subject for another new tenant: refused, nothing created
        other = new_slug("pa")
        clash = (await call(operator, doc, {"s": other, "u": "hy.admin", "sub": "idp-7f3a"})).json()
        assert clash["data"]["createTenant"]["errors"] == [{"code": "INVALID"}]
        listed = (await call(operator, "{ tenants { slug } }", {})).json()["data"]["tenants"]
        assert other not in {t["slug"] for t in listed} and slug in {t["slug"] for t in listed}
        log = (await call(operator, "{ platformAudit(last: 10) { action tenantSlug outcome } }", {})).json()
    entries = {(e["action"], e["tenantSlug"], e["outcome"]) for e in log["data"]["platformAudit"]}
    assert ("createTenant", slug, "ok") in entries and ("createTenant", other, "error") in entries
    assert ("platform", None, "refused") in entries
