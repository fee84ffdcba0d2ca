"""The compiled settings lists (compiled/settings.py, compiled/sorted_lists.py, issue #21) answer exactly
what the resolvers answer: the case configuration lists, the categories, the care groups and the
property firms, each plain and as a connection.

As in test_compiled_notices.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken for those
the resolvers let read (staff: anyone holding a role; the categories and care groups: everyone), and
declined for the others, who get the resolvers' own answer (FORBIDDEN, or an empty list of firms).
Every page is walked by its cursor. The rows carry what the cursors and the JSON must get right: names
with quotes, backslashes and Chinese, equal names, a default rule without category, fractional and
whole amounts, inactive categories, overrides in two years."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world (one expired), and a user holding none
NOT_STAFF = frozenset({"expired", "nobody"})  # no live role: the staff lists are FORBIDDEN, no firms
YEAR = 2031

YEAR_ARG = ("year: $year", "$year: Int!")
ITEMS_ARGS = ("target: $target, includeInactive: $inactive", "$target: EvaluationTarget!, $inactive: Boolean")
# root list → (its node selection, whether only staff read it, (its other arguments, their variables))
LISTS: dict[str, tuple[str, bool, tuple[str, str] | None]] = {
    "caseCategorySettings": ("code name active", True, None),
    "slaRules": ("category priority amount unit", True, None),
    "calendarOverrides": ("day workday note", True, YEAR_ARG),
    "caseStageLimits": ("stage tier category amount unit", True, None),
    "caseCategoryRules": ("category requiresPhoto", True, None),
    "caseCategories": ("code name", False, None),
    "careTagKinds": ("code name", False, None),
    "propertyFirms": ("id name creditCode", True, None),
    "evaluationItems": ("code name weight active", False, ITEMS_ARGS),
    "evaluationPeriods": ("id month state closedAt", False, None),
}


def connection_query(name: str) -> str:
    sel, _, extra = LISTS[name]
    params = f", {extra[1]}" if extra else ""
    more = f", {extra[0]}" if extra else ""
    return (f"query Page($first: Int, $after: String{params}) {{ {name}Connection(first: $first, after: $after{more})"
            f" {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}"
            f" edges {{ cursor node {{ __typename {sel} }} }} nodes {{ {sel} }} }} }}")


def plain_query(name: str) -> str:
    sel, _, extra = LISTS[name]
    if extra:
        return f"query Plain({extra[1]}) {{ {name}({extra[0]}) {{ __typename {sel} }} }}"
    return f"query Plain {{ {name} {{ __typename {sel} }} }}"


def arguments(name: str) -> list[dict[str, Any]]:
    """The argument values each list is asked with (its variables besides first and after)."""
    extra = LISTS[name][2]
    if extra is YEAR_ARG:
        return [{"year": YEAR}, {"year": YEAR + 1}]
    if extra is ITEMS_ARGS:
        return [{"target": t, "inactive": i} for t in ("PROPERTY_FIRM", "OWNER_COMMITTEE") for i in (True, False)]
    return [{}]


def year_of(name: str) -> dict[str, Any]:
    return arguments(name)[0]


# What tests/compiled/test_compiled.py checks covers every field the compiler knows.
EQUIVALENCE_DOCUMENTS = (*(connection_query(n) for n in LISTS), *(plain_query(n) for n in LISTS))

MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    *[("setCaseCategory", "SetCaseCategoryInput", {"code": code, "name": label, "active": active})
      for code, label, active in (("zz_quote", '引号"与\\反斜杠', True), ("aa_first", "最先", True),
                                  ("mm_off", "停用类别", False), ("mm_same", "同名", True),
                                  ("mm_same2", "同名", False))],
    *[("setSlaRule", "SetSlaRuleInput", rule) for rule in (
        {"priority": "NORMAL", "amount": 3, "unit": "WORKING_DAYS"},
        {"priority": "URGENT", "amount": 0.5, "unit": "CALENDAR_HOURS"},
        {"priority": "HIGH", "amount": 2.5, "unit": "WORKING_HOURS", "category": "aa_first"},
        {"priority": "LOW", "amount": 10, "unit": "CALENDAR_DAYS", "category": "zz_quote"},
        {"priority": "NORMAL", "amount": 7.25, "unit": "CALENDAR_HOURS", "category": "zz_quote"})],
    *[("setCalendarOverride", "SetCalendarOverrideInput", {"day": d.isoformat(), "workday": w, "note": note})
      for d, w, note in ((date(YEAR, 2, 1), True, "春节调休"), (date(YEAR, 1, 2), False, None),
                         (date(YEAR, 10, 8), True, '"国庆"\\调休'), (date(YEAR, 5, 5), False, "五一"),
                         (date(YEAR + 1, 1, 1), False, "明年"))],
    *[("setCaseStageLimit", "SetCaseStageLimitInput", limit) for limit in (
        {"stage": "ACCEPT", "tier": "URGENT", "amount": 2, "unit": "CALENDAR_HOURS"},
        {"stage": "ACCEPT", "tier": "ORDINARY", "amount": 1.5, "unit": "WORKING_HOURS", "category": "aa_first"},
        {"stage": "DISPATCH", "tier": "EXPEDITED", "amount": 4, "unit": "WORKING_HOURS"},
        {"stage": "CALLBACK", "tier": "ORDINARY", "amount": 3, "unit": "WORKING_DAYS", "category": "zz_quote"},
        {"stage": "DISPATCH", "tier": "URGENT", "amount": 0.25, "unit": "CALENDAR_HOURS", "category": "zz_quote"})],
    *[("setCaseCategoryRule", "SetCaseCategoryRuleInput", {"category": c, "requiresPhoto": p})
      for c, p in (("zz_quote", True), ("aa_first", False), ("mm_same", True))],
    *[("createPropertyFirm", "CreatePropertyFirmInput", firm) for firm in (
        {"name": "绿城物业"}, {"name": "\"万科\"物业\\分公司", "creditCode": "91330100MA2AXXXX1X"},
        {"name": "阿里物业"}, {"name": "Zeta Property"})],
    *[("addCareTagKind", "AddCareTagKindInput", {"code": code, "name": label})
      for code, label in (("zz_tag", "末尾\"类别\""), ("aa_tag", "最先类别"))],
    *[("setEvaluationItems", "SetEvaluationItemsInput", {"target": "PROPERTY_FIRM", "items": [
        {"code": c, "name": n, "weight": w} for c, n, w in items]}) for items in (
        (("aa_x", "环境\"卫生\"", 30), ("bb_y", "秩序", 30), ("cc_z", "维修", 40)),
        (("cc_z", "维修", 25), ("dd_w", "绿化", 25), ("ee_v", "服务", 50)))],  # aa_x, bb_y: inactive since
    *[("openEvaluationPeriod", "OpenEvaluationPeriodInput", {"month": f"{YEAR}-{m:02d}-01"}) for m in (3, 1, 2, 11)],
]


@pytest.fixture(scope="module")
async def settings_tenant(api: Api, db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    for mutation, input_type, data in MUTATIONS:
        doc = f"mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ errors {{ code message field }} }} }}"
        r = await api.gql(tw, "admin", doc, {"i": data})
        assert r["data"][mutation]["errors"] == [], (mutation, data, r)
    return tw


def _readers(name: str) -> list[str]:
    return [u for u in USERS if not (LISTS[name][1] and u in NOT_STAFF)]


async def test_settings_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, settings_tenant: Any
                                                                              ) -> None:
    tw = settings_tenant
    walked: dict[str, int] = {}
    for name in LISTS:
        readers = _readers(name)
        for user in USERS:
            for args in arguments(name):
                compiled, resolved, taken = await both(api, tw, user, plain_query(name), args)
                assert compiled == resolved, (name, user, args, around(compiled, resolved))
                assert taken == (user in readers), (name, user, args, taken)
                for variables in ({}, {"first": 0}, {"first": 100}):
                    compiled, resolved, taken = await both(api, tw, user, connection_query(name), {**variables, **args})
                    assert compiled == resolved, (name, user, variables, args, around(compiled, resolved))
                    assert taken == (user in readers), (name, user, variables, args, taken)
                if user in readers:  # page by page from the cursors, to the end
                    walked[name] = max(walked.get(name, 0), await walk_pages(
                        api, tw, user, connection_query(name), f"{name}Connection", {"first": 2, **args}))
    assert all(walked[name] >= 2 for name in LISTS), walked  # every list ran to several pages


async def test_a_settings_list_has_real_content(api: Api, settings_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers or an order both paths got wrong alike."""
    tw = settings_tenant

    async def nodes(name: str, user: str = "admin") -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, connection_query(name), {"first": 100, **year_of(name)}))[0])
        conn = body["data"][f"{name}Connection"]
        assert conn["totalCount"] == len(conn["nodes"]), name
        return list(conn["nodes"])

    settings = await nodes("caseCategorySettings")
    codes = [n["code"] for n in settings]
    assert codes == sorted(codes) and {"zz_quote", "mm_off"} <= set(codes)
    assert {n["code"]: n["name"] for n in settings}["zz_quote"] == '引号"与\\反斜杠'
    offered = [n["code"] for n in await nodes("caseCategories", "resident")]
    assert "mm_off" not in offered and "zz_quote" in offered
    sla = await nodes("slaRules")
    assert sla[0]["category"] is None and {(n["category"], n["amount"]) for n in sla} >= {
        (None, 3.0), (None, 0.5), ("aa_first", 2.5), ("zz_quote", 7.25)}
    items = await nodes("evaluationItems")
    assert [(n["code"], n["active"]) for n in items][:3] == [("ee_v", True), ("cc_z", True), ("dd_w", True)]
    inactive = [n["code"] for n in items[3:] if not n["active"]]  # the defaults and aa_x, bb_y: set aside
    assert len(inactive) == len(items) - 3 and inactive.index("aa_x") + 1 == inactive.index("bb_y")
    assert next(n["name"] for n in items if n["code"] == "aa_x") == '环境"卫生"'
    assert [n["month"] for n in await nodes("evaluationPeriods", "resident")][:4] == [
        f"{YEAR}-11-01", f"{YEAR}-03-01", f"{YEAR}-02-01", f"{YEAR}-01-01"]
    days = [n["day"] for n in await nodes("calendarOverrides")]
    assert days == [f"{YEAR}-01-02", f"{YEAR}-02-01", f"{YEAR}-05-05", f"{YEAR}-10-08"]
    stages = [(n["stage"], n["category"], n["tier"]) for n in await nodes("caseStageLimits")]
    assert stages[0] == ("ACCEPT", None, "URGENT") and ("CALLBACK", "zz_quote", "ORDINARY") in stages
    assert [n["category"] for n in await nodes("caseCategoryRules")] == ["aa_first", "mm_same", "zz_quote"]
    firms = [n["name"] for n in await nodes("propertyFirms", "resident")]
    assert firms == sorted(firms) and '"万科"物业\\分公司' in firms
    assert await nodes("propertyFirms", "nobody") == []
    assert next(n["code"] for n in await nodes("careTagKinds", "nobody")) == "aa_tag"


async def test_a_bad_settings_argument_is_the_resolvers_error_either_way(api: Api, settings_tenant: Any) -> None:
    """A page size out of range, a bad cursor, another list's cursor, a year out of range, an actor
    without a role: the resolvers' typed errors, the same bytes whichever path was tried first."""
    tw = settings_tenant
    other = orjson.loads((await both(api, tw, "admin", connection_query("caseCategories"), {"first": 1}))[0])
    foreign = other["data"]["caseCategoriesConnection"]["pageInfo"]["endCursor"]  # same key types, another list
    bad: list[dict[str, Any]] = [{"first": 101}, {"first": -1}, {"after": "not-a-cursor"}, {"after": foreign}]
    for name in LISTS:
        for user in ("admin", "resident", "nobody"):
            for variables in bad:
                if name == "caseCategories" and variables.get("after") == foreign:
                    continue  # its own cursor
                compiled, resolved, _ = await both(api, tw, user, connection_query(name),
                                                   {**variables, **year_of(name)})
                assert compiled == resolved and b'"errors"' in compiled, (name, user, variables, compiled)
    for user in ("admin", "expired"):
        for query in (plain_query("calendarOverrides"), connection_query("calendarOverrides")):
            compiled, resolved, taken = await both(api, tw, user, query, {"year": 1999})
            assert compiled == resolved and b'"errors"' in compiled and not taken, (user, compiled)
    compiled, resolved, _ = await both(api, tw, "nobody", plain_query("slaRules"), {})
    assert compiled == resolved and b"FORBIDDEN" in compiled, compiled


async def test_a_compiled_settings_list_is_one_statement_whatever_the_page_size(api: Api, settings_tenant: Any
                                                                                 ) -> None:
    tw = settings_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    for name in LISTS:
        state.compiled_reads = False
        try:
            _, baseline = await api.counted(tw, "admin", "query { __typename }")
            _, resolved = await api.counted(tw, "admin", connection_query(name), {"first": 50, **year_of(name)})
        finally:
            state.compiled_reads = True
        counts = {}
        for first in (1, 50):
            _, counts[first] = await api.counted(tw, "admin", connection_query(name), {"first": first, **year_of(name)})
        _, counts[0] = await api.counted(tw, "admin", plain_query(name), year_of(name))
        assert counts[1] == counts[50] == counts[0] == baseline + 1, (name, counts, baseline)
        assert resolved > baseline + 1, (name, resolved)  # the resolvers need more: the comparison means something
