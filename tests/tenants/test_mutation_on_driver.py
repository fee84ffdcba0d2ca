"""A general-path mutation on PostgreSQL runs on a DriverTransaction, its ORM work bound to the same
connection and transaction (issue #21, ``AppState.request_session``, ``tenants.session.bind_to_driver``):
one pooled connection per request, no tenant setting of its own (the first statement set it), a plain
SQL text inside a mutation's SAVEPOINT undone with it, a crash in the middle undoing only the crashed
mutation (its audit entry kept, the error masked with the request id), and no more statements than before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text

import resolvers.deliberation as deliberation
from models import AuditEntry
from tenants.session import DriverTransaction, bind_tenant, bind_to_driver, count_statements, fetch_first
from tests.support import citus
from tests.support.deliberation import area
from tests.support.fast_paths import general_path
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

MARK = "mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked errors { code field } } }"
REPORT = ("mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id categoryName } "
          "errors { code } } }")
FEED = "query($a: ID) { notices(areaId: $a) { nodes { title } } }"


def _pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the DriverTransaction is PostgreSQL's")


def _publish(titles: list[str]) -> str:
    parts = [f'n{i}: publishNotice(input: {{areaId: $a, title: "{t}", body: "通知内容"}}) {{ notice {{ id }} '
             "errors { code } }" for i, t in enumerate(titles)]
    return "mutation($a: ID!) { " + " ".join(parts) + " }"


@contextmanager
def _checkouts(db: DbEnv) -> Iterator[list[int]]:
    seen: list[int] = []

    def note(*_a: Any) -> None:
        seen.append(1)

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", note)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", note)


async def _titles(api: Api, tw: TenantWorld) -> set[str]:
    r = await api.gql(tw, "admin", FEED, {"a": area(tw, "P1")})
    return {n["title"] for n in r["data"]["notices"]["nodes"]}


async def test_one_connection_and_no_tenant_setting_of_its_own(api: Api, fresh: World, db: DbEnv) -> None:
    """A report through the ORM (categoryName keeps it off the portal fast path) and a notice (the fast
    paths off: this one would take gongzhi/http/fast_inserts.py): the ORM's statements on the request's one
    connection, after the first statement bound the tenant. Then the same notice on its fast path: one
    connection too, no tenant setting of its own, and no SAVEPOINT."""
    if citus.ENABLED:
        pytest.skip(citus.DRIVER_PATH)
    _pg(db)
    a = fresh.a
    from resolvers.ids import encode_global_id

    report = {"areaId": encode_global_id("Building", a.areas["B1"]), "category": "garbage", "title": "垃圾未清",
              "idempotencyKey": uuid.uuid4().hex}
    for user, doc, variables in (("resident", REPORT, {"i": report}),
                                 ("chair", _publish(["停电通知"]), {"a": area(a, "P1")})):
        with general_path(api), _checkouts(db) as taken, count_statements() as sql:
            r = await api.gql(a, user, doc, variables)
        payload = next(iter(r["data"].values()))
        assert payload["errors"] == [], r
        assert len(taken) == 1, (user, len(taken))
        assert not any("app.tenant_id" in s for s in sql), [s for s in sql if "app.tenant_id" in s]
        assert any(s.startswith("SAVEPOINT") for s in sql) and any(s.startswith("INSERT") for s in sql), sql
    assert "停电通知" in await _titles(api, a)
    with _checkouts(db) as taken, count_statements() as sql:
        r = await api.gql(a, "chair", _publish(["停气通知"]), {"a": area(a, "P1")})
    assert r["data"]["n0"]["errors"] == [], r
    assert len(taken) == 1, len(taken)
    assert not any("app.tenant_id" in s for s in sql), [s for s in sql if "app.tenant_id" in s]
    assert not any(s.startswith("SAVEPOINT") for s in sql) and any("INSERT" in s for s in sql), sql
    assert "停气通知" in await _titles(api, a)


async def test_the_fixed_statements_of_a_mutation(api: Api, fresh: World, db: DbEnv) -> None:
    """A mutation that needs no statement of its own sends the first statement and its audit entry only."""
    _pg(db)
    await api.gql(fresh.a, "admin", MARK, {"ids": []})  # the tenant's policy read once per process
    with count_statements() as sql:
        r = await api.gql(fresh.a, "admin", MARK, {"ids": []})
    assert r["data"]["markNotificationsRead"] == {"marked": 0, "errors": []}
    assert len(sql) == 2, sql
    assert sql[0].startswith("SELECT t.id") and sql[1].startswith("WITH audit AS (INSERT INTO audit_log"), sql


async def test_a_plain_text_inside_a_savepoint_is_undone_with_it(db: DbEnv) -> None:
    """``fetch_first`` inside a SAVEPOINT of a session bound to the DriverTransaction goes through the
    session's connection, which sends the SAVEPOINT first: rolling back to it undoes the text's effect (a
    transaction-local setting here; an INSERT alike)."""
    _pg(db)
    session = db.sessionmaker()
    async with DriverTransaction(db.engine) as tx:
        bind_to_driver(session, tx)
        try:
            await fetch_first(session, "SELECT set_config('lock_timeout', '1111ms', true)")
            nested = await session.begin_nested()
            await fetch_first(session, "SELECT set_config('lock_timeout', '2222ms', true)")
            await nested.rollback()
            value = (await fetch_first(session, "SELECT current_setting('lock_timeout')"))[0]
            # the ORM on the same transaction: it sees the same setting
            orm = (await session.execute(text("SELECT current_setting('lock_timeout')"))).scalar()
        finally:
            await session.close()
    assert (value, orm) == ("1111ms", "1111ms")


async def test_a_crash_in_the_middle_undoes_only_that_mutation(
        api: Api, fresh: World, db: DbEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second of two notices writes its row, then fails unexpectedly: its row is undone, the first
    stays (the request still commits), the error is masked with the request id (its non-null payload makes
    ``data`` null), and its audit entry says error (both backends)."""
    a = fresh.a
    publish = deliberation.publish_notice

    async def crashing(ctx: Any, **kw: Any) -> Any:
        row = await publish(ctx, **kw)
        if kw["title"] == "崩溃":
            raise RuntimeError("crashed after the write")
        return row

    monkeypatch.setattr(deliberation, "publish_notice", crashing)
    r = await api.gql(a, "chair", _publish(["第一条", "崩溃"]), {"a": area(a, "P1")}, allow_errors=True)
    monkeypatch.setattr(deliberation, "publish_notice", publish)
    assert r["data"] is None, r
    [error] = r["errors"]
    assert error["extensions"]["code"] == "INTERNAL" and error["extensions"]["requestId"] in error["message"]
    titles = await _titles(api, a)
    assert "第一条" in titles and "崩溃" not in titles
    async with bind_tenant(db.sessionmaker(), a.tenant_id) as session:
        details = (await session.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "publishNotice", AuditEntry.request_id == error["extensions"]["requestId"])
            .order_by(AuditEntry.id))).all()
    outcomes = [d["outcome"] for d in details]
    assert outcomes == ["ok", "error"], outcomes


async def test_a_savepoint_with_pending_rows_is_flushed_when_committed(db: DbEnv, fresh: World) -> None:
    """``Db.begin_nested``/``commit_nested`` run in place only when that sends nothing: a row added inside
    the SAVEPOINT is flushed by its commit (through the greenlet), and one added inside a rolled-back
    SAVEPOINT is gone."""
    from resolvers.context import Db

    tenant = fresh.a.tenant_id
    async with bind_tenant(db.sessionmaker(), tenant) as session:
        dbx = Db(session)
        kept, undone = uuid.uuid4(), uuid.uuid4()
        sp = await dbx.begin_nested()
        session.add(AuditEntry(id=kept, action="probe.kept", object_type="probe"))
        await dbx.commit_nested(sp)
        sp = await dbx.begin_nested()
        session.add(AuditEntry(id=undone, action="probe.undone", object_type="probe"))
        await dbx.locked(lambda: session.flush())
        await dbx.rollback_nested(sp)
        await session.commit()
    async with bind_tenant(db.sessionmaker(), tenant) as session:
        found = set((await session.scalars(select(AuditEntry.id).where(AuditEntry.id.in_([kept, undone])))).all())
    assert found == {kept}


def test_an_audit_entry_made_without_the_constructor_is_the_same_row() -> None:
    """``resolvers.context.audit_entry`` and the ORM constructor give the same row (``audit_rows``: what the
    PostgreSQL statement writes; the state dict: what the ORM's flush writes), defaults included."""
    from datetime import UTC, datetime

    from sqlalchemy import inspect

    from gongzhi.http.state import audit_rows
    from resolvers.context import audit_entry

    now = datetime(2026, 12, 5, tzinfo=UTC)
    tenant = uuid.uuid4()
    for values in ({"id": uuid.uuid4(), "user_id": uuid.uuid4(), "roles": "grid_worker", "action": "markRead",
                    "object_type": "", "object_ids": [], "detail": {"outcome": "ok", "errors": [], "changes": []},
                    "request_id": "r1", "client_addr": "127.0.0.1", "area_path": None, "created_at": now},
                   {"id": uuid.uuid4(), "action": "person.read_pii", "object_type": "person", "request_id": "r2"}):
        made, built = audit_entry(**values), AuditEntry(**values)
        assert audit_rows([made], tenant, now) == audit_rows([built], tenant, now)
        state = {k: v for k, v in inspect(made).dict.items() if k != "_sa_instance_state"}
        assert state == {k: v for k, v in inspect(built).dict.items() if k != "_sa_instance_state"} == values
        assert inspect(made).transient and inspect(built).transient
