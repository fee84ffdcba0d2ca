"""Which of ``audit_log``'s indexes the audited reads' entries enter (migration 0063; issue #21). Every register page
read in full writes a ``person.read_pii`` entry, and every personalDataReport a ``person.report`` one: neither has an
area path, and a full read's own entry is never looked up by its request (personalDataReport names a read's request
by its OTHER entries). So a full read's entry enters the log's key, its time and the sealing job's index — 3, where
it entered 5 — and a report's those and its request's — 4. Their readers still read the indexes:
tests/cases/test_report_indexes.py READERS. PostgreSQL only (0007's area index is PostgreSQL's)."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tests.support.harness import Api, DbEnv, World

PERSONS = "{ persons(first: 100) { totalCount nodes { id phone idCardNo } } }"
REPORT = "query ($p: ID!) { personalDataReport(personId: $p) { fullReads { at userName via requestId } } }"


async def entered(driver: Any, where: str) -> list[str]:
    """The indexes of audit_log holding an entry of the rows ``where`` picks (a partial index's predicate true)."""
    out = []
    for name, predicate in await driver.fetch(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index "
            "WHERE indrelid = 'audit_log'::regclass ORDER BY 1"):
        if await driver.fetchval(f"SELECT count(*) FROM audit_log WHERE {where} AND ({predicate or 'true'})"):
            out.append(name)
    return out


async def test_a_full_reads_entry_enters_three_of_the_logs_indexes_and_a_report_four(api: Api, db: DbEnv,
                                                                                     fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("0007's area index and the predicates asked of are PostgreSQL's")
    a = fresh.a
    person = encode_global_id("Person", a.persons["h1b"])
    for actor in ("grid1", "admin"):  # the grid's own persons, everyone
        body = await api.gql(a, actor, PERSONS)
        assert body["data"]["persons"]["nodes"], body
    body = await api.gql(a, "admin", REPORT, {"p": person})
    assert body["data"]["personalDataReport"]["fullReads"], body  # the admin's read, named by its request
    async with db.owner_engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            await driver.execute(set_tenant_sql(a.tenant_id))
            reads = await entered(driver, "action = 'person.read_pii'")
            reports = await entered(driver, "action = 'person.report'")
            assert await driver.fetchval("SELECT count(*) FROM audit_log WHERE action = 'person.read_pii' "
                                         "AND request_id IS NOT NULL AND area_path IS NULL") >= 2
    assert reads == ["ix_audit_log_tenant_created", "ix_audit_log_unsealed", "pk_audit_log"], reads
    assert reports == ["ix_audit_log_tenant_created", "ix_audit_log_tenant_request", "ix_audit_log_unsealed",
                       "pk_audit_log"], reports
