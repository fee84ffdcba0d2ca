"""The demo's explorer (issue #12): GraphiQL with a demo-user picker, demo-only endpoints, examples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from graphql import parse, validate
from starlette.applications import Starlette

from gongzhi.app import create_app
from gongzhi.explorer import EXAMPLES, example_operations, explorer_html
from gongzhi.settings import Settings
from schema.schema import schema
from tests.conftest import JWT_SECRET, DbEnv, World

HTML = {"accept": "text/html,application/xhtml+xml"}
GQL = {"content-type": "application/json", "accept": "application/graphql-response+json"}
ME = "{ me { username roles { role active } } cases(first: 100) { totalCount } }"


@asynccontextmanager
async def _client(db: DbEnv, **kw: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, **kw), engine=db.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def _act_as(c: httpx.AsyncClient, tenant: str, user: str) -> dict[str, Any]:
    r = await c.post("/demo/token", json={"tenant": tenant, "user": user})
    assert r.status_code == 200, r.text
    headers = r.json()["headers"]
    assert headers["X-Gongzhi-Tenant"] == tenant
    r = await c.post("/graphql", json={"query": ME}, headers={**GQL, **headers})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body
    return body["data"]


async def test_demo_serves_the_explorer_with_picker_and_examples(db: DbEnv) -> None:
    async with _client(db, demo=True, graphiql=True, introspection=True) as c:
        r = await c.get("/graphql", headers=HTML)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert 'id="demo-user"' in page and "/demo/users" in page and "/demo/token" in page
        assert "graphiql@3.8.3" in page
        for name in ("GridWorkerOpenCases", "ResidentWalls", "ResidentNotices", "SecretaryDashboard",
                     "SecretarySupervision", "FirmAssignedCases", "PartnerActivities"):
            assert name in page, name


async def test_demo_users_and_tokens_answer_per_role(db: DbEnv, world: World) -> None:
    a = world.a
    async with _client(db, demo=True, graphiql=True, introspection=True) as c:
        r = await c.get("/demo/users")
        assert r.status_code == 200
        listed = {(u["tenant"], u["user"]): u for u in r.json()}
        assert listed[(a.slug, a.username("grid1"))]["role"] == "grid_leader"
        assert listed[(a.slug, a.username("resident"))]["role"] == "resident"
        assert (a.slug, a.username("nobody")) not in listed  # no role, nothing to act as
        assert (a.slug, a.username("expired")) not in listed
        admin = await _act_as(c, a.slug, a.username("admin"))
        resident = await _act_as(c, a.slug, a.username("resident"))
        assert admin["me"]["username"] == a.username("admin")
        assert [x["role"] for x in admin["me"]["roles"]] == ["STREET_ADMIN"]
        assert [x["role"] for x in resident["me"]["roles"]] == ["RESIDENT"]
        # The same query is answered per role: the resident sees at most what the admin sees.
        assert resident["cases"]["totalCount"] <= admin["cases"]["totalCount"]


async def test_demo_token_refuses_unknown_users_and_other_tenants(db: DbEnv, world: World) -> None:
    async with _client(db, demo=True, graphiql=True) as c:
        for body in ({"tenant": world.a.slug, "user": world.b.username("admin")},  # B's user, A's tenant
                     {"tenant": world.a.slug, "user": world.a.username("nobody")},
                     {"tenant": "no-such-tenant", "user": world.a.username("admin")}):
            r = await c.post("/demo/token", json=body)
            assert r.status_code == 404, body
        for raw in (b"not json", b"[]", b'{"tenant": 1, "user": "x"}'):
            r = await c.post("/demo/token", content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 400


async def test_outside_the_demo_the_endpoints_do_not_exist(db: DbEnv) -> None:
    for kw in ({}, {"graphiql": True, "introspection": True}):
        async with _client(db, demo=False, **kw) as c:
            assert (await c.get("/demo/users")).status_code == 404
            assert (await c.post("/demo/token", json={"tenant": "x", "user": "y"})).status_code == 404
            r = await c.get("/graphql", headers=HTML)
            assert 'id="demo-user"' not in r.text
            if not kw:
                assert r.status_code == 405


def test_example_operations_validate_against_the_schema() -> None:
    examples = example_operations()
    assert [e["name"] for e in examples] == ["whoami", "resident", "grid_worker", "party_secretary",
                                             "property_firm", "partner"]
    assert {p.stem for p in EXAMPLES.glob("*.graphql")} == {e["name"] for e in examples}
    for e in examples:
        assert validate(schema._schema, parse(e["query"])) == [], e["name"]


def test_page_does_not_let_an_example_close_its_script() -> None:
    page = explorer_html([{"name": "x", "query": "# </script><script>alert(1)</script>\n{ me { username } }"}])
    assert "</script><script>alert(1)" not in page
