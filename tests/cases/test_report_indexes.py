"""The indexes a new report's rows enter, and that the partial ones still serve their readers (migration 0050;
issue #21, bench.compare op 4). A report's case has no handler firm, partner unit or 12345 ticket, its timeline
entry no idempotency key and its audit entry no ``seq`` yet (unsealed): it enters 9 of ``cases``' indexes (12
before), 2 of ``case_events``' (3) and 5 of ``audit_log``'s (6; migration 0054 added its request's index, which a
report's entry enters: it has a request id). A resident's report goes on the problem wall, open: it enters the open
wall cases' index too (0061), 10; a grid leader's does not. Each reader of those five indexes is strict in
the column (``=``, ``IN``, ``= ANY``, ``>``, ``max``, the foreign keys' checks), so it implies the index's
``IS NOT NULL`` and its plan — a generic one too — can read the index; the unique ones still refuse a second
equal value and still take any number of NULLs. PostgreSQL only (SQLite's indexes are built by the same
migration, and its planner is not the one measured)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from resolvers.ids import decode_global_id
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.round_trips import rolled_back
from tests.support.world import TenantWorld, build_tenant

REPORT = ("mutation ReportCase($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state } "
          "errors { code message field } } }")


@pytest.fixture(scope="module")
async def tenant(db: DbEnv) -> TenantWorld:
    if not db.is_pg:
        pytest.skip("the plans and the indexes' predicates asked of are PostgreSQL's")
    return await build_tenant(db.sessionmaker, new_slug("ri"))


async def report(api: Api, tw: TenantWorld, description: str | None = None, user: str = "resident") -> uuid.UUID:
    more = {} if description is None else {"description": description}
    body = await post_by(api, tw, user, REPORT, {"input": {
        "areaId": area_gid(tw, "B1"), "category": "garbage", "title": "楼道堆物", "idempotencyKey": uuid.uuid4().hex,
        **more}}, fast=True)
    payload = orjson.loads(body)["data"]["reportCase"]
    assert payload["errors"] == [], payload
    return decode_global_id(payload["case"]["id"])[1]


async def entered(driver: Any, table: str, where: str, *args: Any) -> list[str]:
    """The indexes of ``table`` that hold an entry of the row ``where`` picks (a partial index's predicate true)."""
    out = []
    for name, predicate in await driver.fetch(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index "
            "WHERE indrelid = $1::regclass ORDER BY 1", table):
        if await driver.fetchval(f"SELECT count(*) FROM {table} WHERE {where} AND ({predicate or 'true'})", *args):
            out.append(name)
    return out


async def test_a_report_enters_nine_indexes_of_cases_and_two_of_its_timeline(api: Api, db: DbEnv,
                                                                              tenant: TenantWorld) -> None:
    case_id = await report(api, tenant)
    off_wall = await report(api, tenant, user="grid1")  # G1 covers B1
    async with rolled_back(db.owner_engine, tenant.tenant_id) as driver:
        cases = await entered(driver, "cases", "id = $1", case_id)
        staff = await entered(driver, "cases", "id = $1", off_wall)
        events = await entered(driver, "case_events", "case_id = $1", case_id)
        assert len(await driver.fetch("SELECT 1 FROM case_events WHERE case_id = $1", case_id)) == 1
        audit = await entered(driver, "audit_log", "object_ids::text LIKE '%' || $1 || '%'", str(case_id))
    assert len(cases) == 10 and "ix_cases_open_wall" in cases, cases  # on the wall (0061)
    assert staff == [name for name in cases if name != "ix_cases_open_wall"], staff
    assert not {"ix_cases_tenant_firm", "ix_cases_tenant_partner", "uq_cases_tenant_external_ticket"} & set(cases)
    assert events == ["pk_case_events", "uq_case_events_tenant_id_case_id_seq"], events
    # its audit entry, unsealed: not the chain's order (seq NULL), not the full reads' index; its request's (0054)
    assert audit == ["ix_audit_log_tenant_area_path", "ix_audit_log_tenant_created", "ix_audit_log_tenant_request",
                     "ix_audit_log_unsealed", "pk_audit_log"], audit


# Each reader of a partial index, as the app or a foreign key's check sends it ({t}: the table), with parameters.
READERS = [
    ("ix_cases_tenant_firm", "SELECT 1 FROM ONLY {t} x WHERE $1 OPERATOR(pg_catalog.=) x.tenant_id "
     "AND $2 OPERATOR(pg_catalog.=) x.handler_firm_id FOR KEY SHARE OF x", ("uuid", "uuid")),
    ("ix_cases_tenant_firm", "SELECT id FROM {t} WHERE tenant_id = $1 AND handler_firm_id = $2 ORDER BY id DESC "
     "LIMIT 21", ("uuid", "uuid")),
    ("ix_cases_tenant_firm", "SELECT id FROM {t} WHERE tenant_id = $1 AND handler_firm_id = ANY($2)",
     ("uuid", "uuid[]")),
    ("ix_cases_tenant_firm", "SELECT id FROM {t} WHERE tenant_id = $1 AND handler_firm_id IN ($2, $3)",
     ("uuid", "uuid", "uuid")),
    ("ix_cases_tenant_partner", "SELECT 1 FROM ONLY {t} x WHERE $1 OPERATOR(pg_catalog.=) x.tenant_id "
     "AND $2 OPERATOR(pg_catalog.=) x.handler_partner_id FOR KEY SHARE OF x", ("uuid", "uuid")),
    ("ix_cases_tenant_partner", "SELECT id FROM {t} WHERE tenant_id = $1 AND handler_partner_id = $2",
     ("uuid", "uuid")),
    ("uq_cases_tenant_external_ticket", "SELECT id FROM {t} WHERE tenant_id = $1 AND external_ticket_no = $2",
     ("uuid", "text")),
    ("uq_cases_tenant_external_ticket", "SELECT external_ticket_no FROM {t} WHERE tenant_id = $1 "
     "AND external_ticket_no IN ($2, $3)", ("uuid", "text", "text")),
    ("uq_case_events_tenant_id_actor_user_id_idempotency_key", "SELECT id FROM {t} WHERE tenant_id = $1 "
     "AND actor_user_id = $2 AND idempotency_key = $3 LIMIT 1", ("uuid", "uuid", "text")),
    # a full read's request named by its other entries (personalDataReport: compiled/personal_data.py _via, 0054)
    ("ix_audit_log_tenant_request", "SELECT action FROM {t} WHERE tenant_id = $1 AND request_id = $2 "
     "AND action <> 'person.read_pii' ORDER BY id DESC LIMIT 1", ("uuid", "text")),
    ("ix_audit_log_tenant_request", "SELECT id FROM {t} WHERE tenant_id = $1 AND request_id = ANY($2) "
     "AND action <> 'person.read_pii'", ("uuid", "text[]")),
    # the same, as resolvers/register/personal_data.py full_reads sends it (0063: the action in the text)
    ("ix_audit_log_tenant_request", "SELECT id FROM {t} WHERE request_id IN ($1, $2) "
     "AND action != 'person.read_pii'", ("text", "text")),
    # an audit list under the actor's scope (resolvers/audit/service.py audit_predicate; 0063: partial)
    ("ix_audit_log_tenant_area_path", "SELECT id FROM {t} WHERE tenant_id = $1 AND area_path LIKE $2 || '%' "
     "ORDER BY id DESC LIMIT 21", ("uuid", "text")),
    ("ix_audit_log_tenant_area_path", "SELECT id FROM {t} WHERE tenant_id = $1 AND (starts_with(area_path, $2) "
     "OR starts_with(area_path, $3))", ("uuid", "text", "text")),
    # an area's newest open wall cases, as the open-case page's wall candidates read them (compiled/case_filters.py;
    # the policies' ``on_wall IS true``, the open states as literals; 0061)
    ("ix_cases_open_wall", "SELECT id FROM {t} WHERE tenant_id = $1 AND area_id = $2 AND on_wall IS true "
     "AND state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened') ORDER BY id DESC LIMIT 51",
     ("uuid", "uuid")),
    # the audit chain's reads (resolvers/audit/chain.py)
    ("ux_audit_log_tenant_seq", "SELECT id, seq FROM {t} WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT 500",
     ("uuid", "int8")),
    ("ux_audit_log_tenant_seq", "SELECT id, seq FROM {t} WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 "
     "ORDER BY seq LIMIT 500", ("uuid", "int8", "int8")),
    ("ux_audit_log_tenant_seq", "SELECT max(seq) FROM {t} WHERE tenant_id = $1", ("uuid",)),
    ("ux_audit_log_tenant_seq", "SELECT min(seq) FROM {t} WHERE tenant_id = $1 AND seq > $2 AND created_at >= $3",
     ("uuid", "int8", "timestamptz")),
    ("ux_audit_log_tenant_seq", "SELECT id, seq FROM {t} WHERE tenant_id = $1 AND seq <= $2 ORDER BY seq LIMIT 1",
     ("uuid", "int8")),
]


@pytest.mark.parametrize("index, sql, types", READERS)
async def test_the_partial_indexes_readers_can_read_them(db: DbEnv, tenant: TenantWorld, index: str, sql: str,
                                                         types: tuple[str, ...]) -> None:
    """The index as the database has it (its predicate included), alone on an empty copy of its table: a plan
    of the reader with the table's scan disabled reads it exactly when its predicate is implied — whatever
    the other indexes' costs (a generic plan: the parameters' values unknown)."""
    async with rolled_back(db.owner_engine, tenant.tenant_id) as driver:
        table, definition = await driver.fetchrow(
            "SELECT indrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indexrelid = $1::regclass", index)
        assert f" ON public.{table} USING " in definition, definition
        await driver.execute(f"CREATE TEMP TABLE scratch (LIKE {table})")
        await driver.execute(definition.replace(f" {index} ON public.{table} ", " scratch_index ON scratch "))
        await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off")
        await driver.execute(f"PREPARE reader({', '.join(types)}) AS {sql.format(t='scratch')}")
        plan = "\n".join(r[0] for r in await driver.fetch(
            "EXPLAIN (COSTS OFF) EXECUTE reader(" + ", ".join("NULL" for _ in types) + ")"))
        await driver.execute("DEALLOCATE reader")
    assert re.search(r"(using|on) scratch_index\b", plan), (definition, plan)


async def test_the_partial_unique_indexes_refuse_what_the_constraints_refused(api: Api, db: DbEnv,
                                                                             tenant: TenantWorld) -> None:
    # c keeps its NULLs whatever ran before in this worker (alone, the test had only a and b, both given values)
    a, b, _c = await report(api, tenant), await report(api, tenant), await report(api, tenant)
    for sql in ("UPDATE cases SET external_ticket_no = 'T-1' WHERE id = ANY($1::uuid[])",
                "UPDATE case_events SET idempotency_key = 'k-1' WHERE case_id = ANY($1::uuid[])"):
        async with rolled_back(db.owner_engine, tenant.tenant_id) as driver:
            with pytest.raises(asyncpg.UniqueViolationError):
                await driver.execute(sql, [a, b])
    # one value each: taken; NULLs: as many as there are
    async with rolled_back(db.owner_engine, tenant.tenant_id) as driver:
        # id::text: text || uuid is a STABLE operator, which Citus refuses in an UPDATE across shards
        await driver.execute("UPDATE cases SET external_ticket_no = 'T-' || id::text WHERE id = ANY($1::uuid[])",
                             [a, b])
        assert await driver.fetchval("SELECT count(*) FROM cases WHERE external_ticket_no IS NULL") >= 1
        assert await driver.fetchval("SELECT count(*) FROM case_events WHERE idempotency_key IS NULL") >= 3


async def test_a_reports_audit_entry_is_compressed_with_lz4_and_reads_back_whole(api: Api, db: DbEnv,
                                                                                tenant: TenantWorld) -> None:
    """Migration 0062: the report's audit entry (its detail over PostgreSQL's 2 kB threshold) is stored with lz4, not
    pglz, where the server offers lz4, and reads back as written."""
    case_id = await report(api, tenant, "三单元楼道堆满纸箱和旧家具，堵住了消防通道，夜里看不清容易绊倒。" * 12)
    async with rolled_back(db.owner_engine, tenant.tenant_id) as driver:
        lz4 = await driver.fetchval("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                    "WHERE name = 'default_toast_compression'")
        method = await driver.fetchval("SELECT attcompression FROM pg_attribute "
                                       "WHERE attrelid = 'audit_log'::regclass AND attname = 'detail'")
        stored, size, detail = await driver.fetchrow(
            "SELECT pg_column_compression(detail), octet_length(detail::text), detail::text FROM audit_log "
            "WHERE action = 'reportCase' AND object_ids::text LIKE '%' || $1 || '%'", str(case_id))
    assert size > 2000, size  # over the threshold: compressed at all
    assert str(case_id) in orjson.loads(detail)["changes"][0]["id"]
    if not lz4:
        pytest.skip("this PostgreSQL was built without lz4: the column keeps the default (pglz)")
    assert method == b"l" and stored == "lz4", (method, stored)  # attcompression is a "char": bytes
