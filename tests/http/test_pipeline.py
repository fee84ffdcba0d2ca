"""The one request pipeline (issue #20): every route — GraphQL, uploads, ledgers, the partner token
endpoint, the platform API, health, metrics — answers with the request id in X-Request-Id, its 401s
name the scheme in WWW-Authenticate, its errors have one body (GraphQL's shape, a code, the request
id), it is logged and counted by route, and a failure nobody caught is still that body, not a bare 500."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from models import AuditEntry
from tenants.session import bind_tenant
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

# (method, path, what it needs) for every route outside /graphql that takes a bearer token.
TOKEN_ROUTES = [
    ("POST", "/uploads"),
    ("GET", "/uploads/QXR0YWNobWVudDox"),
    ("GET", "/ledgers/register-template.xlsx"),
    ("POST", "/ledgers/register-imports"),
    ("GET", "/ledgers/register-imports/x/report"),
    ("GET", "/ledgers/register.xlsx"),
    ("GET", "/ledgers/export.xlsx"),
    ("GET", "/ledgers/register-full.xlsx"),
    ("GET", "/ledgers/export-full.xlsx"),
    ("GET", "/onboarding/template.xlsx"),
    ("POST", "/onboarding/imports"),
    ("GET", "/onboarding/imports/x/report"),
    ("GET", "/cases/hotline-template.xlsx"),
    ("POST", "/cases/hotline-imports"),
    ("POST", "/platform/graphql"),
    ("POST", "/graphql"),
]


def _settings(db: DbEnv) -> Settings:
    return Settings(database_url=db.app_url, migration_database_url=db.owner_url, jwt_secret=JWT_SECRET,
                    rate_limit_per_minute=0, platform_api=True, metrics=True)


async def _boom(_request: Request) -> Response:
    raise RuntimeError("a bug nobody caught")


@pytest.fixture
async def client(db: DbEnv) -> Any:
    app = create_app(_settings(db), engine=db.engine)
    app.router.routes.append(Route("/test-boom", _boom))  # behind the pipeline, like every route
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as c:
        yield c


@pytest.mark.parametrize(("method", "path"), TOKEN_ROUTES)
async def test_every_route_refuses_without_token_in_one_shape(client: httpx.AsyncClient, method: str,
                                                               path: str) -> None:
    json_body = {"query": "{ __typename }"} if path.endswith("graphql") else None
    r = await client.request(method, path, json=json_body, headers={"x-request-id": "pipe-401.a"})
    assert r.status_code == 401, (path, r.status_code, r.text)
    assert r.headers["x-request-id"] == "pipe-401.a"
    assert r.headers["www-authenticate"].startswith("Bearer"), path
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] and error["message"]
    if path != "/graphql":  # GraphQL's own 401 keeps its documented body; the header carries the id
        assert error["extensions"]["requestId"] == "pipe-401.a"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/oauth/token", "/nowhere"])
async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, path: str) -> None:
    r = await client.request("POST" if path == "/oauth/token" else "GET", path)
    rid = r.headers.get("x-request-id")
    assert rid and len(rid) == 32 and all(c in "0123456789abcdef" for c in rid), (path, rid)
    mine = await client.get(path, headers={"x-request-id": "mine-1"})
    assert mine.headers["x-request-id"] == "mine-1"


async def test_an_uncaught_failure_is_a_typed_error_with_the_request_id(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="gongzhi"):
        r = await client.get("/test-boom", headers={"x-request-id": "boom-7"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL", "requestId": "boom-7"}
    assert "boom-7" in body["errors"][0]["message"]
    assert "a bug nobody caught" not in r.text  # the cause is logged, never sent
    assert any("boom-7" in rec.getMessage() for rec in caplog.records)


async def test_routes_are_logged_and_counted_by_template(client: httpx.AsyncClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    def count(route: str, outcome: str) -> float:
        return REGISTRY.get_sample_value("gongzhi_http_requests_total",
                                         {"route": route, "method": "GET", "outcome": outcome}) or 0.0

    before = count("/uploads/{id}", "refused")
    with caplog.at_level(logging.INFO, logger="gongzhi.access"):
        await client.get("/uploads/QXR0YWNobWVudDox", headers={"x-request-id": "count-1"})
        await client.get("/uploads/QXR0YWNobWVudDoy", headers={"x-request-id": "count-2"})
    assert count("/uploads/{id}", "refused") == before + 2  # one label for every id: bounded
    lines = [r for r in caplog.records if r.name == "gongzhi.access"]
    fields = [getattr(r, "fields", {}) for r in lines]
    assert [f["route"] for f in fields if f.get("route") == "/uploads/{id}"] == ["/uploads/{id}"] * 2
    assert all(f["status"] == 401 and f["outcome"] == "refused" for f in fields if f.get("route") == "/uploads/{id}")


async def test_audit_entries_of_a_route_carry_the_pipelines_request_id(db: DbEnv, api: Api, world: World,
                                                                       client: httpx.AsyncClient) -> None:
    a = world.a
    r = await client.get("/ledgers/register.xlsx", headers={
        "authorization": f"Bearer {api.token(a, 'admin')}", "x-request-id": "ledger-rid-42"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "ledger-rid-42"
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.request_id == "ledger-rid-42")))
    assert "register.export" in actions, actions


async def test_a_service_error_outside_graphql_has_the_same_body(client: httpx.AsyncClient, api: Api,
                                                                 world: World) -> None:
    r = await client.get("/ledgers/export.xlsx", params={"from": "not-a-date", "to": "2026-01-01"},
                         headers={"authorization": f"Bearer {api.token(world.a, 'admin')}",
                                  "x-request-id": "bad-date-1"})
    assert r.status_code == 400
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["requestId"] == "bad-date-1"
    assert error["extensions"]["field"] == "from"


async def test_request_errors_and_refusals_are_not_counted_as_ok(api: Api, world: World) -> None:
    """issue #25: a document that fails validation (status 200 for legacy application/json clients)
    is a request_error, and a field refused by policy is a refusal — neither is "ok"."""
    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("gongzhi_http_requests_total",
                                         {"route": "/graphql", "method": "POST", "outcome": outcome}) or 0.0

    a = world.a
    before = {o: count(o) for o in ("ok", "request_error", "refused")}
    headers = {"authorization": f"Bearer {api.token(a, 'grid1')}", "accept": "application/json"}
    r = await api.client.post("/graphql", json={"query": "{ noSuchField }"}, headers=headers)
    assert r.status_code == 200 and r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert count("request_error") == before["request_error"] + 1
    denied = await api.gql(a, "nobody", "{ caseSettings { feedbackWaitDays } }", allow_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert count("refused") == before["refused"] + 1
    assert count("ok") == before["ok"]


def test_metric_children_are_the_metrics_own_kept_per_label_set() -> None:
    """issue #21: the pipeline keeps each label set's child instead of asking ``labels`` per request;
    counts land in the metric as before, and past the limit ``labels`` is asked again."""
    from prometheus_client import CollectorRegistry, Counter

    from gongzhi.http.observability import Children

    registry = CollectorRegistry()
    metric = Counter("gongzhi_test_children", "test", ["route"], registry=registry)
    by = Children(metric, limit=1)
    by("/a").inc()
    by("/a").inc()
    by("/b").inc()
    assert by("/a") is metric.labels("/a") and by("/b") is metric.labels("/b")
    assert registry.get_sample_value("gongzhi_test_children_total", {"route": "/a"}) == 2
    assert registry.get_sample_value("gongzhi_test_children_total", {"route": "/b"}) == 1
    assert list(by._found) == [("/a",)]


async def test_post_graphql_takes_the_pipelines_lane_not_starlettes_router(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """issue #21: POST /graphql goes from the pipeline to the endpoint (``GraphQLEndpoint.post``), not
    through Starlette's router and route (a tenth of a node lookup's CPU) — with the same request id,
    WWW-Authenticate, error body, route label and access line; other routes still take the router."""
    routed: list[str] = []
    dispatch = Route.handle

    async def spy(self: Route, scope: Any, receive: Any, send: Any) -> None:
        routed.append(f"{scope.get('method')} {scope['path']}")
        await dispatch(self, scope, receive, send)

    monkeypatch.setattr(Route, "handle", spy)
    labels = {"route": "/graphql", "method": "POST", "outcome": "refused"}
    before = REGISTRY.get_sample_value("gongzhi_http_requests_total", labels) or 0.0
    with caplog.at_level(logging.INFO, logger="gongzhi.access"):
        r = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "lane-1"})
        health = await client.get("/healthz")
        get = await client.get("/graphql", params={"query": "{ __typename }"})
    assert r.status_code == 401 and r.headers["x-request-id"] == "lane-1"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert health.status_code == 200 and get.status_code == 401
    assert routed == ["GET /healthz", "GET /graphql"], routed
    assert (REGISTRY.get_sample_value("gongzhi_http_requests_total", labels) or 0.0) == before + 1
    lines = [getattr(rec, "fields", {}) for rec in caplog.records if rec.name == "gongzhi.access"]
    assert {"method": "POST", "route": "/graphql", "status": 401, "outcome": "refused"}.items() <= lines[0].items()


@pytest.mark.parametrize(("headers", "content", "status", "code"), [
    ({"content-type": "text/plain"}, b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ({"content-type": "application/json", "accept": "text/html"}, b"{}", 406, "NOT_ACCEPTABLE"),
    ({"content-type": "application/json"}, b"{not json", 400, "BAD_REQUEST"),
    ({"content-type": "application/json"}, b"[1]", 400, "BAD_REQUEST"),
    ({"content-type": "application/json"}, b'{"query": "' + b"x" * 1_100_000 + b'"}', 413, "PAYLOAD_TOO_LARGE"),
])
async def test_the_lanes_request_errors_are_the_routes(client: httpx.AsyncClient, headers: dict[str, str],
                                                       content: bytes, status: int, code: str) -> None:
    r = await client.post("/graphql", content=content, headers={**headers, "x-request-id": "lane-bad"})
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"] == "lane-bad"
    assert r.json()["errors"][0]["extensions"]["code"] == code


async def test_a_body_already_received_arms_no_timer_one_that_waits_keeps_its_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """issue #21: the body deadline (issue #26) arms its timer only when ``receive`` has to wait."""
    import asyncio

    from gongzhi.http import pipeline

    armed: list[float] = []
    timeout_at = asyncio.timeout_at

    def counting(when: float | None) -> Any:
        armed.append(when or 0.0)
        return timeout_at(when)

    monkeypatch.setattr(pipeline.asyncio, "timeout_at", counting)
    arrives = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not arrives.is_set():
            await arrives.wait()
        return {"type": "http.request", "body": b"{}", "more_body": False}

    arrives.set()
    assert (await pipeline._timed_receive(receive, 5)())["body"] == b"{}"
    assert armed == []  # there already: no timer

    arrives.clear()
    asyncio.get_running_loop().call_later(0.05, arrives.set)
    assert (await pipeline._timed_receive(receive, 5)())["body"] == b"{}"  # waited, within the deadline
    assert len(armed) == 1

    arrives.clear()
    with pytest.raises(pipeline.BodyTimeout):
        await pipeline._timed_receive(receive, 0.05)()

    task = asyncio.create_task(pipeline._timed_receive(receive, 5)())
    await asyncio.sleep(0.01)
    task.cancel()  # the task's own cancellation is not a timeout
    with pytest.raises(asyncio.CancelledError):
        await task
