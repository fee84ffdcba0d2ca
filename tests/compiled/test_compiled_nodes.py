"""The compiled ``nodes(ids:)`` (compiled/nodes.py, issue #21) answers exactly what the resolvers answer:
each id as the compiled ``node(id:)`` reads it, in order, null where it does not exist for the actor.

Every world user asks for lists of ids of every kind the node compiler reads (areas of each kind,
households, persons), with ids that name nothing, another street office's rows and repeats; compiled
then through strawberry's resolvers, the same bytes; a compiled request is one statement after the
request's start-up, however many ids. Ids the resolvers refuse are their errors either way."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.compiled import around, both
from tests.support.harness import Api, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

NODES = """
query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Area { name kind } ... on Household { unit room addressMasked building { name } }
  ... on Person { name piiMasked phone idCardNo household { room } } } }
"""
PORTAL = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id ... on Case { number title state } } }"

EQUIVALENCE_DOCUMENTS = (NODES, PORTAL)

AREA_TYPES = {"S": "Street", "C1": "Community", "Z1": "Zone", "P1": "Compound", "G1": "Grid", "B1": "Building",
              "B4": "Building", "P3": "Compound"}


def ids_of(tw: TenantWorld) -> list[str]:
    return ([encode_global_id(t, tw.areas[k]) for k, t in AREA_TYPES.items()]
            + [encode_global_id("Household", h) for h in tw.households.values()]
            + [encode_global_id("Person", p) for p in tw.persons.values()])


# One test per user (CI time, issue #21): pytest-xdist's worksteal can share a file's users between
# the workers; as one test the users' loop held one worker for one to three minutes under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_nodes_compile_to_the_resolvers_answer_for_every_user(api: Api, world: World, db: Any,
                                                                    user: str) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw, other = world.a, world.b
    mine = ids_of(tw)
    lists: list[list[str]] = [[], mine[:1], mine, mine[::-1], [mine[3], mine[3], mine[9]],
                              [encode_global_id("Person", uuid.uuid4()), mine[10],
                               encode_global_id("Grid", uuid.uuid4())],
                              ids_of(other)[:4] + mine[:2]]
    for ids in lists:
        for document in (NODES, PORTAL):
            compiled, resolved, taken = await both(api, tw, user, document, {"ids": ids})
            assert taken, (user, ids)
            assert compiled == resolved, (user, ids, around(compiled, resolved))


async def test_the_compared_nodes_have_real_content(api: Api, world: World, db: Any) -> None:
    """Guards the comparison above from comparing empty answers: the areas in order, another tenant's ids null."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw, other = world.a, world.b
    mine = ids_of(tw)
    body = orjson.loads((await both(api, tw, "admin", NODES, {"ids": mine}))[0])
    assert [n["__typename"] for n in body["data"]["nodes"]][:len(AREA_TYPES)] == list(AREA_TYPES.values())
    assert all(n is not None for n in body["data"]["nodes"])
    body = orjson.loads((await both(api, tw, "resident", NODES, {"ids": ids_of(other)[:4] + mine[:1]}))[0])
    assert body["data"]["nodes"][:4] == [None] * 4 and body["data"]["nodes"][4]["name"]


async def test_refused_ids_are_the_resolvers_errors_either_way(api: Api, world: World, db: Any) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = world.a
    mine = ids_of(tw)
    for ids in (["nonsense"], [mine[0], encode_global_id("Nothing", uuid.uuid4())], mine * 8):
        compiled, resolved, taken = await both(api, tw, "admin", NODES, {"ids": ids})
        assert not taken and compiled == resolved and b'"errors"' in compiled, (ids, compiled[:200])


async def test_compiled_nodes_are_one_statement_however_many_ids(api: Api, world: World, db: Any) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = world.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        await api.counted(tw, "admin", "query { __typename }")
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PORTAL, {"ids": ids_of(tw)})
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "admin", PORTAL, {"ids": ids_of(tw)[:n]}))[1] for n in (1, 17)]
    assert counts == [baseline + 1, baseline + 1], (counts, baseline)
    assert resolved > baseline + 1, resolved
