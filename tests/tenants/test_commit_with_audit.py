"""The audit statement of a full read and COMMIT in one round trip (issue #21, tenants/commit.py): a compiled
register page that reads personal data in full is three round trips (BEGIN with the first statement, the
compiled read, the audit statement with COMMIT), its audit rows written as before; the statement's parameters
go as text values, so hostile strings land in the log exactly as sent; an audit statement that fails leaves
nothing written and the connection idle and usable; values it does not send as text take the ordinary path. A data
subject's report (personalDataReport), whose only write is its own audit entry, is three round trips too."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from asyncpg.pgproto.pgproto import UUID as DriverUUID
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gongzhi.http.state import audit_and_notify
from models import AuditEntry, AuditPiiRead, uuid7
from models.access import PII_READ
from resolvers.ids import encode_global_id
from tenants.commit import CARRIER, NotText, text_value
from tenants.commit import fetch_and_commit as send_and_commit
from tenants.rls import set_tenant_sql
from tenants.session import DriverTransaction, bind_tenant, count_statements
from tests.support import citus
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import one_connection, round_trips

PERSONS = "{ persons(first: 20) { totalCount nodes { id name phone } } }"
REPORT = ("query ($p: ID!) { personalDataReport(personId: $p) { erased person { name } "
          "records { table column link rowId createdAt } fullReads { at userName roles via purpose } } }")
HOSTILE = ["'); DELETE FROM audit_log; --", "\\'\\\\ E'\\x41' $1 $$ $x$ {a,\"b\"} NULL", "网格 🙂\n\t\r 'quoted'",
           "", "null", "--", "\\"]


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    """One pooled connection straight to PostgreSQL (statement cache on)."""
    async with one_connection(db, "the audit statement with COMMIT is PostgreSQL's driver path") as e:
        yield e


def _entry(tenant_id: uuid.UUID, value: str, ids: list[str], request_id: str | None = None) -> AuditEntry:
    return AuditEntry(id=uuid7(), user_id=uuid.uuid4(), roles=value, action=PII_READ, object_type="person",
                      object_ids=ids, detail={"note": value, "nested": [value]},
                      request_id=request_id if request_id else value[:64], client_addr=None, area_path=value,
                      created_at=datetime.now(UTC))


async def _audit(engine: AsyncEngine, tenant_id: uuid.UUID, entry: AuditEntry, arrays: bool = False) -> None:
    sql, args = audit_and_notify([entry], tenant_id, datetime.now(UTC), [], arrays=arrays)
    async with DriverTransaction(engine) as tx:
        await tx.fetch_first(set_tenant_sql(tenant_id))
        await send_and_commit(tx, sql, args, binary=arrays, arrays=arrays)
        assert not tx.connection.is_in_transaction()
        await tx.commit()  # nothing left to send


async def _write_hostile(engine: AsyncEngine, tenant_id: uuid.UUID, ids_for: Callable[[int, str], list[str]],
                         arrays: bool = False) -> list[tuple[AuditEntry, list[str]]]:
    """An audit entry per HOSTILE value, with the ids ``ids_for(its index, the value)`` names: the round trips
    asserted — BEGIN alone, the setting, the audit statement, COMMIT, the carrier prepared; then BEGIN with the
    setting and the audit statement with COMMIT. The entries and their ids, to read back."""
    written = []
    with round_trips(engine) as trips:
        for n, value in enumerate(HOSTILE):
            ids = ids_for(n, value)
            entry = _entry(tenant_id, value, ids)
            await _audit(engine, tenant_id, entry, arrays=arrays)
            written.append((entry, ids))
    assert trips == [5] + [2] * (len(HOSTILE) - 1), trips
    return written


async def test_a_full_read_page_is_two_round_trips(api: Api, fresh: World, db: DbEnv) -> None:
    """BEGIN with the first statement, then the compiled read writing its audit entry itself, with COMMIT
    (gongzhi.http.read_audit) — three before 2026-12-07 (the read, then the audit statement with COMMIT), four on
    an older base (the audit statement, then COMMIT alone); through pgbouncer (no statement cache) four: BEGIN, the
    first statement, the read with its entry, COMMIT (five before: the audit statement apart)."""
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    a = fresh.a
    for _ in range(25):  # every pooled connection has the statements prepared
        await api.gql(a, "admin", PERSONS)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            before = len((await s.scalars(select(AuditEntry.id).where(AuditEntry.action == PII_READ))).all())
    with round_trips(db.engine) as trips, count_statements() as statements:
        for _ in range(5):
            r = await api.gql(a, "admin", PERSONS)
            assert r["data"]["persons"]["nodes"] and r["data"]["persons"]["nodes"][0]["phone"]
    assert trips == [4 if db.through_pgbouncer else 2] * 5, trips
    assert len(statements) == 2 * 5 and CARRIER not in statements  # the first, the read with its audit entry
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            audit = (await s.execute(select(AuditEntry.id, AuditEntry.object_ids)
                                     .where(AuditEntry.action == PII_READ))).all()
            ids = (await s.execute(select(AuditPiiRead.id, AuditPiiRead.object_id))).all()
    assert len(audit) == before + 5  # every page's full read written and committed
    assert sorted(ids) == sorted((e[0], i) for e in audit for i in set(e[1]))


async def test_a_data_subjects_report_is_two_round_trips(api: Api, fresh: World, db: DbEnv) -> None:
    """personalDataReport (PIPL's access right) writes its own audit entry (person.report, with the counts it
    listed): BEGIN with the first statement, then the compiled report writing that entry itself, with COMMIT
    (gongzhi.http.read_audit) — three before 2026-12-07 (the report, then the entry's statement with COMMIT), four
    on an older base; through pgbouncer four (five before). Every report's entry is written and committed, with
    its counts."""
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    a = fresh.a
    person = encode_global_id("Person", a.persons["h1b"])
    for _ in range(25):  # every pooled connection has the statements prepared
        await api.gql(a, "admin", REPORT, {"p": person})
    with round_trips(db.engine) as trips, count_statements() as statements:
        answers = [(await api.gql(a, "admin", REPORT, {"p": person}))["data"]["personalDataReport"]
                   for _ in range(5)]
    assert trips == [4 if db.through_pgbouncer else 2] * 5, trips
    assert len(statements) == 2 * 5 and CARRIER not in statements  # the first, the report with its entry
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            details = (await s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "person.report",
                                                                       AuditEntry.user_id == a.users["admin"])
                                       .order_by(AuditEntry.id))).all()
    assert len(details) == 30
    assert details[-5:] == [{"records": len(r["records"]), "fullReads": len(r["fullReads"])} for r in answers]
    assert all(r["records"] for r in answers)


async def test_hostile_values_are_written_exactly(engine: AsyncEngine, db: DbEnv, fresh: World) -> None:
    """The first time on a connection the ordinary path (statement, COMMIT; the carrier prepared after), then in
    one round trip: either way each value is the text sent, never SQL."""
    tenant_id = fresh.a.tenant_id
    # two ids each time: the same statement text
    written = await _write_hostile(engine, tenant_id, lambda _n, value: [value[:64] or "x", str(uuid.uuid4())])
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            for entry, ids in written:
                row = (await s.execute(select(AuditEntry).where(AuditEntry.id == entry.id))).scalar_one()
                assert (row.roles, row.area_path, row.request_id, row.client_addr, row.user_id) == (
                    entry.roles, entry.area_path, entry.request_id, None, entry.user_id)
                assert row.detail == entry.detail and row.object_ids == ids
                assert row.created_at == entry.created_at  # the aware time's text read back to the microsecond
                assert sorted((await s.scalars(select(AuditPiiRead.object_id).where(
                    AuditPiiRead.id == entry.id))).all()) == sorted(ids)
        # nothing else: no statement of a value ran
        assert (await s.scalar(text("SELECT count(*) FROM audit_log"))) >= len(HOSTILE)


async def test_the_ids_as_one_array_are_written_exactly_in_one_round_trip_whatever_their_count(
        engine: AsyncEngine, db: DbEnv, fresh: World) -> None:
    """The full read's ids as one text[] parameter (``audit_and_notify(arrays=True)``, as the app sends them where the
    database is no Citus coordinator), its Bind binary (``bind_write``: the array's elements as their UTF-8 bytes):
    hostile strings land in audit_pii_reads exactly as sent, and a different count of ids each time is still the
    same statement text — prepared once, then one round trip with COMMIT every time (with a row of VALUES per id,
    each count is a statement of its own: prepared on its first use, the ordinary path's round trips)."""
    if citus.ENABLED:  # its INSERT … SELECT FROM unnest is a COPY into the shards, refused under row-level security
        pytest.skip("the audit statement's plain-PostgreSQL form (arrays=True): the app does not send it on Citus")
    tenant_id = fresh.a.tenant_id
    written = await _write_hostile(
        engine, tenant_id, lambda n, value: [value[:64] or "x", *(str(uuid.uuid4()) for _ in range(n)), "网格 🙂"],
        arrays=True)
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            for entry, ids in written:
                assert (await s.scalar(select(AuditEntry.object_ids).where(AuditEntry.id == entry.id))) == ids
                assert sorted((await s.scalars(select(AuditPiiRead.object_id).where(
                    AuditPiiRead.id == entry.id))).all()) == sorted(set(ids))


async def test_a_failing_audit_statement_writes_nothing_and_leaves_the_connection_usable(
        engine: AsyncEngine, db: DbEnv, fresh: World) -> None:
    tenant_id = fresh.a.tenant_id
    ids = ["p1", "p2"]
    for value in ("warm", "up"):  # the statement and the carrier prepared
        await _audit(engine, tenant_id, _entry(tenant_id, value, ids))
    bad = _entry(tenant_id, "too long", ids, request_id="r" * 65)  # request_id is varchar(64): the server refuses it
    with round_trips(engine) as trips, pytest.raises(asyncpg.StringDataRightTruncationError):
        await _audit(engine, tenant_id, bad)
    assert trips == [3], trips  # BEGIN with the setting; the audit statement (COMMIT skipped); ROLLBACK
    good = _entry(tenant_id, "after", ids)
    with round_trips(engine) as trips:
        await _audit(engine, tenant_id, good)
    assert trips == [2], trips  # the same connection, idle, in one round trip again
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            found = set((await s.scalars(select(AuditEntry.id).where(AuditEntry.id.in_([bad.id, good.id])))).all())
            pii = set((await s.scalars(select(AuditPiiRead.id).where(AuditPiiRead.id == bad.id))).all())
    assert found == {good.id} and not pii


def test_only_the_audit_statements_value_types_go_as_text() -> None:
    at = datetime(2026, 12, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert text_value(None) is None and text_value("a'网") == "a'网".encode()
    assert text_value(uuid.UUID(int=1)) == b"00000000-0000-0000-0000-000000000001"
    assert text_value(DriverUUID("01a24a18-529b-74a1-9834-20106777bdd5")) == b"01a24a18-529b-74a1-9834-20106777bdd5"
    assert text_value(at) == b"2026-12-06T07:08:09.123456+00:00" and text_value([]) == b"{}"
    for other in (1, 1.5, True, b"x", ["a"], datetime(2026, 1, 1), json):  # the ordinary path sends these
        with pytest.raises(NotText):
            text_value(other)
