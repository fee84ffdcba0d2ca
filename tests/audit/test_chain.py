"""The audit log's hash chain (issue #24): the sealing job chains each tenant's rows, oldest first;
``verify`` recomputes them and names an altered row, a removed one (a gap, or rows gone from the
end); the app role can seal a row once and never change or delete one; requests never wait for
sealing, and rows committed while it runs are chained by the next run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gongzhi.jobs import run_everywhere
from gongzhi.modules import jobs
from gongzhi.modules.audit import SEAL_AUDIT_LOG
from models import GENESIS_HASH, AuditEntry
from resolvers import audit as chain
from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.audit import add_entries, owner_rows, rid, seal_as_app, tamper, verify

# The module's own `db`, `world`, `api`: the sealing job goes through every tenant
# (tests/support/databases.py; CI time, issue #21).
from tests.support.databases import module_api, module_db, module_world  # noqa: F401
from tests.support.harness import Api, DbEnv, World

REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"""


def test_every_column_is_hashed() -> None:
    """A column added to audit_log must be added to the canonical form (and FORMAT raised) too."""
    columns = set(AuditEntry.__table__.c.keys())
    assert set(chain.CONTENT_COLUMNS) | {"seq", "prev_hash", "hash"} == columns


def test_the_canonical_form_does_not_drift() -> None:
    """The hash of a fixed row: changing the serialisation would break every chain already sealed."""
    row = {"tenant_id": uuid.UUID(int=1), "id": uuid.UUID(int=2), "created_at": datetime(2026, 1, 2, 3, 4, 5, 6,
           tzinfo=UTC), "user_id": None, "roles": "street_admin", "action": "updatePerson", "object_type": "persons",
           "object_ids": ["a"], "detail": {"outcome": "ok", "名": "张三", "x": 1.5, "b": [1, None]},
           "request_id": "r", "client_addr": "10.0.0.1", "area_path": "/s/c/"}
    doc = chain.document(row, 7, GENESIS_HASH)
    assert chain.canonical(doc).startswith(b'{"action":"updatePerson","area_path":"/s/c/","client_addr":"10.0.0.1",'
                                           b'"created_at":"2026-01-02T03:04:05.000006+00:00","detail":{"b":[1,null],')
    assert "张三".encode() in chain.canonical(doc)
    assert chain.hash_of(doc) == "1fedf42d975034a5df3644ada668e190315a4c063929c101082a447583716ab2"


async def test_sealed_rows_verify_and_new_rows_wait_for_the_next_run(api: Api, db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    b1 = encode_global_id("Building", a.areas["B1"])
    r = await api.gql(a, "resident", REPORT, {"i": {"areaId": b1, "category": "drainage", "title": "井盖松动"}})
    assert r["data"]["reportCase"]["errors"] == []
    await add_entries(db, a, [3, 2, 1])
    first = await verify(db, a)
    assert first.ok and first.sealed == 0 and first.unsealed >= 4

    sealed = await seal_as_app(db, a)
    assert sealed == first.unsealed
    report = await verify(db, a)
    assert report.ok and (report.sealed, report.unsealed, report.start, report.last) == (sealed, 0, 0, sealed)
    rows = await owner_rows(db, a)
    assert [x["seq"] for x in rows] == list(range(1, sealed + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))
    assert [x["created_at"] for x in rows] == sorted(x["created_at"] for x in rows)  # oldest first
    assert report.last_hash == rows[-1]["hash"]

    await add_entries(db, a, [0])
    waiting = await verify(db, a)
    assert waiting.ok and waiting.unsealed == 1 and waiting.sealed == sealed
    assert await seal_as_app(db, a) == 1
    assert await seal_as_app(db, a) == 0  # nothing left: the head stays
    after = await verify(db, a)
    assert after.ok and after.last == sealed + 1 and after.unsealed == 0

    await add_entries(db, b, [1, 0])  # the other tenant's chain is its own, from 1
    assert await seal_as_app(db, b) >= 2
    other = await verify(db, b)
    assert other.ok and other.start == 0 and (await owner_rows(db, b))[0]["seq"] == 1


async def test_sealing_goes_in_batches_and_stops_at_its_limit(db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await add_entries(db, a, [i / 1000 for i in range(1100, 0, -1)])
    pending = (await verify(db, a)).unsealed
    assert pending >= 1100 > 2 * chain.BATCH
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        assert await chain.seal(await s.connection(), a.tenant_id, now=datetime.now(UTC), limit=700) == 700
        await s.commit()
    part = await verify(db, a)
    assert part.ok and (part.sealed, part.unsealed) == (700, pending - 700)
    assert await seal_as_app(db, a) == pending - 700
    rows = await owner_rows(db, a)
    assert [r["seq"] for r in rows] == list(range(1, pending + 1))
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)
    assert (await verify(db, a)).ok


async def test_an_altered_row_is_named(db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await add_entries(db, a, [5, 4, 3, 2, 1])
    await seal_as_app(db, a)
    rows = await owner_rows(db, a)
    victim = rows[2]
    detail = "CAST(:d AS json)" if db.is_pg else ":d"
    hit = await tamper(db, a, f"UPDATE audit_log SET detail = {detail} WHERE id = :i",
                       {"d": '{"outcome": "refused"}', "i": rid(db, victim["id"])})
    assert hit == 1
    report = await verify(db, a)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.seq, report.broken.row_id) == ("altered", victim["seq"], victim["id"])
    assert str(victim["id"]) in report.broken.message and str(victim["seq"]) in report.broken.message

    b = fresh.b  # a row "unsealed" again by clearing its hash: not a quiet way out of the chain either
    await add_entries(db, b, [2, 1])
    await seal_as_app(db, b)
    rows = await owner_rows(db, b)
    await tamper(db, b, "UPDATE audit_log SET hash = NULL WHERE id = :i", {"i": rid(db, rows[0]["id"])})
    report = await verify(db, b)
    assert report.broken is not None and (report.broken.kind, report.broken.row_id) == ("altered", rows[0]["id"])


async def test_an_altered_time_or_renumbered_row_is_named_too(db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    await add_entries(db, a, [3, 2, 1])
    await seal_as_app(db, a)
    rows = await owner_rows(db, a)
    moved = rows[0]["created_at"] - timedelta(days=1)
    await tamper(db, a, "UPDATE audit_log SET created_at = :c WHERE id = :i",
                 {"c": moved if db.is_pg else moved.strftime("%Y-%m-%d %H:%M:%S.%f"), "i": rid(db, rows[0]["id"])})
    report = await verify(db, a)
    assert report.broken is not None and (report.broken.kind, report.broken.row_id) == ("altered", rows[0]["id"])

    await add_entries(db, b, [3, 2, 1])  # a row removed and the rest renumbered to close the gap
    await seal_as_app(db, b)
    rows = await owner_rows(db, b)
    await tamper(db, b, "DELETE FROM audit_log WHERE id = :i", {"i": rid(db, rows[1]["id"])})
    await tamper(db, b, "UPDATE audit_log SET seq = :s WHERE id = :i",
                 {"s": rows[1]["seq"], "i": rid(db, rows[2]["id"])})
    report = await verify(db, b)
    assert report.broken is not None and (report.broken.seq, report.broken.row_id) == (rows[1]["seq"], rows[2]["id"])


async def test_a_removed_row_leaves_a_gap_and_rows_removed_at_the_end_are_seen(db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    await add_entries(db, a, [6, 5, 4, 3, 2, 1])
    await seal_as_app(db, a)
    rows = await owner_rows(db, a)
    assert await tamper(db, a, "DELETE FROM audit_log WHERE id = :i", {"i": rid(db, rows[2]["id"])}) == 1
    report = await verify(db, a)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.seq, report.broken.row_id) == ("removed", rows[2]["seq"], rows[3]["id"])
    assert f"{rows[2]['seq']}–{rows[2]['seq']}" in report.broken.message

    await add_entries(db, b, [2, 1, 0])
    await seal_as_app(db, b)
    rows = await owner_rows(db, b)
    await tamper(db, b, "DELETE FROM audit_log WHERE id = :i", {"i": rid(db, rows[-1]["id"])})
    report = await verify(db, b)
    assert report.broken is not None and (report.broken.kind, report.broken.seq) == ("truncated", rows[-1]["seq"])


async def test_the_app_role_seals_once_and_never_changes_or_deletes(db: DbEnv, fresh: World) -> None:
    a = fresh.a
    sealed_id, = await add_entries(db, a, [1])
    await seal_as_app(db, a)
    unsealed_id, = await add_entries(db, a, [0])

    async def refused(sql: str, params: dict[str, object]) -> str:
        async with db.sessionmaker() as s:
            bind_tenant(s, a.tenant_id)
            with pytest.raises(DBAPIError) as e:
                await s.execute(text(sql), params)
                await s.commit()
            return str(e.value.orig)

    # both backends: the trigger refuses a second sealing and a chain head moved back
    msg = await refused("UPDATE audit_log SET seq = 99, prev_hash = :h, hash = :h WHERE id = :i",
                        {"h": "0" * 64, "i": rid(db, sealed_id)})
    assert "sealed" in msg
    assert "forward" in await refused("UPDATE audit_chain_heads SET seq = 0", {})
    if db.is_pg:  # the app role's grants (SQLite has no roles: the app simply never does it)
        assert "permission denied" in await refused("UPDATE audit_log SET detail = CAST('{}' AS json) WHERE id = :i",
                                                    {"i": unsealed_id})
        for target in (sealed_id, unsealed_id):
            assert "permission denied" in await refused("DELETE FROM audit_log WHERE id = :i", {"i": target})
        assert "permission denied" in await refused("TRUNCATE audit_log", {})
        assert "permission denied" in await refused("DELETE FROM audit_checkpoints", {})
        assert "permission denied" in await refused("UPDATE audit_checkpoints SET seq = 0", {})
        assert "permission denied" in await refused(
            "INSERT INTO audit_checkpoints (tenant_id, id, created_at, seq, hash, first_seq, row_count, purged_before,"
            " archive_sha256, archive_name) VALUES (:t, :t, now(), 1, '', 1, 1, now(), '', '')", {"t": a.tenant_id})
        assert "permission denied" in await refused("DELETE FROM audit_chain_heads", {})
        # sealing may not change the content either, nor leave the seal columns empty
        assert "only sealing" in await refused(
            "UPDATE audit_log SET seq = 99, prev_hash = :h, hash = NULL WHERE id = :i",
            {"h": "0" * 64, "i": unsealed_id})
        async with db.sessionmaker() as s:  # a row inserted "sealed already"
            bind_tenant(s, a.tenant_id)
            s.add(AuditEntry(action="forged", object_type="x", seq=2, prev_hash="0" * 64, hash="1" * 64))
            with pytest.raises(DBAPIError) as e:
                await s.commit()
            assert "unsealed" in str(e.value.orig)
    report = await verify(db, a)
    assert report.ok and report.sealed == 1 and report.unsealed == 1


async def test_requests_write_while_sealing_runs(api: Api, db: DbEnv, fresh: World) -> None:
    """PostgreSQL: 40 requests, ten at a time, while the job seals the tenant in a loop; SQLite: in turns."""
    a = fresh.a
    b1 = encode_global_id("Building", a.areas["B1"])
    stop = asyncio.Event()
    runs: list[int] = []

    async def sealer() -> None:
        while not stop.is_set():
            runs.append(await seal_as_app(db, a))
            await asyncio.sleep(0.005)

    async def report(i: int) -> None:
        body = await api.gql(a, "resident", REPORT, {"i": {"areaId": b1, "category": "drainage", "title": f"第{i}处"}})
        assert body["data"]["reportCase"]["errors"] == []

    if db.is_pg:
        task = asyncio.create_task(sealer())
        for wave in range(4):
            await asyncio.gather(*(report(wave * 10 + i) for i in range(10)))
        stop.set()
        await task
    else:  # SQLite serves one writer at a time (concurrent writing requests fail there, sealing or not)
        for wave in range(4):
            for i in range(10):
                await report(wave * 10 + i)
            runs.append(await seal_as_app(db, a))
    runs.append(await seal_as_app(db, a))
    result = await verify(db, a)
    assert result.ok and result.unsealed == 0 and result.sealed == sum(runs)
    assert len([r for r in runs if r]) >= 2, runs  # sealing ran between the requests, not only at the end
    t = AuditEntry.__table__
    async with db.owner_engine.connect() as conn, conn.begin():
        if db.is_pg:
            await conn.execute(text(set_tenant_sql(a.tenant_id)))
        count = await conn.scalar(select(func.count()).select_from(t).where(
            t.c.tenant_id == a.tenant_id, t.c.action == "reportCase", t.c.seq.is_not(None)))
    assert count == 40


async def test_a_row_committed_late_gets_the_next_seq(db: DbEnv, fresh: World) -> None:
    """A request that began earlier commits after a later one was sealed: it is chained next, not lost."""
    if not db.is_pg:
        pytest.skip("SQLite has one writer: a transaction cannot stay open while another one commits")
    a = fresh.a
    now = datetime.now(UTC)
    async with db.sessionmaker() as late:
        bind_tenant(late, a.tenant_id)
        late.add(AuditEntry(action="late", object_type="x", created_at=now - timedelta(minutes=5)))
        await late.flush()
        await add_entries(db, a, [0], now=now)
        assert await seal_as_app(db, a) == 1  # the uncommitted row is not seen, and nobody waits
        await late.commit()
    assert await seal_as_app(db, a) == 1
    rows = await owner_rows(db, a)
    assert [r["seq"] for r in rows] == [1, 2] and rows[1]["created_at"] < rows[0]["created_at"]
    assert (await verify(db, a)).ok


async def test_the_sealing_job_runs_with_the_periodic_jobs(db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    assert SEAL_AUDIT_LOG in jobs()
    await add_entries(db, a, [2, 1])
    await add_entries(db, b, [1])
    changed = await run_everywhere(db.sessionmaker, SEAL_AUDIT_LOG)  # what each server runs, as the app role
    assert changed[a.slug] >= 2 and changed[b.slug] >= 1
    for tw in (a, b):
        report = await verify(db, tw)
        assert report.ok and report.unsealed == 0 and report.sealed == changed[tw.slug]
