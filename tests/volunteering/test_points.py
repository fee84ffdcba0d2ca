"""Points (积分): the append-only ledger, balances, manual awards, reversals, the catalogue and
redemption — permissions per role (allowed AND denied), bad input, cross-tenant ids.

Expected sets are counted by hand from tests/support/world.py: h1b (resident's own person) lives in H1, building
B1 of compound P1 in community C1, covered by grid G1.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import (
    APPROVE,
    AWARD,
    BALANCE,
    CREATE_ITEM,
    LEDGER,
    REJECT,
    REQUEST,
    REVERSE,
    USERS,
    area,
    codes,
    gid,
    ledger_facts,
    person,
    raw,
    run,
    stock_of,
)
from tests.support.world import TenantWorld

# points·award and points·approve_redemption reach h1b for: the street admin (all), C1's party secretary
# (scope C1) and G1's grid leader (G1 covers B1). Nobody else (the chair, the firm and residents hold no
# award; grid2/grid3/secretary2 are scoped elsewhere; expired has ended; nobody has no role).
AWARD_H1B = {"admin", "secretary", "grid1"}
# points·read of h1b: those three, and h1b herself (resident; "own" is the person, not the household:
# secretary2 is h1a of the same household and does not see it).
READ_H1B = {"admin", "secretary", "grid1", "resident"}


async def test_award_points_per_role(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    allowed = set()
    for key in USERS:
        p = await run(api, tw, key, AWARD, {"p": person(tw, "h1b"), "n": 5, "r": f"by {key}"})
        if p["errors"]:
            assert codes(p) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, p)
            assert p["entry"] is None
        else:
            assert p["entry"]["delta"] == 5 and p["entry"]["kind"] == "MANUAL"
            allowed.add(key)
    assert allowed == AWARD_H1B
    assert await ledger_facts(db, tw, "h1b") == (15, 15, 3)


async def test_points_read_per_role_and_lists_filtered(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 7, "r": "清扫楼道"})
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h4a"), "n": 3, "r": "巡逻"})
    readers = set()
    for key in USERS:
        bal = (await api.gql(tw, key, BALANCE, {"p": person(tw, "h1b")}))["data"]["pointsBalance"]
        ledger = (await api.gql(tw, key, LEDGER, {"p": person(tw, "h1b")}))["data"]["pointsLedger"]
        if bal is not None:
            assert bal == 7 and ledger["totalCount"] == 1
            readers.add(key)
        else:
            assert ledger["totalCount"] == 0 and ledger["nodes"] == []
    assert readers == READ_H1B
    # The whole ledger, unfiltered by person: each sees exactly the entries of persons they reach.
    seen = {k: (await api.gql(tw, k, LEDGER, {"p": None}))["data"]["pointsLedger"]["totalCount"] for k in USERS}
    assert seen == {"admin": 2, "secretary": 1, "grid1": 1, "grid2": 0, "grid3": 1, "chair": 0, "firm": 0,
                    "resident": 1, "resident4": 1, "secretary2": 1, "expired": 0, "nobody": 0}
    my = (await api.gql(tw, "resident", "{ myPoints }"))["data"]["myPoints"]
    assert my == 7


async def test_cross_tenant_ids_give_nothing(api: Api, world: World, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    entry = (await run(api, a, "admin", AWARD, {"p": person(a, "h1b"), "n": 4, "r": "x"}))["entry"]
    assert (await api.gql(b, "admin", BALANCE, {"p": person(a, "h1b")}))["data"]["pointsBalance"] is None
    node = await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": entry["id"]})
    assert node["data"]["node"] is None
    p = await run(api, b, "admin", AWARD, {"p": person(a, "h1b"), "n": 4, "r": "x"})
    assert codes(p) == ["NOT_FOUND"]
    p = await run(api, b, "admin", REVERSE, {"e": entry["id"], "r": "x"})
    assert codes(p) == ["NOT_FOUND"]
    led = (await api.gql(b, "admin", LEDGER, {"p": None}))["data"]["pointsLedger"]
    assert led["totalCount"] == 0


async def test_bad_input_changes_nothing(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    p = await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 0, "r": "  "})
    assert sorted((e["code"], e["field"]) for e in p["errors"]) == [("INVALID", "points"), ("INVALID", "reason")]
    p = await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": -5, "r": "x"})
    assert codes(p) == ["INVALID"]
    p = await run(api, tw, "admin", AWARD, {"p": gid("Household", tw.households["H1"]), "n": 5, "r": "x"})
    assert codes(p) == ["INVALID_ID"]
    assert await ledger_facts(db, tw, "h1b") == (0, 0, 0)


async def test_reversal_is_a_new_entry_once(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    e = (await run(api, tw, "grid1", AWARD, {"p": person(tw, "h1b"), "n": 20, "r": "义务劳动"}))["entry"]
    p = await run(api, tw, "grid2", REVERSE, {"e": e["id"], "r": "记错了"})
    assert codes(p) == ["NOT_FOUND"]  # grid2 does not reach h1b
    p = await run(api, tw, "resident", REVERSE, {"e": e["id"], "r": "记错了"})
    assert codes(p) == ["FORBIDDEN"]  # she reads her ledger but awards nothing
    p = await run(api, tw, "grid1", REVERSE, {"e": e["id"], "r": "记错了"})
    rev = p["entry"]
    assert rev["delta"] == -20 and rev["kind"] == "REVERSAL" and rev["balanceAfter"] == 0
    p = await run(api, tw, "grid1", REVERSE, {"e": e["id"], "r": "again"})
    assert codes(p) == ["CONFLICT"]
    p = await run(api, tw, "grid1", REVERSE, {"e": rev["id"], "r": "x"})
    assert codes(p) == ["INVALID_TRANSITION"]  # a reversal is not reversed
    assert await ledger_facts(db, tw, "h1b") == (0, 0, 2)


async def _item(api: Api, tw: TenantWorld, key: str = "admin", points: int = 30, stock: int = 5,
                name: str = "洗衣液") -> dict[str, Any]:
    p = await run(api, tw, key, CREATE_ITEM, {"c": area(tw, "C1", "Community"), "n": name, "p": points, "s": stock})
    assert p["errors"] == [], p
    return p["item"]  # type: ignore[no-any-return]


async def test_catalogue_manage_per_role(api: Api, fresh: World) -> None:
    tw = fresh.a
    ok = set()
    for i, key in enumerate(USERS):
        p = await run(api, tw, key, CREATE_ITEM, {"c": area(tw, "C1", "Community"), "n": f"米{i}", "p": 10, "s": 1})
        if not p["errors"]:
            ok.add(key)
        else:
            assert codes(p) == ["FORBIDDEN"], (key, p)
    assert ok == {"admin", "secretary"}  # manage_catalogue: party_secretary scope (C1), street_admin all
    p = await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, "C1", "Community"), "n": "米0", "p": 10, "s": 1})
    assert codes(p) == ["CONFLICT"]
    p = await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, "C1", "Community"), "n": "", "p": 0, "s": -1})
    assert sorted(e["field"] for e in p["errors"]) == ["name", "points", "stock"]
    # The catalogue is shown where the community is readable: residents of C1 see it, of C2 do not.
    q = "{ rewardItems { totalCount } }"
    seen = {k: (await api.gql(tw, k, q))["data"]["rewardItems"]["totalCount"] for k in ("resident", "resident4")}
    assert seen == {"resident": 2, "resident4": 0}


async def test_redemption_approval_per_role(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    item = await _item(api, tw, points=30, stock=5)
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 100, "r": "seed"})
    r = (await run(api, tw, "resident", REQUEST, {"i": item["id"]}))
    assert r["errors"] == [] and r["redemption"]["state"] == "REQUESTED" and r["redemption"]["points"] == 30
    rid = r["redemption"]["id"]
    for key in USERS:
        if key in AWARD_H1B:
            continue
        p = await run(api, tw, key, APPROVE, {"r": rid})
        assert codes(p) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, p)
    assert await ledger_facts(db, tw, "h1b") == (100, 100, 1)
    assert await stock_of(db, tw, raw(str(item["id"]))) == 5
    for key in sorted(AWARD_H1B):  # every approver may; the first one decides, the rest see the state
        p = await run(api, tw, key, APPROVE, {"r": rid})
        if key == "admin":
            assert p["errors"] == [] and p["redemption"]["state"] == "APPROVED"
        else:
            assert codes(p) == ["INVALID_TRANSITION"]
    assert await ledger_facts(db, tw, "h1b") == (70, 70, 2)
    assert await stock_of(db, tw, raw(str(item["id"]))) == 4


async def test_redemption_rules(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    item = await _item(api, tw, points=30, stock=1)
    p = await run(api, tw, "resident", REQUEST, {"i": item["id"]})
    assert codes(p) == ["CONFLICT"]  # no points yet
    p = await run(api, tw, "admin", REQUEST, {"i": item["id"]})
    assert codes(p) == ["FORBIDDEN"]  # the admin's account has no person on the register
    p = await run(api, tw, "resident4", REQUEST, {"i": item["id"]})
    assert codes(p) == ["NOT_FOUND"]  # C2's resident does not see C1's catalogue
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 40, "r": "seed"})
    rid = (await run(api, tw, "resident", REQUEST, {"i": item["id"]}))["redemption"]["id"]
    p = await run(api, tw, "grid1", REJECT, {"r": rid, "n": None})
    assert codes(p) == ["INVALID"]  # a rejection needs a note
    p = await run(api, tw, "grid1", REJECT, {"r": rid, "n": "信息不符"})
    assert p["redemption"]["state"] == "REJECTED"
    assert await ledger_facts(db, tw, "h1b") == (40, 40, 1)
    assert await stock_of(db, tw, raw(str(item["id"]))) == 1
    # Spending can never overdraw: a second request after the balance fell is refused at approval.
    r1 = (await run(api, tw, "resident", REQUEST, {"i": item["id"]}))["redemption"]["id"]
    e = (await api.gql(tw, "admin", LEDGER, {"p": person(tw, "h1b")}))["data"]["pointsLedger"]["nodes"][0]
    p = await run(api, tw, "admin", REVERSE, {"e": e["id"], "r": "撤销"})
    assert p["errors"] == []  # balance 0 now
    p = await run(api, tw, "admin", APPROVE, {"r": r1})
    assert codes(p) == ["CONFLICT"]
    assert await ledger_facts(db, tw, "h1b") == (0, 0, 2)
    assert await stock_of(db, tw, raw(str(item["id"]))) == 1  # the failed approval took nothing


@pytest.mark.parametrize("bad", ["", "not-an-id"])
async def test_bad_ids(api: Api, fresh: World, bad: str) -> None:
    p = await run(api, fresh.a, "admin", APPROVE, {"r": bad})
    assert codes(p) == ["INVALID_ID"]
