"""Ledger invariants under real concurrent requests through the ASGI app (asyncio.gather): the balance
equals the ledger's sum and never goes negative; stock is decremented exactly once per approval; of
concurrent redemptions of the last item exactly one wins. Written for PostgreSQL (row locks, READ
COMMITTED). SQLite has one writer and refuses (rather than queues) a read transaction that turns into a
write while another writes, so these run on PostgreSQL only."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import (
    APPROVE,
    AWARD,
    CREATE_ITEM,
    REQUEST,
    add_residents,
    area,
    codes,
    ledger_facts,
    person,
    raw,
    run,
    stock_of,
)

APPROVERS = ("admin", "secretary", "grid1")


@pytest.fixture(autouse=True)
def _postgres_only(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers by refusing them)")


async def test_concurrent_approvals_never_overdraw(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    item = (await run(api, tw, "admin", CREATE_ITEM,
                      {"c": area(tw, "C1", "Community"), "n": "毛巾", "p": 30, "s": 10}))["item"]
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 100, "r": "seed"})
    # Requests do not reserve points: five of 30 each are pending against a balance of 100.
    rids = [(await run(api, tw, "resident", REQUEST, {"i": item["id"]}))["redemption"]["id"] for _ in range(5)]
    results = await asyncio.gather(*(run(api, tw, APPROVERS[i % 3], APPROVE, {"r": r}) for i, r in enumerate(rids)))
    won = [p for p in results if not p["errors"]]
    lost = [p for p in results if p["errors"]]
    assert len(won) == 3 and all(codes(p) == ["CONFLICT"] for p in lost)
    assert await ledger_facts(db, tw, "h1b") == (10, 10, 4)
    assert await stock_of(db, tw, raw(item["id"])) == 7


async def test_concurrent_redemptions_of_the_last_item_one_wins(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    people = await add_residents(db, tw, 6)
    item = (await run(api, tw, "admin", CREATE_ITEM,
                      {"c": area(tw, "C1", "Community"), "n": "电饭煲", "p": 50, "s": 1}))["item"]
    rids = []
    for key in people:
        await run(api, tw, "admin", AWARD, {"p": person(tw, key), "n": 60, "r": "seed"})
        rids.append((await run(api, tw, key, REQUEST, {"i": item["id"]}))["redemption"]["id"])
    results = await asyncio.gather(*(run(api, tw, APPROVERS[i % 3], APPROVE, {"r": r}) for i, r in enumerate(rids)))
    assert sum(1 for p in results if not p["errors"]) == 1
    assert all(codes(p) == ["CONFLICT"] for p in results if p["errors"])
    assert await stock_of(db, tw, raw(item["id"])) == 0
    facts = [await ledger_facts(db, tw, k) for k in people]
    assert all(bal == total for bal, total, _ in facts)
    assert sorted(bal for bal, _, _ in facts) == [10] + [60] * 5


async def test_the_same_redemption_approved_at_once_is_booked_once(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    item = (await run(api, tw, "admin", CREATE_ITEM,
                      {"c": area(tw, "C1", "Community"), "n": "雨伞", "p": 20, "s": 3}))["item"]
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 100, "r": "seed"})
    rid = (await run(api, tw, "resident", REQUEST, {"i": item["id"]}))["redemption"]["id"]
    results = await asyncio.gather(*(run(api, tw, APPROVERS[i % 3], APPROVE, {"r": rid}) for i in range(6)))
    assert sum(1 for p in results if not p["errors"]) == 1
    assert all(codes(p)[0] in ("CONFLICT", "INVALID_TRANSITION") for p in results if p["errors"])
    assert await ledger_facts(db, tw, "h1b") == (80, 80, 2)
    assert await stock_of(db, tw, raw(item["id"])) == 2


async def test_concurrent_awards_sum_up(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    results = await asyncio.gather(*(
        run(api, tw, APPROVERS[n % 3], AWARD, {"p": person(tw, "h1b"), "n": n, "r": f"#{n}"}) for n in range(1, 21)))
    assert all(not p["errors"] for p in results)
    assert await ledger_facts(db, tw, "h1b") == (210, 210, 20)
    # Each entry's running balance is distinct: the bookings were serialised on the account row.
    after = sorted(p["entry"]["balanceAfter"] for p in results)
    assert len(set(after)) == 20 and after[-1] == 210


async def test_the_app_role_cannot_change_the_ledger(api: Api, db: DbEnv, fresh: World) -> None:
    """On PostgreSQL the app connects as a role granted only SELECT and INSERT on points_entries."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    from tenants.session import bind_tenant

    tw = fresh.a
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 5, "r": "seed"})
    for stmt in ("UPDATE points_entries SET delta = 500", "DELETE FROM points_entries"):
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            with pytest.raises(ProgrammingError, match="permission denied"):
                async with s.begin():
                    await s.execute(text(stmt))
    assert await ledger_facts(db, tw, "h1b") == (5, 5, 1)
