"""GraphQL over HTTP at /graphql (media types, status codes, request errors), /healthz, /readyz."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

import resolvers.care
import resolvers.register
from gongzhi.http.app import create_app
from gongzhi.http.persisted import sha256
from gongzhi.migrate import head_revision, upgrade
from gongzhi.settings import Settings
from tenants.session import count_statements, make_engine
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

GQL_RESPONSE = "application/graphql-response+json"
ME = "{ me { username tenant { slug } } }"


def _media(r: httpx.Response) -> str:
    return r.headers["content-type"].split(";")[0].strip()


async def _raw(api: Api, content: bytes | str, *, content_type: str = "application/json",
               accept: str = GQL_RESPONSE, token: str | None = None) -> httpx.Response:
    headers = {"content-type": content_type, "accept": accept}
    if api.accept_language:
        headers["accept-language"] = api.accept_language
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await api.client.post("/graphql", content=content, headers=headers)


def _request_error(r: httpx.Response, status: int = 400) -> list[dict[str, Any]]:
    """A request error: the given status, errors, and no `data` entry at all."""
    assert r.status_code == status, r.text
    body = r.json()
    assert "data" not in body, body
    errors: list[dict[str, Any]] = body["errors"]
    assert errors and all(isinstance(e["message"], str) and e["message"] for e in errors)
    return errors


@asynccontextmanager
async def _client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


# -- media types


async def test_post_json_answers_graphql_response_json(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "grid1"))
    assert r.status_code == 200
    assert _media(r) == GQL_RESPONSE
    assert r.json() == {"data": {"me": {"username": world.a.username("grid1"), "tenant": {"slug": world.a.slug}}}}


async def test_accept_application_json_only_gets_application_json(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "grid1"), headers={"accept": "application/json"})
    assert r.status_code == 200
    assert _media(r) == "application/json"
    assert r.json()["data"]["me"]["tenant"]["slug"] == world.a.slug


async def test_validation_error_is_200_for_application_json(api: Api, world: World) -> None:
    r = await api.post("{ me { nosuchfield } }", token=api.token(world.a, "grid1"),
                       headers={"accept": "application/json"})
    assert r.status_code == 200
    assert _media(r) == "application/json"
    body = r.json()
    assert "data" not in body
    assert "nosuchfield" in body["errors"][0]["message"]


async def test_accept_text_plain_only_is_406(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "grid1"), headers={"accept": "text/plain"})
    assert r.status_code == 406
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_wildcard_or_missing_accept_gets_application_json(api: Api, world: World) -> None:
    """The spec: a server SHOULD answer */* and a missing Accept with application/json (legacy
    clients); application/graphql-response+json is for clients that ask for it by name."""
    for accept in ("*/*", "application/*"):
        r = await api.post(ME, token=api.token(world.a, "grid1"), headers={"accept": accept})
        assert r.status_code == 200 and _media(r) == "application/json", accept
    r = await api.client.post("/graphql", json={"query": ME}, headers={
        "authorization": f"Bearer {api.token(world.a, 'grid1')}", "accept": ""})  # no Accept value
    assert _media(r) == "application/json"
    bad = await api.post("{ nope }", token=api.token(world.a, "grid1"), headers={"accept": "*/*"})
    assert bad.status_code == 200 and "data" not in bad.json()  # legacy: errors in a 200


# -- request errors: 400 and no data


@pytest.mark.parametrize("query", ["{ me { username ", "query {", "}}}"])
async def test_unparsable_query_is_400(api: Api, world: World, query: str) -> None:
    errors = _request_error(await api.post(query, token=api.token(world.a, "grid1")))
    assert "Syntax Error" in errors[0]["message"]


async def test_unknown_field_is_400(api: Api, world: World) -> None:
    errors = _request_error(await api.post("{ me { username salary } }", token=api.token(world.a, "grid1")))
    assert "salary" in errors[0]["message"]


async def test_validation_error_is_400(api: Api, world: World) -> None:
    # households needs a selection set; `first` takes an Int.
    _request_error(await api.post("{ households }", token=api.token(world.a, "grid1")))
    _request_error(await api.post('{ households(first: "many") { totalCount } }', token=api.token(world.a, "grid1")))


async def test_wrong_content_type_is_415(api: Api, world: World) -> None:
    token = api.token(world.a, "grid1")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/graphql"):
        r = await _raw(api, orjson.dumps({"query": ME}), content_type=ctype, token=token)
        assert r.status_code == 415, (ctype, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # A charset parameter is fine.
    r = await _raw(api, orjson.dumps({"query": ME}), content_type="application/json; charset=utf-8", token=token)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "JSON"),
        (b"", "JSON"),
        (b"[1, 2]", "object"),
        (b'"{ me { username } }"', "object"),
        (b"{}", "query"),
        (b'{"query": ""}', "query"),
        (b'{"query": 42}', "query"),
        (b'{"query": "{ me { username } }", "variables": [1]}', "variables"),
        (b'{"query": "{ me { username } }", "variables": "x"}', "variables"),
        (b'{"query": "{ me { username } }", "operationName": 7}', "operationName"),
        # An operationName the document does not define (GraphiQL sends the tab's): 400, not a 500.
        (b'{"query": "query A { me { username } }", "operationName": "B"}', "operationName"),
    ],
)
async def test_bad_body_is_400(api: Api, world: World, content: bytes, fragment: str) -> None:
    errors = _request_error(await _raw(api.english(), content, token=api.token(world.a, "grid1")))
    assert fragment in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


async def test_body_over_limit_is_413(api: Api, world: World) -> None:
    padding = " " * (api.settings.max_body_bytes + 1)
    r = await _raw(api, orjson.dumps({"query": "{ me { username } }" + padding}), token=api.token(world.a, "grid1"))
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_variables_that_do_not_coerce_are_400(api: Api, world: World) -> None:
    query = "query ($k: AreaKind) { areas(kind: $k) { totalCount } }"
    token = api.token(world.a, "admin")
    # The document with good variables runs …
    r = await api.post(query, {"k": "COMMUNITY"}, token=token)
    assert r.status_code == 200
    assert r.json() == {"data": {"areas": {"totalCount": 2}}}
    # … with an unknown enum value or a string for an Int it is a request error.
    _request_error(await api.post(query, {"k": "PLANET"}, token=token))
    _request_error(await api.post("query ($n: Int) { households(first: $n) { totalCount } }", {"n": "ten"},
                                  token=token))


@pytest.mark.parametrize(
    ("query", "variables", "fragment"),
    [
        ("query ($k: AreaKind) { areas(kind: $k) { totalCount } }", {"k": "PLANET"}, "PLANET"),
        ("query ($n: Int) { households(first: $n) { totalCount } }", {"n": "ten"}, "Int"),
    ],
    ids=["enum", "int"],
)
async def test_coercion_error_is_reported_not_masked(api: Api, world: World, query: str, variables: dict[str, Any],
                                                     fragment: str) -> None:
    """A variable that does not coerce is the client's mistake: say which, do not call it an internal error."""
    errors = _request_error(await api.post(query, variables, token=api.token(world.a, "admin")))
    assert errors[0].get("extensions", {}).get("code") != "INTERNAL", errors
    assert fragment in errors[0]["message"], errors


async def test_missing_required_variable_is_400(api: Api, world: World) -> None:
    _request_error(await api.post("query ($id: ID!) { node(id: $id) { id } }", {}, token=api.token(world.a, "admin")))


# -- production hardening (ENGINEERING.md: introspection and field suggestions off, depth and alias limits on)


async def test_introspection_is_off_without_graphiql(api: Api, world: World) -> None:
    assert api.settings.graphiql is False and api.settings.demo is False
    token = api.token(world.a, "grid1")
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Person") { fields { name } } }'):
        r = await api.post(query, token=token)
        assert "idCardNo" not in r.text and "AreaConnection" not in r.text, r.text[:300]
        assert r.json().get("errors"), r.text[:300]
    # __typename is not introspection of the schema and keeps working.
    r = await api.post("{ me { __typename } }", token=token)
    assert r.json() == {"data": {"me": {"__typename": "Me"}}}


async def test_no_field_suggestions(api: Api, world: World) -> None:
    errors = _request_error(await api.post("{ me { usernam } }", token=api.token(world.a, "grid1")))
    assert "usernam" in errors[0]["message"]
    assert "Did you mean" not in errors[0]["message"], errors


async def test_depth_limit(api: Api, world: World) -> None:
    query = "{ areas { nodes { name } } }"
    for _ in range(8):
        query = query.replace("nodes { name }", "nodes { name children { nodes { name } } }", 1)
    errors = _request_error(await api.english().post(query, token=api.token(world.a, "admin")))
    assert "depth" in errors[0]["message"].lower()
    errors = _request_error(await api.post(query, token=api.token(world.a, "admin")))
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_DEEP" and "嵌套" in errors[0]["message"]


async def test_alias_limit(api: Api, world: World) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(40)) + " }"
    errors = _request_error(await api.english().post(query, token=api.token(world.a, "admin")))
    assert "alias" in errors[0]["message"].lower()
    errors = _request_error(await api.post(query, token=api.token(world.a, "admin")))
    assert errors[0]["extensions"]["code"] == "TOO_MANY_ALIASES" and "别名" in errors[0]["message"]
    r = await api.post("{ " + " ".join(f"a{i}: me {{ username }}" for i in range(5)) + " }",
                       token=api.token(world.a, "admin"))
    assert r.status_code == 200 and len(r.json()["data"]) == 5


# -- GET and GraphiQL


async def test_get_runs_queries_only_and_a_mutation_is_405_with_allow_post(db: DbEnv, api: Api,
                                                                          world: World) -> None:
    """GraphQL over HTTP's GET (issue #24; it was refused before) where GONGZHI_ADHOC_GET allows any
    document: a query runs, JSON-encoded variables and extensions included; a mutation is 405 with
    Allow: POST and runs nothing."""
    token = api.token(world.a, "grid1")
    auth = {"authorization": f"Bearer {token}", "accept": "application/json"}
    app = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, rate_limit_per_minute=0,
                              adhoc_get=True), engine=db.engine)
    async with _client(app) as client:
        r = await client.get("/graphql", params={"query": "query($n: Int) { notices(first: $n) { totalCount } }",
                                                 "variables": '{"n": 2}'}, headers=auth)
        assert r.status_code == 200 and "totalCount" in r.json()["data"]["notices"], r.text
        r = await client.get("/graphql", params={"query": "{ me { username } }"}, headers=auth)
        assert r.json() == {"data": {"me": {"username": world.a.username("grid1")}}}
        for accept in ("application/graphql-response+json", "application/json"):
            with count_statements() as statements:
                r = await client.get("/graphql", params={"query": "mutation { markNotificationsRead(ids: []) "
                                                                  "{ marked } }"},
                                     headers={**auth, "accept": accept})
            assert r.status_code == 405 and r.headers["allow"] == "POST"
            assert r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
            assert statements == []
            assert "<html" not in r.text.lower()
        # without a token, refused as a POST is
        r = await client.get("/graphql", params={"query": "{ me { username } }"},
                             headers={"accept": "application/json"})
        assert r.status_code == 401


async def test_get_runs_persisted_queries_only_by_default(api: Api, world: World) -> None:
    """Issue #24: by default a GET runs a persisted query (by its hash, or a document the server
    holds); an ad-hoc document is refused — 403 PERSISTED_QUERY_REQUIRED_FOR_GET, the GraphQL error
    shape with the request id, nothing run — and a mutation over GET stays 405, ad hoc or persisted."""
    assert not api.settings.adhoc_get
    me = "{ me { username } }"
    apq = orjson.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256(me)}}).decode()
    auth = {"authorization": f"Bearer {api.token(world.a, 'grid1')}", "accept": "application/json"}
    for accept in (GQL_RESPONSE, "application/json"):
        with count_statements() as statements:
            r = await api.client.get("/graphql", params={"query": me},
                                     headers={**auth, "accept": accept, "x-request-id": "adhoc-get-1"})
        assert r.status_code == 403 and statements == [], r.text
        assert "data" not in r.json()
        error = r.json()["errors"][0]
        assert error["extensions"] == {"code": "PERSISTED_QUERY_REQUIRED_FOR_GET", "requestId": "adhoc-get-1"}
        assert "持久化查询" in error["message"]
    # neither does a GET register a document for APQ: its hash is still unknown afterwards
    r = await api.client.get("/graphql", params={"query": me, "extensions": apq}, headers=auth)
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED_FOR_GET"
    r = await api.client.get("/graphql", params={"extensions": apq}, headers=auth)
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # registered with POST (APQ), it runs over GET by hash, and as the same document
    r = await api.client.post("/graphql", json={"query": me, "extensions": orjson.loads(apq)}, headers=auth)
    assert r.json() == {"data": {"me": {"username": world.a.username("grid1")}}}
    r = await api.client.get("/graphql", params={"extensions": apq}, headers=auth)
    assert r.status_code == 200 and r.json() == {"data": {"me": {"username": world.a.username("grid1")}}}
    r = await api.client.get("/graphql", params={"query": me}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["me"]["username"] == world.a.username("grid1")
    # a mutation over GET: 405 ad hoc (parsed, never run) and persisted alike
    mutation = "mutation { markNotificationsRead(input: {ids: []}) { marked } }"
    with count_statements() as statements:
        r = await api.client.get("/graphql", params={"query": mutation}, headers=auth)
    assert r.status_code == 405 and r.headers["allow"] == "POST" and statements == []
    assert r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    r = await api.client.post("/graphql", json={"query": mutation, "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": sha256(mutation)}}}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["markNotificationsRead"]["marked"] == 0, r.text
    with count_statements() as statements:
        r = await api.client.get("/graphql", params={"extensions": orjson.dumps(
            {"persistedQuery": {"version": 1, "sha256Hash": sha256(mutation)}}).decode()}, headers=auth)
    assert r.status_code == 405 and statements == []
    assert r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    # without a token: 401 first, as for a POST
    r = await api.client.get("/graphql", params={"query": me}, headers={"accept": "application/json"})
    assert r.status_code == 401


async def test_extensions_must_be_an_object(api: Api, world: World) -> None:
    auth = {"authorization": f"Bearer {api.token(world.a, 'grid1')}"}
    for extensions in ("a string", 7, ["list"]):
        r = await api.client.post("/graphql", json={"query": "{ me { username } }", "extensions": extensions},
                                  headers=auth)
        assert r.status_code == 400
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = await api.client.get("/graphql", params={"query": "{ me { username } }", "extensions": '"x"'}, headers=auth)
    assert r.status_code == 400


async def test_graphiql_served_when_enabled(db: DbEnv) -> None:
    app = create_app(Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=True), engine=db.engine)
    async with _client(app) as client:
        r = await client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "graphiql" in r.text.lower()
        # A non-HTML client never gets the page: its GET is a GraphQL request (here without a token).
        r = await client.get("/graphql", params={"query": "{ me { username } }"},
                             headers={"accept": "application/json"})
        assert r.status_code == 401 and "<html" not in r.text.lower()


# -- request id and masking


async def test_request_id_is_echoed(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "grid1"), headers={"x-request-id": "req-42.abc_Z"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-42.abc_Z"


async def test_unsafe_request_id_is_replaced(api: Api, world: World) -> None:
    r = await api.post(ME, token=api.token(world.a, "grid1"), headers={"x-request-id": "bad id\twith spaces"})
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    assert rid and rid != "bad id\twith spaces"
    assert " " not in rid


async def test_unexpected_error_is_masked(api: Api, world: World, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    async def boom(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    # careSettings with a directive: the compiler declines any directive, so the resolver is called on both
    # backends (careTagKinds, here before, and careSettings itself compile since issue #21)
    monkeypatch.setattr(resolvers.care, "care_settings", boom)
    with caplog.at_level("ERROR", logger="gongzhi"):
        r = await api.post("{ careSettings @include(if: true) { keyVisitDays } }", token=api.token(world.a, "admin"),
                           headers={"x-request-id": "boom-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL"
    assert "boom-1" in error["message"]
    assert "hunter2" not in r.text
    assert any("boom-1" in rec.getMessage() for rec in caplog.records)


# -- health and readiness


async def test_healthz(api: Api) -> None:
    r = await api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_at_head(api: Api) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["revision"] == head_revision()


async def test_readyz_503_when_revision_differs(tmp_path: Path) -> None:
    path = tmp_path / "ready.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        app = create_app(Settings(database_url=url, jwt_secret=JWT_SECRET), engine=engine)
        async with _client(app) as client:
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text
            with sqlite3.connect(path) as conn:
                conn.execute("UPDATE alembic_version SET version_num = 'not_a_revision'")
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["current"] == "not_a_revision"
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TABLE alembic_version")
            r = await client.get("/readyz")
            assert r.status_code == 503
            # Liveness does not depend on the database.
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await engine.dispose()
