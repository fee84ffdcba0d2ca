"""A database restart, as the app's pool sees it: every backend of the database terminated (issue #26).

What is guaranteed, and asserted here:
- backends terminated while the app is idle: no request fails — a connection the server closed is
  replaced as it leaves the pool, and one whose end was not seen yet fails at BEGIN or in the
  transaction's first statement, which run once more on a fresh connection;
- terminated under load: only requests that were using a killed connection can fail — at most one per
  connection killed — each answered 503 SERVICE_UNAVAILABLE with Retry-After; every request that
  starts after the termination succeeds; nothing acknowledged is lost, and a failed report retried
  with its idempotency key makes exactly one case;
- neither needs a restart or a call to /readyz; /readyz itself never fails on a dead pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event

from tenants.session import alive_on_checkout
from tests.support.faults import (
    KINDS,
    FaultDb,
    RunningApp,
    answered,
    app_on,
    report,
    reported,
    request,
    unavailable,
    warm,
)


def _kinds(n: int, first: str) -> Iterator[str]:
    if first not in KINDS:  # a kind of its own first (tests.support.faults.request), then the usual cycle
        yield first
        n, first = n - 1, KINDS[0]
    start = KINDS.index(first)
    for i in range(n):
        yield KINDS[(start + i) % len(KINDS)]


async def _restart_while_idle_then_serve(app: RunningApp, fdb: FaultDb, first: str = "report") -> None:
    """Warm the pool, terminate every backend, wait, then serve 21 requests one by one starting with a
    ``first``; again with 21 at once."""
    tw = fdb.tw
    case_gid = reported(await report(app.api, tw, f"seed-{uuid.uuid4().hex}"))
    await warm(app, tw, case_gid)
    pooled = await fdb.app_backends()
    assert pooled >= 2, pooled
    before = await fdb.cases()
    reports = 0
    for round_ in range(2):
        assert await fdb.terminate_backends() >= (pooled if round_ == 0 else 1)
        await asyncio.sleep(0.5)  # idle: the pool holds only dead connections now
        kinds = list(_kinds(21, first))
        if round_ == 0:  # one after the other
            responses = [await request(app.api, tw, k, case_gid=case_gid, key=uuid.uuid4().hex) for k in kinds]
        else:  # all at once: more than the pool held
            responses = list(await asyncio.gather(*(request(app.api, tw, k, case_gid=case_gid, key=uuid.uuid4().hex)
                                                    for k in kinds)))
        for r in responses:
            answered(r)
        reports += kinds.count("report")
    assert await fdb.cases() == before + reports


async def test_backends_terminated_while_idle_fail_no_request(fdb: FaultDb) -> None:
    async with app_on(fdb) as app:
        await _restart_while_idle_then_serve(app, fdb)


@pytest.mark.parametrize(("first", "failed"), [("query", "BEGIN or the transaction's first statement"),
                                                ("report", "BEGIN"), ("node", "BEGIN")])
async def test_without_the_checkout_check_the_first_statement_is_retried(
        fdb: FaultDb, caplog: pytest.LogCaptureFixture, first: str, failed: str) -> None:
    """The second line of defence alone: every pooled connection is dead and handed out as it is (as
    when the event loop has not yet read the server's goodbye); BEGIN or the first statement fails,
    the pool is marked stale and the statement runs again on a fresh connection — on a session's
    connection (a general-path query first) and on a DriverTransaction (a mutation first, issue #21, or
    a compiled read)."""
    async with app_on(fdb) as app:
        event.remove(app.engine.sync_engine.pool, "checkout", alive_on_checkout)
        with caplog.at_level(logging.WARNING, logger="gongzhi.db"):
            await _restart_while_idle_then_serve(app, fdb, first)
    retried = [r.getMessage() for r in caplog.records if "sent again on a fresh connection" in r.getMessage()]
    assert len(retried) >= 2, "each restart should have cost one retry at least"
    assert f"failed {failed} (" in retried[0], retried


async def test_backends_terminated_under_load(fdb: FaultDb) -> None:
    tw = fdb.tw
    async with app_on(fdb) as app:
        case_gid = reported(await report(app.api, tw, f"seed-{uuid.uuid4().hex}"))
        await warm(app, tw, case_gid)
        before = await fdb.cases()
        stop = asyncio.Event()
        done: list[tuple[float, str, str, httpx.Response]] = []  # (started, kind, key, response)
        last_kill: float | None = None  # set once the last of the three kills has returned
        served = asyncio.Event()  # 16 requests begun after the last kill have been answered

        async def client(n: int) -> None:
            i = 0
            while not stop.is_set():
                kind, key = KINDS[(n + i) % len(KINDS)], f"busy-{n}-{i}-{uuid.uuid4().hex[:6]}"
                started = time.monotonic()
                done.append((started, kind, key, await request(app.api, tw, kind, case_gid=case_gid, key=key)))
                if last_kill is not None and sum(d[0] > last_kill for d in done) >= 16:
                    served.set()
                i += 1

        clients = [asyncio.create_task(client(n)) for n in range(8)]
        killed = 0
        try:
            await asyncio.sleep(0.5)
            for round_ in range(3):
                killed += await fdb.terminate_backends()
                if round_ < 2:
                    await asyncio.sleep(0.8)
            last_kill = time.monotonic()  # every killed backend has exited
            # Serve on until 16 requests begun after the last kill have been answered — a count, not a
            # fixed window: on a busy machine (CI's pgbouncer run beside another test process) the
            # reconnections after a kill once took longer than the 0.8 s window this used to be, and
            # only 4 requests fitted in it. Bounded: a pool that never recovers fails the assertion.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(served.wait(), 20)
        finally:
            stop.set()
            await asyncio.gather(*clients)
        failed = [d for d in done if d[3].status_code != 200]
        for _, _, _, r in failed:
            unavailable(r)
        for _, _, _, r in (d for d in done if d[3].status_code == 200):
            answered(r)
        assert killed >= 3
        assert len(failed) <= killed, (len(failed), killed)
        assert last_kill is not None
        after = [d for d in done if d[0] > last_kill]
        assert len(after) >= 16 and all(r.status_code == 200 for _, _, _, r in after), \
            [r.status_code for _, _, _, r in after]
        # Nothing lost: every acknowledged report is a case; a failed one retried with its key makes one.
        keys = {key for _, kind, key, _ in done if kind == "report"}
        for _, kind, key, _ in failed:
            if kind == "report":
                reported(await report(app.api, tw, key))
        assert await fdb.cases() == before + len(keys)
        assert len(done) > 8 * 3


async def test_readyz_never_fails_on_a_dead_pooled_connection(fdb: FaultDb) -> None:
    async with app_on(fdb) as app:
        event.remove(app.engine.sync_engine.pool, "checkout", alive_on_checkout)  # it draws a dead one
        case_gid = reported(await report(app.api, fdb.tw, f"seed-{uuid.uuid4().hex}"))
        await warm(app, fdb.tw, case_gid)
        assert await fdb.terminate_backends() >= 2
        await asyncio.sleep(0.3)
        r = await app.api.client.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text
