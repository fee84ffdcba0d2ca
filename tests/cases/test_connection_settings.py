"""A request's transaction-local settings end with its transaction, on connections asyncpg has just opened.

The request's first statement turns JIT off for its transaction only (``set_config('jit', 'off', true)``,
migration 0025). asyncpg, the first time a connection meets a type it has no built-in codec for (``uuid[]``,
``timestamptz[]``, ``json[]``, an enum, …), looks it up with a query of its own and, around that query,
reads ``current_setting('jit')``, sets it off *for the session* (``set_config('jit', 'off', false)``) and
sets back what it read only when that was not 'off'. Inside a request what it reads is the transaction's
'off', so the session-wide off stays, the request's commit keeps it, and every later transaction on that
pooled connection runs with JIT off (the fixed-text audit statement of 028135c, one array per column,
did this; issue #21). A warm pool hides it: each type is looked up once per connection, so the pool is
emptied first and every connection the walk uses is new.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.cases import accept, call, dispatch_firm, ok, report, resolve, start
from tests.support.harness import Api, DbEnv, World


async def _jit_as_the_server_sets_it(engine: Any) -> list[tuple[Any, ...]]:
    """(setting, its value, its reset value) of every idle pooled connection whose jit or plan_cache_mode is not
    its reset value (the report and the steps set plan_cache_mode for their transaction only: h-step)."""
    idle = engine.sync_engine.pool.checkedin()
    conns = [await engine.connect() for _ in range(idle)]  # held together: each a different connection
    try:
        rows = [tuple(r) for c in conns for r in (await c.execute(sa.text(
            "SELECT name, current_setting(name), reset_val FROM pg_settings "
            "WHERE name IN ('jit', 'plan_cache_mode')"))).all()]
    finally:
        for c in conns:
            await c.close()
    return [r for r in rows if r[1] != r[2]]


async def test_the_case_loop_leaves_its_connections_with_the_servers_jit(api: Api, fresh: World, db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("JIT and asyncpg's type lookups are PostgreSQL's")
    tw = fresh.a
    engine = api.client._transport.app.state.gongzhi.engine  # type: ignore[attr-defined]
    await engine.dispose()  # new connections: asyncpg has looked up no type on them yet
    steps: list[tuple[str, Any]] = []
    case = await report(api, tw, "resident", "B1")
    steps.append(("reportCase", await _jit_as_the_server_sets_it(engine)))
    case = await accept(api, tw, case)
    steps.append(("acceptCase", await _jit_as_the_server_sets_it(engine)))
    case = await dispatch_firm(api, tw, case)
    steps.append(("dispatchCase", await _jit_as_the_server_sets_it(engine)))
    case = await resolve(api, tw, await start(api, tw, case))
    steps.append(("startCase, resolveCase", await _jit_as_the_server_sets_it(engine)))
    ok(await call(api, tw, "resident", "giveCaseFeedback", id=case["id"], satisfied=True, comment="修好了"))
    steps.append(("giveCaseFeedback", await _jit_as_the_server_sets_it(engine)))
    assert engine.sync_engine.pool.checkedin() > 0, "the walk's connections went back to the pool"
    assert [(name, bad) for name, bad in steps if bad] == [], steps
