"""A compiled read's fixed cost in Python (issue #21): with a connection waiting in the pool, the request's
DriverTransaction takes it and gives it back in the request's own task (no greenlet), and the compiled
statement runs in that task too (no task and shield of ``Db.locked``: nothing runs beside it). Where the
pool must connect or close a connection, the greenlet is still used, and the answers are the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import tenants.session
from tenants.session import DriverTransaction
from tests.support.cases import report
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import one_connection

NODE = "query N($id: ID!) { node(id: $id) { id ... on Case { number title state } } }"


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    calls = [0]
    real = getattr(owner, name)

    def counted(*a: Any, **kw: Any) -> Any:
        calls[0] += 1
        return real(*a, **kw)

    monkeypatch.setattr(owner, name, counted)
    return calls


async def test_a_compiled_node_lookup_spawns_no_greenlet_task_or_shield(api: Api, fresh: World, db: DbEnv,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    tw = fresh.a
    case = await report(api, tw, "resident", "B1", title="楼道灯不亮")
    for _ in range(5):  # the pool holds connections that have served the lookup
        await api.gql(tw, "grid1", NODE, {"id": case["id"]})
    greenlets = _count(monkeypatch, tenants.session, "greenlet_spawn")
    shields = _count(monkeypatch, asyncio, "shield")
    for _ in range(5):
        r = await api.gql(tw, "grid1", NODE, {"id": case["id"]})
        assert r["data"]["node"]["title"] == "楼道灯不亮"
    assert greenlets == [0] and shields == [0]


@pytest.fixture
async def engine(db: DbEnv) -> AsyncIterator[AsyncEngine]:
    async with one_connection(db, "the DriverTransaction is PostgreSQL's", max_overflow=1) as e:
        yield e


async def test_the_pool_connects_and_closes_through_the_greenlet(engine: AsyncEngine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty pool connects and a full one closes what comes back through the greenlet; a connection waiting
    in the pool is taken, and one with room for it given back, in place. Every transaction answered."""
    greenlets = _count(monkeypatch, tenants.session, "greenlet_spawn")
    async with DriverTransaction(engine) as a:  # the pool is empty: it connects
        async with DriverTransaction(engine) as b:  # the overflow connection: it connects
            assert (await a.fetch_first("SELECT 1"))[0] == 1
            assert (await b.fetch_first("SELECT 2"))[0] == 2
            kept = b.connection.get_server_pid()
        assert greenlets == [2]  # b back in place: the pool had room for it
    assert greenlets == [3]  # a closed (the pool full): I/O, through the greenlet
    for n in range(3):  # the one pooled connection, taken and given back in place
        async with DriverTransaction(engine) as tx:
            assert tx.connection.get_server_pid() == kept
            assert (await tx.fetch_first("SELECT $1::int", n))[0] == n
            await tx.commit()
    assert greenlets == [3]
