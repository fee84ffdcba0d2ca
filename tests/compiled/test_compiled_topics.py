"""The compiled topics list (compiled/topics.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The topics lie in areas above and below the
users' scopes, in several states, proposed by several users; two have owners' votes, one with ballots
cast, one closed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.support.compiled import agree, both, module_tenant, walk_pages
from tests.support.deliberation import ACCEPT, CLOSE, DECIDE, area, cast, codes, open_vote, propose
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

TOPIC_SELECTION = """
  __typename id title description state proposedAt decision decidedAt declineReason cancelReason review version
  area { __typename id name kind }
  proposer { username displayName }
  vote { __typename id matter question state closesAt closedAt ballotsCast
         compound { id name } building { id name } }
"""

TOPICS = """
query Topics($first: Int, $after: String, $areaId: ID, $states: [TopicState!]) {
  topics(first: $first, after: $after, areaId: $areaId, states: $states) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @TOPIC } }
    nodes { id title }
  }
}
""".replace("@TOPIC", TOPIC_SELECTION)

# The chair's list as bench/mix_ops.py sends it, and fragments and aliases.
PORTAL = """
query { topics(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id title state proposedAt
        version area { name } proposer { displayName } vote { id state closesAt ballotsCast } } } }
"""
TOPICS_FRAGMENTS = """
query { a: topics(first: 1) { nodes { ...F } }
        b: topics(states: [ACCEPTED]) { edges { node { ... on Node { id } ...F } } }
        c: topics { totalCount } d: topics(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Topic { id t: title state ...G }
fragment G on Topic { vote { state ballotsCast } }
"""

TOPIC_DOCUMENTS = (TOPICS, PORTAL, TOPICS_FRAGMENTS)

# (proposer, area, title), as tests/deliberation's topic lists: compounds, a building, communities, the street.
TOPICS_OF_THE_WORLD = (("chair", "P1", "加装电梯"), ("grid1", "B1", "楼道照明"), ("secretary", "P2", "老街停车"),
                       ("secretary2", "P3", "湖畔绿化"), ("admin", "C2", "社区食堂"), ("admin", "S", "街道规划"),
                       ("resident", "B1", "垃圾分类"), ("chair", "P1", "已表决议题"), ("chair", "P1", "已决议题"))


@pytest.fixture(scope="module")
async def topic_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    ids = {}
    for who, where, title in TOPICS_OF_THE_WORLD:
        r = await propose(api, tw, who, where, title, description=f"{title}的说明")
        assert codes(r) == [], (who, where, r)
        ids[title] = str(r["topic"]["id"])
    for title in ("加装电梯", "已表决议题", "已决议题", "社区食堂"):
        r = await api.gql(tw, "admin", ACCEPT, {"i": {"id": ids[title]}})
        assert r["data"]["acceptTopic"]["errors"] == [], title
    r = await api.gql(tw, "chair", DECIDE, {"i": {"id": ids["已决议题"], "text": "同意实施"}})
    assert r["data"]["decideTopic"]["errors"] == []
    open_one = await open_vote(api, tw, ids["加装电梯"])
    assert codes(await cast(api, tw, "resident", open_one, "YES")) == []
    assert codes(await cast(api, tw, "chair", open_one, "NO")) == []
    closed = await open_vote(api, tw, ids["已表决议题"], matter="OTHER")
    assert codes(await cast(api, tw, "chair", closed, "YES")) == []
    r = await api.gql(tw, "chair", CLOSE, {"i": {"id": closed}})
    assert r["data"]["closeVote"]["errors"] == []
    return tw, ids


async def test_topic_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, topic_tenant: Any) -> None:
    tw, _ = topic_tenant
    areas = [area(tw, k) for k in ("S", "C1", "P1", "B1", "C2")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 50, "states": ["ACCEPTED", "DECIDED"]},
                                   {"states": ["PROPOSED"]}]
    pages += [{"areaId": a} for a in areas] + [{"areaId": areas[2], "states": ["ACCEPTED"]}]
    seen_pages = 0
    for user in USERS:
        for variables in pages:
            await agree(api, tw, user, TOPICS, variables)
        for document in (PORTAL, TOPICS_FRAGMENTS):
            await agree(api, tw, user, document, {})
        variables = {"first": 2}
        # page by page from the cursors, to the end
        seen_pages += await walk_pages(api, tw, user, TOPICS, "topics", variables, 20)
    assert seen_pages > 2 * len(USERS), seen_pages  # several users' lists ran to several pages


async def test_a_topic_list_has_real_content(api: Api, topic_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers: what the lists hold."""
    tw, _ = topic_tenant

    async def nodes(user: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, TOPICS, {"first": 50, **variables}))[0])
        conn = body["data"]["topics"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"] for e in conn["edges"]]

    everything = [t for _, _, t in reversed(TOPICS_OF_THE_WORLD)]
    assert [n["title"] for n in await nodes("admin", {})] == everything  # newest first
    by_title = {n["title"]: n for n in await nodes("admin", {})}
    assert by_title["加装电梯"]["vote"]["ballotsCast"] == 2 and by_title["加装电梯"]["vote"]["state"] == "OPEN"
    assert by_title["已表决议题"]["vote"]["state"] == "CLOSED" and by_title["已表决议题"]["vote"]["closedAt"]
    assert by_title["已决议题"]["state"] == "DECIDED" and by_title["已决议题"]["decision"] == "同意实施"
    assert by_title["街道规划"]["vote"] is None and by_title["加装电梯"]["vote"]["compound"]["name"] == "幸福小区"
    assert by_title["垃圾分类"]["proposer"]["username"] == tw.username("resident")
    accepted = {n["title"] for n in await nodes("admin", {"states": ["ACCEPTED"]})}
    assert accepted == {"加装电梯", "已表决议题", "社区食堂"}
    # the resident: the own compound and what lies above it (tests/deliberation's hand count)
    assert {n["title"] for n in await nodes("resident", {})} == {"加装电梯", "楼道照明", "街道规划", "垃圾分类",
                                                                 "已表决议题", "已决议题"}
    assert await nodes("nobody", {}) == []
    assert {n["title"] for n in await nodes("admin", {"areaId": area(tw, "C2")})} == {"湖畔绿化", "社区食堂"}


async def test_a_bad_topic_argument_is_the_resolvers_error_either_way(api: Api, topic_tenant: Any) -> None:
    tw, _ = topic_tenant
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"}]
    for user in ("admin", "resident", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, TOPICS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_topic_list_with_a_field_not_compiled_takes_the_general_path(api: Api, topic_tenant: Any) -> None:
    tw, _ = topic_tenant
    query = "query { topics { nodes { title steps { seq } vote { myBallot { choice } } } } }"
    compiled, resolved, taken = await both(api, tw, "resident", query, {})
    assert not taken and compiled == resolved and b"myBallot" in compiled


async def test_a_compiled_topic_list_is_one_statement_whatever_the_page_size(api: Api, topic_tenant: Any
                                                                              ) -> None:
    tw, _ = topic_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "chair", "query { __typename }")
        _, resolved = await api.counted(tw, "chair", TOPICS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "chair", TOPICS, {"first": first})
    _, counts[0] = await api.counted(tw, "chair", TOPICS, {"first": 2, "areaId": area(tw, "P1")})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
