"""Evaluations (评比): periods, rating per role (allowed AND denied), one rating per rater and period,
out-of-period and closed-period ratings refused, results and rankings equal to a hand computation.

From tests/support/world.py: F1 serves P1 (its contract for P3 expired; P2 has no firm).
- evaluation·rate_firm reaches P1 for admin (all), secretary (scope C1), grid1 (G1 covers B1), grid2
  (G2 covers B2), chair (scope P1), resident and secretary2 (both live in P1: own compound).
- evaluation·rate_committee (grid_leader and up, scope) reaches P1 for admin, secretary, grid1, grid2.
Default weights: firm — cleanliness 30, security 25, repairs 25, attitude 20; committee — duties 40,
transparency 30, liaison 30.
"""

from __future__ import annotations

from tests.support.evaluations import (
    CLOSE,
    OPEN,
    RATE,
    RESULTS,
    open_period,
    rate_input,
    shift,
    this_month,
)
from tests.support.harness import Api, World
from tests.support.volunteering import USERS, codes, run

RATE_FIRM_P1 = {"admin", "secretary", "grid1", "grid2", "chair", "resident", "secretary2"}
RATE_COMMITTEE_P1 = {"admin", "secretary", "grid1", "grid2"}


async def test_periods_are_run_by_the_street_admin(api: Api, fresh: World) -> None:
    tw = fresh.a
    for key in USERS:
        p = await run(api, tw, key, OPEN, {"m": this_month().isoformat()})
        assert (p["errors"] == []) == (key == "admin"), (key, p)
        if key != "admin":
            assert codes(p) == ["FORBIDDEN"]
    p = await run(api, tw, "admin", OPEN, {"m": this_month().replace(day=15).isoformat()})
    assert codes(p) == ["CONFLICT"]  # the month exists (any day names its month)
    periods = (await api.gql(tw, "resident", "{ evaluationPeriods { id month state } }"))["data"]
    assert [(x["month"], x["state"]) for x in periods["evaluationPeriods"]] == [(this_month().isoformat(), "OPEN")]


async def test_rate_firm_and_committee_per_role(api: Api, fresh: World) -> None:
    tw = fresh.a
    period = await open_period(api, tw)
    firm_ok, committee_ok = set(), set()
    for key in USERS:
        p = await run(api, tw, key, RATE, rate_input(tw, period, "P1", "PROPERTY_FIRM", 80, 80, 80, 80))
        if p["errors"]:
            assert codes(p) == ["FORBIDDEN"], (key, p)
        else:
            firm_ok.add(key)
        p = await run(api, tw, key, RATE, rate_input(tw, period, "P1", "OWNER_COMMITTEE", 70, 70, 70))
        if p["errors"]:
            assert codes(p) == ["FORBIDDEN"], (key, p)
        else:
            committee_ok.add(key)
    assert firm_ok == RATE_FIRM_P1
    assert committee_ok == RATE_COMMITTEE_P1
    res = (await api.gql(tw, "admin", RESULTS, {"p": period, "t": "PROPERTY_FIRM"}))["data"]["evaluationResults"]
    assert [(r["compound"]["name"], r["firmName"], r["raters"], r["score"]) for r in res] == [
        ("幸福小区", "安居物业", len(RATE_FIRM_P1), 80.0)]


async def test_one_rating_per_rater_and_bad_ratings_refused(api: Api, fresh: World) -> None:
    tw = fresh.a
    period = await open_period(api, tw)
    assert (await run(api, tw, "resident", RATE, rate_input(tw, period, "P1", "PROPERTY_FIRM", 90, 90, 90, 90))
            )["errors"] == []
    p = await run(api, tw, "resident", RATE, rate_input(tw, period, "P1", "PROPERTY_FIRM", 10, 10, 10, 10))
    assert codes(p) == ["CONFLICT"]
    p = await run(api, tw, "admin", RATE, rate_input(tw, period, "P2", "PROPERTY_FIRM", 90, 90, 90, 90))
    assert codes(p) == ["INVALID"]  # 老街小区 has no property firm
    p = await run(api, tw, "admin", RATE, rate_input(tw, period, "P3", "PROPERTY_FIRM", 90, 90, 90, 90))
    assert codes(p) == ["INVALID"]  # F1's contract for 湖畔小区 expired
    bad = rate_input(tw, period, "P1", "PROPERTY_FIRM", 90, 90, 90, 101)
    assert codes(await run(api, tw, "admin", RATE, bad)) == ["INVALID"]
    missing = rate_input(tw, period, "P1", "OWNER_COMMITTEE", 90, 90, 90)
    missing["in"]["scores"] = missing["in"]["scores"][:2]
    assert codes(await run(api, tw, "admin", RATE, missing)) == ["INVALID"]
    # Out of period: next month's period has not begun; one three months back is long over.
    for n in (1, -3):
        other = await open_period(api, tw, shift(this_month(), n))
        p = await run(api, tw, "admin", RATE, rate_input(tw, other, "P1", "PROPERTY_FIRM", 90, 90, 90, 90))
        assert codes(p) == ["INVALID"] and p["errors"][0]["field"] == "periodId"
    # A closed period is read-only.
    assert (await run(api, tw, "grid1", CLOSE, {"id": period}))["errors"][0]["code"] == "FORBIDDEN"
    assert (await run(api, tw, "admin", CLOSE, {"id": period}))["period"]["state"] == "CLOSED"
    assert codes(await run(api, tw, "admin", CLOSE, {"id": period})) == ["INVALID_TRANSITION"]
    p = await run(api, tw, "chair", RATE, rate_input(tw, period, "P1", "PROPERTY_FIRM", 90, 90, 90, 90))
    assert codes(p) == ["INVALID_TRANSITION"]
    res = (await api.gql(tw, "admin", RESULTS, {"p": period, "t": "PROPERTY_FIRM"}))["data"]["evaluationResults"]
    assert [(r["raters"], r["score"]) for r in res] == [(1, 90.0)]


async def test_rankings_equal_a_hand_computation(api: Api, fresh: World) -> None:
    tw = fresh.a
    period = await open_period(api, tw)
    given = [  # rater, compound, duties, transparency, liaison → weighted total (40/30/30)
        ("admin", "P1", 90, 80, 70),  # 81.00
        ("admin", "P2", 60, 60, 60),  # 60.00
        ("admin", "P3", 100, 90, 80),  # 91.00
        ("secretary", "P1", 80, 80, 80),  # 80.00
        ("secretary", "P2", 70, 50, 90),  # 70.00
        ("grid2", "P1", 85, 75, 65),  # 76.00
        ("grid2", "P2", 50, 40, 30),  # 41.00
        ("grid3", "P3", 70, 70, 70),  # 70.00
    ]
    totals = []
    for key, compound, *scores in given:
        p = await run(api, tw, key, RATE, rate_input(tw, period, compound, "OWNER_COMMITTEE", *scores))
        assert p["errors"] == [], (key, compound, p)
        totals.append(p["rating"]["total"])
    assert totals == [81.0, 60.0, 91.0, 80.0, 70.0, 76.0, 41.0, 70.0]
    # P1: (81+80+76)/3 = 79.00 · P2: (60+70+41)/3 = 57.00 · P3: (91+70)/2 = 80.50 → P3, P1, P2.
    expected = [("湖畔小区", 2, 80.5, 1), ("幸福小区", 3, 79.0, 2), ("老街小区", 3, 57.0, 3)]
    res = (await api.gql(tw, "admin", RESULTS, {"p": period, "t": "OWNER_COMMITTEE"}))["data"]["evaluationResults"]
    assert [(r["compound"]["name"], r["raters"], r["score"], r["rank"]) for r in res] == expected
    # Per item (duties, liaison, transparency): P3 (100+70)/2, (80+70)/2, (90+70)/2 · P1 (90+80+85)/3,
    # (70+80+65)/3, (80+80+75)/3 · P2 (60+70+50)/3, (60+90+30)/3, (60+50+40)/3.
    per_item = (await api.gql(tw, "admin", """query($p: ID!) { evaluationResults(periodId: $p, target: OWNER_COMMITTEE)
      { items { code average } } }""", {"p": period}))["data"]["evaluationResults"]
    assert [[(i["code"], i["average"]) for i in r["items"]] for r in per_item] == [
        [("duties", 85.0), ("liaison", 75.0), ("transparency", 80.0)],
        [("duties", 85.0), ("liaison", 71.67), ("transparency", 78.33)],
        [("duties", 60.0), ("liaison", 60.0), ("transparency", 50.0)]]
    # Each reader sees the rows of compounds they may read, with the tenant-wide rank.
    visible = {}
    for key in USERS:
        rows = (await api.gql(tw, key, RESULTS, {"p": period, "t": "OWNER_COMMITTEE"}))["data"]["evaluationResults"]
        visible[key] = [(r["rank"], r["raters"]) for r in rows]
    assert visible == {
        "admin": [(1, 2), (2, 3), (3, 3)], "secretary": [(2, 3), (3, 3)], "grid1": [(2, 3)],
        "grid2": [(2, 3), (3, 3)], "grid3": [(1, 2)], "chair": [(2, 3)], "firm": [(2, 3)],
        "resident": [(2, 3)], "resident4": [(1, 2)], "secretary2": [(1, 2), (2, 3)], "expired": [], "nobody": []}
    # Firm results: three raters of F1 at P1.
    for key, scores in (("resident", (80, 80, 80, 80)), ("chair", (90, 70, 60, 100)), ("grid1", (50, 60, 70, 80))):
        assert (await run(api, tw, key, RATE, rate_input(tw, period, "P1", "PROPERTY_FIRM", *scores)))["errors"] == []
    res = (await api.gql(tw, "resident", RESULTS, {"p": period, "t": "PROPERTY_FIRM"}))["data"]["evaluationResults"]
    # (80 + 79.5 + 63.5) / 3 = 74.33
    assert [(r["firmName"], r["raters"], r["score"], r["rank"]) for r in res] == [("安居物业", 3, 74.33, 1)]


async def test_cross_tenant_ids_give_nothing(api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    period = await open_period(api, a)
    await open_period(api, b)
    p = await run(api, b, "admin", RATE, rate_input(a, period, "P1", "PROPERTY_FIRM", 90, 90, 90, 90))
    assert codes(p) == ["NOT_FOUND"]
    body = await api.gql(b, "admin", RESULTS, {"p": period, "t": "PROPERTY_FIRM"}, allow_errors=True)
    assert body["data"] is None or body["data"]["evaluationResults"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    node = await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": period})
    assert node["data"]["node"] is None
