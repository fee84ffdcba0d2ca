"""The demo's explorer (issues #12, #25): GraphiQL with an actor bar, demo-only endpoints, examples
— one tab per example operation, each run with the variables the page fills for its intended actor."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from graphql import ArgumentNode, FieldNode, TypeInfo, Visitor, parse, validate, visit
from graphql.utilities import TypeInfoVisitor
from starlette.applications import Starlette

from gongzhi.http.app import create_app
from gongzhi.http.explorer import EXAMPLES, PAGE, example_operations, explorer_html
from gongzhi.http.explorer_examples import INTENDED_ACTOR, example_tabs, fill, fillers
from gongzhi.modules import schema as _built
from gongzhi.settings import Settings
from models import Member, RoleAssignment, User
from models.base import uuid7
from tenants.session import bind_tenant
from tests.support.cobuilding import community, gid, make_agreement, make_unit

# `db` and `world` of the module's own (tests/support/databases.py): /demo/token and
# /demo/example-variables read every tenant of the database (demo_users), and the session's holds every
# tenant the worker's tests made before — the every-tab test took 100 s on SQLite in a whole run, 1.5 s
# alone (CI time, issue #21). `fresh` (tests/conftest.py) builds its tenants in this one too.
from tests.support.databases import module_db, module_world  # noqa: F401
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

schema = _built()

HTML = {"accept": "text/html,application/xhtml+xml"}
GQL = {"content-type": "application/json", "accept": "application/graphql-response+json"}
ME = "{ me { username roles { role active } } cases(first: 100) { totalCount } }"


async def test_the_module_reads_a_database_of_its_own(db: DbEnv, world: World) -> None:
    """What keeps the demo's every-tenant reads cheap here: no tenant but the module's own."""
    from sqlalchemy import func, select

    from models import Tenant

    async with db.sessionmaker() as s:
        tenants = await s.scalar(select(func.count()).select_from(Tenant))
    assert tenants is not None and tenants <= 8, tenants


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
                     "SecretarySupervision", "FirmAssignedCases", "PartnerSharedData"):
            assert name in page, name
        # Partner systems are in the picker too, through the real client-credentials flow.
        assert 'id="demo-partners"' in page and "/demo/partner-clients" in page
        assert "rotatePartnerClientSecret" in page and "/oauth/token" in page and "client_credentials" in page


async def test_explorer_assets_are_served_by_the_app_not_a_cdn(db: DbEnv) -> None:
    """Offline: every script and stylesheet of the page comes from /demo/static, and each file is
    byte for byte the published npm build (its SRI hash, which the browser checks too)."""
    async with _client(db, demo=True, graphiql=True, introspection=True) as c:
        page = (await c.get("/graphql", headers=HTML)).text
        assert "unpkg" not in page and "https://" not in page and "http://" not in page
        assets = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"', page)
        assert {a for a, _ in assets} == {"/demo/static/react@18.2.0/react.production.min.js",
                                          "/demo/static/react-dom@18.2.0/react-dom.production.min.js",
                                          "/demo/static/graphiql@3.8.3/graphiql.min.css",
                                          "/demo/static/graphiql@3.8.3/graphiql.min.js"}
        assert not re.findall(r'(?:src|href)="https?://', page)
        for path, integrity in assets:
            r = await c.get(path)
            assert r.status_code == 200, path
            digest = "sha384-" + base64.b64encode(hashlib.sha384(r.content).digest()).decode()
            assert digest == integrity, path
        assert (await c.get("/demo/static/../explorer.py")).status_code == 404


async def test_explorer_acts_as_a_demo_partner_system(db: DbEnv, fresh: World) -> None:
    """GET /demo/partner-clients lists a tenant's partner clients with the admin who manages them;
    what the page then does — rotate the secret as that admin, exchange it at /oauth/token — gives a
    partner token that runs the partner example (the partner's shared data)."""
    a = fresh.a
    async with _client(db, demo=True, graphiql=True, introspection=True, rate_limit_per_minute=0) as c:
        api = Api(c, Settings(database_url=db.app_url, jwt_secret=JWT_SECRET))
        unit = await make_unit(api, a, "市三医院", 21)
        await make_agreement(api, a, unit, [community(a, "C1")], title="东风社区—市三医院共驻共建协议")
        created = (await api.gql(a, "admin", """mutation($u: ID!) { createPartnerClient(input:
            {partnerUnitId: $u, label: "志愿服务系统"}) { client { id clientId } clientSecret } }""",
                                 {"u": unit}))["data"]["createPartnerClient"]
        r = await c.get("/demo/partner-clients")
        assert r.status_code == 200
        (listed,) = [p for p in r.json() if p["tenant"] == a.slug]
        assert listed == {"tenant": a.slug, "client_id": created["client"]["clientId"],
                          "id": created["client"]["id"], "label": "志愿服务系统", "unit": "市三医院",
                          "manager": a.username("admin")}
        # As the page does it: the manager's demo token, a new secret, then client credentials.
        admin = (await c.post("/demo/token", json={"tenant": a.slug, "user": listed["manager"]})).json()
        rot = await c.post("/graphql", headers={**GQL, **admin["headers"]}, json={
            "query": "mutation($id: ID!) { rotatePartnerClientSecret(id: $id) { clientSecret errors { code } } }",
            "variables": {"id": listed["id"]}})
        secret = rot.json()["data"]["rotatePartnerClientSecret"]["clientSecret"]
        assert secret and secret != created["clientSecret"]
        old = await c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": listed["client_id"],
                                                 "client_secret": created["clientSecret"]})
        assert old.status_code == 401  # the rotation is real
        tok = await c.post("/oauth/token", data={"grant_type": "client_credentials",
                                                 "client_id": listed["client_id"], "client_secret": secret})
        assert tok.status_code == 200, tok.text
        (partner,) = [e for e in example_operations() if e["name"] == "partner"]
        shared = await c.post("/graphql", headers={**GQL, "authorization": f"Bearer {tok.json()['access_token']}"},
                              json={"query": partner["query"]})
        body = shared.json()
        assert "errors" not in body, body
        agreements = body["data"]["myAgreementsConnection"]
        assert agreements["totalCount"] == 1
        assert [x["title"] for x in agreements["nodes"]] == ["东风社区—市三医院共驻共建协议"]
        assert agreements["nodes"][0]["communities"] == [{"id": community(a, "C1"), "name": "东风社区"}]
        assert agreements["nodes"][0]["sharedData"]  # the enum form of what the agreement grants
        # A staff user's token gets no shared views: the answer is per actor.
        staff = (await c.post("/graphql", headers={**GQL, **admin["headers"]}, json={"query": partner["query"]})).json()
        assert staff["data"] is None and staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # A revoked client is no longer offered.
        await api.gql(a, "admin", "mutation($id: ID!) { revokePartnerClient(id: $id) { client { id } } }",
                      {"id": listed["id"]})
        assert [p for p in (await c.get("/demo/partner-clients")).json() if p["tenant"] == a.slug] == []


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


async def test_demo_token_finds_the_user_in_its_own_street_office(db: DbEnv, fresh: World) -> None:
    """Usernames are unique per street office (DESIGN.md §8): B's account named like A's grid leader
    gives B's account in B and A's in A — the lookup never crosses offices by name (issue #24)."""
    import jwt

    a, b = fresh.a, fresh.b
    same = a.username("grid1")
    async with db.sessionmaker() as s:
        bind_tenant(s, b.tenant_id)
        async with s.begin():
            twin = User(id=uuid7(), username=same, display_name="同名网格员", home_tenant_id=b.tenant_id)
            s.add(twin)
            await s.flush()
            s.add(RoleAssignment(user_id=twin.id, role="grid_leader", scope_area_id=b.areas["G1"],
                                 valid_from=datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC"))))
            s.add(Member(user_id=twin.id))
    async with _client(db, demo=True, graphiql=True) as c:
        for tw, expected in ((a, a.users["grid1"]), (b, twin.id), (a, a.users["grid1"])):
            r = await c.post("/demo/token", json={"tenant": tw.slug, "user": same})
            assert r.status_code == 200, r.text
            claims = jwt.decode(r.json()["token"], options={"verify_signature": False})
            assert claims["sub"] == str(expected), (tw.slug, claims)
            me = await _act_as(c, tw.slug, same)
            assert me["me"]["username"] == same


async def test_outside_the_demo_the_endpoints_do_not_exist(db: DbEnv) -> None:
    for kw in ({}, {"graphiql": True, "introspection": True}):
        async with _client(db, demo=False, **kw) as c:
            assert (await c.get("/demo/users")).status_code == 404
            assert (await c.post("/demo/token", json={"tenant": "x", "user": "y"})).status_code == 404
            assert (await c.get("/demo/partner-clients")).status_code == 404
            assert (await c.get("/demo/example-variables", params={"tenant": "x", "user": "y"})).status_code == 404
            assert (await c.get("/demo/static/graphiql@3.8.3/graphiql.min.js")).status_code == 404
            r = await c.get("/graphql", headers=HTML)
            assert 'id="demo-user"' not in r.text
            if not kw:  # no page: a GET is a GraphQL request (issue #24), and HTML is not a media type it answers
                assert r.status_code == 406 and r.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def test_example_operations_validate_against_the_schema() -> None:
    examples = example_operations()
    assert [e["name"] for e in examples] == ["whoami", "resident", "grid_worker", "party_secretary",
                                             "property_firm", "partner"]
    assert {p.stem for p in EXAMPLES.glob("*.graphql")} == {e["name"] for e in examples}
    for e in examples:
        assert validate(schema._schema, parse(e["query"])) == [], e["name"]


def _deprecated_in(query: str) -> list[str]:
    """The deprecated fields (Type.field) and arguments a document uses."""
    info = TypeInfo(schema._schema)
    found: list[str] = []

    class Deprecated(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            d, parent = info.get_field_def(), info.get_parent_type()
            if d is not None and parent is not None and d.deprecation_reason:
                found.append(f"{parent.name}.{node.name.value}")

        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            a = info.get_argument()
            if a is not None and a.deprecation_reason:
                found.append(f"argument {node.name.value}")

    visit(parse(query), TypeInfoVisitor(info, Deprecated()))
    return found


def test_example_operations_use_no_deprecated_field_or_argument() -> None:
    """The examples teach newcomers the schema: none selects a field or passes an argument that is
    deprecated (a legacy plain list, a String of a closed set such as Agreement.grants …, issue #25)."""
    assert {e["name"]: _deprecated_in(e["query"]) for e in example_operations()} == {
        e["name"]: [] for e in example_operations()}
    # the check sees them where they are
    assert _deprecated_in("{ myAgreements { grants } }") == ["Query.myAgreements", "PartnerAgreement.grants"]


def test_page_does_not_let_an_example_close_its_script() -> None:
    page = explorer_html([{"name": "x", "query": "# </script><script>alert(1)</script>\n{ me { username } }"}])
    assert "</script><script>alert(1)" not in page


async def _partner_headers(c: httpx.AsyncClient, api: Api, a: Any) -> dict[str, str]:
    """What the page does for a partner system: a new secret as the street admin, then client credentials."""
    unit = await make_unit(api, a, "市三医院", 21)
    await make_agreement(api, a, unit, [community(a, "C1")], title="东风社区—市三医院共驻共建协议")
    created = (await api.gql(a, "admin", """mutation($u: ID!) { createPartnerClient(input:
        {partnerUnitId: $u, label: "志愿服务系统"}) { client { id clientId } clientSecret } }""",
                             {"u": unit}))["data"]["createPartnerClient"]
    tok = await c.post("/oauth/token", data={"grant_type": "client_credentials",
                                             "client_id": created["client"]["clientId"],
                                             "client_secret": created["clientSecret"]})
    assert tok.status_code == 200, tok.text
    return {"authorization": f"Bearer {tok.json()['access_token']}"}


async def test_every_example_tab_runs_for_its_intended_actor_with_the_variables_the_page_fills(
        db: DbEnv, fresh: World) -> None:
    """Issue #25: each tab, as the page offers it — for the first demo user of the tenant with the
    role it is meant for (any demo user for WhoAmI: the first one, the page's default actor), with the
    variables GET /demo/example-variables fills for that user (a partner system: none) — runs with
    no error and no null root field; and the filled values are that user's own."""
    a = fresh.a
    async with _client(db, demo=True, graphiql=True, introspection=True, rate_limit_per_minute=0) as c:
        api = Api(c, Settings(database_url=db.app_url, jwt_secret=JWT_SECRET))
        partner = await _partner_headers(c, api, a)
        listed = [u for u in (await c.get("/demo/users")).json() if u["tenant"] == a.slug]
        tabs = example_tabs()
        assert {t.actor for t in tabs} == set(INTENDED_ACTOR.values()) == {
            None, "resident", "grid_leader", "party_secretary", "property_firm", "partner"}
        filled: dict[str, dict[str, Any]] = {}
        for tab in tabs:
            if tab.actor == "partner":
                headers, variables = partner, {}
                assert tab.variables == (), "the page fills no variables for a partner system"
            else:
                user = next(u["user"] for u in listed if tab.actor is None or u["role"] == tab.actor)
                r = await c.get("/demo/example-variables", params={"tenant": a.slug, "user": user})
                assert r.status_code == 200, r.text
                assert tab.name not in r.json()["missing"], (tab.name, user, r.json()["missing"])
                variables = r.json()["variables"][tab.name]
                assert set(variables) <= {name for name, _ in tab.variables}
                filled[user] = {**filled.get(user, {}), **variables}
                headers = (await c.post("/demo/token", json={"tenant": a.slug, "user": user})).json()["headers"]
            r = await c.post("/graphql", headers={**GQL, **headers},
                             json={"query": tab.query, "variables": variables, "operationName": tab.name})
            body = r.json()
            assert r.status_code == 200 and "errors" not in body, (tab.name, tab.actor, variables, body)
            assert body["data"] and all(v is not None for v in body["data"].values()), (tab.name, body)
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        # The resident's own compound (P1, of their household H1); the secretary's own scope (C1).
        assert filled[a.username("resident")]["compoundId"] == gid("Compound", a.areas["P1"])
        assert filled[a.username("secretary")] == {"areaId": community(a, "C1"),
                                                   "from": (today - timedelta(days=29)).isoformat(),
                                                   "to": today.isoformat()}


async def test_example_variables_answer_per_user(db: DbEnv, world: World) -> None:
    """Without a household of their own, a user's compoundId is a compound they may read; an unknown
    user, another tenant's user and a missing parameter are refused as /demo/token refuses them."""
    a = world.a
    async with _client(db, demo=True, graphiql=True, introspection=True) as c:
        async def variables(user: str) -> dict[str, Any]:
            r = await c.get("/demo/example-variables", params={"tenant": a.slug, "user": a.username(user)})
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            assert body["tenant"] == a.slug and body["user"] == a.username(user)
            out: dict[str, Any] = body["variables"]
            return out

        admin = await variables("admin")
        compounds = {gid("Compound", a.areas[k]) for k in ("P1", "P2", "P3")}
        assert admin["ResidentWalls"]["compoundId"] in compounds
        assert admin["SecretaryDashboard"]["areaId"] == gid("Street", a.areas["S"])
        assert (await variables("resident4"))["ResidentWalls"] == {"compoundId": gid("Compound", a.areas["P3"])}
        assert (await variables("grid3"))["SecretaryDashboard"]["areaId"] == gid("Grid", a.areas["G3"])
        assert all(v == {} for k, v in admin.items() if k not in {"ResidentWalls", "SecretaryDashboard"})
        for params in ({"tenant": a.slug, "user": a.username("nobody")},
                       {"tenant": a.slug, "user": world.b.username("admin")},
                       {"tenant": a.slug}):
            r = await c.get("/demo/example-variables", params=params)
            assert r.status_code in (400, 404) and "error" in r.json(), params


def test_tabs_are_one_per_operation_with_their_comments() -> None:
    tabs = example_tabs()
    assert [t.name for t in tabs] == ["WhoAmI", "ResidentWalls", "ResidentNotices", "ResidentMyReports",
                                      "GridWorkerOpenCases", "SecretaryDashboard", "SecretarySupervision",
                                      "FirmAssignedCases", "PartnerSharedData"]
    for tab in tabs:
        doc = parse(tab.query)
        assert [d.name.value for d in doc.definitions] == [tab.name]  # type: ignore[attr-defined]
        assert validate(schema._schema, doc) == [], tab.name
        assert tab.query.lstrip().startswith("#"), f"{tab.name} keeps the comment above it"
    walls, notices, _ = [t for t in tabs if t.file == "resident"]
    assert "problem wall (问题墙)" in walls.query and "(问题墙)" not in notices.query
    assert "notices for my compound" in notices.query
    assert walls.variables == (("compoundId", True),)
    assert dict(next(t for t in tabs if t.name == "GridWorkerOpenCases").variables) == {"first": False,
                                                                                          "after": False}


def test_fill_leaves_defaults_and_names_what_it_cannot_fill() -> None:
    tabs = [t for t in example_tabs() if t.name in ("ResidentWalls", "GridWorkerOpenCases", "SecretaryDashboard")]
    variables, missing = fill(tabs, fillers({"me": {"roles": [], "person": None}, "compounds": {"nodes": []}},
                                            date(2025, 3, 9)))
    assert variables == {"ResidentWalls": {}, "GridWorkerOpenCases": {},
                         "SecretaryDashboard": {"from": "2025-02-08", "to": "2025-03-09"}}
    assert missing == {"ResidentWalls": ["compoundId"], "SecretaryDashboard": ["areaId"]}
    # An inactive role's scope is not used; an own compound wins over the first readable one.
    roles = [{"active": False, "scope": {"id": "old"}}, {"active": True, "scope": {"id": "s"}}]
    values = fillers({"me": {"roles": roles,
                             "person": {"household": {"building": {"parent": {"id": "own", "kind": "COMPOUND"}}}}},
                      "compounds": {"nodes": [{"id": "first"}]}}, date(2025, 3, 9))
    assert values["areaId"] == "s" and values["compoundId"] == "own"


def test_graphiql_labels_translate_both_ways() -> None:
    """The page turns GraphiQL's English labels into Chinese and back (English switch): no two
    labels may share a translation, or switching back would show the wrong one."""
    page = PAGE.read_text(encoding="utf-8")
    block = page[page.index("const GRAPHIQL_ZH = {"):]
    block = block[:block.index("};")]
    pairs = re.findall(r'"((?:[^"\\]|\\.)*)":\s*"((?:[^"\\]|\\.)*)"', block)
    assert len(pairs) > 40
    assert len({zh for _, zh in pairs}) == len(pairs)
    assert dict(pairs)["Variables"] == "变量" and dict(pairs)["Error fetching schema"] == "获取模式失败"
