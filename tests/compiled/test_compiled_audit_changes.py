"""The audit log by object, with its entries' errors and changes (compiled/audit.py, issue #21).

``auditLog(objectId:)`` raised INTERNAL on every request (a LIKE on the JSON type): it now finds the
entries naming the row, on both backends. On PostgreSQL the compiled read answers it, and the
``errors`` and ``changes`` of each entry, exactly as the resolvers do for every world user: the
world's own mutations (names in Chinese, care tag lists, refusals) and entries written here with
what json.dumps must be matched on (quotes, new lines, numbers, booleans, nulls, objects in stored
key order, error codes that are no strings, an unknown operation); an entry the SQL cannot write as
json.dumps does (Chinese inside a list) is handed to the general path, still the same bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from models import AuditEntry
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
READERS = {"admin", "secretary", "secretary2"}

LOG = """
query Log($first: Int, $after: String, $objectId: ID, $action: String) {
  auditLog(first: $first, after: $after, objectId: $objectId, action: $action) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id action outcome result errors objectType objectIds
            changes { __typename table id op operation fields { __typename name before after } } } } }
"""
BY_OBJECT = "query($o: ID) { auditLog(objectId: $o, first: 50) { totalCount nodes { action objectIds } } }"
EQUIVALENCE_DOCUMENTS = (LOG,)
UPDATE_PERSON = "mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { id } errors { code } } }"


@pytest.fixture
async def changes_tenant(api: Api, fresh: World, db: DbEnv) -> TenantWorld:
    tw = fresh.a
    for key, change in (("h1a", {"name": "张建国\"乙\"", "careTags": ["living_alone", "disabled"]}),
                        ("h3a", {"name": "王德明\n二", "partyMember": False}), ("h4a", {"phone": "13900001111"})):
        await api.gql(tw, "admin", UPDATE_PERSON, {"i": {"id": encode_global_id("Person", tw.persons[key]), **change}})
    await api.gql(tw, "resident", UPDATE_PERSON, {"i": {"id": encode_global_id("Person", tw.persons["h1a"]),
                                                        "name": "拒绝"}})  # refused: errors, no changes
    h1a = str(tw.persons["h1a"])
    odd: list[tuple[str, dict[str, Any]]] = [
        ("test.values", {"outcome": "ok", "errors": [], "changes": [{"table": "persons", "id": h1a, "op": "update",
         "fields": {"z": [1, 2.5], "a": [True, None], "m": [{"b": 1, "a": [1, "x"]}, "引号\"\\"], "n": [None, []]}}]}),
        ("test.errors", {"outcome": "refused", "errors": ["FORBIDDEN", 3, True, None, 1.5]}),
        ("test.shapes", {"outcome": "ok", "errors": "FORBIDDEN", "changes": {"table": "x"}}),
        ("test.operation", {"changes": [
            {"table": "cases", "id": "c1", "op": "merge", "fields": {}},
            {"table": "cases", "id": "c2", "op": "insert", "fields": {"t": [None, "新"]}}]}),
        ("test.decline", {"changes": [{"table": "persons", "id": h1a, "op": "update",
                                       "fields": {"care": [["独居"], []]}}]}),
        ("test.decline_errors", {"errors": [["nested"]]})]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            at = datetime.now(UTC) - timedelta(days=1)
            for i, (action, detail) in enumerate(odd):
                s.add(AuditEntry(user_id=tw.users["admin"], roles="street_admin", action=action, object_type="person",
                                 object_ids=[h1a] if i % 2 == 0 else [], detail=detail, request_id=f"r{i}",
                                 client_addr=None, area_path=None, created_at=at + timedelta(minutes=i)))
    return tw


async def test_the_log_by_object_is_no_internal_error(api: Api, changes_tenant: TenantWorld) -> None:
    """Both backends: the entries naming the row, newest first; an id that is no uuid is INVALID_ID."""
    tw = changes_tenant
    body = await api.gql(tw, "admin", BY_OBJECT, {"o": str(tw.persons["h1a"]).upper()})
    log = body["data"]["auditLog"]
    actions = [n["action"] for n in log["nodes"]]
    assert log["totalCount"] == len(actions) == 4 and {"updatePerson", "test.values", "test.decline"} <= set(actions)
    assert all(str(tw.persons["h1a"]) in n["objectIds"] for n in log["nodes"])
    none = await api.gql(tw, "admin", BY_OBJECT, {"o": str(tw.persons["h2a"])})
    assert none["data"]["auditLog"] == {"totalCount": 0, "nodes": []}
    bad = await api.gql(tw, "admin", BY_OBJECT, {"o": "not-a-uuid"}, allow_errors=True)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_the_log_with_changes_compiles_to_the_resolvers_answer_for_every_user(
        api: Api, db: DbEnv, changes_tenant: TenantWorld) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = changes_tenant
    h1a = str(tw.persons["h1a"])
    variables: list[dict[str, Any]] = [
        {}, {"first": 100}, {"objectId": h1a}, {"objectId": h1a.upper(), "first": 2}, {"objectId": "not-a-uuid"},
        {"objectId": str(tw.persons["h2a"])}, {"action": "updatePerson"}, {"action": "test.values"},
        {"action": "test.decline"}, {"action": "test.decline_errors"}]
    for user in USERS:
        for v in variables:
            compiled, resolved, taken = await both(api, tw, user, LOG, v)
            assert compiled == resolved, (user, v, around(compiled, resolved))
            assert taken == (user in READERS and v.get("objectId") != "not-a-uuid"), (user, v)
        if user in READERS:
            assert await walk_pages(api, tw, user, LOG, "auditLog", {"first": 2, "objectId": h1a}, 30) >= 1
    body = orjson.loads((await both(api, tw, "admin", LOG, {"first": 100}))[0])["data"]["auditLog"]
    nodes = {n["action"]: n for n in body["nodes"]}
    values = {f["name"]: (f["before"], f["after"]) for f in nodes["test.values"]["changes"][0]["fields"]}
    assert list(values) == ["z", "a", "m", "n"]  # the stored order
    assert values["m"] == ('{"b": 1, "a": [1, "x"]}', '"引号\\"\\\\"') and values["a"] == ("true", None)
    assert nodes["test.errors"]["errors"] == ["FORBIDDEN", "3", "True", "None", "1.5"]
    assert (nodes["test.shapes"]["errors"], nodes["test.shapes"]["changes"]) == ([], [])
    assert [c["operation"] for c in nodes["test.operation"]["changes"]] == [None, "INSERT"]
    assert nodes["test.operation"]["changes"][1]["fields"] == [
        {"__typename": "AuditFieldChange", "name": "t", "before": None, "after": '"新"'}]  # ensure_ascii=False
    names = [f for c in nodes["updatePerson"]["changes"] for f in c["fields"] if f["name"] == "name"]
    assert names and names[0]["after"] == '"***"'  # personal data: masked in the log itself


async def test_a_compiled_log_with_changes_is_one_statement(api: Api, db: DbEnv, changes_tenant: TenantWorld
                                                            ) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = changes_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    variables = {"objectId": str(tw.persons["h1a"]), "action": "updatePerson"}
    await api.counted(tw, "admin", LOG, variables)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", LOG, variables)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "admin", LOG, variables)
    assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)
    # an entry json.dumps writes otherwise: the compiled statement on the driver (with its start-up), then
    # the ordinary path from the start (its compiled attempt declines again) and the resolvers
    _, declined = await api.counted(tw, "admin", LOG, {"action": "test.decline"})
    assert declined == resolved + 3, (declined, resolved)
