"""A request answered 503 because a field met the database down (gongzhi.http.graphql, issue #26): GraphQL
cancels the fields beside the failed one, whose statements run on to their end (resolvers.context ``Db``). The
request must wait for them before its session closes, as its commit does and as a subscription event's context
does (tests/http/test_subscription_event_context.py): closed first, a statement still running began a new
transaction on a connection nothing returned to the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from resolvers.context import Db
from tests.support.harness import Api, World
from tests.support.pool_watch import checked_out

# Two non-null lists on the general path (the directive keeps the compiler out): one fails, the other is cancelled.
BOTH = "{ notices(first: 1) @skip(if: false) { totalCount } topics(first: 1) { totalCount } }"


async def test_a_503_waits_for_the_cancelled_fields_statements(api: Api, world: World, monkeypatch: Any) -> None:
    pool = api.client._transport.app.state.gongzhi.engine.sync_engine.pool  # type: ignore[attr-defined]
    ran: list[Any] = []
    calls: list[int] = []
    real = Db.locked

    async def locked(self: Db, fn: Callable[[], Awaitable[Any]]) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the first field's statement: the pool had no connection in time (503)
            raise sa_exc.TimeoutError("QueuePool limit reached (test)")

        async def later() -> Any:
            await asyncio.sleep(0.2)  # still under way when the other field has failed
            got = await fn()
            ran.append(await self.session.scalar(select(1)))
            return got

        return await real(self, later)

    monkeypatch.setattr(Db, "locked", locked)
    with checked_out(pool) as out:  # connections checked out since the request began and not checked in
        r = await api.post(BOTH, token=api.token(world.a, "admin"))
        assert r.status_code == 503, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", r.text
        assert len(calls) >= 2, calls  # the other field's statement had begun
        assert ran == [1], "the request closed its session before a cancelled field's statement ended"
        await asyncio.sleep(0.4)  # (were one still running, it would end now, on the closed session)
        assert not out, f"{len(out)} connection(s) left checked out"
