"""The compiled audit log list (compiled/audit.py, issue #21) answers exactly what the resolvers answer.

Every world user sends each query compiled, then through strawberry's resolvers: the same bytes.
The street admin and the party secretaries read it (all, or their scope's) from the compiled path;
anyone else is refused by the resolvers (FORBIDDEN) whichever path is tried first. The log holds the
entries the world's own mutations and full reads wrote, and entries written here with what the
fields must narrow: an outcome that is no string or no known value, no user, several ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from models import AuditEntry, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
READERS = {"admin", "secretary", "secretary2"}

LOG = """
query Log($first: Int, $after: String, $action: String, $username: String, $since: DateTime, $until: DateTime) {
  auditLog(first: $first, after: $after, action: $action, username: $username, since: $since, until: $until) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id action outcome result objectType objectIds roles requestId clientAddr at
                          user { username displayName } } } } }
"""
PORTAL = """
query Audit { auditLog(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id action outcome objectType objectIds at user { username } } } }
"""
FRAGMENTS = """
query { a: auditLog(first: 3) { nodes { ...E } } b: auditLog(action: "person.read_pii") { totalCount }
        c: auditLog { edges { node { ... on Node { id } } } } }
fragment E on AuditEntry { r: result action ... on AuditEntry { user { displayName } } }
"""
CAPPED = """
query Capped($cap: Int!, $first: Int, $after: String, $action: String, $since: DateTime) {
  auditLog(first: $first, after: $after, action: $action, since: $since) {
    totalCount cappedCount(cap: $cap) { count hasMore __typename } pageInfo { hasNextPage endCursor }
    nodes { id } } }
"""
CAPPED_DEFAULT = "{ auditLog(first: 20) { c: cappedCount { hasMore count } pageInfo { hasNextPage } nodes { id } } }"
EQUIVALENCE_DOCUMENTS = (LOG, PORTAL, FRAGMENTS, CAPPED, CAPPED_DEFAULT)

PERSONS = "{ persons(first: 50) { nodes { id phone } } }"  # full reads: person.read_pii entries
UPDATE_PERSON = ("mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { id } "
                 "errors { code } } }")


@pytest.fixture
async def audit_tenant(api: Api, fresh: World, db: DbEnv) -> TenantWorld:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    for who in ("admin", "secretary", "grid1"):
        await api.gql(tw, who, PERSONS)
    for key, name in (("h1a", "张建国"), ("h3a", "王德明"), ("h4a", "赵卫东")):
        await api.gql(tw, "admin", UPDATE_PERSON, {"i": {"id": encode_global_id("Person", tw.persons[key]),
                                                         "name": name + "甲"}})
    await api.gql(tw, "resident", UPDATE_PERSON, {"i": {"id": encode_global_id("Person", tw.persons["h1a"]),
                                                        "name": "拒绝"}})  # refused: an entry all the same
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            at = datetime.now(UTC) - timedelta(days=3)
            for i, (detail, user, ids) in enumerate((
                    ({"outcome": 1}, tw.users["admin"], ["x"]), ({"outcome": "weird"}, None, []),
                    ({"outcome": None, "purpose": "导出"}, tw.users["secretary"], ["a", "b", "c"]),
                    ({}, None, [str(tw.persons["h1a"]), str(tw.persons["h1b"])]))):
                s.add(AuditEntry(user_id=user, roles="street_admin", action=f"test.{i}", object_type="person",
                                 object_ids=ids, detail=detail, request_id=f"r{i}", client_addr="10.0.0.1",
                                 area_path=None, created_at=at + timedelta(minutes=i)))
    return tw


async def test_the_audit_log_compiles_to_the_resolvers_answer_for_every_user(api: Api, audit_tenant: TenantWorld
                                                                            ) -> None:
    tw = audit_tenant
    now = datetime.now(UTC)
    pages: list[dict[str, Any]] = [
        {}, {"first": 2}, {"first": 0}, {"first": 100}, {"action": "person.read_pii"}, {"action": "updatePerson"},
        {"action": ""}, {"action": "nothing"}, {"username": tw.username("admin")}, {"username": "nobody-at-all"},
        {"since": (now - timedelta(days=1)).isoformat()}, {"until": (now - timedelta(days=1)).isoformat()},
        {"since": (now - timedelta(days=4)).isoformat(), "until": (now - timedelta(days=2)).isoformat(), "first": 3}]
    walked = 0
    for user in USERS:
        for variables in pages:
            compiled, resolved, taken = await both(api, tw, user, LOG, variables)
            assert compiled == resolved, (user, variables, around(compiled, resolved))
            assert taken == (user in READERS), (user, variables)
        for document in (PORTAL, FRAGMENTS):
            compiled, resolved, taken = await both(api, tw, user, document, {})
            assert compiled == resolved and taken == (user in READERS), (user, document[:20],
                                                                          around(compiled, resolved))
        if user in READERS:
            walked += await walk_pages(api, tw, user, LOG, "auditLog", {"first": 3}, 30)
        else:
            assert b'"FORBIDDEN"' in compiled, (user, compiled[:200])
    assert walked > len(READERS) + 2, walked  # the street admin's log ran to several pages


async def test_the_audit_log_has_real_content(api: Api, audit_tenant: TenantWorld) -> None:
    tw = audit_tenant
    body = orjson.loads((await both(api, tw, "admin", LOG, {"first": 100}))[0])["data"]["auditLog"]
    nodes = {e["node"]["action"]: e["node"] for e in body["edges"]}
    assert body["totalCount"] == len(body["edges"]) > 10
    assert (nodes["test.0"]["outcome"], nodes["test.0"]["result"]) == (None, None)  # not a string
    assert (nodes["test.1"]["outcome"], nodes["test.1"]["result"], nodes["test.1"]["user"]) == ("weird", None, None)
    assert nodes["test.2"]["objectIds"] == ["a", "b", "c"] and nodes["test.2"]["user"]["username"]
    assert {n["result"] for n in nodes.values()} >= {"OK", None}
    assert "person.read_pii" in nodes
    scoped = orjson.loads((await both(api, tw, "secretary", LOG, {"first": 100}))[0])["data"]["auditLog"]
    assert 0 < scoped["totalCount"] < body["totalCount"]  # the scope's entries only


async def test_a_bad_audit_argument_is_the_resolvers_error_either_way(api: Api, audit_tenant: TenantWorld) -> None:
    tw = audit_tenant
    for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}):
        for user in ("admin", "resident"):
            compiled, resolved, _ = await both(api, tw, user, LOG, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled[:200])
    # by object: compiled too since issue #21 (tests/compiled/test_compiled_audit_changes.py), the same answer
    doc = "query($o: ID) { auditLog(objectId: $o, first: 50) { totalCount nodes { id action } } }"
    compiled, resolved, taken = await both(api, tw, "admin", doc, {"o": str(tw.persons["h1a"])})
    assert taken and compiled == resolved and b'"test.3"' in compiled, around(compiled, resolved)


async def test_a_compiled_audit_log_is_one_statement(api: Api, audit_tenant: TenantWorld) -> None:
    tw = audit_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "admin", PORTAL)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PORTAL)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "admin", PORTAL)
    assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)


async def test_the_capped_count_compiles_to_the_resolvers_answer_and_counts_up_to_the_cap(
        api: Api, audit_tenant: TenantWorld) -> None:
    """cappedCount (issue #21): exact up to the cap, else the cap and hasMore — compiled and resolved alike,
    with the list's filters and from any cursor (it counts the whole filtered list, not what follows)."""
    tw = audit_tenant
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    seen_more = seen_exact = 0
    for user in USERS:
        for variables in ({}, {"first": 2}, {"action": "person.read_pii"}, {"since": since}, {"action": "nothing"}):
            total = None
            for cap in (0, 1, 2, 3, 7, 1000, 10_000):
                compiled, resolved, taken = await both(api, tw, user, CAPPED, {**variables, "cap": cap})
                assert compiled == resolved and taken == (user in READERS), (user, variables, cap,
                                                                               around(compiled, resolved))
                if user not in READERS:
                    assert b'"FORBIDDEN"' in compiled
                    continue
                log = orjson.loads(compiled)["data"]["auditLog"]
                total = log["totalCount"]
                assert log["cappedCount"] == {"count": min(total, cap), "hasMore": total > cap,
                                              "__typename": "CappedCount"}, (user, variables, cap, total)
                seen_more += total > cap
                seen_exact += 0 < total <= cap
            if total and total > 2 and user in READERS:
                first = orjson.loads((await both(api, tw, user, CAPPED, {**variables, "cap": 3, "first": 1}))[0])
                after = {**variables, "cap": 3, "first": 1, "after": first["data"]["auditLog"]["pageInfo"]["endCursor"]}
                compiled, resolved, taken = await both(api, tw, user, CAPPED, after)
                assert taken and compiled == resolved, around(compiled, resolved)
                assert orjson.loads(compiled)["data"]["auditLog"]["cappedCount"]["count"] == min(total, 3)
        compiled, resolved, taken = await both(api, tw, user, CAPPED_DEFAULT, {})
        assert compiled == resolved and taken == (user in READERS), (user, around(compiled, resolved))
    assert seen_more and seen_exact, (seen_more, seen_exact)


async def test_a_cap_out_of_bounds_is_the_resolvers_error_either_way(api: Api, audit_tenant: TenantWorld) -> None:
    tw = audit_tenant
    for cap in (-1, 10_001):
        compiled, resolved, taken = await both(api, tw, "admin", CAPPED, {"cap": cap})
        assert compiled == resolved and not taken, (cap, around(compiled, resolved))
        assert orjson.loads(compiled)["errors"][0]["extensions"]["code"] == "INVALID", compiled[:300]


# Each entry's ids as stored (the JSON text kept as written), what objectIds must answer for it.
STORED_IDS: tuple[tuple[str, list[str]], ...] = (
    ('["a","b","c"]', ["a", "b", "c"]),  # models.jsontext's compact text: as stored
    ('["a", "b"]', ["a", "b"]),  # json.dumps' (entries before 2026-12-07): as stored
    ('[",","b"]', [",", "b"]), ('["a",",","b"]', ["a", ",", "b"]), ('["x,y","z"]', ["x,y", "z"]),  # as stored
    ('["p\\",\\"q","r\\\\s"]', ['p","q', "r\\s"]),  # a quote, a backslash: walked
    ('[ "a" ,"b"]', ["a", "b"]), ('["a",\n"b"]', ["a", "b"]),  # other spacing: walked
    ('["a",1]', ["a", "1"]),  # a number: walked, its text
    ('["张三","é/"]', ["张三", "é/"]), ('["\\u00e9"]', ["é"]), ('[]', []))


async def test_the_ids_of_an_entry_compile_to_the_resolvers_answer_as_stored(api: Api, db: DbEnv, fresh: World
                                                                             ) -> None:
    """objectIds from the stored JSON text: a list of strings with no escape in them is the stored list itself
    (compiled/audit.py), anything else each element's text, as the resolvers give it."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    at = datetime.now(UTC) - timedelta(days=2)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for i, (stored, _) in enumerate(STORED_IDS):
                await s.execute(sa.text(
                    "INSERT INTO audit_log (tenant_id, id, created_at, roles, action, object_type, object_ids, detail) "
                    "VALUES (:t, :id, :at, '', :action, 'person', CAST(:ids AS json), '{}')"),
                    {"t": tw.tenant_id, "id": uuid7(), "at": at + timedelta(seconds=i), "action": f"ids.{i}",
                     "ids": stored})
    compiled, resolved, taken = await both(api, tw, "admin", LOG, {"first": 100, "since": at.isoformat()})
    assert taken and compiled == resolved, around(compiled, resolved)
    nodes = {e["node"]["action"]: e["node"]["objectIds"] for e in orjson.loads(compiled)["data"]["auditLog"]["edges"]}
    assert [nodes[f"ids.{i}"] for i in range(len(STORED_IDS))] == [ids for _, ids in STORED_IDS]
