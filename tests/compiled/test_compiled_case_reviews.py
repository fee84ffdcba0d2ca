"""The compiled reviews lists (compiled/case_reviews.py, issue #21) answer exactly what the resolvers answer:
``caseReviews(areaId:)`` and ``caseReviewsConnection(areaId:, first:, after:)``.

As in test_compiled_settings.py: every world user asks for the reviews of every area of the world,
compiled, then through strawberry's resolvers, and both bodies must be the same bytes; the compiled
path is taken for whoever holds a statistics grant (the resolvers' own statement decides which areas
that reaches), and declined for the others (the resolvers answer an empty list) and for the recorded
figures. Every page is walked by its cursor. The reviews share period starts (the order's second key,
the id, decides), carry quotes, backslashes, Chinese and no decisions; a compiled request is one
statement after the request's start-up."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.compiled import around, both, compiled_statements, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none
AREAS = ("S", "C1", "C2", "Z1", "P1", "P3", "G1", "B1")

NODE = "__typename id periodStart periodEnd summary decisions"
CONNECTION = f"""query Page($areaId: ID!, $first: Int, $after: String) {{
  caseReviewsConnection(areaId: $areaId, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {NODE} }} }} nodes {{ id summary }} }} }}"""
PLAIN = f"query Plain($areaId: ID!) {{ caseReviews(areaId: $areaId) {{ {NODE} }} }}"
FRAGMENTS = """query F($areaId: ID!) { a: caseReviews(areaId: $areaId) { ...R }
  b: caseReviewsConnection(areaId: $areaId, first: 1) { totalCount edges { node { ... on Node { id } ...R } } }
  c: caseReviewsConnection(areaId: $areaId) { __typename totalCount } }
fragment R on CaseReview { id s: summary periodEnd }"""
WITH_FIGURES = "query W($areaId: ID!) { caseReviews(areaId: $areaId) { id statistics { total } } }"

# What tests/compiled/test_compiled.py checks covers every field the compiler knows.
EQUIVALENCE_DOCUMENTS = (CONNECTION, PLAIN, FRAGMENTS)

CREATE = "mutation($i: CreateCaseReviewInput!) { createCaseReview(input: $i) { errors { code message field } } }"
# (area, start, end, summary, decisions): several in C1 with equal starts, one in C2, one for the street
REVIEWS_OF_THE_WORLD = (
    ("C1", "2026-04-01", "2026-04-30", "4月复盘", "排水问题列入5月重点"),
    ("C1", "2026-04-01", "2026-04-15", '上半月"复盘"\\反斜杠', None),
    ("C1", "2026-04-01", "2026-04-07", "第一周", ""),
    ("C1", "2026-05-01", "2026-05-31", "5月复盘", "无"),
    ("C1", "2026-03-01", "2026-03-31", "3月复盘", None),
    ("C2", "2026-04-01", "2026-04-30", "二社区4月", "继续"),
    ("S", "2026-04-01", "2026-04-30", "街道4月", None),
)


@pytest.fixture(scope="module")
async def reviews_tenant(api: Api, db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    for where, start, end, summary, decisions in REVIEWS_OF_THE_WORLD:
        r = await api.gql(tw, "admin", CREATE, {"i": {"areaId": area(tw, where), "periodStart": start,
                                                      "periodEnd": end, "summary": summary, "decisions": decisions}})
        assert r["data"]["createCaseReview"]["errors"] == [], (where, start, r)
    return tw


async def _readers(api: Api, tw: TenantWorld) -> set[str]:
    """Who reads any review at all (their statistics grant reaches C1), by the resolvers."""
    out = set()
    for user in USERS:
        _, resolved, _ = await both(api, tw, user, PLAIN, {"areaId": area(tw, "C1")})
        if orjson.loads(resolved)["data"]["caseReviews"]:
            out.add(user)
    return out


async def test_case_reviews_compile_to_the_resolvers_answer_for_every_user(api: Api, reviews_tenant: Any) -> None:
    tw = reviews_tenant
    readers = await _readers(api, tw)
    assert {"admin", "secretary"} <= readers and "nobody" not in readers, readers
    taken_by: set[str] = set()
    walked = 0
    for user in USERS:
        for where in AREAS:
            args = {"areaId": area(tw, where)}
            for query, variables in ((PLAIN, {}), (FRAGMENTS, {}), (CONNECTION, {}), (CONNECTION, {"first": 0}),
                                     (CONNECTION, {"first": 100})):
                compiled, resolved, taken = await both(api, tw, user, query, {**args, **variables})
                assert compiled == resolved, (user, where, variables, around(compiled, resolved))
                if taken:
                    taken_by.add(user)
            if user in readers and where == "C1":
                walked = max(walked, await walk_pages(api, tw, user, CONNECTION, "caseReviewsConnection",
                                                      {**args, "first": 2}))
    assert readers <= taken_by and "nobody" not in taken_by, (readers, taken_by)
    assert walked >= 3, walked  # five reviews in C1, two a page


async def test_the_reviews_have_real_content_in_one_statement(api: Api, reviews_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers or an order both paths got wrong alike."""
    tw = reviews_tenant
    with compiled_statements() as made:
        body = orjson.loads((await both(api, tw, "secretary", CONNECTION, {"areaId": area(tw, "C1"), "first": 100}))[0])
    assert made and made[0] is not None
    conn = body["data"]["caseReviewsConnection"]
    rows = [(e["node"]["periodStart"], e["node"]["periodEnd"], e["node"]["summary"]) for e in conn["edges"]]
    assert conn["totalCount"] == 5 and rows[0][0] == "2026-05-01" and rows[-1][0] == "2026-03-01", rows
    same_start = [r for r in rows if r[0] == "2026-04-01"]  # newest recorded first: the ids are uuid7
    assert [r[1] for r in same_start] == ["2026-04-07", "2026-04-15", "2026-04-30"], same_start
    assert '上半月"复盘"\\反斜杠' in [r[2] for r in rows]
    assert [e["node"]["decisions"] for e in conn["edges"]].count(None) == 3  # "" is recorded as none


async def test_declined_reviews_are_the_resolvers_answer(api: Api, reviews_tenant: Any) -> None:
    """The recorded figures, a bad or foreign id, a bad page size or cursor: declined, the same bytes."""
    tw = reviews_tenant
    c1 = area(tw, "C1")
    _, _, taken = await both(api, tw, "admin", WITH_FIGURES, {"areaId": c1})
    assert not taken
    other = orjson.loads((await both(api, tw, "admin", "query { caseCategoriesConnection(first: 1) { pageInfo "
                                     "{ endCursor } } }", {}))[0])
    foreign = other["data"]["caseCategoriesConnection"]["pageInfo"]["endCursor"]
    for variables in ({"areaId": "not-an-id"}, {"areaId": encode_global_id("Case", tw.areas["C1"])},
                      {"areaId": c1, "first": 101}, {"areaId": c1, "first": -1},
                      {"areaId": c1, "after": "not-a-cursor"}, {"areaId": c1, "after": foreign}):
        for query in (PLAIN, CONNECTION, WITH_FIGURES):
            compiled, resolved, taken = await both(api, tw, "admin", query, variables)
            assert compiled == resolved, (query, variables, around(compiled, resolved))
            bad_area = variables["areaId"] != c1
            assert ("errors" in orjson.loads(compiled)) == (bad_area or query == CONNECTION), (query, variables)
            assert not taken or not (bad_area or query == CONNECTION), (query, variables)


async def test_a_compiled_review_list_is_one_statement_whatever_the_page_size(api: Api, reviews_tenant: Any) -> None:
    tw = reviews_tenant
    args = {"areaId": area(tw, "C1")}
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "secretary", "query { __typename }")
        _, resolved = await api.counted(tw, "secretary", CONNECTION, {"first": 50, **args})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "secretary", CONNECTION, {"first": first, **args})
    _, counts[0] = await api.counted(tw, "secretary", PLAIN, args)
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need more: the comparison means something
