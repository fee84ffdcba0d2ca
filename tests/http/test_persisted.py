"""Persisted queries: APQ by hash, and the allowlist mode production can switch on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from gongzhi.http.app import create_app
from gongzhi.http.persisted import sha256
from gongzhi.settings import Settings
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

ME = "{ me { username } }"


@asynccontextmanager
async def _client(db: DbEnv, **kw: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, rate_limit_per_minute=0, **kw),
                     engine=db.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def _post(c: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await c.post("/graphql", json=body, headers={"authorization": f"Bearer {token}",
                                                        "accept": "application/graphql-response+json"})


def _apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_automatic_persisted_queries(db: DbEnv, api: Api, world: World) -> None:
    token = api.token(world.a, "grid1")
    async with _client(db) as c:
        unknown = await _post(c, token, {"extensions": _apq(sha256(ME))})
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await _post(c, token, {"query": ME, "extensions": _apq(sha256(ME))})
        assert registered.json()["data"]["me"]["username"] == world.a.username("grid1")
        by_hash = await _post(c, token, {"extensions": _apq(sha256(ME))})
        assert by_hash.status_code == 200 and by_hash.json() == registered.json()
        wrong = await _post(c, token, {"query": ME, "extensions": _apq(sha256(ME + " "))})
        assert wrong.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        bad = await _post(c, token, {"extensions": _apq("abc")})
        assert bad.status_code == 400


async def test_allowlist_mode_runs_registered_operations_only(db: DbEnv, api: Api, world: World,
                                                              tmp_path: Path) -> None:
    allowed = "query Me { me { username tenant { slug } } }"
    path = tmp_path / "operations.json"
    path.write_text(json.dumps({sha256(allowed): allowed}), encoding="utf-8")
    token = api.token(world.a, "grid1")
    async with _client(db, persisted_queries_file=str(path), persisted_only=True) as c:
        by_hash = await _post(c, token, {"extensions": _apq(sha256(allowed))})
        assert by_hash.json()["data"]["me"]["tenant"]["slug"] == world.a.slug
        in_full = await _post(c, token, {"query": allowed})
        assert in_full.status_code == 200 and "errors" not in in_full.json()
        other = await _post(c, token, {"query": ME})
        assert other.status_code == 400
        assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        # APQ registration is off in this mode
        sneaky = await _post(c, token, {"query": ME, "extensions": _apq(sha256(ME))})
        assert sneaky.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        assert (await _post(c, token, {"extensions": _apq(sha256(ME))})).json()["errors"][0]["extensions"][
            "code"] == "PERSISTED_QUERY_NOT_FOUND"
