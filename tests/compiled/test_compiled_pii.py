"""The compiled service records (compiled/care_records.py, issue #21) answer exactly what the resolvers
answer, and audit exactly what they audit: every record on a page is a full read of its person, whatever
was selected (a "$reads" key the compiled path takes out and records, compiled.plans.finish).

Every world user sends each query compiled, then through strawberry's resolvers: the same bytes, and
the same audit rows (actor, roles, action, object type, object ids, detail; one row per request, or
none); bad arguments are the resolvers' errors either way; a page is one statement after start-up,
with the audit row written in the read's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from models import CareService, CareServiceRecord, uuid7
from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.compiled import around, both, compiled_statements, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

RECORDS = """
query Records($first: Int, $after: String, $personId: ID, $serviceId: ID) {
  careServiceRecords(first: $first, after: $after, personId: $personId, serviceId: $serviceId) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id providedAt providedBy note
      service { __typename id tagCode name frequency provider note retiredAt area { __typename id name } }
      person { id name phone idCardNo birthDate careTags piiMasked } } } } }
"""
PORTAL = """
query Records { careServiceRecords(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id providedAt providedBy note service { name } person { name } } } }
"""
FRAGMENTS = """
query { a: careServiceRecords(first: 1) { nodes { ...R } } b: careServiceRecords { totalCount }
        c: careServiceRecords(first: 2) { edges { node { ... on Node { id } } } } }
fragment R on CareServiceRecord { by: providedBy person { ... on Person { phone } } }
"""
COUNT_ONLY = "{ careServiceRecords(first: 3) { totalCount } }"  # no field of a record: read in full all the same
EQUIVALENCE_DOCUMENTS = (RECORDS, PORTAL, FRAGMENTS)


@pytest.fixture
async def records_tenant(fresh: World, db: DbEnv) -> tuple[TenantWorld, dict[str, Any]]:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    services: dict[str, Any] = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = {}
            for key in ("S", "C1", "C2"):
                paths[key] = (await s.execute(sa.text("SELECT path FROM areas WHERE id = :i"),
                                              {"i": tw.areas[key]})).scalar_one()
            now = datetime.now(UTC)
            for key, tag, area, note, active in (("visit", "living_alone", "C1", "每周", True),
                                                 ("aid", "disabled", "C1", None, True),
                                                 ("vet", "veteran", "C2", "慰问", True),
                                                 ("old", "living_alone", "S", None, False)):
                services[key] = CareService(id=uuid7(), tag_code=tag, area_id=tw.areas[area], area_path=paths[area],
                                            name=f"服务{key}", frequency="每月", provider="社区", note=note,
                                            active=active, created_at=now,
                                            retired_at=None if active else now - timedelta(days=1))
                s.add(services[key])
            await s.flush()
            for i, (svc, person, note) in enumerate((
                    ("visit", "h1a", "上门"), ("old", "h1a", None), ("visit", "h1b", "子女"), ("aid", "h3a", None),
                    ("aid", "h3a", "轮椅\"维修\""), ("vet", "h4a", None), ("vet", "h4a", "节日"),
                    ("visit", "h2a", None), ("aid", "h1a", "\\n")) * 2):
                s.add(CareServiceRecord(id=uuid7(), service_id=services[svc].id, person_id=tw.persons[person],
                                        provided_at=now - timedelta(hours=i), provided_by=f"网格员{i}", note=note,
                                        recorder_user_id=tw.users["admin"], created_at=now))
    return tw, {k: v.id for k, v in services.items()}


async def _audit_rows(db: DbEnv, tw: TenantWorld) -> list[tuple[Any, ...]]:
    """The tenant's audit rows as a request writes them, oldest first: who, in which roles, did what, to what."""
    async with db.owner_engine.connect() as c, c.begin():
        await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        rows = await c.execute(sa.text(
            "SELECT user_id, roles, action, object_type, object_ids::text, detail::text, area_path FROM audit_log "
            "WHERE tenant_id = :t ORDER BY created_at, id"), {"t": tw.tenant_id})
        return [tuple(r) for r in rows]


async def both_audited(api: Api, db: DbEnv, tw: TenantWorld, user: str, query: str, variables: dict[str, Any]
                       ) -> tuple[bytes, bytes, bool, list[Any], list[Any]]:
    """both(), with the audit rows each path wrote: (compiled, resolved, taken, compiled's rows, resolvers')."""
    before = await _audit_rows(db, tw)
    token = api.token(tw, user)
    with compiled_statements() as made:
        r1 = await api.post(query, variables, token=token)
    middle = await _audit_rows(db, tw)
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        r2 = await api.post(query, variables, token=token)
    finally:
        state.compiled_reads = True
    after = await _audit_rows(db, tw)
    assert r1.status_code == r2.status_code, (r1.text, r2.text)
    return (orjson.dumps(r1.json()), orjson.dumps(r2.json()), bool(made and made[0] is not None),
            middle[len(before):], after[len(middle):])


async def test_service_records_compile_to_the_resolvers_answer_and_audit(
        api: Api, db: DbEnv, records_tenant: tuple[TenantWorld, dict[str, Any]]) -> None:
    tw, services = records_tenant
    h1a, h4a = encode_global_id("Person", tw.persons["h1a"]), encode_global_id("Person", tw.persons["h4a"])
    variables: list[dict[str, Any]] = [
        {}, {"first": 2}, {"first": 0}, {"first": 100}, {"personId": h1a}, {"personId": h4a, "first": 1},
        {"serviceId": encode_global_id("CareService", services["aid"])},
        {"serviceId": encode_global_id("CareService", services["old"]), "personId": h1a}]
    audited = walked = 0
    for user in USERS:
        for v in variables:
            compiled, resolved, taken, rows_c, rows_r = await both_audited(api, db, tw, user, RECORDS, v)
            assert taken and compiled == resolved, (user, v, around(compiled, resolved))
            assert rows_c == rows_r and len(rows_c) <= 1, (user, v, rows_c, rows_r)
            audited += len(rows_c)
        for document in (PORTAL, FRAGMENTS, COUNT_ONLY):
            compiled, resolved, taken, rows_c, rows_r = await both_audited(api, db, tw, user, document, {})
            assert taken and compiled == resolved, (user, document[:30], around(compiled, resolved))
            assert rows_c == rows_r, (user, document[:30], rows_c, rows_r)
        walked += await walk_pages(api, tw, user, RECORDS, "careServiceRecords", {"first": 2}, 30)
    assert audited > 20, audited  # the full readers' pages were audited, on both paths alike
    assert walked > len(USERS) + 5, walked


async def test_service_records_have_real_content(api: Api, db: DbEnv,
                                                 records_tenant: tuple[TenantWorld, dict[str, Any]]) -> None:
    tw, _ = records_tenant
    compiled, _, taken, rows, _ = await both_audited(api, db, tw, "admin", RECORDS, {"first": 100})
    page = orjson.loads(compiled)["data"]["careServiceRecords"]
    nodes = [e["node"] for e in page["edges"]]
    assert taken and page["totalCount"] == len(nodes) == 18
    assert {n["person"]["name"] for n in nodes} == {"张建国", "张小梅", "王德明", "赵卫东", "李秀英"}
    assert {n["service"]["retiredAt"] is None for n in nodes} == {True, False}
    assert any(n["note"] == "轮椅\"维修\"" for n in nodes) and any(n["note"] is None for n in nodes)
    assert rows[0][2:4] == ("person.read_pii", "person") and len(orjson.loads(rows[0][4])) == 5
    # the secretary reads C1's persons in full; a grid leader their grid's; a resident and the firm none
    read = {}
    for user in ("secretary", "grid1", "grid3", "resident", "firm"):
        compiled, _, _, rows, _ = await both_audited(api, db, tw, user, COUNT_ONLY, {})
        read[user] = (orjson.loads(compiled)["data"]["careServiceRecords"]["totalCount"],
                      len(orjson.loads(rows[0][4])) if rows else 0)
    assert read["secretary"][0] > read["grid1"][0] > 0 and read["grid3"][0] > 0, read
    assert read["secretary"][1] == 3, read  # the first 3 records' persons (first: 3)


async def test_a_bad_service_record_argument_is_the_resolvers_error_either_way(
        api: Api, records_tenant: tuple[TenantWorld, dict[str, Any]]) -> None:
    tw, services = records_tenant
    for v in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}, {"personId": "bad"},
              {"personId": encode_global_id("CareService", services["aid"])}, {"serviceId": "x"}):
        for user in ("admin", "resident"):
            compiled, resolved, _ = await both(api, tw, user, RECORDS, v)
            assert compiled == resolved and b'"errors"' in compiled, (user, v, compiled[:200])


async def test_a_compiled_service_record_page_is_one_statement_and_its_audit_row(
        api: Api, records_tenant: tuple[TenantWorld, dict[str, Any]]) -> None:
    tw, _ = records_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "admin", PORTAL)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PORTAL)
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 20):
        _, counts[first] = await api.counted(tw, "admin", PORTAL.replace("20", str(first)))
    # the read, and the audit row's INSERT on the driver in the read's transaction
    assert counts[1] == counts[20] == baseline + 2 < resolved, (counts, baseline, resolved)
