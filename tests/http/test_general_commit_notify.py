"""The general path's mutations send their events' NOTIFY with their COMMIT, after it, as the fast writes do
(issue #21; gongzhi.http.state ``AppState.commit``, tenants.begin ``commit_then``): a notifying transaction holds
PostgreSQL's lock of notifying commits across its WAL flush, so notifying commits were never grouped. No statement
of the mutation's transaction notifies; a listener on another connection hears each event once, after the rows are
committed; through pgbouncer (no statement cache) the NOTIFY stays in
the transaction, as before."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import text

from gongzhi.bus import CHANNEL
from tests.cases.test_report_fast import case_of, sent_in_transactions
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.world import TenantWorld, build_tenant

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # a Monday, 10:30 in Shanghai: working time
REPORT = ("mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state } "
          "errors { code message field } } }")
ACCEPT = ("mutation A($input: CaseTransitionInput!) { acceptCase(input: $input) { case { id state } "
          "errors { code message field } } }")


@pytest.fixture(scope="module")
async def tenant(db: DbEnv, api: Api) -> AsyncIterator[TenantWorld]:
    if not db.is_pg:
        pytest.skip("NOTIFY is PostgreSQL's")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.clock = lambda: NOW
    try:
        yield await build_tenant(db.sessionmaker, new_slug("gn"))
    finally:
        state.clock = lambda: datetime.now(UTC)


async def _heard(heard: list[str], case_id: uuid.UUID, n: int) -> list[dict[str, Any]]:
    for _ in range(100):
        if sum(str(case_id) in p for p in heard) >= n:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # time for one more, were there one
    return [e for p in heard if str(case_id) in p and "action" in (e := orjson.loads(p))]  # the case events


async def test_the_general_paths_events_go_out_with_the_commit_not_in_it(api: Api, db: DbEnv,
                                                                         tenant: TenantWorld) -> None:
    tw = tenant
    heard: list[str] = []
    listener = await asyncpg.connect("postgresql://" + db.app_url.split("://", 1)[1])
    try:
        await listener.add_listener(CHANNEL, lambda *a: heard.append(a[3]))
        for i in range(3):  # the first on a pooled connection prepares the NOTIFY there; the others as at load
            with sent_in_transactions() as sent:
                body = await post_by(api, tw, "resident", REPORT, {"input": {
                    "areaId": area_gid(tw, "B1"), "category": "garbage", "title": f"通知在提交之后 {i}",
                    "idempotencyKey": uuid.uuid4().hex}}, fast=False)
                case_id = case_of(body)
                assert case_id is not None, body
                gid = orjson.loads(body)["data"]["reportCase"]["case"]["id"]
                accepted = await post_by(api, tw, "grid1", ACCEPT, {"input": {"id": gid}}, fast=False)
            assert orjson.loads(accepted)["data"]["acceptCase"]["errors"] == [], accepted
            payloads = [a for sql, args in sent if "pg_notify" in sql for a in args if isinstance(a, list)]
            assert len(payloads) == 2  # the two mutations' audit statements: their events' payloads, none here
            assert payloads == [[], []] or db.through_pgbouncer, payloads
            events = await _heard(heard, case_id, 2)
            assert [(e["action"], e["state"], e["seq"]) for e in events] == [
                ("report", "reported", 1), ("accept", "accepted", 2)], heard
    finally:
        await listener.close()


class _Ctx:
    """What ``AppState.commit`` reads of a request's context: no audit entry (the ORM's flush path), one event."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.events, self.now = [event], NOW

    @property
    def db(self) -> Any:
        return self

    async def drain(self) -> None:
        pass

    def audit_entries(self) -> list[Any]:
        return []


async def test_a_general_path_commit_that_fails_notifies_nothing(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """ORM work on the request's DriverTransaction whose COMMIT fails (a deferred unique constraint, checked at
    COMMIT): the error is raised, its event never goes out, the session and the transaction close without another
    error and the next request's commit notifies as before."""
    if db.through_pgbouncer:
        pytest.skip("through pgbouncer the NOTIFY stays in the transaction (test_commit_then)")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    heard: list[str] = []
    listener = await asyncpg.connect("postgresql://" + db.app_url.split("://", 1)[1])
    try:
        await listener.add_listener(CHANNEL, lambda *a: heard.append(a[3]))
        for mark, fails in (("warm", False), ("never", True), ("after", False)):
            with contextlib.suppress(asyncpg.UniqueViolationError):
                async with state.request_session(on_driver=True) as session:
                    tx = session.info["driver_transaction"]
                    await tx.fetch_first("SELECT 1")  # the transaction begun on the driver, as open_context does
                    await session.execute(text("CREATE TEMP TABLE IF NOT EXISTS once "
                                               "(a int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"))
                    await session.execute(text("INSERT INTO once VALUES (1)" + (", (1)" if fails else "")))
                    await state.commit(session, _Ctx({"topic": "test", "mark": mark}))
                    assert not fails, "the COMMIT should have failed"
        for _ in range(50):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        marks = [e["mark"] for e in map(orjson.loads, heard) if e.get("topic") == "test"]
        assert marks == ["warm", "after"], heard
    finally:
        await listener.close()
