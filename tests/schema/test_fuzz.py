"""Property-based tests: queries generated from the schema (hypothesis-graphql), valid and invalid,
sent as each role of the world. Whatever they ask: no server error, nothing of the other tenant, and
no personal data in full that the role may not read.

Both tenants hold rows of every module (tests/support/query_count_world.py), and the IDs the
generated queries use are drawn from the rows of every Node type of the schema — derived from the
schema, so a new type is covered without anyone listing it (issue #24); the register and ledger
exports are checked too (masked for every role).

Runs on its own SQLite database built by the migrations, with its own event loop (hypothesis drives
synchronous tests), derandomized so CI sees the same examples every run.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, GraphQLSchema, build_schema, get_named_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries
from openpyxl import load_workbook
from sqlalchemy import select

from gongzhi.http.app import create_app
from gongzhi.http.auth import issue_dev_token
from gongzhi.migrate import upgrade
from gongzhi.settings import Settings
from models import Area, AreaKind, Base
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from tenants.session import make_engine, make_sessionmaker
from tests.support.harness import JWT_SECRET, Api, DbEnv
from tests.support.paths import ROOT
from tests.support.query_count_world import populate
from tests.support.world import TenantWorld, build_tenant

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

    def post(self, user: str, query: str) -> httpx.Response:
        token = issue_dev_token(self.settings, user_id=self.a.users[user], username=self.a.username(user),
                                tenants=[self.a.slug])
        return self.loop.run_until_complete(self.client.post(
            "/graphql", json={"query": query},
            headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"}))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    upgrade(url)
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
    yield Env(loop, client, a, b, cfg, node_ids, b_ids)
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
    body = r.json()
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
