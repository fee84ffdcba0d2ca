"""The report's walk on PostgreSQL is one scan per table (issue #21, resolvers.register.records_sql with
``postgres=True``): it gives exactly the rows of the portable walk, a SELECT per column (SQLite's, and
PostgreSQL's before), for every person of a tenant with rows in nearly every table
(tests/support/query_count_world.py) — a row naming the subject in two columns being two records — and
the compiled report stays the resolvers' answer, byte for byte, in one statement and its audit row."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql

from gongzhi.http.read_audit import read_of
from models import AuditEntry, Person, RoleAssignment
from resolvers.ids import encode_global_id
from resolvers.register import full_read_filters, records_sql, references
from resolvers.register.personal_data import _records_statement
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tenants.statements import count_statements
from tests.support import citus
from tests.support.compiled import around, both
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.query_count_world import Scene, populate
from tests.support.world import build_tenant

REPORT = """
query Report($p: ID!) { personalDataReport(personId: $p) { erased person { id name }
  records { table column link rowId createdAt } fullReads { at userName roles via purpose requestId } } }
"""


@pytest.fixture(scope="module")
async def scene(api: Api, db: DbEnv) -> Scene:
    if not db.is_pg:
        pytest.skip("the per-table walk is PostgreSQL's; SQLite runs the portable one")
    sc = await populate(api, db, await build_tenant(db.sessionmaker, new_slug("pds")), 2)
    async with db.sessionmaker() as s:
        bind_tenant(s, sc.tw.tenant_id)
        async with s.begin():  # h2a's account granting itself its role: one row naming them twice
            ra = (await s.scalars(select(RoleAssignment).where(RoleAssignment.user_id == sc.tw.users["chair"])
                                  .limit(1))).one()
            await s.execute(update(RoleAssignment).where(RoleAssignment.id == ra.id)
                            .values(granted_by=ra.user_id))
    return sc


async def _subjects(db: DbEnv, sc: Scene) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    async with db.sessionmaker() as s:
        bind_tenant(s, sc.tw.tenant_id)
        async with s.begin():
            rows = (await s.execute(select(Person.id, Person.household_id))).all()
    return [(r[0], r[1]) for r in rows] + [(uuid.uuid4(), None)]  # and someone unknown


async def _walk(db: DbEnv, sc: Scene, postgres: bool, person: uuid.UUID, household: uuid.UUID | None
                ) -> list[tuple[Any, ...]]:
    async with db.sessionmaker() as s:
        bind_tenant(s, sc.tw.tenant_id)
        async with s.begin():
            result = await s.execute(_records_statement(postgres), {
                "tenant_id": sc.tw.tenant_id, "person_id": person, "household_id": household})
            return sorted(tuple(r) for r in result.all())


def test_the_postgres_walk_scans_each_table_once() -> None:
    tables = {r.table for r in references()}
    sql = records_sql(":t", ":p", ":h", postgres=True)
    assert sql.count("\nUNION ALL\n") == len(tables) - 1 < len(references()) - 1
    assert records_sql(":t", ":p", ":h").count("\nUNION ALL\n") == len(references()) - 1


async def test_the_postgres_walk_gives_the_portable_walks_rows(db: DbEnv, scene: Scene) -> None:
    named: Counter[str] = Counter()
    for person, household in await _subjects(db, scene):
        portable = await _walk(db, scene, False, person, household)
        assert await _walk(db, scene, True, person, household) == portable, person
        named.update({(r[0], r[2]) for r in portable})
        if person == scene.tw.persons["h2a"]:
            roles = Counter(r[3] for r in portable if r[0] == "role_assignments")
            assert roles.most_common(1)[0][1] == 2, roles  # the row granted by its own account
    # the comparison means something: most tables name someone of the tenant, by each kind of reference
    assert len({t for t, _ in named}) >= 20 and {k for _, k in named} == {"person", "household", "user"}, named


async def test_the_compiled_report_is_the_resolvers_for_every_person(api: Api, db: DbEnv, scene: Scene) -> None:
    tw = scene.tw
    variables = {"p": encode_global_id("Person", tw.persons["h1a"])}
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")  # start-up
    finally:
        state.compiled_reads = True
    for _ in range(2):  # a text's first run on a connection prepares it (and COMMIT's carrier) apart
        _, compiled = await api.counted(tw, "admin", REPORT, variables)
    # the report writing its audit entry itself (gongzhi.http.read_audit; until 2026-12-07 the entry's INSERT apart)
    assert compiled == baseline + 1, (compiled, baseline)
    records = 0
    for person, _ in (await _subjects(db, scene))[:-1]:
        c, r, taken = await both(api, tw, "admin", REPORT, {"p": encode_global_id("Person", person)})
        assert taken and c == r, (person, around(c, r))
        records += c.count(b'"rowId"')
    assert records > 100, records


def _args(report: str, person: uuid.UUID) -> str:
    """The report statement's parameters as EXECUTE's literals, by what each one is in the text: the
    id's JSON string (the LIKE), its text (audit_pii_reads, migration 0049), else the person's id."""
    out = []
    for n in range(1, max(int(m) for m in re.findall(r"\$(\d+)", report)) + 1):
        if re.search(rf"LIKE '%' \|\| \${n}\b", report):
            out.append(f"'\"{person}\"'")
        else:
            out.append(f"'{person}'")
    return ", ".join(out)


async def _filler(db: DbEnv, tenant_id: uuid.UUID, n: int, requests: bool = False) -> None:
    """``n`` entries of another action in the tenant's log (each of its own request when ``requests``), analysed."""
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    async with db.owner_engine.connect() as owner:
        await owner.execute(text(set_tenant_sql(tenant_id)))
        await owner.execute(text(
            "INSERT INTO audit_log (tenant_id, id, created_at, roles, action, object_type, object_ids, detail, "
            "request_id) SELECT :t, gen_random_uuid(), now(), '', 'test.filler', 'none', '[]', '{}', "
            "CASE WHEN :r THEN 'rq' || g END FROM generate_series(1, :n) g"), {"t": tenant_id, "r": requests, "n": n})
        await owner.commit()
        await owner.execute(text("ANALYZE audit_log"))
        await owner.commit()


async def _plan(db: DbEnv, tenant_id: uuid.UUID, report: str, person: uuid.UUID, analyze: bool = False) -> str:
    """EXPLAIN of the report's statement as the app role under row-level security, in the generic plan
    asyncpg's prepared statement settles on, sequential scans priced out. Of a report that writes its audit entry
    itself (gongzhi.http.read_audit), the report's read: its parameters are the read's."""
    found = read_of(report)
    if found is not None:
        report = found[0]
    async with db.engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            await driver.execute(set_tenant_sql(tenant_id))
            await driver.execute("SET LOCAL enable_seqscan = off")
            await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await driver.execute("PREPARE pd_report AS " + report)
            how = "(ANALYZE, TIMING OFF) " if analyze else ""
            plan = "\n".join(r[0] for r in await driver.fetch(
                f"EXPLAIN {how}EXECUTE pd_report({_args(report, person)})"))
            await driver.execute("DEALLOCATE pd_report")
    return plan


async def test_the_walk_reads_the_subject_once_for_every_table(api: Api, db: DbEnv, scene: Scene) -> None:
    """The walk's subject (the person's household and accounts) is joined once, LATERAL, to the scans of the 35
    tables that name a household or an account — not once per table (issue #21: on the base 36 scans of it, a
    join and a scan per table in the generic plan every report starts and ends). Still one scan per table."""
    if citus.ENABLED:
        pytest.skip(citus.PLAN_ON_COORDINATOR)
    tw = scene.tw
    person = tw.persons["h1a"]
    with count_statements() as statements:
        await api.gql(tw, "admin", REPORT, {"p": encode_global_id("Person", person)})
    report = next(s for s in statements if "pd_reads" in s)
    plan = await _plan(db, tw.tenant_id, report, person)
    assert plan.count("CTE Scan on pd_subject") == 1, plan
    for table in {r.table for r in references()} - {"persons", "households"}:
        scans = 2 if table == "members" else 1  # members: the subject's accounts, then the table's own scan
        assert len(re.findall(rf" on {table}(?: |$)", plan, re.M)) == scans, (table, plan)


async def test_the_full_reads_are_read_by_their_index_as_the_app_role(api: Api, db: DbEnv, scene: Scene) -> None:
    """The compiled report's full reads come from an index of full reads, not from a scan of the tenant's
    whole log — as the app role under row-level security, in the generic plan asyncpg's prepared
    statement settles on (the action in the text, not a parameter). Sequential scans are priced out and
    the tenant's log is made mostly of other entries (analysed), so that no index of the whole tenant's
    log ties with it. Migration 0047's partial index of the tenant's full reads did it first; since 0049
    the person's own reads are looked up in audit_pii_reads (the next test)."""
    tw = scene.tw
    person = tw.persons["h1a"]
    with count_statements() as statements:
        await api.gql(tw, "admin", REPORT, {"p": encode_global_id("Person", person)})
    report = next(s for s in statements if "pd_reads" in s)
    assert "'person.read_pii'" in report
    await _filler(db, tw.tenant_id, 2000)  # a log mostly of other entries, and its statistics
    plan = await _plan(db, tw.tenant_id, report, person)
    reads = plan[plan.index("CTE pd_reads"):].split("CTE ", 2)[1]
    assert "ix_audit_pii_reads_tenant_object" in reads, plan
    assert "Seq Scan on audit_log" not in reads and "ix_audit_log_tenant_created" not in reads, plan


async def test_a_report_reads_the_persons_full_reads_not_the_tenants(api: Api, db: DbEnv, scene: Scene) -> None:
    """Issue #21: the report's cost no longer grows with the tenant's history of full reads. With 3,000
    full reads of other persons in the tenant's log (as the portal mix's register pages write them, each
    with its audit_pii_reads rows, analysed), the report's full reads test only the person's own rows:
    the plan (generic, app role, RLS) looks them up by the id's text and removes no row of another
    person. Before migration 0049 it read the tenant's every full read and dropped the others by the
    LIKE on their JSON (3,000 rows removed)."""
    if citus.ENABLED:
        pytest.skip(citus.FILLER_REFUSED)
    tw = scene.tw
    person = tw.persons["h1b"]
    with count_statements() as statements:
        await api.gql(tw, "admin", REPORT, {"p": encode_global_id("Person", person)})
    report = next(s for s in statements if "pd_reads" in s)
    async with db.owner_engine.connect() as owner:
        await owner.execute(text(set_tenant_sql(tw.tenant_id)))
        await owner.execute(text(
            "INSERT INTO audit_log (tenant_id, id, created_at, roles, action, object_type, object_ids, detail) "
            "SELECT :t, gen_random_uuid(), now(), '', 'person.read_pii', 'person', "
            "json_build_array(gen_random_uuid()::text, gen_random_uuid()::text), '{}' "
            "FROM generate_series(1, 3000)"), {"t": tw.tenant_id})
        if await owner.scalar(text("SELECT to_regclass('audit_pii_reads') IS NOT NULL")):
            await owner.execute(text(
                "INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id) "
                "SELECT a.tenant_id, a.id, a.created_at, e FROM audit_log a, "
                "json_array_elements_text(a.object_ids) e WHERE a.tenant_id = :t AND a.action = 'person.read_pii' "
                "AND NOT EXISTS (SELECT 1 FROM audit_pii_reads r WHERE r.tenant_id = a.tenant_id "
                "AND r.id = a.id)"), {"t": tw.tenant_id})
        await owner.commit()
        await owner.execute(text("ANALYZE"))
        await owner.commit()
    plan = await _plan(db, tw.tenant_id, report, person, analyze=True)
    reads = plan[plan.index("CTE pd_reads"):].split("CTE ", 2)[1]
    removed = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", reads)]
    assert sum(removed) < 100, plan


def test_the_resolvers_full_reads_name_the_action_in_the_text() -> None:
    """The general path's filter too: a parameter for the action would leave a generic plan unable to use
    the partial index."""
    statement = select(AuditEntry.id).where(*full_read_filters('"x"', "x", uuid.uuid4()))
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert "audit_log.action = 'person.read_pii'" in sql, sql


ALIASED = """
query Report($p: ID!) { personalDataReport(personId: $p) { records { __typename at: createdAt rowId t: table
  rowId link } again: records { column } } }
"""


async def test_the_compiled_records_text_keeps_aliases_typename_and_order(api: Api, db: DbEnv, scene: Scene) -> None:
    """The records' JSON is written by concatenation on PostgreSQL (compiled.personal_data._record_text):
    aliases, __typename, a field asked twice and a list asked twice under another key come out as the
    resolvers' answer, byte for byte, for every person."""
    tw = scene.tw
    listed = 0
    for person, _ in (await _subjects(db, scene))[:-1]:
        c, r, taken = await both(api, tw, "admin", ALIASED, {"p": encode_global_id("Person", person)})
        assert taken and c == r, (person, around(c, r))
        listed += c.count(b'"PersonalDataRecord"')
    assert listed > 100, listed


async def test_each_full_reads_request_is_found_by_its_index(api: Api, db: DbEnv, scene: Scene) -> None:
    """A full read is named by its request's other entries (what it did, the stated purpose: two lookups per
    read). Found by the index of the log by request (migration 0054), not by a walk of the tenant's whole log
    — on a log of 500,000 entries each walk took 95–180 ms: a person read in full 20 times had no report
    within the statement timeout. As the app role, in the generic plan, sequential scans priced out."""
    tw = scene.tw
    person = tw.persons["h1a"]
    with count_statements() as statements:
        await api.gql(tw, "admin", REPORT, {"p": encode_global_id("Person", person)})
    report = next(s for s in statements if "pd_reads" in s)
    await _filler(db, tw.tenant_id, 5000, requests=True)  # a log of many requests' entries, and its statistics
    plan = await _plan(db, tw.tenant_id, report, person)
    lookups = [line for line in plan.splitlines() if " on audit_log pds" in line]
    assert len(lookups) == 2, plan  # the last entry with a purpose, the first entry
    assert all("ix_audit_log_tenant_request" in line for line in lookups), plan
