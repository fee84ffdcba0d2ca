"""Compiled reads (issue #9, the compiled/ package) answer exactly what the resolvers answer.

Every world user runs every query twice — compiled, then through strawberry's resolvers — and the
two responses must be the same bytes once re-serialised (same keys, same order, same values: IDs,
cursors, timestamps, enums, masking, nulls). The test also checks the compiled path was taken
where it should be (so a compiler that always declines cannot pass) and that one compiled request
costs one SQL statement after the request's start-up, whatever the page size.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

import gongzhi.http.graphql as app_module
from resolvers.ids import decode_cursor, encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import count_statements
from tests.compiled.test_compiled_meetings import MEETING_DOCUMENTS
from tests.compiled.test_compiled_notices import NOTICE_DOCUMENTS
from tests.compiled.test_compiled_notifications import NOTIFICATION_DOCUMENTS
from tests.compiled.test_compiled_persons import PERSON_DOCUMENTS
from tests.compiled.test_compiled_topics import TOPIC_DOCUMENTS
from tests.compiled.test_compiled_visits import VISIT_DOCUMENTS
from tests.support.cases import accept, area_gid, call, dispatch_firm, ok, report, resolve, start
from tests.support.compiled import agree, around, both, compiled_statements, module_tenant
from tests.support.harness import Api, DbEnv, World
from tests.support.paths import ROOT
from tests.support.world import TenantWorld

USERS = ("admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4", "secretary2",
         "expired", "nobody")

CASE_SELECTION = """
  __typename id number title description category categoryName priority state locationText latitude longitude
  reportedByMe onProblemWall handlerKind handlerName dueAt overdue supervised resolution rejectReason satisfied
  feedbackComment reopenCount version reportedAt resolvedAt closedAt closureFlagged returnCount
  source externalTicketNo
  reporter { username displayName }
  area { __typename id name kind code description version archivedAt ... on Building { floors unitCount }
         ... on Compound { propertyManagement } }
  escalatedTo { id name }
  community { __typename id name }
  grid { id name kind }
  timeline(last: 3) { seq action fromState toState actorRole actor { username displayName } note at attachmentIds }
  whole: timeline { seq action }
"""

CASES = """
query Q($first: Int, $after: String, $states: [CaseState!]) {
  cases(first: $first, after: $after, states: $states) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @CASE } }
    nodes { id title }
  }
}
""".replace("@CASE", CASE_SELECTION)

CASES_FRAGMENTS = """
query { a: cases(first: 1) { nodes { ...F } } b: cases { edges { node { ... on Node { id } ...F } } }
        c: cases { totalCount } d: cases(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Case { id t: title state ...G }
fragment G on Case { reporter { displayName } }
"""

HOUSEHOLD_SELECTION = """
  __typename id unit room addressMasked floorArea tenure version building { id name floors }
  persons { __typename id name gender relationToHead partyMember inServicePartyMember status leftOn version piiMasked
            idCardNo phone birthDate careTags }
"""

BUILDING_HOUSEHOLDS = """
query B($id: ID!, $first: Int) {
  node(id: $id) {
    __typename id
    ... on Area { name kind }
    ... on Building { floors households(first: $first) { totalCount pageInfo { hasNextPage endCursor }
                                                         edges { cursor node { @HOUSEHOLD } } } }
  }
}
""".replace("@HOUSEHOLD", HOUSEHOLD_SELECTION)

HOUSEHOLDS = """
query H($first: Int, $after: String, $areaId: ID) {
  households(first: $first, after: $after, areaId: $areaId) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { @HOUSEHOLD }
  }
}
""".replace("@HOUSEHOLD", HOUSEHOLD_SELECTION)

NODE = """
query N($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Case { @CASE }
    ... on Household { @HOUSEHOLD }
    ... on Person { name idCardNo phone piiMasked careTags }
    ... on Area { name kind version }
    ... on Compound { propertyManagement }
  }
}
""".replace("@CASE", CASE_SELECTION).replace("@HOUSEHOLD", HOUSEHOLD_SELECTION)


async def cases_world(api: Api, tw: TenantWorld) -> dict[str, dict[str, Any]]:
    """Cases in many states, places and hands: on the wall, dispatched, resolved, supervised, rejected."""
    out: dict[str, dict[str, Any]] = {}
    out["wall"] = await report(api, tw, "resident", "B1", title="楼道堆物")  # a resident's report is on the wall
    out["b2"] = await report(api, tw, "chair", "B2", title="路灯不亮", category="other", locationText="2栋东侧",
                             latitude=31.2304, longitude=121.4737)
    c = await report(api, tw, "grid1", "B1", title="管道堵塞", priority="URGENT")
    c = await dispatch_firm(api, tw, await accept(api, tw, c))
    out["resolved"] = await resolve(api, tw, await start(api, tw, c))
    c = await report(api, tw, "admin", "B4", title="飞线充电")
    out["supervised"] = ok(await call(api, tw, "admin", "superviseCase", id=c["id"]))
    c = await report(api, tw, "grid2", "B3", title="噪音扰民")
    out["rejected"] = ok(await call(api, tw, "grid2", "rejectCase", id=c["id"], reason="不属于受理范围"))
    out["street"] = await report(api, tw, "admin", "S", title="街道层面")
    out["compound"] = await report(api, tw, "resident4", "P3", title="小区门禁")
    return out


@pytest.fixture(scope="module")
async def case_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, dict[str, Any]]]:
    """The module's cases, for the tests that only read them."""
    tw = await module_tenant(db)
    return tw, await cases_world(api, tw)


# One test per user (CI time, issue #21: each users' loop was one test that one worker ran alone).
@pytest.mark.parametrize("user", USERS)
async def test_case_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, case_tenant: Any, user: str
                                                                         ) -> None:
    tw, _ = case_tenant
    pages = [{}, {"first": 2}, {"first": 0}, {"first": 50, "states": ["REPORTED", "ACCEPTED", "IN_PROGRESS"]}]
    for variables in pages:
        await agree(api, tw, user, CASES, variables)
    # the next page, from the first page's cursor
    first = orjson.loads((await both(api, tw, user, CASES, {"first": 2}))[0])
    end = first["data"]["cases"]["pageInfo"]["endCursor"]
    if end is not None:
        compiled, resolved, taken = await both(api, tw, user, CASES, {"first": 2, "after": end})
        assert taken and compiled == resolved, user
    compiled, resolved, taken = await both(api, tw, user, CASES_FRAGMENTS, {})
    assert taken and compiled == resolved, user


async def test_a_case_list_page_has_real_content(api: Api, case_tenant: Any) -> None:
    """Guards the comparison above from comparing two empty answers."""
    tw, cases = case_tenant
    body = orjson.loads((await both(api, tw, "admin", CASES, {"first": 50}))[0])
    conn = body["data"]["cases"]
    assert conn["totalCount"] == len(cases) == len(conn["edges"])
    resolved = next(e["node"] for e in conn["edges"] if e["node"]["id"] == cases["resolved"]["id"])
    assert [s["action"] for s in resolved["timeline"]] == ["dispatch", "start", "resolve"]
    assert [s["seq"] for s in resolved["whole"]] == [1, 2, 3, 4, 5]
    assert resolved["community"]["name"] == "东风社区" and resolved["grid"]["name"] == "一网格"
    assert resolved["reporter"]["username"] == tw.username("grid1")
    wall = orjson.loads((await both(api, tw, "resident", CASES, {}))[0])["data"]["cases"]
    assert {e["node"]["title"] for e in wall["edges"]} == {"楼道堆物"}
    own = orjson.loads((await both(api, tw, "resident4", CASES, {}))[0])["data"]["cases"]
    assert {e["node"]["title"] for e in own["edges"]} == {"小区门禁"}


@pytest.mark.parametrize("user", USERS)
async def test_node_lookups_compile_to_the_resolvers_answer(api: Api, case_tenant: Any, user: str) -> None:
    tw, cases = case_tenant
    ids = [c["id"] for c in cases.values()]
    ids += [encode_global_id("Household", h) for h in tw.households.values()]
    ids += [encode_global_id("Person", p) for p in tw.persons.values()]
    ids += [area_gid(tw, k) for k in ("S", "C1", "C2", "Z1", "P1", "P3", "G1", "G3", "B1", "B4")]
    ids += [encode_global_id("Case", tw.tenant_id), "not-an-id"]
    for gid in ids:
        compiled, resolved, taken = await both(api, tw, user, NODE, {"id": gid})
        assert compiled == resolved, (user, gid)
        assert taken == (gid != "not-an-id"), (user, gid)


@pytest.fixture(scope="module")
async def household_tenant(db: DbEnv) -> TenantWorld:
    """A tenant of its own for the household pages (their full reads are audited), built once per test
    process for the comparisons split per user (CI time, issue #21)."""
    return await module_tenant(db)


@pytest.mark.parametrize("user", USERS)
async def test_household_pages_compile_masked_for_roles_without_full_read(api: Api, household_tenant: TenantWorld,
                                                                          user: str) -> None:
    tw = household_tenant
    for first in (1, 50):
        for query, variables in ((BUILDING_HOUSEHOLDS, {"id": area_gid(tw, "B1"), "first": first}),
                                 (HOUSEHOLDS, {"first": first})):
            compiled, resolved, taken = await both(api, tw, user, query, variables)
            assert compiled == resolved, (user, query[:20], first)
            assert taken, (user, query[:20])
        for area in ("B1", "P1", "C1", "G2", "Z1"):
            compiled, resolved, taken = await both(api, tw, user, HOUSEHOLDS, {"areaId": area_gid(tw, area)})
            assert taken and compiled == resolved, (user, area)
        # An unknown area is the resolvers' NOT_FOUND; a case ID is INVALID_ID: the same either way.
        for gid in (encode_global_id("Building", tw.tenant_id), encode_global_id("Case", tw.tenant_id)):
            compiled, resolved, _ = await both(api, tw, user, HOUSEHOLDS, {"areaId": gid})
            assert compiled == resolved and b"errors" in compiled, (user, gid)
    chair = orjson.loads((await both(api, tw, "firm", BUILDING_HOUSEHOLDS, {"id": area_gid(tw, "B1")}))[0])
    persons = chair["data"]["node"]["households"]["edges"][0]["node"]["persons"]
    assert [p["phone"] for p in persons] == [tw.phones[k][:3] + "****" + tw.phones[k][-4:] for k in ("h1a", "h1b")]
    assert all(p["piiMasked"] and p["careTags"] is None and p["birthDate"] is None for p in persons)


async def test_a_compiled_request_is_one_statement_whatever_the_page_size(api: Api, case_tenant: Any) -> None:
    tw, _ = case_tenant
    counts = {}
    for first in (1, 50):
        _, n = await api.counted(tw, "grid1", CASES, {"first": first})
        counts[first] = n
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "grid1", "query { __typename }")
    finally:
        state.compiled_reads = True
    assert counts[1] == counts[50], counts
    # the request's start-up (tenant, user, roles, own household) plus the one compiled statement
    assert counts[50] == baseline + 1, (counts, baseline)



async def test_a_compiled_full_read_is_unsealed_and_audited_like_a_resolved_one(api: Api, fresh: World, db: DbEnv
                                                                               ) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = fresh.a

    async def pii_audit() -> list[tuple[str, ...]]:
        async with db.owner_engine.connect() as c, c.begin():
            await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            rows = await c.execute(sa.text("SELECT object_ids FROM audit_log WHERE tenant_id = :t AND "
                                           "action = 'person.read_pii' ORDER BY created_at, id"),
                                   {"t": tw.tenant_id})
            return [tuple(r[0]) for r in rows]

    before = await pii_audit()
    with compiled_statements() as made:
        body = await api.gql(tw, "grid1", BUILDING_HOUSEHOLDS, {"id": area_gid(tw, "B1"), "first": 50})
    assert [m is not None for m in made] == [True]
    persons = body["data"]["node"]["households"]["edges"][0]["node"]["persons"]
    assert [p["phone"] for p in persons] == [tw.phones["h1a"], tw.phones["h1b"]]
    assert [p["idCardNo"] for p in persons] == [tw.id_cards["h1a"], tw.id_cards["h1b"]]
    assert persons[0]["careTags"] == ["living_alone"] and persons[0]["birthDate"] == "1948-03-05"
    after = await pii_audit()
    assert after[len(before):] == [tuple(sorted(str(tw.persons[k]) for k in ("h1a", "h1b")))]


@contextmanager
def driver_requests() -> Iterator[list[Any]]:
    """Records the DriverTransactions requests open (the path without an ORM session)."""
    opened: list[Any] = []
    real = app_module.DriverTransaction

    class Recorded(real):  # type: ignore[misc, valid-type]
        async def __aenter__(self) -> Any:
            opened.append(self)
            return await super().__aenter__()

    app_module.DriverTransaction = Recorded  # type: ignore[misc]
    try:
        yield opened
    finally:
        app_module.DriverTransaction = real  # type: ignore[misc]


def _checkouts(api: Api) -> tuple[Any, list[int]]:
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    pool = state.engine.sync_engine.pool
    seen = [0]

    def on_checkout(*_a: Any) -> None:
        seen[0] += 1

    sa.event.listen(pool, "checkout", on_checkout)
    return (lambda: sa.event.remove(pool, "checkout", on_checkout)), seen


async def test_a_document_that_compiled_before_is_answered_on_the_driver_with_one_connection(
        api: Api, case_tenant: Any) -> None:
    """The second request of a document that compiled is the first statement and the compiled one on
    a DriverTransaction: one pooled connection, no ORM session; the same bytes as the first request
    (ordinary path) and as the resolvers; every connection back in the pool afterwards."""
    tw, cases = case_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    gid = cases["resolved"]["id"]
    query = NODE + "\n# driver path test"  # a document no other test has compiled yet
    token = api.token(tw, "grid1")
    stop, checkouts = _checkouts(api)
    try:
        with driver_requests() as opened, count_statements() as statements:
            first = await api.post(query, {"id": gid}, token=token)
        assert first.status_code == 200 and opened == [] and checkouts[0] == 1, (opened, checkouts)
        for _ in range(3):
            with driver_requests() as opened, count_statements() as statements:
                again = await api.post(query, {"id": gid}, token=token)
            assert again.content == first.content
            assert len(opened) == 1 and len(statements) == 2, (opened, statements)
        assert checkouts[0] == 4, checkouts  # one connection per request, none for an ORM session
    finally:
        stop()
    compiled, resolved, taken = await both(api, tw, "grid1", query, {"id": gid})
    assert taken and compiled == resolved == orjson.dumps(first.json())
    assert state.engine.sync_engine.pool.checkedout() == 0
    # A refusal on that path is the ordinary path's refusal.
    with driver_requests() as opened:
        r = await api.post(query, {"id": gid}, token=api.token(tw, "grid1", tenants=["no-such-tenant"]))
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"
    assert len(opened) == 1 and state.engine.sync_engine.pool.checkedout() == 0


async def test_the_driver_path_loads_a_policy_it_has_not_cached_and_audits_full_reads(
        api: Api, fresh: World, db: DbEnv) -> None:
    """What needs the ORM on the driver path uses a session of its own, bound to the tenant: a policy
    not in the cache yet is read, and full reads of personal data are audited before the answer."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = fresh.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    query = BUILDING_HOUSEHOLDS + "\n# driver path audit test"
    variables = {"id": area_gid(tw, "B1"), "first": 50}

    async def pii_audits() -> int:
        async with db.owner_engine.connect() as c, c.begin():
            await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            return int((await c.execute(sa.text(
                "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND action = 'person.read_pii'"),
                {"t": tw.tenant_id})).scalar_one())

    before = await pii_audits()
    first = await api.gql(tw, "grid1", query, variables)
    state.policies._items.clear()  # the next request finds no policy in the cache
    with driver_requests() as opened:
        again = await api.gql(tw, "grid1", query, variables)
    assert len(opened) == 1 and again == first
    persons = again["data"]["node"]["households"]["edges"][0]["node"]["persons"]
    assert [p["phone"] for p in persons] == [tw.phones["h1a"], tw.phones["h1b"]]
    assert await pii_audits() == before + 2  # each request's full read, the driver path's included
    assert state.engine.sync_engine.pool.checkedout() == 0


def test_a_document_answered_from_the_plan_cache_stays_known_as_compiling() -> None:
    """The driver path is tried for documents the cache knows compile; one used again and again
    must stay known while others are compiled after it (least recently *used* is dropped)."""
    from compiled import Plan, PlanCache

    cache = PlanCache(size=2)
    hot = ("query A", None, "actor")
    cache.put(hot, Plan("SELECT 1", [], []))
    for i in range(5):
        assert cache.get(hot, None) is not None  # type: ignore[arg-type]  # no checks: bindings unread
        cache.put((f"query {i}", None, "actor"), Plan("SELECT 1", [], []))
    assert cache.compiles("query A", None) and cache.compiles("query 4", None)
    assert not cache.compiles("query 0", None) and not cache.compiles("query 3", None)


async def test_a_driver_transaction_rolls_back_on_error_and_returns_its_connection(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL only")
    from tenants.session import DriverTransaction

    pool = db.engine.sync_engine.pool
    before = pool.checkedout()
    with pytest.raises(Exception, match="division by zero"):
        async with DriverTransaction(db.engine) as tx:
            tid = uuid.uuid4()
            await tx.fetch_first(set_tenant_sql(tid))
            assert (await tx.fetch_first("SELECT current_setting('app.tenant_id')"))[0] == str(tid)
            await tx.fetch_first("SELECT 1 / 0")
    assert pool.checkedout() == before
    async with DriverTransaction(db.engine) as tx:  # a clean transaction: nothing of the last one
        row = await tx.fetch_first("SELECT current_setting('app.tenant_id', true), 1")
        assert row[0] in (None, "") and row[1] == 1, row
        await tx.commit()
    assert pool.checkedout() == before


async def test_compiled_statements_carry_only_ids_and_cursors_as_parameters(api: Api, case_tenant: Any) -> None:
    """Sizes and state lists are literals: PostgreSQL then keeps one generic plan per statement instead
    of planning it on every request (a page size as a parameter kept it on custom plans)."""
    tw, _ = case_tenant
    with compiled_statements() as made:
        first = await api.post(CASES, {"first": 2, "states": ["REPORTED", "ACCEPTED"]}, token=api.token(tw, "grid1"))
        cursor = first.json()["data"]["cases"]["pageInfo"]["endCursor"]
        await api.post(CASES, {"first": 2, "after": cursor, "states": ["REPORTED", "ACCEPTED"]},
                       token=api.token(tw, "grid1"))
    assert len(made) == 2 and None not in made, made
    (sql1, params1), (_sql2, params2) = made  # type: ignore[misc]
    # Page size, timeline size and states are in the text; what is left is the request's time.
    assert params1 and all(isinstance(p, datetime) for p in params1), params1
    assert "LIMIT 3" in sql1 and "'reported'" in sql1 and "'accepted'" in sql1, sql1[-600:]  # 2 + 1 rows
    ids = [p for p in params2 if not isinstance(p, datetime)]
    assert ids == [decode_cursor(cursor)], params2  # and the cursor, on the next page


async def test_a_request_on_postgresql_runs_on_the_driver_in_its_transaction_with_jit_off(
        api: Api, case_tenant: Any) -> None:
    tw, _ = case_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    async with state.sessionmaker() as session:
        with count_statements() as statements:
            ctx = await state.open_context(session, tw.users["grid1"], tw.slug, "test", None)
        assert session.info.get("raw_driver") is True
        assert ctx.tenant.id == tw.tenant_id and ctx.tenant.slug == tw.slug and ctx.actor.assignments
        assert len(statements) == 1, statements  # tenant, user, settings and the actor's rows
        row = (await session.execute(sa.text(
            "SELECT current_setting('jit'), current_setting('app.tenant_id'), count(*) FROM areas"))).one()
        assert row[0] == "off" and row[1] == str(tw.tenant_id) and row[2] > 0, row
        await session.rollback()
        # JIT off was the transaction's own setting: the next transaction has the server's again.
        row = (await session.execute(sa.text(
            "SELECT current_setting('jit') = reset_val FROM pg_settings WHERE name = 'jit'"))).one()
        assert row[0] is True, row


async def test_the_first_statement_reads_the_same_actor_as_the_orm_statements_for_every_user(
        api: Api, case_tenant: Any, fresh: World) -> None:
    """gongzhi_request_actor (migration 0025) against load_actor's ORM statements, user by user:
    the same assignments in the same order, person, household and own compound."""
    from models import User
    from policies.actor import load_actor_orm

    tw, _ = case_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    with_household = 0
    for name, user_id in tw.users.items():
        async with state.sessionmaker() as session:
            ctx = await state.open_context(session, user_id, tw.slug, "test", None)
            user = await session.get(User, user_id)
            assert user is not None
            orm = await load_actor_orm(session, user=user, tenant_id=tw.tenant_id, policy=ctx.actor.policy,
                                       now=ctx.now)
            got = ctx.actor
            assert got.assignments == orm.assignments, name
            assert (got.person_id, got.household_id, got.own_compound_path) == (
                orm.person_id, orm.household_id, orm.own_compound_path), name
            with_household += got.household_id is not None
            await session.rollback()
    assert with_household, "the world has a resident with a household: the own-compound branch ran"
    # The same rows, read again, are not parsed again: the texts key the parsed assignments.
    async with state.sessionmaker() as session:
        again = (await state.open_context(session, tw.users["grid1"], tw.slug, "test", None)).actor
        await session.rollback()
    async with state.sessionmaker() as session:
        third = (await state.open_context(session, tw.users["grid1"], tw.slug, "test", None)).actor
        await session.rollback()
    assert again.source is not None and again.source == third.source
    assert again.assignments and all(x is y for x, y in zip(again.assignments, third.assignments, strict=True))
    # The function binds an unbound transaction or confirms its tenant; it never moves it.
    async with state.sessionmaker() as session:
        await state.open_context(session, tw.users["grid1"], tw.slug, "test", None)
        with pytest.raises(sa.exc.DBAPIError, match="bound to another tenant"):
            await session.execute(sa.text("SELECT * FROM gongzhi_request_actor(:t, :u, now())"),
                                  {"t": fresh.b.tenant_id, "u": fresh.b.users["grid1"]})
        await session.rollback()


OPEN = ["REPORTED", "ACCEPTED", "DISPATCHED", "IN_PROGRESS", "REOPENED"]


async def test_open_case_pages_from_each_scope_branch_match_the_resolvers_page_by_page(
        api: Api, case_tenant: Any) -> None:
    """Open-case lists take their page from the newest first + 1 of each branch of the scope (the
    open-case indexes): paged one and two at a time, every page must be the resolvers' page."""
    tw, _ = case_tenant
    statements: list[tuple[str, tuple[Any, ...]]] = []
    seen_pages = 0
    for user in USERS:
        for size in (1, 2):
            variables: dict[str, Any] = {"first": size, "states": OPEN}
            for _ in range(20):
                with compiled_statements() as made:
                    compiled, resolved, taken = await both(api, tw, user, CASES, variables)
                statements += [m for m in made if m is not None]
                assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
                info = orjson.loads(compiled)["data"]["cases"]["pageInfo"]
                seen_pages += 1
                if not info["hasNextPage"]:
                    break
                variables = {**variables, "after": info["endCursor"]}
    assert seen_pages > 2 * len(USERS), seen_pages  # some lists ran to several pages
    made_sql = [sql for sql, _params in statements]
    # grid leaders' scopes have several branches: their statements took the candidate scans
    assert any("UNION ALL" in sql and "starts_with(cases.area_path" in sql for sql in made_sql), len(made_sql)
    # areas under a scope's path are found with starts_with (indexable under RLS), never LIKE
    like = [sql[max(0, m.start() - 300):m.end() + 100]
            for sql in made_sql for m in re.finditer(r"\b\w+\.path LIKE '", sql)]
    assert not like, like[:1]
    assert any(re.search(r"starts_with\(\w+\.path, '", sql) for sql in made_sql)


def test_the_open_case_index_predicate_is_the_migrations() -> None:
    """models.cases.OPEN_STATES_SQL (derived from OPEN_STATES) and migration 0024's text are the same,
    so the partial indexes the models describe are the ones the migration built."""
    import importlib.util

    from models.cases import OPEN_STATES_SQL

    path = ROOT / "migrations" / "versions" / "0024_open_case_indexes.py"
    spec = importlib.util.spec_from_file_location("m0024", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OPEN == OPEN_STATES_SQL


# -- what the compiler knows is what these tests compare (issue #20) --------------------------------

# The documents the equivalence tests above send both ways (compiled and resolved).
EQUIVALENCE_DOCUMENTS = (CASES, CASES_FRAGMENTS, BUILDING_HOUSEHOLDS, HOUSEHOLDS, NODE, *NOTICE_DOCUMENTS,
                         *TOPIC_DOCUMENTS, *MEETING_DOCUMENTS, *VISIT_DOCUMENTS, *PERSON_DOCUMENTS,
                         *NOTIFICATION_DOCUMENTS)


def all_equivalence_documents() -> tuple[str, ...]:
    """These documents and those the other modules of tests/compiled send both ways (their own
    EQUIVALENCE_DOCUMENTS): a domain compiled in a module of its own is compared in a test file of its own."""
    import importlib
    import pkgutil

    import tests.compiled as package

    docs = list(EQUIVALENCE_DOCUMENTS)
    for m in pkgutil.iter_modules(package.__path__):
        if m.name.startswith("test_") and m.name != __name__.rpartition(".")[2]:
            docs += getattr(importlib.import_module(f"{package.__name__}.{m.name}"), "EQUIVALENCE_DOCUMENTS", ())
    return tuple(docs)


def selected_fields(documents: tuple[str, ...]) -> set[tuple[str, str]]:
    """(object type, field) pairs the documents select; a field selected on an interface counts for
    each object type implementing it (the tests send ids of every area kind to ``node``)."""
    from graphql import GraphQLInterfaceType, GraphQLObjectType, TypeInfo, TypeInfoVisitor, parse, visit
    from graphql.language import FieldNode, Visitor

    from gongzhi.modules import schema as _built


    schema = _built()

    graphql_schema = schema._schema
    info = TypeInfo(graphql_schema)
    out: set[tuple[str, str]] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            parent = info.get_parent_type()
            name = node.name.value
            if name.startswith("__"):
                return
            if isinstance(parent, GraphQLObjectType):
                out.add((parent.name, name))
            elif isinstance(parent, GraphQLInterfaceType):
                out.update((t.name, name) for t in graphql_schema.get_possible_types(parent))

    for doc in documents:
        visit(parse(doc), TypeInfoVisitor(info, Collect()))
    return out


def not_compared(known: dict[str, frozenset[str]], documents: tuple[str, ...]) -> list[str]:
    compared = selected_fields(documents)
    return sorted(f"{t}.{f}" for t, fields in known.items() for f in fields if (t, f) not in compared)


def test_every_field_the_compiler_knows_is_compared_with_the_resolvers() -> None:
    """compiled_fields() is what the compiler dispatches on; a field added there must be added to the
    equivalence documents too, or its compiled meaning is never checked against the resolvers'."""
    from compiled import compiled_fields

    known = compiled_fields()
    assert {"Query", "Case", "Household", "Person", "Building", "CaseConnection"} <= set(known)
    documents = all_equivalence_documents()
    assert not_compared(known, documents) == []
    # The check sees a field no document selects (here: a Case field the compiler does not know).
    assert not_compared({**known, "Case": known["Case"] | {"handlerFirm"}}, documents) == ["Case.handlerFirm"]
    # … and a field only some documents select is missing once those are left out.
    assert "Person.birthDate" in not_compared(known, (CASES, CASES_FRAGMENTS))


# -- the compiled path with tracing on (issue #20) ------------------------------------------------


@contextmanager
def tracing() -> Iterator[Any]:
    """Tracing on, into memory, as OTEL_* variables would turn it on."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from gongzhi.http import observability as obs

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    obs.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        obs.use_tracer_provider(None)


async def test_with_tracing_on_the_driver_path_answers_and_every_statement_has_its_span(
        api: Api, case_tenant: Any) -> None:
    """Turning OpenTelemetry on must not change which code answers: a document that compiled is
    answered on a DriverTransaction with the same bytes, and the spans show it — the server span,
    graphql.compile and graphql.compiled_read under it, a db.query span per driver statement (the
    first statement under the server span, the compiled one under graphql.compiled_read), with the
    statement text and never a parameter."""
    tw, cases = case_tenant
    gid = cases["resolved"]["id"]
    query = NODE + "\n# traced driver path test"  # a document no other test has compiled yet
    token = api.token(tw, "grid1")
    with tracing() as exporter:
        with driver_requests() as opened:
            first = await api.post(query, {"id": gid}, token=token)
        assert first.status_code == 200 and opened == []  # compiled on the ordinary path
        exporter.clear()
        with driver_requests() as opened, count_statements() as statements:
            again = await api.post(query, {"id": gid}, token=token)
        spans = exporter.get_finished_spans()
    assert again.content == first.content
    assert len(opened) == 1 and len(statements) == 2, (opened, statements)
    compiled, resolved, taken = await both(api, tw, "grid1", query, {"id": gid})  # tracing off again
    assert taken and compiled == resolved == orjson.dumps(again.json())

    by_name: dict[str, list[Any]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    (server,) = by_name["query"]  # OpenTelemetry's GraphQL span name: the operation type (issue #25)
    assert server.attributes["graphql.operation.name"] == "N"
    (compile_span,) = by_name["graphql.compile"]
    (read_span,) = by_name["graphql.compiled_read"]
    assert compile_span.parent.span_id == server.context.span_id
    assert read_span.parent.span_id == server.context.span_id
    queries = by_name["db.query"]
    assert [q.attributes["db.statement"] for q in queries] == [s[:2000] for s in statements]
    first_statement, compiled_statement = queries
    assert first_statement.parent.span_id == server.context.span_id
    assert compiled_statement.parent.span_id == read_span.context.span_id
    assert {s.context.trace_id for s in spans} == {server.context.trace_id}
    case_uuid = str(decode_global_id_of(gid))
    for q in queries:
        assert set(q.attributes) == {"db.system", "db.statement"}
        assert case_uuid not in q.attributes["db.statement"] and tw.slug not in q.attributes["db.statement"]


def decode_global_id_of(gid: str) -> Any:
    from resolvers.ids import decode_global_id

    return decode_global_id(gid)[1]
