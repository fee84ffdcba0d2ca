"""The compiled problem and echo walls (compiled/walls.py, issue #21) answer exactly what the resolvers
answer: every world user, each compound, page by page from the cursors, both paths the same bytes and the
compiled one taken; a bad compound, page size or cursor is the resolvers' error either way; a filtered
page is left to the resolvers; a compiled wall is one statement after the request's start-up. Residents
of two compounds report cases (they go on the wall); one is answered, so the echo wall has it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.compiled import around, both, module_tenant
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

ENTRY = "__typename number title description category state reportedAt answer answeredAt area { __typename id name }"
PROBLEMS = """query($c: ID!, $first: Int, $after: String) { problemWall(compoundId: $c, first: $first, after: $after) {
  __typename hasNextPage endCursor nodes { @E } } }""".replace("@E", ENTRY)
ECHOES = """query($c: ID!, $first: Int, $after: String) { echoWall(compoundId: $c, first: $first, after: $after) {
  hasNextPage endCursor nodes { @E } } }""".replace("@E", ENTRY)
BOTH = """query($c: ID!) { p: problemWall(compoundId: $c, first: 2) { hasNextPage nodes { title } }
  e: echoWall(compoundId: $c) { endCursor nodes { title answer } } }"""
# as bench/mix_ops.py sends them
MIX = ("""query Wall($c: ID!) { problemWall(compoundId: $c, first: 20) { hasNextPage endCursor nodes { number title
        category state reportedAt answer area { name } } } }""",
       """query Echo($c: ID!) { echoWall(compoundId: $c, first: 20) { hasNextPage endCursor nodes { number title
        category state reportedAt answer answeredAt } } }""")

# what tests/compiled/test_compiled.py counts as compared
EQUIVALENCE_DOCUMENTS = (PROBLEMS, ECHOES, BOTH, *MIX)

REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"
STEPS = (("acceptCase", "CaseTransitionInput", {}),
         ("dispatchCase", "DispatchCaseInput", {"handlerKind": "COMMUNITY", "communityId": "C1"}),
         ("startCase", "CaseTransitionInput", {}), ("resolveCase", "ResolveCaseInput", {"resolution": "已疏通"}))
# (reporter, building, category, title)
REPORTS = (("resident", "B1", "drainage", "下水道堵塞"), ("resident", "B2", "garbage", "垃圾满溢"),
           ("resident", "B1", "garbage", "楼道堆物"), ("resident4", "B4", "drainage", "雨水井冒水"),
           ("resident", "B2", "drainage", "化粪池异味"))


@pytest.fixture(scope="module")
async def wall_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    ids = {}
    for who, building, category, title in REPORTS:
        r = await api.gql(tw, who, REPORT, {"i": {"areaId": area(tw, building), "category": category,
                                                  "title": title}})
        assert r["data"]["reportCase"]["errors"] == [], (title, r)
        ids[title] = r["data"]["reportCase"]["case"]["id"]
    for title in ("下水道堵塞", "化粪池异味"):
        for step, kind, extra in STEPS:
            values = {k: area(tw, v) if k == "communityId" else v for k, v in extra.items()}
            r = await api.gql(tw, "grid1" if title == "下水道堵塞" else "admin",
                              f"mutation($i: {kind}!) {{ {step}(input: $i) {{ errors {{ code }} }} }}",
                              {"i": {"id": ids[title], **values}})
            assert r["data"][step]["errors"] == [], (step, r)
    return tw, ids


async def test_walls_compile_to_the_resolvers_answer_for_every_user(api: Api, wall_tenant: Any) -> None:
    tw, _ = wall_tenant
    walked = 0
    for user in USERS:
        for compound in ("P1", "P2", "P3"):
            c = area(tw, compound)
            for document in (PROBLEMS, ECHOES):
                for variables in ({"c": c}, {"c": c, "first": 0}, {"c": c, "first": 50}):
                    compiled, resolved, taken = await both(api, tw, user, document, variables)
                    assert taken and compiled == resolved, (user, compound, around(compiled, resolved))
            for document in (BOTH, *MIX):
                compiled, resolved, taken = await both(api, tw, user, document, {"c": c})
                assert taken and compiled == resolved, (user, compound, around(compiled, resolved))
            walked += await _walk(api, tw, user, PROBLEMS, "problemWall", c)
    assert walked > len(USERS) * 3 + 5, walked  # a walk is at least one page: some walls ran to several


async def _walk(api: Api, tw: TenantWorld, user: str, document: str, field: str, compound: str) -> int:
    """walk_pages for a wall: its connection has no pageInfo, so each page's end cursor is read here."""
    pages, variables = 0, {"c": compound, "first": 1}
    for _ in range(10):
        compiled, resolved, taken = await both(api, tw, user, document, variables)
        assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
        pages += 1
        data = orjson.loads(compiled)["data"]
        if data is None:  # a compound the user may not read: NOT_FOUND, compared above
            return pages
        page = data[field]
        if not page["hasNextPage"]:
            return pages
        variables = {**variables, "after": page["endCursor"]}
    return pages


async def test_the_compared_walls_have_content(api: Api, wall_tenant: Any) -> None:
    tw, _ = wall_tenant

    async def titles(user: str, document: str, field: str, compound: str) -> list[str]:
        body = orjson.loads((await both(api, tw, user, document, {"c": area(tw, compound), "first": 50}))[0])
        return [n["title"] for n in body["data"][field]["nodes"]]

    assert await titles("resident", PROBLEMS, "problemWall", "P1") == [
        "化粪池异味", "楼道堆物", "垃圾满溢", "下水道堵塞"]
    assert await titles("resident", ECHOES, "echoWall", "P1") == ["化粪池异味", "下水道堵塞"]
    assert await titles("resident4", PROBLEMS, "problemWall", "P3") == ["雨水井冒水"]
    assert await titles("admin", PROBLEMS, "problemWall", "P2") == []


async def test_a_bad_wall_argument_is_the_resolvers_answer_either_way(api: Api, wall_tenant: Any) -> None:
    tw, _ = wall_tenant
    for user in ("admin", "resident", "nobody"):
        for variables in ({"c": area(tw, "B1")}, {"c": encode_global_id("Compound", tw.tenant_id)},
                          {"c": area(tw, "P1"), "first": 101}, {"c": area(tw, "P1"), "after": "not-a-cursor"}):
            compiled, resolved, _ = await both(api, tw, user, PROBLEMS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)
    filtered = """query($c: ID!) { problemWall(compoundId: $c, filter: {category: "garbage"}) { nodes { title } } }"""
    compiled, resolved, taken = await both(api, tw, "resident", filtered, {"c": area(tw, "P1")})
    assert not taken and compiled == resolved and b"garbage" not in compiled


async def test_a_compiled_wall_is_one_statement(api: Api, wall_tenant: Any) -> None:
    tw, _ = wall_tenant
    c = area(tw, "P1")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "resident", "query { __typename }")
        _, resolved = await api.counted(tw, "resident", MIX[0], {"c": c})
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "resident", doc, {"c": c}))[1] for doc in (*MIX, BOTH)]
    assert counts == [baseline + 1] * 3, (counts, baseline)
    assert resolved > baseline + 1, resolved

