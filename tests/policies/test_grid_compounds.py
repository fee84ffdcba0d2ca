"""Grid leaders and compounds (DESIGN.md §8, issue #23): a grid's scope takes in the compounds its buildings
belong to, for what is public or shared in them — the compound itself (its name), its notices, activities,
topics and votes, its walls, and the cases located at the compound itself (read, report, accept, dispatch,
start, resolve, close) — never that compound's households in buildings outside the grid, and nothing of a
compound the grid does not touch.

In the world (tests/support/world.py) G1 covers B1 of P1 (幸福小区, which also has B2 with H2) and nothing of
P2; G3 covers B4 of P3 only. So grid1 is allowed at P1 and denied at P2 and in B2; grid3 is denied at P1.
Each cell is checked allowed and denied in one new tenant; the reads on both read paths (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.cases import add_resident, area_gid, call, failed, firm_gid, ok, report
from tests.support.compiled import both
from tests.support.deliberation import open_vote, propose, topic_in
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.world import TenantWorld, build_tenant

NOTICE = ("mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { notice { id } errors { code } } }")
ACTIVITY = ("mutation($i: PublishActivityInput!) { publishActivity(input: $i) { activity { id } errors { code } } }")
READS = """query($p1: ID!, $p2: ID!, $b2: ID!, $h2: ID!) {
  p1: node(id: $p1) { ... on Compound { name } }
  p2: node(id: $p2) { id }
  b2: node(id: $b2) { id }
  h2: node(id: $h2) { id }
  households(first: 50) { nodes { room } }
  notices(first: 50) { nodes { title } }
  topics(first: 50) { nodes { title vote { id } } }
  activities(first: 50) { nodes { title } }
}"""
WALL = "query($c: ID!) { problemWall(compoundId: $c, first: 50) { nodes { title } } }"
CASE = "query($id: ID!) { node(id: $id) { ... on Case { title reporter { username } area { id } } } }"
CASES = "query { cases(first: 50) { nodes { title reporter { username } area { id } } } }"
AREA = "query($id: ID!) { node(id: $id) { id ... on Compound { name } } }"


@pytest.fixture
async def tw(db: DbEnv) -> TenantWorld:
    return await build_tenant(db.sessionmaker, new_slug("gridc"))


async def _setup(api: Api, db: DbEnv, tw: TenantWorld) -> dict[str, Any]:
    """At P1 and at P2: a compound-level case, a notice, a topic, an activity; a vote at P1; in B2 (P1,
    outside G1) a resident's case on the problem wall."""
    made: dict[str, Any] = {}
    for key in ("P1", "P2"):
        made[f"case_{key}"] = await report(api, tw, "admin", key, title=f"小区{key}门口积水")
        r = await api.gql(tw, "admin", NOTICE, {"i": {"areaId": area_gid(tw, key), "title": f"通知{key}",
                                                      "body": "停水"}})
        assert r["data"]["publishNotice"]["errors"] == [], r
        start = datetime.now(UTC) + timedelta(days=3)
        r = await api.gql(tw, "admin", ACTIVITY, {"i": {
            "title": f"活动{key}", "areaId": area_gid(tw, key), "place": "广场", "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10, "organiserKind": "COMMUNITY",
            "communityId": area_gid(tw, "C1")}})
        assert r["data"]["publishActivity"]["errors"] == [], r
    made["topic_P1"] = await topic_in(api, tw, "P1")
    made["vote_P1"] = await open_vote(api, tw, made["topic_P1"])
    await topic_in(api, tw, "P2")
    await add_resident(db, tw, "resident2", "P1", "h2a")
    made["case_B2"] = await report(api, tw, "resident2", "B2", title="2栋楼道堆物")
    return made


async def test_grid_leader_reads_the_compounds_its_grid_touches_not_their_other_buildings(
        api: Api, db: DbEnv, tw: TenantWorld) -> None:
    made = await _setup(api, db, tw)
    variables = {"p1": area_gid(tw, "P1"), "p2": area_gid(tw, "P2"), "b2": area_gid(tw, "B2"),
                 "h2": encode_global_id("Household", tw.households["H2"])}
    g1 = (await api.gql(tw, "grid1", READS, variables))["data"]
    assert g1["p1"] == {"name": "幸福小区"}
    assert (g1["p2"], g1["b2"], g1["h2"]) == (None, None, None)  # an untouched compound; P1's other building
    assert [h["room"] for h in g1["households"]["nodes"]] == ["101"]  # H1 only: not H2 of P1 in B2
    assert {n["title"] for n in g1["notices"]["nodes"]} == {"通知P1"}
    assert {n["title"] for n in g1["activities"]["nodes"]} == {"活动P1"}
    assert [(n["title"], n["vote"]["id"]) for n in g1["topics"]["nodes"]] == [("加装电梯", made["vote_P1"])]
    g3 = (await api.gql(tw, "grid3", READS, variables))["data"]  # G3 touches P3 only
    assert (g3["p1"], g3["p2"], g3["b2"], g3["h2"]) == (None, None, None, None)
    assert [g3[k]["nodes"] for k in ("notices", "activities", "topics")] == [[], [], []]

    # the walls: P1's whole wall (anonymised, as its residents see it); P2's is not grid1's to see
    wall = (await api.gql(tw, "grid1", WALL, {"c": area_gid(tw, "P1")}))["data"]["problemWall"]["nodes"]
    assert [w["title"] for w in wall] == ["2栋楼道堆物"]
    for user, compound in (("grid1", "P2"), ("grid3", "P1")):
        denied = await api.gql(tw, user, WALL, {"c": area_gid(tw, compound)}, allow_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND", denied

    # cases: the one at P1 itself in full; B2's only as a wall entry (no reporter); P2's not at all
    full = (await api.gql(tw, "grid1", CASE, {"id": made["case_P1"]["id"]}))["data"]["node"]
    assert full == {"title": "小区P1门口积水", "reporter": {"username": tw.username("admin")},
                    "area": {"id": area_gid(tw, "P1")}}
    wall_only = (await api.gql(tw, "grid1", CASE, {"id": made["case_B2"]["id"]}))["data"]["node"]
    assert wall_only == {"title": "2栋楼道堆物", "reporter": None, "area": None}  # B2 is not grid1's to read
    assert (await api.gql(tw, "grid1", CASE, {"id": made["case_P2"]["id"]}))["data"]["node"] is None
    assert (await api.gql(tw, "grid3", CASE, {"id": made["case_P1"]["id"]}))["data"]["node"] is None
    listed = (await api.gql(tw, "grid1", CASES))["data"]["cases"]["nodes"]
    assert {(c["title"], c["reporter"] is not None) for c in listed} == {("小区P1门口积水", True),
                                                                         ("2栋楼道堆物", False)}

    if db.is_pg:  # the compiled read path answers the same as the resolvers, and is the one taken
        for user in ("grid1", "grid3", "grid2"):
            for q, v in ((AREA, {"id": variables["p1"]}), (AREA, {"id": variables["p2"]}), (CASES, {}),
                         (CASE, {"id": made["case_P1"]["id"]}), (CASE, {"id": made["case_B2"]["id"]})):
                compiled, resolved, taken = await both(api, tw, user, q, v)
                assert taken and compiled == resolved, (user, q, v)
        compiled, _, _ = await both(api, tw, "grid1", AREA, {"id": variables["p1"]})
        assert orjson.loads(compiled)["data"]["node"]["name"] == "幸福小区"


async def test_grid_leader_reports_and_handles_cases_at_a_compound_its_grid_touches(
        api: Api, db: DbEnv, tw: TenantWorld) -> None:
    # report: at P1 itself yes; at P2 (untouched) and in B2 (P1's building outside G1) no
    mine = await report(api, tw, "grid1", "P1", title="小区大门损坏")
    for user, where in (("grid1", "P2"), ("grid1", "B2"), ("grid3", "P1")):
        payload = await call(api, tw, user, "reportCase", areaId=area_gid(tw, where), category="garbage",
                             title="不该受理")
        assert payload["case"] is None and payload["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND"), payload

    # handle a compound-level case of P1 reported by someone else: accept, dispatch, start, resolve, close
    case = await report(api, tw, "admin", "P1", title="小区门口积水")
    other = await report(api, tw, "admin", "P2", title="老街小区路灯")
    # grid3 (P3 only) may not touch P1's case at any step; grid1 may not touch P2's
    failed(await call(api, tw, "grid3", "acceptCase", id=case["id"]), "NOT_FOUND")
    failed(await call(api, tw, "grid1", "acceptCase", id=other["id"]), "NOT_FOUND")
    case = ok(await call(api, tw, "grid1", "acceptCase", id=case["id"]))
    failed(await call(api, tw, "grid3", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                      firmId=firm_gid(tw)), "NOT_FOUND")
    case = ok(await call(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                         firmId=firm_gid(tw)))
    failed(await call(api, tw, "grid3", "startCase", id=case["id"]), "NOT_FOUND")
    case = ok(await call(api, tw, "grid1", "startCase", id=case["id"]))
    failed(await call(api, tw, "grid3", "resolveCase", id=case["id"], resolution="已处理"), "NOT_FOUND")
    case = ok(await call(api, tw, "grid1", "resolveCase", id=case["id"], resolution="已疏通"))
    failed(await call(api, tw, "grid3", "closeCase", id=case["id"]), "NOT_FOUND")
    case = ok(await call(api, tw, "grid1", "closeCase", id=case["id"]))
    assert case["state"] == "CLOSED"
    # the case grid1 reported at P1 is theirs to accept too; P2's stays untouched by grid1
    ok(await call(api, tw, "grid1", "acceptCase", id=mine["id"]))
    assert (await api.gql(tw, "admin", CASE, {"id": other["id"]}))["data"]["node"]["title"] == "老街小区路灯"

    # topics: proposing at P1 yes, at P2 no
    assert (await propose(api, tw, "grid1", "P1", title="小区停车"))["errors"] == []
    denied = await propose(api, tw, "grid1", "P2", title="不该提出")
    assert denied["topic"] is None and denied["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND"), denied
