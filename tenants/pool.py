"""Pooled connections checked out and returned by the driver paths (tenants.session.DriverTransaction)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.pool import QueuePool


def _drop(engine: Engine, fairy: Any, error: BaseException | None, dead: bool) -> None:
    """Invalidate a connection the driver paths will not reuse; when it is ``dead``, mark every
    connection the pool made before it for replacement too (SQLAlchemy's ``Pool._invalidate``, what its
    own disconnect handling calls), so a retry gets a fresh connection, not the next dead one."""
    if dead:
        engine.pool._invalidate(fairy, error, _checkin=False)
    if fairy.is_valid:
        fairy.invalidate(error)


def _checkout_in_place(engine: Engine) -> Any:
    """A pooled connection checked out in the caller's task, without a greenlet (issue #21: the hop cost
    ≈ 0.6 % of a node lookup each way), when taking it is plain Python: no ping asked for, the pool's overflow
    not used up (else its queue waits), and the connection the queue hands out next open, neither recycled
    nor invalidated (else the pool connects). None: ask through a greenlet, as before. Deciding before the
    checkout matters: SQLAlchemy refuses I/O outside a greenlet (``MissingGreenlet``), but only after
    making the driver's coroutine, which then is never awaited — kept below as a last guard only."""
    pool = engine.pool
    if not isinstance(pool, QueuePool) or pool._pre_ping or pool._recycle > -1:
        return None
    if pool._max_overflow > -1 and pool._overflow >= pool._max_overflow:
        return None
    queue = getattr(pool._pool, "_queue", None)  # AsyncAdaptedQueue's asyncio.Queue, made on first use
    waiting = getattr(queue, "_queue", None)
    if not waiting:
        return None
    rec = waiting[-1] if isinstance(queue, asyncio.LifoQueue) else waiting[0]
    connection = rec.dbapi_connection
    if (connection is None or connection._connection.is_closed() or pool._invalidate_time > rec.starttime
            or rec._soft_invalidate_time > rec.starttime):
        return None
    try:
        return engine.raw_connection()
    except MissingGreenlet:
        return None


def _returns_in_place(fairy: Any) -> bool:
    """Whether returning ``fairy`` to its pool is plain Python: no transaction for the pool's reset to roll
    back (``__aexit__`` ended it), and room in the queue (a full one closes the connection: I/O)."""
    pool = fairy._pool
    return (isinstance(pool, QueuePool) and fairy.dbapi_connection is not None
            and fairy.dbapi_connection._transaction is None and not pool._pool.full())
