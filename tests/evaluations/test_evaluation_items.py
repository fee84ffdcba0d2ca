"""Evaluation items and weights kept by the street admin (issue #6): only evaluation·manage (street
admin, all) may set them; bad lists are refused with field errors and change nothing; a period rates
by the items it opened with (a snapshot), so a change applies to periods opened after it; results
carry per-item means equal to a hand computation, under the default and under changed weights.
"""

from __future__ import annotations

from typing import Any

from tests.support.evaluations import RATE, open_period, rate_input, shift, this_month
from tests.support.harness import Api, World
from tests.support.volunteering import ERR, USERS, area, codes, run
from tests.support.world import TenantWorld

SET = f"""mutation($in: SetEvaluationItemsInput!) {{ setEvaluationItems(input: $in) {{
  items {{ code name weight active }} {ERR} }} }}"""
ITEMS = """query($t: EvaluationTarget!, $all: Boolean!) {
  evaluationItems(target: $t, includeInactive: $all) { code name weight active } }"""
PERIOD_ITEMS = """query($id: ID!) { node(id: $id) { ... on EvaluationPeriod {
  firm: items(target: PROPERTY_FIRM) { code weight } committee: items(target: OWNER_COMMITTEE) { code weight } } } }"""
RESULTS = """query($p: ID!, $t: EvaluationTarget!) { evaluationResults(periodId: $p, target: $t) {
  compound { name } raters score rank items { code name weight average } } }"""

DEFAULT_FIRM = [("cleanliness", 30), ("repairs", 25), ("security", 25), ("attitude", 20)]
DEFAULT_COMMITTEE = [("duties", 40), ("liaison", 30), ("transparency", 30)]
NEW_COMMITTEE = [("duties", "履职尽责", 50), ("openness", "信息公开", 25), ("liaison", "沟通协调", 25)]


def items_input(target: str, items: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {"in": {"target": target, "items": [{"code": c, "name": n, "weight": w} for c, n, w in items]}}


async def items_of(api: Api, tw: TenantWorld, target: str, include_inactive: bool = False) -> list[tuple[Any, ...]]:
    rows = (await api.gql(tw, "resident", ITEMS, {"t": target, "all": include_inactive}))["data"]["evaluationItems"]
    return [(r["code"], r["weight"], r["active"]) for r in rows]


async def test_only_the_street_admin_sets_items(api: Api, fresh: World) -> None:
    tw = fresh.a
    for key in USERS:
        p = await run(api, tw, key, SET, items_input("OWNER_COMMITTEE", NEW_COMMITTEE))
        if key == "admin":
            assert p["errors"] == [], p
            assert [(i["code"], i["weight"]) for i in p["items"]] == [("duties", 50), ("liaison", 25), ("openness", 25)]
        else:
            assert codes(p) == ["FORBIDDEN"], (key, p)
    assert await items_of(api, tw, "OWNER_COMMITTEE", include_inactive=True) == [
        ("duties", 50, True), ("liaison", 25, True), ("openness", 25, True), ("transparency", 30, False)]
    # Reactivating a deactivated item and changing a name work too.
    p = await run(api, tw, "admin", SET, items_input("OWNER_COMMITTEE", [
        ("duties", "履职", 40), ("transparency", "公开透明", 30), ("liaison", "沟通协调", 30)]))
    assert p["errors"] == []
    assert await items_of(api, tw, "OWNER_COMMITTEE", include_inactive=True) == [
        ("duties", 40, True), ("liaison", 30, True), ("transparency", 30, True), ("openness", 25, False)]
    # The other tenant's items are untouched.
    assert [(c, w) for c, w, _ in await items_of(api, fresh.b, "OWNER_COMMITTEE", True)] == DEFAULT_COMMITTEE


async def test_bad_item_lists_are_refused_and_change_nothing(api: Api, fresh: World) -> None:
    tw = fresh.a
    cases: list[tuple[list[tuple[str, str, int]], list[tuple[str, str | None]]]] = [
        ([("a", "甲", 50), ("b", "乙", 40)], [("INVALID", "items")]),  # totals 90
        ([("a", "甲", 100), ("b", "乙", 0)], [("INVALID", "items.1.weight")]),
        ([("a", "甲", 110), ("b", "乙", -10)], [("INVALID", "items.1.weight")]),
        ([("a", "甲", 50), ("a", "乙", 50)], [("INVALID", "items.1.code")]),
        ([("Bad Code", "甲", 50), ("b", "", 50)], [("INVALID", "items.0.code"), ("INVALID", "items.1.name")]),
        ([("a", "甲" * 51, 100)], [("TOO_LONG", "items.0.name")]),
        ([], [("INVALID", "items")]),
    ]
    before = await items_of(api, tw, "PROPERTY_FIRM", include_inactive=True)
    for given, expected in cases:
        p = await run(api, tw, "admin", SET, items_input("PROPERTY_FIRM", given))
        assert p["items"] is None
        assert [(e["code"], e["field"]) for e in p["errors"]] == expected, (given, p)
    assert await items_of(api, tw, "PROPERTY_FIRM", include_inactive=True) == before
    assert [(c, w) for c, w, _ in before] == DEFAULT_FIRM


async def test_a_period_keeps_the_items_it_opened_with(api: Api, fresh: World) -> None:
    tw = fresh.a
    current = await open_period(api, tw)
    assert (await run(api, tw, "admin", SET, items_input("OWNER_COMMITTEE", NEW_COMMITTEE)))["errors"] == []
    nxt = await open_period(api, tw, shift(this_month(), 1))
    got = (await api.gql(tw, "admin", PERIOD_ITEMS, {"id": current}))["data"]["node"]
    assert [(i["code"], i["weight"]) for i in got["committee"]] == DEFAULT_COMMITTEE
    assert [(i["code"], i["weight"]) for i in got["firm"]] == DEFAULT_FIRM
    got = (await api.gql(tw, "admin", PERIOD_ITEMS, {"id": nxt}))["data"]["node"]
    assert [(i["code"], i["weight"]) for i in got["committee"]] == [("duties", 50), ("liaison", 25), ("openness", 25)]
    # The open period is rated by its own items: the old three, not the new ones.
    assert (await run(api, tw, "admin", RATE, rate_input(tw, current, "P1", "OWNER_COMMITTEE", 90, 80, 70))
            )["errors"] == []
    new_scores = {"in": {"periodId": current, "target": "OWNER_COMMITTEE", "compoundId": area(tw, "P2", "Compound"),
                         "scores": [{"item": c, "score": 80} for c, _, _ in NEW_COMMITTEE]}}
    p = await run(api, tw, "secretary", RATE, new_scores)
    assert codes(p) == ["INVALID"] and p["errors"][0]["field"] == "scores"


async def test_per_item_means_and_ranking_under_changed_weights(api: Api, fresh: World) -> None:
    tw = fresh.a
    assert (await run(api, tw, "admin", SET, items_input("OWNER_COMMITTEE", NEW_COMMITTEE)))["errors"] == []
    period = await open_period(api, tw)
    given = [  # rater, compound, duties, openness, liaison → weighted total (50/25/25)
        ("admin", "P1", 90, 80, 70),  # 82.50
        ("admin", "P2", 60, 60, 61),  # 60.25
        ("admin", "P3", 100, 90, 80),  # 92.50
        ("secretary", "P1", 80, 80, 80),  # 80.00
        ("secretary", "P2", 70, 50, 90),  # 70.00
        ("grid2", "P1", 85, 75, 65),  # 77.50
        ("grid3", "P3", 70, 70, 71),  # 70.25
    ]
    totals = []
    for key, compound, d, o, li in given:
        inp = {"in": {"periodId": period, "target": "OWNER_COMMITTEE", "compoundId": area(tw, compound, "Compound"),
                      "scores": [{"item": "duties", "score": d}, {"item": "openness", "score": o},
                                 {"item": "liaison", "score": li}]}}
        p = await run(api, tw, key, RATE, inp)
        assert p["errors"] == [], (key, compound, p)
        totals.append(p["rating"]["total"])
    assert totals == [82.5, 60.25, 92.5, 80.0, 70.0, 77.5, 70.25]
    # P3: (92.5+70.25)/2 = 81.375 → 81.38; P1: (82.5+80+77.5)/3 = 80.00; P2: (60.25+70)/2 = 65.125 → 65.13.
    # Per item (duties, liaison, openness — the period's order: weight, then code):
    # P3: (100+70)/2=85, (80+71)/2=75.5, (90+70)/2=80 · P1: 85, (70+80+65)/3=71.67, (80+80+75)/3=78.33
    # P2: (60+70)/2=65, (61+90)/2=75.5, (60+50)/2=55.
    res = (await api.gql(tw, "admin", RESULTS, {"p": period, "t": "OWNER_COMMITTEE"}))["data"]["evaluationResults"]
    assert [(r["compound"]["name"], r["raters"], r["score"], r["rank"],
             [(i["code"], i["weight"], i["average"]) for i in r["items"]]) for r in res] == [
        ("湖畔小区", 2, 81.38, 1, [("duties", 50, 85.0), ("liaison", 25, 75.5), ("openness", 25, 80.0)]),
        ("幸福小区", 3, 80.0, 2, [("duties", 50, 85.0), ("liaison", 25, 71.67), ("openness", 25, 78.33)]),
        ("老街小区", 2, 65.13, 3, [("duties", 50, 65.0), ("liaison", 25, 75.5), ("openness", 25, 55.0)]),
    ]
    assert res[0]["items"][2]["name"] == "信息公开"
    # A reader sees the per-item figures of the rows they may read, nothing more (the chair: P1 only).
    rows = (await api.gql(tw, "chair", RESULTS, {"p": period, "t": "OWNER_COMMITTEE"}))["data"]["evaluationResults"]
    assert [(r["compound"]["name"], r["rank"], [i["average"] for i in r["items"]]) for r in rows] == [
        ("幸福小区", 2, [85.0, 71.67, 78.33])]
