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

from models import AuditEntry, CareService, CareServiceRecord, uuid7
from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.compiled import around, both, compiled_statements, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import plan_as_app, statements_sent
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
# A report lists the person's full reads: its person fields here are no full read, so that the second
# request (the resolvers') sees the same log as the first (the compiled one). REPORT_PII reads them.
REPORT = """
query Report($p: ID!) { personalDataReport(personId: $p) { __typename erased
  person { id name piiMasked household { room } }
  records { __typename table column link rowId createdAt }
  fullReads { __typename at userId userName roles via purpose requestId } } }
"""
REPORT_PII = "query($p: ID!) { personalDataReport(personId: $p) { person { phone idCardNo } records { rowId } } }"
REPORT_FRAGMENTS = """
query($p: ID!) { r: personalDataReport(personId: $p) { ...R } n: personalDataReport(personId: $p) { erased } }
fragment R on PersonalDataReport { e: erased fullReads { via } records { ... on PersonalDataRecord { link } } }
"""
EQUIVALENCE_DOCUMENTS = (RECORDS, PORTAL, FRAGMENTS, REPORT, REPORT_FRAGMENTS)


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
        api: Api, db: DbEnv, records_tenant: tuple[TenantWorld, dict[str, Any]]) -> None:
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
        before = len(await _audit_rows(db, tw))
        for _ in range(2):  # a text's first run on a connection prepares it (and COMMIT's carrier) apart
            _, counts[first] = await api.counted(tw, "admin", PORTAL.replace("20", str(first)))
        assert len(await _audit_rows(db, tw)) == before + 2, first  # each request's entry of its full reads
    # the read, its audit entry written by the read's own statement and committed with it (gongzhi.http.read_audit;
    # until 2026-12-07 the entry was a statement of its own after the read: baseline + 2)
    assert counts[1] == counts[20] == baseline + 1 < resolved, (counts, baseline, resolved)


# ---------------------------------------------------------------- personalDataReport


@pytest.fixture
async def report_tenant(api: Api, fresh: World, db: DbEnv) -> TenantWorld:
    """Full reads of h1a from several requests: with another entry stating a purpose (the last one with a
    purpose names it), one without, an empty purpose, no other entry, no request id, no user."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    await api.gql(tw, "grid1", "{ persons(first: 50) { nodes { phone } } }")  # person.read_pii rows
    h1a = str(tw.persons["h1a"])
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            at = datetime.now(UTC) - timedelta(days=2)
            rows: list[tuple[str, str | None, dict[str, Any], Any]] = [
                ("person.read_pii", "q1", {}, tw.users["admin"]), ("register.export_full", "q1", {"purpose": ""}, None),
                ("register.export_full", "q1", {"purpose": "年度核查"}, None), ("other.step", "q1", {}, None),
                ("person.read_pii", "q2", {}, None), ("register.export", "q2", {"purpose": None}, None),
                ("person.read_pii", "q3", {}, tw.users["secretary"]), ("person.read_pii", None, {}, None),
                ("register.export", "q4", {"purpose": "不相关"}, None)]
            for i, (action, rid, detail, user) in enumerate(rows):
                s.add(AuditEntry(user_id=user, roles="street_admin", action=action, object_type="person",
                                 object_ids=[h1a, str(tw.persons["h2a"])] if action == "person.read_pii" else [],
                                 detail=detail, request_id=rid, client_addr=None, area_path=None,
                                 created_at=at + timedelta(minutes=i // 2)))
    return tw


async def test_the_report_compiles_to_the_resolvers_answer_and_audit(
        api: Api, db: DbEnv, report_tenant: TenantWorld) -> None:
    tw = report_tenant
    people = [encode_global_id("Person", tw.persons[k]) for k in ("h1a", "h1b", "h4a")]
    for user in USERS:
        for p in [*people, encode_global_id("Household", tw.households["H1"]), "bad"]:
            for document in (REPORT, REPORT_FRAGMENTS):
                compiled, resolved, taken, rows_c, rows_r = await both_audited(api, db, tw, user, document, {"p": p})
                assert compiled == resolved, (user, p, around(compiled, resolved))
                assert rows_c == rows_r, (user, p, rows_c, rows_r)
                if user == "admin" and p in people:
                    n = 2 if document is REPORT_FRAGMENTS else 1  # two aliases: two reports, each audited
                    assert taken and [r[2] for r in rows_c] == ["person.report"] * n, (p, rows_c)
    body = orjson.loads((await both(api, tw, "admin", REPORT, {"p": people[0]}))[0])["data"]["personalDataReport"]
    reads = body["fullReads"]
    assert [(r["via"], r["purpose"]) for r in reads] == [  # the four written here, then grid1's
        ("register.export_full", "年度核查"), ("register.export", None), ("query", None), ("query", None),
        ("query", None)]
    assert reads[0]["userName"] and reads[1]["userId"] is None and reads[4]["requestId"]
    assert [r["table"] for r in body["records"][:2]] == ["persons", "households"] and len(body["records"]) > 2


async def test_a_report_reading_in_full_audits_both_entries(api: Api, db: DbEnv, report_tenant: TenantWorld) -> None:
    """The report's entry, then the full read's: the same on both paths but for the one full read the
    first request (the compiled one) added to the log the second one lists."""
    tw = report_tenant
    compiled, resolved, taken, rows_c, rows_r = await both_audited(
        api, db, tw, "admin", REPORT_PII, {"p": encode_global_id("Person", tw.persons["h1a"])})
    assert taken and compiled == resolved, around(compiled, resolved)
    assert [r[2] for r in rows_c] == [r[2] for r in rows_r] == ["person.report", "person.read_pii"]
    assert rows_c[1] == rows_r[1] and rows_c[0][:5] == rows_r[0][:5]
    detail_c, detail_r = orjson.loads(rows_c[0][5]), orjson.loads(rows_r[0][5])
    assert detail_r == {**detail_c, "fullReads": detail_c["fullReads"] + 1}, (detail_c, detail_r)


async def test_a_compiled_report_is_one_statement_and_its_audit_row(api: Api, report_tenant: TenantWorld) -> None:
    tw = report_tenant
    variables = {"p": encode_global_id("Person", tw.persons["h1a"])}
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "admin", REPORT, variables)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", REPORT, variables)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "admin", REPORT, variables)
    # the read writing its audit entry itself (gongzhi.http.read_audit; until 2026-12-07 the entry's INSERT apart)
    assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)


async def test_a_service_record_page_tests_each_records_person(
        api: Api, db: DbEnv, records_tenant: tuple[TenantWorld, dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #21: whether a record's person may be read in full is asked per record, of that person's row — the base's
    semi-join let PostgreSQL merge the page's records with an index scan of every person of the tenant, each tested
    against the full-read predicate (the mix's generic plan). The plan of grid1's portal page as the app role under
    row-level security: each scan of the records filters by a subplan of its own."""
    tw, _ = records_tenant
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, "grid1", PORTAL, {})
    assert taken and compiled == resolved, around(compiled, resolved)
    assert orjson.loads(compiled)["data"]["careServiceRecords"]["totalCount"] > 0, compiled
    sql, args = next((s, a) for s, a in sent if '"careServiceRecords"' in s)
    plan = await plan_as_app(db, tw.tenant_id, sql, args)
    scans = [i for i, line in enumerate(plan) if " on care_service_records" in line]
    assert scans, "\n".join(plan)
    for i in scans:
        test = next((line for line in plan[i + 1:] if "->" in line or "Filter:" in line), "")
        assert "Filter:" in test and "(SubPlan " in test, "\n".join(plan)
