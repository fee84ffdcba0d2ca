"""Volunteer activities (志愿活动): publish, read, sign up and cancel, check-in/out, hours confirmed by
the organiser and turned into points by the tenant's rule — per role, allowed and denied; capacity
under concurrent sign-ups on PostgreSQL; bad input; cross-tenant ids.

Expected sets are counted by hand from tests/support/world.py for an activity in compound P1:
- activity·publish reaches P1 for admin (all), secretary (scope C1), chair (scope P1), firm (serves P1);
- activity·read (as area·read) sees P1 for those four, resident (lives in P1) and secretary2 (lives in
  H1, P1); grid leaders' scopes are grids, which do not contain the compound;
- activity·sign_up (own compound) for those whose own person lives in P1: resident, chair, secretary2.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import ERR, USERS, add_residents, area, codes, ledger_facts, run
from tests.support.world import TenantWorld

PUBLISH = f"""mutation($in: PublishActivityInput!) {{
  publishActivity(input: $in) {{ activity {{ id title capacity signedUp organiserName organiserKind }} {ERR} }} }}"""
SIGN_UP = f"""mutation($a: ID!) {{ signUpForActivity(activityId: $a) {{ signup {{ id state }} {ERR} }} }}"""
CANCEL = f"""mutation($s: ID!) {{ cancelActivitySignup(id: $s) {{ signup {{ id state }} {ERR} }} }}"""
CHECK_IN = f"""mutation($s: ID!) {{ checkInActivity(id: $s) {{ signup {{ id state checkedInAt }} {ERR} }} }}"""
CHECK_OUT = f"""mutation($s: ID!) {{ checkOutActivity(id: $s) {{ signup {{ id state checkedOutAt }} {ERR} }} }}"""
CONFIRM = f"""mutation($s: ID!, $h: Float) {{
  confirmActivityHours(id: $s, hours: $h) {{ signup {{ id state hours }} {ERR} }} }}"""
ACTIVITIES = "{ activities(first: 100) { totalCount nodes { id signedUp } } }"

PUBLISH_P1 = {"admin", "secretary", "chair", "firm"}
# grid1 and grid2 too: G1 and G2 cover buildings of P1, and so reach its activities (DESIGN.md §8)
READ_P1 = {"admin", "secretary", "chair", "firm", "resident", "secretary2", "grid1", "grid2"}
SIGNUP_P1 = {"resident", "chair", "secretary2"}


def activity_input(tw: TenantWorld, **kw: Any) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=1)
    base = {
        "title": "楼道清洁志愿服务", "areaId": area(tw, "P1", "Compound"), "place": "幸福小区1栋",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=3)).isoformat(), "capacity": 10,
        "organiserKind": "COMMUNITY", "communityId": area(tw, "C1", "Community"), "description": "清理杂物",
    }
    return base | kw


async def publish(api: Api, tw: TenantWorld, key: str = "admin", **kw: Any) -> dict[str, Any]:
    p = await run(api, tw, key, PUBLISH, {"in": activity_input(tw, **kw)})
    assert p["errors"] == [], p
    return p["activity"]  # type: ignore[no-any-return]


async def test_publish_per_role(api: Api, fresh: World) -> None:
    tw = fresh.a
    ok = set()
    for key in USERS:
        p = await run(api, tw, key, PUBLISH, {"in": activity_input(tw, title=f"活动 {key}")})
        if p["errors"]:
            assert codes(p) == ["FORBIDDEN"], (key, p)
        else:
            ok.add(key)
            assert p["activity"]["organiserName"] == "东风社区"
    assert ok == PUBLISH_P1
    assert (await api.gql(tw, "admin", ACTIVITIES))["data"]["activities"]["totalCount"] == len(PUBLISH_P1)


async def test_read_per_role_filtered_and_cross_tenant(api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    act = await publish(api, a)
    await publish(api, a, title="湖畔小区活动", areaId=area(a, "P3", "Compound"))
    seen = {k: {n["id"] for n in (await api.gql(a, k, ACTIVITIES))["data"]["activities"]["nodes"]} for k in USERS}
    assert {k for k, ids in seen.items() if act["id"] in ids} == READ_P1
    assert {k: len(v) for k, v in seen.items()} == {
        "admin": 2, "secretary": 1, "grid1": 1, "grid2": 1, "grid3": 1, "chair": 1, "firm": 1, "resident": 1,
        "resident4": 1, "secretary2": 2, "expired": 0, "nobody": 0}
    node = await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": act["id"]})
    assert node["data"]["node"] is None
    p = await run(api, b, "resident", SIGN_UP, {"a": act["id"]})
    assert codes(p) == ["NOT_FOUND"]
    assert (await api.gql(b, "admin", ACTIVITIES))["data"]["activities"]["totalCount"] == 0


async def test_sign_up_per_role_and_capacity(api: Api, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, capacity=2)
    ok = []
    for key in USERS:
        p = await run(api, tw, key, SIGN_UP, {"a": act["id"]})
        if not p["errors"]:
            ok.append((key, p["signup"]["id"]))
        elif key in SIGNUP_P1:
            assert codes(p) == ["CONFLICT"]  # full: the third of the three
        else:
            assert codes(p) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, p)
    assert [k for k, _ in ok] == ["chair", "resident"]  # in USERS order, until full
    p = await run(api, tw, "resident", SIGN_UP, {"a": act["id"]})
    assert codes(p) == ["CONFLICT"]  # already signed up
    p = await run(api, tw, "chair", CANCEL, {"s": ok[1][1]})
    assert codes(p) == ["FORBIDDEN"]  # the chair organises here, but only the volunteer cancels
    p = await run(api, tw, "secretary2", CANCEL, {"s": ok[1][1]})
    assert codes(p) == ["NOT_FOUND"]  # another volunteer's sign-up
    p = await run(api, tw, "resident", CANCEL, {"s": ok[1][1]})
    assert p["signup"]["state"] == "CANCELLED"
    p = await run(api, tw, "secretary2", SIGN_UP, {"a": act["id"]})
    assert p["errors"] == []  # the freed place
    p = await run(api, tw, "resident", SIGN_UP, {"a": act["id"]})
    assert codes(p) == ["CONFLICT"]  # full again
    nodes = (await api.gql(tw, "admin", ACTIVITIES))["data"]["activities"]["nodes"]
    assert [n["signedUp"] for n in nodes] == [2]


async def test_hours_confirmed_by_the_organiser_award_points(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    act = await publish(api, tw, key="chair", organiserKind="OWNER_COMMITTEE", compoundId=area(tw, "P1", "Compound"),
                        communityId=None)
    assert act["organiserName"] == "幸福小区业委会"
    sid = (await run(api, tw, "resident", SIGN_UP, {"a": act["id"]}))["signup"]["id"]
    p = await run(api, tw, "resident", CONFIRM, {"s": sid, "h": 2})
    assert codes(p) == ["FORBIDDEN"]  # volunteers do not confirm their own hours
    p = await run(api, tw, "chair", CONFIRM, {"s": sid, "h": 2})
    assert codes(p) == ["INVALID_TRANSITION"]  # not checked out yet
    p = await run(api, tw, "resident", CHECK_OUT, {"s": sid})
    assert codes(p) == ["INVALID_TRANSITION"]  # not checked in yet
    assert (await run(api, tw, "resident", CHECK_IN, {"s": sid}))["signup"]["state"] == "CHECKED_IN"
    assert (await run(api, tw, "secretary", CHECK_OUT, {"s": sid}))["signup"]["state"] == "CHECKED_OUT"
    for key in ("grid1", "grid2", "resident4", "nobody"):
        p = await run(api, tw, key, CONFIRM, {"s": sid, "h": 2})
        assert codes(p) in (["NOT_FOUND"], ["FORBIDDEN"]), key
    p = await run(api, tw, "chair", CONFIRM, {"s": sid, "h": 25})
    assert codes(p) == ["INVALID"]
    p = await run(api, tw, "chair", CONFIRM, {"s": sid, "h": 2.5})
    assert p["signup"]["state"] == "CONFIRMED" and p["signup"]["hours"] == 2.5
    assert await ledger_facts(db, tw, "h1b") == (25, 25, 1)  # 2.5 h × the default 10 points per hour
    p = await run(api, tw, "chair", CONFIRM, {"s": sid, "h": 2.5})
    assert codes(p) == ["INVALID_TRANSITION"]
    assert await ledger_facts(db, tw, "h1b") == (25, 25, 1)
    # The tenant's rule decides: the street admin sets 4 points per hour.
    rule = await api.gql(tw, "admin", "mutation { setPointsRule(pointsPerHour: 4) { pointsPerHour errors { code } } }")
    assert rule["data"]["setPointsRule"]["pointsPerHour"] == 4
    denied = await api.gql(tw, "secretary", "mutation { setPointsRule(pointsPerHour: 99) { errors { code } } }")
    assert codes(denied["data"]["setPointsRule"]) == ["FORBIDDEN"]
    sid2 = (await run(api, tw, "chair", SIGN_UP, {"a": act["id"]}))["signup"]["id"]
    await run(api, tw, "chair", CHECK_IN, {"s": sid2})
    await run(api, tw, "chair", CHECK_OUT, {"s": sid2})
    await run(api, tw, "admin", CONFIRM, {"s": sid2, "h": 3})
    assert await ledger_facts(db, tw, "h2a") == (12, 12, 1)


async def test_bad_input_changes_nothing(api: Api, fresh: World) -> None:
    tw = fresh.a
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH, {"in": activity_input(
        tw, title=" ", capacity=0, endsAt=(start - timedelta(hours=1)).isoformat(), startsAt=start.isoformat())})
    assert sorted(e["field"] for e in p["errors"]) == ["capacity", "endsAt", "title"]
    p = await run(api, tw, "admin", PUBLISH, {"in": activity_input(tw, organiserKind="PARTY_ORG", communityId=None)})
    assert codes(p) == ["INVALID"] and p["errors"][0]["field"] == "partyOrgId"
    p = await run(api, tw, "admin", PUBLISH, {"in": activity_input(tw, organiserKind="PARTNER_UNIT")})
    assert p["errors"][0]["field"] == "partnerName"
    past = datetime.now(UTC) - timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH, {"in": activity_input(
        tw, startsAt=past.isoformat(), endsAt=(past + timedelta(hours=1)).isoformat())})
    assert p["errors"][0]["field"] == "startsAt"
    assert (await api.gql(tw, "admin", ACTIVITIES))["data"]["activities"]["totalCount"] == 0
    ok = await publish(api, tw, organiserKind="PARTNER_UNIT", partnerName="蓝天救援队", communityId=None)
    assert ok["organiserName"] == "蓝天救援队" and ok["organiserKind"] == "PARTNER_UNIT"


async def test_concurrent_sign_ups_hold_the_capacity(api: Api, db: DbEnv, fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers by refusing them)")
    tw = fresh.a
    people = await add_residents(db, tw, 8)
    act = await publish(api, tw, capacity=3)
    results = await asyncio.gather(*(run(api, tw, k, SIGN_UP, {"a": act["id"]}) for k in people))
    assert sum(1 for p in results if not p["errors"]) == 3
    assert all(codes(p) == ["CONFLICT"] for p in results if p["errors"])
    nodes = (await api.gql(tw, "admin", ACTIVITIES))["data"]["activities"]["nodes"]
    assert nodes[0]["signedUp"] == 3
    # The same volunteer twice at once: one place taken, one refused.
    act2 = await publish(api, tw, capacity=5, title="第二场")
    twice = await asyncio.gather(*(run(api, tw, people[0], SIGN_UP, {"a": act2["id"]}) for _ in range(4)))
    assert sum(1 for p in twice if not p["errors"]) == 1
    counts = {n["id"]: n["signedUp"] for n in (await api.gql(tw, "admin", ACTIVITIES))["data"]["activities"]["nodes"]}
    assert counts[act2["id"]] == 1
