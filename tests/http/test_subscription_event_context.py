"""A subscription's event is resolved in a context of its own (gongzhi.http.realtime ``Hub.request_context``).
When one of the event's fields fails, GraphQL cancels its siblings, whose statements run on to their end
(resolvers.context ``Db``): the context must wait for them before its session is rolled back and closed.
Closed first, a statement still running began a new transaction on a fresh connection that nothing returned
to the pool — the fuzz's generated caseEvents documents (a nested page with a garbage cursor beside other
fields) left five to the garbage collector on SQLite."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from gongzhi.http.realtime import Hub
from tests.support.harness import Api, World
from tests.support.pool_watch import checked_out


async def test_an_events_context_waits_for_its_cancelled_fields_statements(api: Api, world: World) -> None:
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    a = world.a
    hub = Hub(state, a.users["grid1"], a.slug, a.tenant_id, "test-event-context")
    pool = state.engine.sync_engine.pool
    with checked_out(pool) as out:  # the connections checked out since the test began and not checked in
        ran: list[int] = []
        async with hub.request_context() as ctx:
            started = asyncio.Event()

            async def statement() -> None:
                started.set()
                await asyncio.sleep(0.2)  # still under way when the event's resolution ends
                ran.append(await ctx.db.session.scalar(select(1)))

            sibling = asyncio.ensure_future(ctx.db.locked(statement))
            await started.wait()
            sibling.cancel()  # as GraphQL cancels the siblings of a field that failed
            with contextlib.suppress(asyncio.CancelledError):
                await sibling
        assert ran == [1], "the context closed before its cancelled field's statement ended"
        await asyncio.sleep(0.3)  # (were it still running, it would end now, on the closed session)
        assert not out, f"{len(out)} connection(s) left checked out"
