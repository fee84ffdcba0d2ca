"""Property-based tests: queries generated from the schema (hypothesis-graphql), valid and invalid,
sent as each role of the world. Whatever they ask: no server error, nothing of the other tenant, and
no personal data in full that the role may not read.

Both tenants hold rows of every module (tests/support/query_count_world.py), and the IDs the
generated queries use are drawn from the rows of every Node type of the schema — derived from the
schema, so a new type is covered without anyone listing it (issue #24); the register and ledger
exports are checked too (masked for every role), and so are subscriptions (generated subscription
documents, and the deepest derived one, delivered to every role over the app's WebSocket route
in-process) and photo downloads (every role, both tenants, full size and thumbnail). Every mutation
with an ID input is sent tenant B's ids by A's street admin: none is accepted, each answers a typed
error naming a field.

Runs on its own SQLite database built by the migrations, with its own event loop (hypothesis drives
synchronous tests), derandomized so CI sees the same examples every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    build_schema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from gongzhi.http.app import create_app
from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import Settings
from models import Area, AreaKind, Base
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from tenants.session import make_engine, make_sessionmaker
from tests.support import fuzz
from tests.support.harness import JWT_SECRET, Api, DbEnv
from tests.support.paths import ROOT
from tests.support.query_count_world import populate
from tests.support.templates import create_migrated_sqlite
from tests.support.world import TenantWorld, build_tenant

fuzz.install()  # the same examples, each strategy object made once (tests/support/fuzz.py; CI time, issue #21)

SDL = (ROOT / "schema.graphql").read_text(encoding="utf-8")
SCALARS = {
    "Date": st.sampled_from(["2026-03-01", "1999-12-31", "2026-02-30"]).map(nodes.String),
    "DateTime": st.sampled_from(["2026-03-01T08:00:00+08:00", "2026-03-01T00:00:00Z"]).map(nodes.String),
    "Decimal": st.sampled_from(["88.50", "0", "-1", "1e9"]).map(nodes.String),
}
# Who may read whose personal data in full (tests/support/world.py): the resident only their household.
ROLES = {"admin": None, "secretary": None, "grid1": None, "firm": set(), "resident": {"h1a", "h1b"},
         "nobody": set()}
EXAMPLES = 40
SUBSCRIPTION_EXAMPLES = 6  # each subscribes six roles and makes three events: kept small for CI's budget


@dataclass
class Env:
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    a: TenantWorld
    b: TenantWorld
    settings: Settings
    # Global IDs of every Node type's rows in each tenant (tenant → ids), and tenant B's raw uuids.
    node_ids: dict[str, list[str]]
    b_ids: set[str]
    app: Any = None  # the ASGI app itself: subscriptions are driven over its WebSocket route in-process
    sessionmaker: Any = None

    def post(self, user: str, query: str) -> httpx.Response:
        token = issue_dev_token(self.settings, user_id=self.a.users[user], username=self.a.username(user),
                                tenants=[self.a.slug])
        return self.loop.run_until_complete(self.client.post(
            "/graphql", json={"query": query},
            headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"}))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
    url = create_migrated_sqlite(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    loop = asyncio.new_event_loop()
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    a = loop.run_until_complete(build_tenant(sm, "fuzz-a"))
    b = loop.run_until_complete(build_tenant(sm, "fuzz-b"))
    cfg = Settings(database_url=url, jwt_secret=JWT_SECRET, rate_limit_per_minute=0,
                   upload_dir=str(tmp_path_factory.mktemp("uploads")))
    app = create_app(cfg, engine=engine)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fuzz")
    # Rows of every module in both tenants, through the real mutations where it matters.
    dbenv = DbEnv(kind="sqlite", app_url=url, owner_url=url, engine=engine, owner_engine=engine, sessionmaker=sm)
    for tw in (a, b):
        loop.run_until_complete(populate(Api(client, cfg), dbenv, tw, 2))
    node_ids = {tw.slug: loop.run_until_complete(_node_ids(sm, tw)) for tw in (a, b)}
    b_ids = {str(decode_global_id(i)[1]) for i in node_ids[b.slug]}
    b_ids |= {str(i) for i in b.users.values()}
    yield Env(loop, client, a, b, cfg, node_ids, b_ids, app, sm)
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(engine.dispose())
    loop.close()


AREA_TYPES = {"S": "Street", "C": "Community", "Z": "Zone", "P": "Compound", "G": "Grid", "B": "Building"}
GRAPHQL: GraphQLSchema = build_schema(SDL)
AREA_KIND = {"Street": AreaKind.STREET, "Community": AreaKind.COMMUNITY, "Zone": AreaKind.ZONE,
             "Compound": AreaKind.COMPOUND, "Grid": AreaKind.GRID, "Building": AreaKind.BUILDING}
PER_TYPE = 3  # ids per Node type and tenant


def node_types() -> list[str]:
    """Every object type of the schema that implements Node."""
    node = GRAPHQL.get_type("Node")
    return sorted(t.name for t in GRAPHQL.type_map.values()
                  if isinstance(t, GraphQLObjectType) and node in t.interfaces)


def node_tables() -> dict[str, Any]:
    """Node type → its model (the class of the same name; areas by kind)."""
    classes = {m.class_.__name__: m.class_ for m in Base.registry.mappers}
    classes |= {graphql: classes[model] for graphql, model in NODE_MODEL_NAMES.items()}
    return {name: Area if name in AREA_KIND else classes.get(name) for name in node_types()}


# Node types named otherwise than their model (the API's name for the record, the model's for the row).
NODE_MODEL_NAMES = {"PropertyOwnership": "PropertyOwner", "UserAccount": "User"}


async def _node_ids(sm: Any, tw: TenantWorld) -> list[str]:
    from resolvers.ids import encode_global_id
    from tenants.session import bind_tenant

    out: list[str] = []
    async with sm() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for name, model in node_tables().items():
                stmt = select(model.id).order_by(model.id).limit(PER_TYPE)
                if not hasattr(model, "tenant_id"):  # accounts: a platform table, each in its street office
                    stmt = stmt.where(model.home_tenant_id == tw.tenant_id)
                if name in AREA_KIND:
                    stmt = stmt.where(Area.kind == AREA_KIND[name])
                out += [encode_global_id(name, i) for i in await s.scalars(stmt)]
    return out


def test_every_node_type_has_a_table_and_rows(env: Env) -> None:
    """Derived, not listed: every Node type of the schema maps to a model, and the fuzz world holds
    rows of it in both tenants (else the generated queries would never reach that type)."""
    tables = node_tables()
    assert not [n for n, m in tables.items() if m is None], "Node types without a model of the same name"
    for slug, ids in env.node_ids.items():
        seen = {decode_global_id(i)[0] for i in ids}
        missing = sorted(set(tables) - seen)
        assert not missing, (slug, "no rows of", missing)


def _scalars(env: Env) -> dict[str, Any]:
    """Custom scalars, and IDs drawn from both tenants' real objects (plus garbage): generated queries
    then reach real rows — and try the other tenant's."""
    from resolvers.ids import encode_global_id

    ids = ["not-an-id"]
    for tw in (env.a, env.b):
        ids += [encode_global_id(AREA_TYPES[k[0]], v) for k, v in tw.areas.items()]
        ids += [encode_global_id("Household", v) for v in tw.households.values()]
        ids += [encode_global_id("Person", v) for v in tw.persons.values()]
        ids += [encode_global_id("PropertyFirm", v) for v in tw.firms.values()]
        ids += env.node_ids[tw.slug]
    ids = list(dict.fromkeys(ids))
    return {**SCALARS, "ID": st.sampled_from(ids).map(nodes.String)}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _check(env: Env, user: str, query: str) -> None:
    r = env.post(user, query)
    assert r.status_code in (200, 400), (r.status_code, query, r.text[:500])
    _check_body(env, user, query, r.json())


def _check_body(env: Env, user: str, query: str, body: dict[str, Any]) -> None:
    """Whatever answered (an HTTP body, a subscription's next message): no server error, nothing of
    tenant B, and no personal data in full that the role may not read."""
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors", [])}
    assert "INTERNAL" not in codes, (query, body)
    b_ids = env.b_ids | {str(i) for i in (*env.b.areas.values(), *env.b.households.values(),
                                          *env.b.persons.values(), *env.b.users.values(), *env.b.firms.values())}
    for s in _strings(body.get("data")):
        assert s not in b_ids, ("tenant B's id", query)
        try:
            _, decoded = decode_global_id(s)
        except ServiceError:
            continue
        assert str(decoded) not in b_ids, ("tenant B's object", query)
    allowed = ROLES[user]
    if allowed is not None:
        text = json.dumps(body.get("data"), ensure_ascii=False)
        for key in env.a.persons:
            if key not in allowed:
                assert env.a.id_cards[key] not in text and env.a.phones[key] not in text, (user, key, query)


@pytest.mark.parametrize("user", list(ROLES))
def test_generated_queries(env: Env, user: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(query=queries(SDL, custom_scalars=_scalars(env)))
    def run(query: str) -> None:
        _check(env, user, query)

    run()


def _reaches_personal_data(type_name: str) -> bool:
    """Whether a type leads, through object fields, to a Person or a Household."""
    seen: set[str] = set()
    todo = [type_name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in ("Person", "Household"):
            return True
        t = GRAPHQL.get_type(name)
        fields = getattr(t, "fields", None) or {}
        todo += [get_named_type(f.type).name for f in fields.values()]
        todo += [p.name for p in getattr(t, "types", ())]  # unions
    return False


# The root fields that lead to personal data — derived from the schema: generated queries aimed at
# them, so masking is put to the test on every path there (the whole-schema run above rarely wanders
# that deep). node and nodes reach every type; the public walls are where anonymity matters most.
assert GRAPHQL.query_type is not None
PII_ROOTS = sorted(name for name, f in GRAPHQL.query_type.fields.items()
                   if _reaches_personal_data(get_named_type(f.type).name) or name in ("node", "nodes")
                   or name.endswith("Wall"))


@pytest.mark.parametrize("user", list(ROLES))
def test_generated_queries_toward_personal_data(env: Env, user: str) -> None:
    @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(query=queries(SDL, fields=PII_ROOTS, custom_scalars=_scalars(env)))
    def run(query: str) -> None:
        _check(env, user, query)

    run()


@pytest.mark.parametrize("user", ["admin", "resident"])
def test_generated_invalid_queries(env: Env, user: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(query=queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
    def run(query: str) -> None:
        r = env.post(user, query)
        assert r.status_code in (200, 400), (r.status_code, query)
        codes = {(e.get("extensions") or {}).get("code") for e in r.json().get("errors", [])}
        assert "INTERNAL" not in codes, (query, r.text[:500])

    run()


@pytest.mark.parametrize("user", ["grid1", "resident", "nobody"])
def test_generated_mutations(env: Env, user: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(query=mutations(SDL, custom_scalars=_scalars(env)))
    def run(query: str) -> None:
        _check(env, user, query)

    run()


EXPORTS = ["/ledgers/register.xlsx", "/ledgers/export.xlsx?from=2026-01-01&to=2026-12-31"]


@pytest.mark.parametrize("user", list(ROLES))
def test_exports_are_masked_for_everyone(env: Env, user: str) -> None:
    """DESIGN §8: every export masked, for every role (the full export is a separate action)."""
    token = issue_dev_token(env.settings, user_id=env.a.users[user], username=env.a.username(user),
                            tenants=[env.a.slug])
    for path in EXPORTS:
        r = env.loop.run_until_complete(env.client.get(path, headers={"authorization": f"Bearer {token}"}))
        assert r.status_code in (200, 400, 403, 404), (user, path, r.status_code, r.text[:300])
        if r.status_code != 200:
            continue
        wb = load_workbook(io.BytesIO(r.content), read_only=True)
        cells = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                         if c is not None)
        for tw in (env.a, env.b):
            for key in tw.persons:
                assert tw.id_cards[key] not in cells and tw.phones[key] not in cells, (user, path, key)


def test_uuid_strings_are_checked() -> None:
    """The B-id check looks at raw uuids and at global IDs alike."""
    from resolvers.ids import encode_global_id

    some = uuid.uuid4()
    assert decode_global_id(encode_global_id("Person", some))[1] == some


# -- subscriptions (issue #24) ------------------------------------------------------------------------
# Generated subscription documents (the schema's Subscription type as the root the generator walks),
# subscribed to by every role of tenant A at once over the app's own WebSocket route — in-process, on
# the fuzz's loop: no server process — then events happen in A (a resident's case in B1, where the
# world's persons live; a notice) and in B. Every message delivered is checked like a query's answer:
# no server error, nothing of tenant B, no personal data in full for a role that may not read it.

class WsClient:
    """A graphql-transport-ws client speaking ASGI to the app directly (no socket, no thread)."""

    def __init__(self, app: Any) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
                 "path": "/graphql", "raw_path": b"/graphql", "root_path": "", "query_string": b"",
                 "headers": [(b"host", b"fuzz"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
                 "subprotocols": ["graphql-transport-ws"], "server": ("fuzz", 80), "client": ("127.0.0.1", 50000)}
        self.task = asyncio.ensure_future(app(scope, self.inbox.get, self.outbox.put))

    async def send(self, message: dict[str, Any]) -> None:
        await self.inbox.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def recv(self, wait: float) -> dict[str, Any] | None:
        """The next graphql-ws message, or None when nothing came within ``wait`` seconds or it closed."""
        try:
            raw = await asyncio.wait_for(self.outbox.get(), wait)
        except TimeoutError:
            return None
        if raw["type"] != "websocket.send":
            return None
        out: dict[str, Any] = json.loads(raw["text"])
        return out

    async def open(self, token: str) -> None:
        await self.inbox.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.outbox.get(), 10)
        assert accepted["type"] == "websocket.accept", accepted
        await self.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        ack = await self.recv(10)
        assert ack is not None and ack["type"] == "connection_ack", ack

    async def close(self) -> None:
        await self.inbox.put({"type": "websocket.disconnect", "code": 1000})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.task, 5)
        if not self.task.done():
            self.task.cancel()


SUBSCRIPTIONS = GraphQLSchema(query=GRAPHQL.subscription_type,
                              types=[t for n, t in GRAPHQL.type_map.items() if not n.startswith("__")])
assert GRAPHQL.subscription_type is not None
SUBSCRIPTION_FIELDS = sorted(GRAPHQL.subscription_type.fields)
REPORT = ("mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }")
PUBLISH = "mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { notice { id } errors { code } } }"


def _post_as(env: Env, tw: TenantWorld, user: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    token = issue_dev_token(env.settings, user_id=tw.users[user], username=tw.username(user), tenants=[tw.slug])
    r = env.loop.run_until_complete(env.client.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"}))
    assert r.status_code == 200, r.text[:300]
    body: dict[str, Any] = r.json()
    return body


def _events(env: Env) -> None:
    """One event of each kind in A where the world's persons are (B1, its compound P1), one in B."""
    from resolvers.ids import encode_global_id

    for tw in (env.a, env.b):
        made = _post_as(env, tw, "resident", REPORT, {"i": {
            "areaId": encode_global_id("Building", tw.areas["B1"]), "category": "drainage", "title": "楼道积水"}})
        assert made["data"]["reportCase"]["errors"] == [], made
    made = _post_as(env, env.a, "admin", PUBLISH, {"i": {
        "areaId": encode_global_id("Compound", env.a.areas["P1"]), "title": "停水通知", "body": "明天停水"}})
    assert made["data"]["publishNotice"]["errors"] == [], made


def _deliver(env: Env, document: str, received: dict[str, int]) -> None:
    """Subscribe every role to ``document``, make the events, check every message delivered."""
    async def subscribe() -> dict[str, WsClient]:
        clients: dict[str, WsClient] = {}
        for user in ROLES:
            c = WsClient(env.app)
            token = issue_dev_token(env.settings, user_id=env.a.users[user], username=env.a.username(user),
                                    tenants=[env.a.slug])
            await c.open(token)
            await c.send({"id": "1", "type": "subscribe", "payload": {"query": document}})
            clients[user] = c
        await asyncio.sleep(0.05)  # registered on the bus before the events
        return clients

    async def collect(clients: dict[str, WsClient]) -> dict[str, list[dict[str, Any]]]:
        # The events were committed before this (in-process delivery), but each subscriber's answer is
        # resolved on this loop as it runs: all clients are read at once, the first message awaited up to
        # 0.5 s, the next 0.1 s. Read one after the other with 0.1 s each, the first client (the admin)
        # once got nothing on a loaded machine while the others, read later, got theirs.
        async def one(c: WsClient) -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            while (m := await c.recv(0.1 if got else 0.5)) is not None:
                got.append(m)
                if m["type"] in ("error", "complete"):
                    break
            await c.close()
            return got

        lists = await asyncio.gather(*(one(c) for c in clients.values()))
        return dict(zip(clients, lists, strict=True))

    clients = env.loop.run_until_complete(subscribe())
    try:
        _events(env)
    finally:
        messages = env.loop.run_until_complete(collect(clients))
    for user, ms in messages.items():
        for m in ms:
            assert m["type"] in ("next", "error", "complete"), (user, m)
            if m["type"] == "error":  # a document the server refuses: a list of GraphQL errors
                _check_body(env, user, document, {"errors": m["payload"]})
                continue
            if m["type"] == "next":
                _check_body(env, user, document, m["payload"])
                if (m["payload"].get("data") or {}):
                    received[user] = received.get(user, 0) + 1
                    text = json.dumps(m["payload"]["data"], ensure_ascii=False)
                    if any(p in text for p in (*env.a.phones.values(), *env.a.id_cards.values())):
                        received[f"{user} in full"] = received.get(f"{user} in full", 0) + 1


def _as_subscription(query: str) -> str:
    return "subscription " + query if query.lstrip().startswith("{") else query.replace("query", "subscription", 1)


def _deep_selection(type_name: str, depth: int) -> str:
    """Every scalar field of the type, and every object field (without required arguments) that
    leads to a Person or Household, to ``depth`` — derived from the schema."""
    t = GRAPHQL.get_type(type_name)
    assert isinstance(t, GraphQLObjectType)
    out: list[str] = []
    for name, f in t.fields.items():
        if any(is_non_null_type(a.type) and a.default_value is Undefined for a in f.args.values()):
            continue
        named = get_named_type(f.type)
        if is_leaf_type(named):
            out.append(name)
        elif depth > 0 and isinstance(named, GraphQLObjectType) and _reaches_personal_data(named.name):
            inner = _deep_selection(named.name, depth - 1)
            if inner:
                out.append(f"{name} {{ {inner} }}")
    return " ".join(out)


def test_subscription_events_carry_masked_data_only(env: Env) -> None:
    """The deepest derived selection of every subscription field (down to the persons' ID numbers and
    phones through the case's grid and households): every role subscribes, the events happen; the
    roles that may read personal data get it, the others only masked — and a role that may read
    events at all gets them (so the check has something to check)."""
    received: dict[str, int] = {}
    assert GRAPHQL.subscription_type is not None
    for name, field in GRAPHQL.subscription_type.fields.items():
        target = get_named_type(field.type).name
        _deliver(env, f"subscription {{ {name} {{ {_deep_selection(target, 6)} }} }}", received)
    # The check had something to check: the street admin's events carried personal data in full (the
    # selection reaches it), and roles that may not read it in full got events too (masked, as checked).
    assert received.get("admin in full") and received.get("firm") and received.get("resident"), received
    assert not received.get("nobody"), received


@pytest.mark.parametrize("root", SUBSCRIPTION_FIELDS)
def test_generated_subscriptions(env: Env, root: str) -> None:
    received: dict[str, int] = {}

    @settings(max_examples=SUBSCRIPTION_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(query=queries(SUBSCRIPTIONS, fields=[root], custom_scalars=_scalars(env)))
    def run(query: str) -> None:
        _deliver(env, _as_subscription(query), received)

    run()
    assert received.get("admin"), received  # some generated documents were served and checked


# -- photo downloads (issue #24) ------------------------------------------------------------------------
# Every photo of both tenants, downloaded by every role of A (full size and thumbnail): served exactly
# to the roles whose view of the case lists the photo — the case's readers in full — never from the
# other tenant, and never with the GPS EXIF its file was stored with.

def test_photos_are_served_to_readers_of_their_case_only(env: Env) -> None:
    from resolvers.cases import clean_image
    from resolvers.ids import encode_global_id
    from tests.support.photos import GPS_IFD, gps_jpeg

    root = Path(env.settings.upload_dir)
    photos: dict[str, list[str]] = {}
    clean = clean_image(gps_jpeg(64, 48), max_bytes=1 << 20)
    for tw in (env.a, env.b):
        rows = env.loop.run_until_complete(_attachments(env, tw))
        assert rows, (tw.slug, "the fuzz world has case photos")
        for attachment_id, key, thumb in rows:
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            if thumb is None:  # a photo stored before issue #24: the file as uploaded, EXIF and GPS in it
                (root / key).write_bytes(gps_jpeg(64, 48))
            else:  # stored since: rebuilt at upload, with its thumbnail
                (root / key).write_bytes(clean.data)
                (root / thumb).write_bytes(clean.thumbnail)
            photos[tw.slug] = [*photos.get(tw.slug, []), encode_global_id("Attachment", attachment_id)]

    listed_query = "{ cases(first: 100) { nodes { photos { id } } } }"
    served: dict[str, set[str]] = {}
    for user in ROLES:
        body = env.post(user, listed_query).json()
        listed = {p["id"] for n in ((body.get("data") or {}).get("cases") or {"nodes": []})["nodes"]
                  for p in n["photos"]}
        token = issue_dev_token(env.settings, user_id=env.a.users[user], username=env.a.username(user),
                                tenants=[env.a.slug])
        served[user] = set()
        for slug, ids in photos.items():
            for gid in ids:
                for suffix in ("", "/thumbnail"):
                    r = env.loop.run_until_complete(env.client.get(
                        f"/uploads/{gid}{suffix}", headers={"authorization": f"Bearer {token}"}))
                    assert r.status_code in (200, 404), (user, gid, r.status_code, r.text[:200])
                    if r.status_code == 200:
                        assert slug == env.a.slug and gid in listed, (user, slug, gid)
                        image = Image.open(io.BytesIO(r.content))
                        assert not image.getexif().get_ifd(GPS_IFD), (user, gid)
                        served[user].add(gid)
                    else:
                        assert gid not in listed or slug != env.a.slug, (user, gid, "listed but not served")
    assert served["admin"] == set(photos[env.a.slug])  # the street admin reads every case in full
    assert served["nobody"] == set()
    assert any(served[u] < served["admin"] for u in ROLES if u != "admin"), served


async def _attachments(env: Env, tw: TenantWorld) -> list[tuple[uuid.UUID, str, str | None]]:
    """A few case photos of the tenant: (id, storage key, thumbnail key); every other one made a
    photo stored before issue #24 (no thumbnail: served cleaned in memory)."""
    from sqlalchemy import update

    from models import Attachment
    from tenants.session import bind_tenant

    async with env.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = (await s.execute(
                select(Attachment.id, Attachment.storage_key, Attachment.thumbnail_key)
                .where(Attachment.case_id.is_not(None)).order_by(Attachment.id).limit(PER_TYPE * 2))).all()
            old = [r.id for n, r in enumerate(rows) if n % 2]
            await s.execute(update(Attachment).where(Attachment.id.in_(old)).values(thumbnail_key=None))
    return [(r.id, r.storage_key, None if r.id in old else r.thumbnail_key) for r in rows]


# -- every mutation with an ID input, given the other tenant's ids (issue #24) ---------------------------
# Derived from the schema: each mutation taking ``input`` with ID fields is sent by tenant A's street admin
# with tenant B's ids in them (of the type the field or the mutation names) and plain values elsewhere.
# None may be accepted (``errors: []``): each answers a typed error naming a field, nothing done.

AREA_FIELDS = {"area": "Building", "building": "Building", "compound": "Compound", "community": "Community",
               "grid": "Grid", "scope": "Community", "parent": "Community", "newParent": "Community",
               "scopeArea": "Building"}
NODE_NAMES = sorted(node_types(), key=len, reverse=True)
# What an `id` names where the mutation's name does not spell its type out.
ID_OF = {"Area": "Building", "Role": "RoleAssignment", "User": "UserAccount"}
PLAIN = {"String": "测试", "Int": 1, "Float": 1.0, "Boolean": True, "Date": "2026-12-20",
         "DateTime": "2026-12-20T08:00:00+08:00", "Decimal": "1"}


def _id_type(field: str, mutation: str) -> str | None:
    if field in ("id", "ids"):
        low = mutation.lower()
        found = next((t for t in NODE_NAMES if t.lower() in low), None)
        return found or next((t for k, t in ID_OF.items() if k in mutation), None)
    base = field.removesuffix("Ids") if field.endswith("Ids") else field.removesuffix("Id")
    if base == field:
        return None
    if base in AREA_FIELDS:
        return AREA_FIELDS[base]
    cap = base[0].upper() + base[1:]
    return next((t for t in NODE_NAMES if t == cap or t.endswith(cap)), None)


def _input_value(t: Any, field: str, mutation: str, ids: dict[str, str]) -> Any:
    """B's id for ID fields (None when no type is named), plain values for other required fields,
    Undefined for optional ones left out."""
    required = is_non_null_type(t)
    inner = t.of_type if required else t
    if isinstance(inner, GraphQLList):
        item = _input_value(inner.of_type, field, mutation, ids)
        return item if item is None or item is Undefined else [item]
    named = get_named_type(inner)
    if named.name == "ID":
        found = _id_type(field, mutation)
        return ids.get(found) if found else None
    if not required:
        return Undefined
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        out = {n: _input_value(f.type, n, mutation, ids) for n, f in named.fields.items()}
        return {n: v for n, v in out.items() if v is not Undefined}
    return PLAIN.get(named.name, "x")


def test_every_mutation_refuses_the_other_tenants_ids(env: Env) -> None:
    assert GRAPHQL.mutation_type is not None
    b_ids: dict[str, str] = {}
    for gid in env.node_ids[env.b.slug]:
        b_ids.setdefault(decode_global_id(gid)[0], gid)
    answered: dict[str, list[dict[str, Any]]] = {}
    unprobed: list[str] = []
    for name, f in GRAPHQL.mutation_type.fields.items():
        if "input" not in f.args:
            continue
        itype = get_named_type(f.args["input"].type)
        assert isinstance(itype, GraphQLInputObjectType)
        id_fields = [n for n, fld in itype.fields.items() if get_named_type(fld.type).name == "ID"]
        if not id_fields:
            continue
        # the input form even where the old bare arguments still make the argument nullable (issue #25)
        value = _input_value(GraphQLNonNull(itype), "input", name, b_ids)
        if any(value.get(n) is None and is_non_null_type(itype.fields[n].type) for n in id_fields):
            unprobed.append(name)
            continue
        value = {k: v for k, v in value.items() if v is not None}
        r = env.loop.run_until_complete(env.client.post("/graphql", json={
            "query": f"mutation($i: {itype.name}!) {{ {name}(input: $i) {{ errors {{ code field }} }} }}",
            "variables": {"i": value}}, headers={"authorization": f"Bearer {_token(env, 'admin')}"}))
        body = r.json()
        assert r.status_code == 200 and body.get("data", {}).get(name) is not None, (name, value, body)
        answered[name] = body["data"][name]["errors"]
    accepted = sorted(n for n, errors in answered.items() if not errors)
    assert not accepted, ("mutations that took tenant B's ids", accepted)
    for name, errors in answered.items():
        assert errors[0]["code"] != "INTERNAL", (name, errors)
        # A typed error naming the field — but for a refusal of the actor itself (a partner unit's
        # mutation asked by staff), which no field causes.
        assert errors[0]["field"] or errors[0]["code"] == "FORBIDDEN", (name, errors)
    not_found = [n for n, errors in answered.items() if errors[0]["code"] == "NOT_FOUND"]
    assert len(not_found) >= 80 and not unprobed, (len(not_found), unprobed)


def _token(env: Env, user: str) -> str:
    return issue_dev_token(env.settings, user_id=env.a.users[user], username=env.a.username(user),
                           tenants=[env.a.slug])
