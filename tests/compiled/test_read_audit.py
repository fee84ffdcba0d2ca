"""A compiled read's full reads audited by its own statement (gongzhi.http.read_audit, issue #21).

The households and persons pages of a grid leader (the "$pii" markers of phones, the "$reads" list of a persons
page) write the entry the resolvers write — who, roles, action, object type, the ids sorted, detail, area — and
one ``audit_pii_reads`` row per id, in one statement after the request's first, committed with it; a page that
reads nobody in full writes no entry. The statement's ids are the markers' alone: a user's text that looks like a
marker is escaped in the JSON and names nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from gongzhi.http.read_audit import audits_in_statement, read_audit_sql, read_of, read_with_audit
from gongzhi.http.state import _AUDIT_COLUMNS, _AUDIT_TYPES
from models import uuid7
from tenants.rls import set_tenant_sql
from tests.support.compiled import compiled_statements
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import rolled_back
from tests.support.world import TenantWorld

HOUSEHOLDS = """{ households(first: 20) { totalCount nodes { id room building { name }
  persons { id name piiMasked phone } } } }"""
PERSONS = "{ persons(first: 20) { totalCount nodes { id name piiMasked phone idCardNo household { room } } } }"


async def _entries(db: DbEnv, tw: TenantWorld) -> list[tuple[Any, ...]]:
    """The tenant's full-read entries, oldest first, each with its audit_pii_reads ids (sorted)."""
    async with db.owner_engine.connect() as c, c.begin():
        await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        rows = await c.execute(sa.text(
            "SELECT a.user_id, a.roles, a.action, a.object_type, a.object_ids::text, a.detail::text, a.area_path, "
            "a.request_id IS NOT NULL, ARRAY(SELECT p.object_id FROM audit_pii_reads p WHERE p.tenant_id = a.tenant_id "
            "AND p.id = a.id ORDER BY p.object_id) FROM audit_log a WHERE a.tenant_id = :t "
            "AND a.action = 'person.read_pii' ORDER BY a.created_at, a.id"), {"t": tw.tenant_id})
        return [tuple(r) for r in rows]


async def _both(api: Api, db: DbEnv, tw: TenantWorld, user: str, query: str
                ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], bytes, bytes]:
    """The entries a compiled request wrote and those the resolvers wrote for the same request, and both answers."""
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    token = api.token(tw, user)
    before = await _entries(db, tw)
    with compiled_statements() as made:
        r1 = await api.post(query, {}, token=token)
    assert made and made[0] is not None, "the read compiles"
    middle = await _entries(db, tw)
    state.compiled_reads = False
    try:
        r2 = await api.post(query, {}, token=token)
    finally:
        state.compiled_reads = True
    after = await _entries(db, tw)
    return middle[len(before):], after[len(middle):], orjson.dumps(r1.json()), orjson.dumps(r2.json())


@pytest.mark.parametrize(("user", "query"), [("grid1", HOUSEHOLDS), ("grid1", PERSONS), ("secretary", PERSONS),
                                             ("resident", HOUSEHOLDS), ("firm", PERSONS)])
async def test_a_compiled_reads_entry_is_the_resolvers(api: Api, db: DbEnv, fresh: World, user: str,
                                                       query: str) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    tw = fresh.a
    compiled, resolved, a, b = await _both(api, db, tw, user, query)
    assert a == b, (a, b)
    assert compiled == resolved, (compiled, resolved)
    assert len(compiled) <= 1
    if user in ("grid1", "secretary"):  # their pages read phones in full: an entry, not a vacuous comparison
        assert compiled, (user, a)
    if compiled:
        (*_, ids_json, _detail, _area, has_request, rows) = compiled[0]
        ids = orjson.loads(ids_json)
        assert ids == sorted(set(ids)) and ids and rows == ids and has_request, compiled[0]
        assert ids_json == orjson.dumps(ids).decode()  # compact, as models.jsontext.json_text writes it


async def test_a_grid_leaders_page_writes_its_entry_in_its_own_statement(api: Api, db: DbEnv, fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    tw = fresh.a
    for query in (HOUSEHOLDS, PERSONS):
        for _ in range(2):  # a text's first run on a connection prepares it (and COMMIT's carrier) apart
            before = len(await _entries(db, tw))
            body, count = await api.counted(tw, "grid1", query)
            assert "errors" not in body, body
            assert len(await _entries(db, tw)) == before + 1
        # the request's first statement, then the read with its entry (before 2026-12-07: the entry's own statement)
        assert count == 2, (query, count)


async def test_the_statements_ids_are_the_markers_alone(db: DbEnv, fresh: World) -> None:
    """``read_audit_sql`` of a read whose text holds two markers of one person, a "$reads" list and an empty one, a
    marker-like text inside a string (escaped, as JSON writes it): the entry names the three persons, sorted."""
    if not db.is_pg:
        pytest.skip("the statement is PostgreSQL's")
    tw = fresh.a
    p1, p2, p3, fake = (str(uuid.UUID(int=i)) for i in (3, 1, 2, 4))
    text = (f'{{"a" : [{{"$reads" : ["{p2}", "{p3}"], "x" : 1}}, {{"$reads" : [], "y" : 2}}], '
            f'"b" : {{"$pii" : "{p1}", "v" : "v1:k:zz", "s" : true}}, "c" : {{"$pii" : "{p1}", "v" : null}}, '
            f'"d" : "{{\\"$pii\\" : \\"{fake}\\", \\"v\\" : 1}}"}}')
    orjson.loads(text)  # JSON, as a plan's answer is
    read = "SELECT " + "'" + text.replace("'", "''") + "'::text AS data"
    sql = read_audit_sql(read, 1, _AUDIT_COLUMNS, _AUDIT_TYPES)
    entry_id, at = uuid7(), datetime.now(UTC)
    values = {"id": entry_id, "created_at": at, "user_id": tw.users["grid1"], "roles": "grid_leader",
              "action": "person.read_pii", "object_type": "person", "detail": "{}", "request_id": "r-1",
              "client_addr": None, "area_path": None}
    args = [tw.tenant_id, *(values[c] for c in _AUDIT_COLUMNS if c != "object_ids")]
    async with rolled_back(db.engine, tw.tenant_id) as driver:
        assert await driver.fetchval(sql, *args) == text  # the read's answer as it was
        row = await driver.fetchrow("SELECT object_ids::text AS ids, action FROM audit_log WHERE id = $1", entry_id)
        pii = await driver.fetch("SELECT object_id FROM audit_pii_reads WHERE id = $1 ORDER BY object_id",
                                 entry_id)
        # a read with no marker: no entry
        none_id = uuid7()
        args[1] = none_id
        assert await driver.fetchval(read_audit_sql("SELECT '{\"a\" : 1}'::text", 1, _AUDIT_COLUMNS,
                                                    _AUDIT_TYPES), *args) == '{"a" : 1}'
        assert await driver.fetchval("SELECT count(*) FROM audit_log WHERE id = $1", none_id) == 0
        # an answer that declines (the general path answers from the start, its entries with it): none either
        declined = text[:-1] + ', "e" : {"$decline" : true}}'
        assert await driver.fetchval(read_audit_sql("SELECT '" + declined.replace("'", "''") + "'::text", 1,
                                                    _AUDIT_COLUMNS, _AUDIT_TYPES), *args) == declined
        assert await driver.fetchval("SELECT count(*) FROM audit_log WHERE id = $1", none_id) == 0
        assert await driver.fetchval("SELECT count(*) FROM audit_pii_reads WHERE id = $1", none_id) == 0
    assert orjson.loads(row["ids"]) == sorted([p1, p2, p3]) and row["action"] == "person.read_pii", row
    assert [r[0] for r in pii] == sorted([p1, p2, p3])


async def test_a_reports_entry_is_written_from_its_marker(db: DbEnv, fresh: World) -> None:
    """``read_audit_sql`` with a report: the "$report" list gives the report's entry (the person, its counts as
    ``report_entry`` writes them: compact JSON), before the full reads' entry; a text without it, no report entry."""
    if not db.is_pg:
        pytest.skip("the statement is PostgreSQL's")
    tw = fresh.a
    person, read_one = str(uuid.UUID(int=7)), str(uuid.UUID(int=8))
    text = (f'{{"r" : {{"$report" : ["{person}", 7, 12], "erased" : false, '
            f'"person" : {{"phone" : {{"$pii" : "{read_one}", "v" : "1"}}}}}}}}')
    orjson.loads(text)
    sql = read_audit_sql("SELECT '" + text + "'::text", 1, _AUDIT_COLUMNS, _AUDIT_TYPES, report=True)
    reads_id, report_id, at = uuid7(), uuid7(), datetime.now(UTC)
    common = {"created_at": at, "user_id": tw.users["admin"], "roles": "street_admin", "object_type": "person",
              "request_id": "r-2", "client_addr": None, "area_path": None}
    full = {**common, "id": reads_id, "action": "person.read_pii", "detail": "{}"}
    own = {**common, "id": report_id, "action": "person.report"}
    args = [tw.tenant_id, *(full[c] for c in _AUDIT_COLUMNS if c != "object_ids"),
            *(own[c] for c in _AUDIT_COLUMNS if c not in ("object_ids", "detail"))]
    async with rolled_back(db.engine, tw.tenant_id) as driver:
        assert await driver.fetchval(sql, *args) == text
        rows = await driver.fetch("SELECT id, action, object_ids::text AS ids, detail::text AS detail "
                                  "FROM audit_log WHERE id = ANY($1::uuid[]) ORDER BY id", [reads_id, report_id])
    assert [(r["id"], r["action"], r["ids"], r["detail"]) for r in rows] == sorted([
        (report_id, "person.report", f'["{person}"]', '{"records":7,"fullReads":12}'),
        (reads_id, "person.read_pii", f'["{read_one}"]', "{}")])


def test_only_plans_of_full_reads_write_their_entry() -> None:
    assert audits_in_statement("SELECT '{\"$pii\" : \"' || x FROM t")
    assert audits_in_statement("SELECT '\"$reads\" : ' || y, $1 FROM t")  # a parameter is no marker
    assert not audits_in_statement("SELECT $1, $2 FROM t")  # no full read
    assert audits_in_statement("SELECT '{\"$report\" : ' || x, '{\"$pii\" : \"' FROM t")  # one report
    assert not audits_in_statement("SELECT '{\"$report\" : ' || x, '{\"$report\" : ' || y FROM t")  # two
    assert audits_in_statement("SELECT '{\"$pii\" : \"', '{\"$decline\" : true}' FROM t")  # writes nothing then
    for other in ("$rates", "$hours", "$calendar"):  # the general path may answer after it ran
        assert not audits_in_statement(f"SELECT '{{\"$pii\" : ' || '\"{other}\" : 1' FROM t")


def test_the_read_is_found_again_with_its_parameters() -> None:
    class Ctx:
        class actor:
            user_id, roles, tenant_id = uuid7(), (), uuid7()
        request_id, client_addr, now = "r", None, datetime.now(UTC)

        def full_read_entry(self, ids: list[str]) -> Any:
            from resolvers.context import audit_entry
            return audit_entry(user_id=self.actor.user_id, roles="", action="person.read_pii", object_type="person",
                               object_ids=ids, detail={}, request_id=self.request_id, client_addr=None,
                               created_at=self.now)

    sql, params = read_with_audit(Ctx(), "SELECT $1::text", ("x",))  # type: ignore[arg-type]
    assert read_of(sql) == ("SELECT $1::text", 1) and params[0] == "x" and params[1] == Ctx.actor.tenant_id
    assert sql.count("$2::uuid") == 2 and read_of("SELECT 1") is None  # the tenant, in the entry and its rows
