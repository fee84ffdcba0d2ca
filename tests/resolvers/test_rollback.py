"""An unexpected error inside a mutation rolls back everything that mutation wrote, is masked with
the request id, and is audited as an error — while the other mutations of the request keep theirs."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers import register
from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

CREATE = """mutation($a: CreateHouseholdInput!, $b: CreateHouseholdInput!) {
  first: createHousehold(input: $a) { household { id } errors { code } }
  second: createHousehold(input: $b) { household { id } errors { code } }
}"""
ROOMS = "query($b: ID!) { households(areaId: $b, first: 50) { nodes { room } } }"


async def test_a_crash_mid_mutation_writes_nothing(api: Api, fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = fresh.a
    real = register.create_household

    async def flaky(ctx: Any, *, building_id: Any, fields: Any) -> Any:
        household = await real(ctx, building_id=building_id, fields=fields)  # written and flushed …
        if fields.room == "902":
            raise RuntimeError("disk on fire")  # … then the unexpected
        return household

    monkeypatch.setattr(register, "create_household", flaky)
    b1 = encode_global_id("Building", a.areas["B1"])
    r = await api.post(CREATE, {"a": {"buildingId": b1, "room": "901"}, "b": {"buildingId": b1, "room": "902"}},
                       token=api.token(a, "admin"))
    body = r.json()
    assert body["data"] is None  # the payload is non-null: the crash nulls the whole response
    err = body["errors"][0]
    assert err["extensions"]["code"] == "INTERNAL" and err["extensions"]["requestId"] in err["message"]
    assert "disk on fire" not in r.text
    rooms = {n["room"] for n in (await api.gql(a, "admin", ROOMS, {"b": b1}))["data"]["households"]["nodes"]}
    assert "901" in rooms and "902" not in rooms
    log = (await api.gql(a, "admin", '{ auditLog(action: "createHousehold") { nodes { outcome } } }'))
    assert sorted(n["outcome"] for n in log["data"]["auditLog"]["nodes"]) == ["error", "ok"]
