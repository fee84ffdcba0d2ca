"""Optimistic concurrency where two people can edit the same object (areas, households, persons):
a stale expectedVersion is a CONFLICT that changes nothing; of two edits at once, one wins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from resolvers.ids import encode_global_id
from tests.support.harness import Api, DbEnv, World

PERSON = "query($id: ID!) { node(id: $id) { ... on Person { name phone version } } }"
UPDATE_PERSON = """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { name version }
  errors { code field } } }"""
UPDATE_HOUSEHOLD = """mutation($i: UpdateHouseholdInput!) { updateHousehold(input: $i) {
  household { floorArea version } errors { code field } } }"""
UPDATE_AREA = """mutation($i: UpdateAreaInput!) { updateArea(input: $i) { area { name version }
  errors { code field } } }"""


async def test_stale_versions_conflict_and_change_nothing(api: Api, fresh: World) -> None:
    a = fresh.a
    pid = encode_global_id("Person", a.persons["h2a"])
    before = (await api.gql(a, "grid2", PERSON, {"id": pid}))["data"]["node"]
    assert before["version"] == 1
    ok = await api.gql(a, "grid2", UPDATE_PERSON, {"i": {"id": pid, "name": "李秀兰", "expectedVersion": 1}})
    assert ok["data"]["updatePerson"] == {"person": {"name": "李秀兰", "version": 2}, "errors": []}
    stale = await api.gql(a, "grid2", UPDATE_PERSON, {"i": {"id": pid, "name": "别的名字", "expectedVersion": 1}})
    assert stale["data"]["updatePerson"] == {"person": None,
                                             "errors": [{"code": "CONFLICT", "field": "expectedVersion"}]}
    assert (await api.gql(a, "grid2", PERSON, {"id": pid}))["data"]["node"]["name"] == "李秀兰"

    hid = encode_global_id("Household", a.households["H2"])
    got = await api.gql(a, "grid2", UPDATE_HOUSEHOLD, {"i": {"id": hid, "floorArea": "90.00", "expectedVersion": 7}})
    assert got["data"]["updateHousehold"]["errors"] == [{"code": "CONFLICT", "field": "expectedVersion"}]
    got = await api.gql(a, "grid2", UPDATE_HOUSEHOLD, {"i": {"id": hid, "floorArea": "90.00", "expectedVersion": 1}})
    assert got["data"]["updateHousehold"]["household"] == {"floorArea": "90.00", "version": 2}

    area = encode_global_id("Compound", a.areas["P2"])
    got = await api.gql(a, "secretary", UPDATE_AREA, {"i": {"id": area, "name": "老街新村", "expectedVersion": 2}})
    assert got["data"]["updateArea"]["errors"] == [{"code": "CONFLICT", "field": "expectedVersion"}]
    got = await api.gql(a, "secretary", UPDATE_AREA, {"i": {"id": area, "name": "老街新村"}})
    assert got["data"]["updateArea"]["area"] == {"name": "老街新村", "version": 2}


async def test_two_edits_at_once_one_wins(api: Api, db: DbEnv, fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("real concurrent writers need PostgreSQL (SQLite takes one writer at a time)")
    a = fresh.a
    pid = encode_global_id("Person", a.persons["h3a"])
    for round_ in range(5):
        version = (await api.gql(a, "grid2", PERSON, {"id": pid}))["data"]["node"]["version"]

        async def edit(name: str, seen: int) -> dict[str, Any]:
            body = await api.gql(a, "grid2", UPDATE_PERSON, {"i": {"id": pid, "name": name, "expectedVersion": seen}})
            return body["data"]["updatePerson"]  # type: ignore[no-any-return]

        first, second = await asyncio.gather(edit(f"甲{round_}", version), edit(f"乙{round_}", version))
        outcomes = sorted([bool(first["errors"]), bool(second["errors"])])
        assert outcomes == [False, True], (first, second)
        loser = first if first["errors"] else second
        winner = second if first["errors"] else first
        assert loser["errors"] == [{"code": "CONFLICT", "field": "expectedVersion"}]
        now = (await api.gql(a, "grid2", PERSON, {"id": pid}))["data"]["node"]
        assert now["name"] == winner["person"]["name"] and now["version"] == version + 1
