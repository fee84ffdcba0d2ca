"""Residents' self-governing zones and groups (自治片区、自治小组) and central party-member households
(党员中心户), issue #23: created by the party secretary in scope and the street admin (allowed and
denied), every error of an input at once, read by whoever reads the area — and by no other tenant."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

UNIT = ("mutation($i: CreateSelfGoverningUnitInput!) { createSelfGoverningUnit(input: $i) { unit { id name kind "
        "parentId area { name } } errors { code field } } }")
CENTRAL = ("mutation($i: AddCentralHouseholdInput!) { addCentralHousehold(input: $i) { centralHousehold { id unitId "
           "householdId personId appointedOn } errors { code field } } }")
READ = """query($a: ID) { selfGoverningUnits(areaId: $a, first: 50) { totalCount nodes { name kind } }
  centralHouseholds(areaId: $a, first: 50) { totalCount nodes { householdId } } }"""


def gid(t: str, i: Any) -> str:
    return encode_global_id(t, i)


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def test_zones_groups_and_central_households(api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    p2, p1 = gid("Compound", a.areas["P2"]), gid("Compound", a.areas["P1"])
    # allowed: the party secretary of C1 on 老街小区 (P2), the street admin anywhere
    zone = payload(await api.gql(a, "secretary", UNIT, {"i": {"areaId": p2, "kind": "ZONE", "name": "第一自治片区"}}))
    assert zone["errors"] == [] and zone["unit"]["area"] == {"name": "老街小区"}, zone
    group = payload(await api.gql(a, "secretary", UNIT, {"i": {"areaId": p2, "kind": "GROUP", "name": "第一小组",
                                                               "parentId": zone["unit"]["id"]}}))
    assert group["errors"] == [] and group["unit"]["parentId"] == zone["unit"]["id"], group
    p1_group = payload(await api.gql(a, "admin", UNIT, {"i": {"areaId": p1, "kind": "GROUP", "name": "第一小组"}}))
    assert p1_group["errors"] == [], p1_group
    # H3 (3栋, 老街小区): 王德明 is a party member — the group's central household
    central = payload(await api.gql(a, "secretary", CENTRAL, {"i": {
        "unitId": group["unit"]["id"], "householdId": gid("Household", a.households["H3"]),
        "personId": gid("Person", a.persons["h3a"]), "appointedOn": "2026-03-01"}}))
    assert central["errors"] == [] and central["centralHousehold"]["appointedOn"] == "2026-03-01", central
    again = payload(await api.gql(a, "admin", CENTRAL, {"i": {
        "unitId": group["unit"]["id"], "householdId": gid("Household", a.households["H3"]),
        "personId": gid("Person", a.persons["h3a"])}}))
    assert again["errors"] == [{"code": "CONFLICT", "field": "householdId"}]

    # refused inputs, every error at once
    dup = payload(await api.gql(a, "admin", UNIT, {"i": {"areaId": p2, "kind": "ZONE", "name": "第一自治片区"}}))
    assert dup["errors"] == [{"code": "CONFLICT", "field": "name"}]
    bad = payload(await api.gql(a, "admin", UNIT, {"i": {"areaId": gid("Grid", a.areas["G1"]), "kind": "ZONE",
                                                         "name": "", "parentId": zone["unit"]["id"]}}))
    assert {(e["code"], e["field"]) for e in bad["errors"]} == {
        ("INVALID", "name"), ("INVALID", "areaId"), ("NOT_FOUND", "parentId")}, bad
    zone_in_zone = payload(await api.gql(a, "admin", UNIT, {"i": {"areaId": p2, "kind": "ZONE", "name": "第二片区",
                                                                  "parentId": zone["unit"]["id"]}}))
    assert zone_in_zone["errors"] == [{"code": "INVALID", "field": "parentId"}]
    # a zone is no group, H1 is outside its area, 张建国 (h1a) is no party member: all three at once;
    # 李秀英 (H2, 幸福小区) is no party member; 王德明 is not registered in H1
    outside = payload(await api.gql(a, "admin", CENTRAL, {"i": {
        "unitId": zone["unit"]["id"], "householdId": gid("Household", a.households["H1"]),
        "personId": gid("Person", a.persons["h1a"])}}))
    assert {(e["code"], e["field"]) for e in outside["errors"]} == {
        ("INVALID", "unitId"), ("NOT_FOUND", "householdId"), ("INVALID", "personId")}, outside
    no_party = payload(await api.gql(a, "admin", CENTRAL, {"i": {
        "unitId": p1_group["unit"]["id"], "householdId": gid("Household", a.households["H2"]),
        "personId": gid("Person", a.persons["h2a"])}}))
    assert no_party["errors"] == [{"code": "INVALID", "field": "personId"}]
    elsewhere = payload(await api.gql(a, "admin", CENTRAL, {"i": {
        "unitId": p1_group["unit"]["id"], "householdId": gid("Household", a.households["H1"]),
        "personId": gid("Person", a.persons["h3a"])}}))
    assert elsewhere["errors"] == [{"code": "INVALID", "field": "personId"}]

    # denied: the secretary of C2 outside their scope; grid leaders, chairs, firms, residents
    for key in ("secretary2", "grid1", "grid2", "chair", "firm", "resident"):
        u = payload(await api.gql(a, key, UNIT, {"i": {"areaId": p2, "kind": "GROUP", "name": f"{key}组"}}))
        assert u["unit"] is None and u["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, (key, u)
        c = payload(await api.gql(a, key, CENTRAL, {"i": {
            "unitId": p1_group["unit"]["id"], "householdId": gid("Household", a.households["H1"]),
            "personId": gid("Person", a.persons["h1a"])}}))
        assert c["centralHousehold"] is None and c["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, (key, c)

    # reads follow the area: the admin all, the party secretary of C1 its compounds', the resident of 幸福小区
    # only theirs — and so the party secretary of C2, who lives there: none of 老街小区's
    async def read(key: str, area: str | None = None, tw: Any = a) -> tuple[int, int]:
        d = (await api.gql(tw, key, READ, {"a": area}))["data"]
        return d["selfGoverningUnits"]["totalCount"], d["centralHouseholds"]["totalCount"]

    assert await read("admin") == (3, 1)
    assert await read("admin", p2) == (2, 1)
    assert await read("secretary") == (3, 1)
    assert await read("resident") == (1, 0)
    assert await read("secretary2") == (1, 0)
    # another tenant: nothing, and its node lookups find nothing
    assert await read("admin", tw=b) == (0, 0)
    node = await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": group["unit"]["id"]})
    assert node["data"]["node"] is None
    mine = await api.gql(a, "admin", "query($id: ID!) { node(id: $id) { ... on SelfGoverningUnit { name } } }",
                         {"id": group["unit"]["id"]})
    assert mine["data"]["node"] == {"name": "第一小组"}
