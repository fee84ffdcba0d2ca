"""The compiled points balances (compiled/points.py, issue #21) — ``pointsBalance(personId:)`` and ``myPoints``
— answer exactly what the resolvers answer (resolvers.volunteering.balance_of) for every world user and
every person of the world, tenant b's person and an unknown one: null where the actor may not read the
person's points, the balance (0 without an account) where it may; one statement after start-up."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from models import uuid7
from resolvers.ids import encode_global_id
from tests.support.compiled import around, both
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import AWARD, USERS, person, run

BALANCE = "query Balance($p: ID!) { pointsBalance(personId: $p) myPoints }"
MINE = "query MyPoints { myPoints }"
EQUIVALENCE_DOCUMENTS = (BALANCE, MINE)


@pytest.fixture
async def balances(api: Api, fresh: World, db: DbEnv) -> World:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    for who, key, n in (("admin", "h1b", 200), ("grid1", "h1b", 15), ("admin", "h4a", 100), ("admin", "h2a", 30)):
        p = await run(api, tw, who, AWARD, {"p": person(tw, key), "n": n, "r": f"{who} 奖励 {key}"})
        assert p["errors"] == [], p
    return fresh


async def test_balances_compile_to_the_resolvers_answer_for_every_user(api: Api, balances: World) -> None:
    tw, other = balances.a, balances.b
    ids = [*(person(tw, k) for k in sorted(tw.persons)), encode_global_id("Person", other.persons["h1b"]),
           encode_global_id("Person", uuid7())]
    seen: dict[str, set[Any]] = {}
    for user in USERS:
        compiled, resolved, taken = await both(api, tw, user, MINE, {})
        assert taken and compiled == resolved, (user, around(compiled, resolved))
        for p in ids:
            compiled, resolved, taken = await both(api, tw, user, BALANCE, {"p": p})
            assert taken and compiled == resolved, (user, p, around(compiled, resolved))
            seen.setdefault(user, set()).add(orjson.loads(compiled)["data"]["pointsBalance"])
    # Real answers: the admin reads 215, 100, 30 and 0; the resident some but not all; nobody none.
    assert {215, 100, 30, 0, None} <= seen["admin"], seen["admin"]
    assert seen["nobody"] == {None} and None in seen["resident"] and len(seen["resident"]) > 1, seen


async def test_a_bad_person_is_the_resolvers_error_either_way(api: Api, balances: World) -> None:
    for variables in ({"p": "nonsense"}, {"p": encode_global_id("Case", uuid7())}):
        compiled, resolved, _ = await both(api, balances.a, "admin", BALANCE, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled[:200])


async def test_a_compiled_balance_is_one_statement(api: Api, balances: World) -> None:
    tw = balances.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    v = {"p": person(tw, "h1b")}
    await api.counted(tw, "resident", BALANCE, v)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "resident", "query { __typename }")
        _, resolved = await api.counted(tw, "resident", BALANCE, v)
    finally:
        state.compiled_reads = True
    for document, variables in ((BALANCE, v), (MINE, {})):
        _, compiled = await api.counted(tw, "resident", document, variables)
        assert compiled == baseline + 1 < resolved, (document, compiled, baseline, resolved)
