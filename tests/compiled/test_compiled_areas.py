"""The compiled areas list and Area.parent (compiled/areas.py, issue #21) answer exactly what the
resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. The world's fourteen areas are of every kind,
with and without codes and management; one grid is archived."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from models import Area
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import agree, around, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

AREA_SELECTION = """
  __typename id name kind code description version archivedAt
  ... on Compound { propertyManagement } ... on Building { floors unitCount }
  parent { __typename id name kind ... on Compound { propertyManagement } parent { name } }
"""

AREAS = """
query Areas($first: Int, $after: String, $kind: AreaKind, $parentId: ID, $within: ID, $search: String,
            $propertyManagement: PropertyManagement, $includeArchived: Boolean! = false) {
  areas(first: $first, after: $after, kind: $kind, parentId: $parentId, within: $within, search: $search,
        propertyManagement: $propertyManagement, includeArchived: $includeArchived) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @AREA } }
    nodes { id name }
  }
}
""".replace("@AREA", AREA_SELECTION)

# The area picker as bench/mix_ops.py sends it, and fragments, aliases and a list asked twice.
PORTAL = """
query Areas { areas(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id name kind code
  parent { name } } } }
"""
AREAS_FRAGMENTS = """
query { a: areas(first: 1) { nodes { ...F } }
        b: areas(includeArchived: true) { edges { node { ... on Node { id } ...F } } }
        c: areas { totalCount } d: areas(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Area { id n: name ...G }
fragment G on Area { parent { ... on Community { code } ... on Area { name } } }
"""
NODE_PARENT = "query($id: ID!) { node(id: $id) { id ... on Area { name parent { id name parent { id } } } } }"

EQUIVALENCE_DOCUMENTS = (AREAS, PORTAL, AREAS_FRAGMENTS, NODE_PARENT)


async def _areas(db: DbEnv, tw: TenantWorld) -> TenantWorld:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Area).where(Area.id == tw.areas["G3"]).values(archived_at=datetime.now(UTC)))
            await s.execute(update(Area).where(Area.id == tw.areas["C1"]).values(code="340302001", description="社区"))
    return tw


@pytest.fixture(scope="module")
async def area_tenant(db: DbEnv) -> TenantWorld:
    """The module's world, for the tests that only read it."""
    return await _areas(db, await module_tenant(db))


def _pages(tw: TenantWorld) -> list[dict[str, Any]]:
    return [{}, {"first": 2}, {"first": 0}, {"first": 100}, {"includeArchived": True},
            {"kind": "GRID"}, {"kind": "GRID", "includeArchived": True}, {"kind": "BUILDING"},
            {"propertyManagement": "NONE"}, {"propertyManagement": "FIRM", "kind": "GRID"},
            {"search": "社区"}, {"search": " 小区 "}, {"search": ""}, {"search": "%"},
            {"parentId": area(tw, "C1")}, {"parentId": area(tw, "P1"), "kind": "BUILDING"},
            {"parentId": encode_global_id("Street", tw.tenant_id)},
            {"within": area(tw, "S")}, {"within": area(tw, "C2"), "includeArchived": True},
            {"within": area(tw, "B1")}, {"within": area(tw, "C1"), "search": "栋", "first": 1}]


# One test per user (CI time, issue #21: the users' loop was one test of 45–219 s that one worker ran
# alone at the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_area_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, area_tenant: TenantWorld,
                                                                         user: str) -> None:
    tw = area_tenant
    for variables in _pages(tw):
        await agree(api, tw, user, AREAS, variables)
    for document in (PORTAL, AREAS_FRAGMENTS):
        await agree(api, tw, user, document, {})
    for key in ("S", "C1", "Z1", "P3", "G3", "B1"):
        compiled, resolved, taken = await both(api, tw, user, NODE_PARENT, {"id": area(tw, key)})
        assert taken and compiled == resolved, (user, key, around(compiled, resolved))


async def test_area_list_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, area_tenant: TenantWorld
                                                                              ) -> None:
    tw = area_tenant
    seen_pages = 0
    for user in USERS:
        for include_archived in (False, True):
            variables = {"first": 3, "includeArchived": include_archived}
            seen_pages += await walk_pages(api, tw, user, AREAS, "areas", variables, 20)
    assert seen_pages > 3 * len(USERS), seen_pages


async def test_an_area_list_has_real_content(api: Api, area_tenant: TenantWorld) -> None:
    """Guards the comparison above from comparing empty answers."""
    tw = area_tenant

    async def names(user: str, variables: dict[str, Any]) -> list[str]:
        body = orjson.loads((await both(api, tw, user, AREAS, {"first": 100, **variables}))[0])
        conn = body["data"]["areas"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [e["node"]["name"] for e in conn["edges"]]

    assert len(await names("admin", {})) == 13 and len(await names("admin", {"includeArchived": True})) == 14
    assert await names("admin", {"kind": "GRID"}) == ["一网格", "二网格"]
    assert await names("admin", {"propertyManagement": "NONE"}) == ["老街小区"]
    assert await names("admin", {"within": area(tw, "P1")}) == ["1栋", "2栋"]
    assert await names("admin", {"search": "社区"}) == ["东风社区", "西湖社区"]
    body = orjson.loads((await both(api, tw, "admin", AREAS, {"first": 100}))[0])
    by_name = {e["node"]["name"]: e["node"] for e in body["data"]["areas"]["edges"]}
    assert by_name["1栋"]["parent"]["name"] == "幸福小区" and by_name["1栋"]["parent"]["parent"]["name"] == "东风社区"
    assert by_name["东风社区"]["parent"]["__typename"] == "Street" and by_name["东风社区"]["code"] == "340302001"


async def test_a_bad_area_argument_is_the_resolvers_error_either_way(api: Api, area_tenant: TenantWorld) -> None:
    """An unknown ``within`` (NOT_FOUND), an ID of no area, a page size out of range, a bad cursor, a
    search too long: the resolvers' typed errors, the same bytes whichever path was tried first.

    Plans cached first (issue #21): each user sends the same arguments with valid values before the
    bad ones, so the bad ones meet a cached plan of their shape — for "nobody" one whose SQL dropped the
    argument (``x AND false``): a reused plan must refuse what compiling anew refuses
    (compiled.plans.Plan.unused; 2026-12-05 it answered an empty page where the resolvers say INVALID_ID)."""
    tw = area_tenant
    bad: list[dict[str, Any]] = [{"within": encode_global_id("Building", tw.tenant_id)},
                                 {"within": encode_global_id("Case", tw.tenant_id)},
                                 {"parentId": encode_global_id("Case", tw.tenant_id)}, {"parentId": "nonsense"},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"}, {"search": "长" * 51}]
    for user in ("admin", "resident", "nobody"):
        for variables in ({"parentId": area(tw, "S")}, {"within": area(tw, "C1")}, {"search": "社区"}, {"first": 2}):
            compiled, resolved, taken = await both(api, tw, user, AREAS, variables)
            assert compiled == resolved and taken, (user, variables, around(compiled, resolved))
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, AREAS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_a_compiled_area_list_is_one_statement_whatever_the_page_size(api: Api, area_tenant: TenantWorld
                                                                            ) -> None:
    tw = area_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy cached)
        await api.counted(tw, "secretary", "query { __typename }")
        _, baseline = await api.counted(tw, "secretary", "query { __typename }")
        _, resolved = await api.counted(tw, "secretary", AREAS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "secretary", AREAS, {"first": first})
    _, counts[0] = await api.counted(tw, "secretary", AREAS, {"first": 2, "within": area(tw, "C1")})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something


async def test_a_parent_has_a_branch_only_for_the_kinds_that_may_hold_the_area(api: Api, area_tenant: TenantWorld
                                                                               ) -> None:
    """``parent { parent { … } }``: the parent's object has a branch per kind ALLOWED_PARENTS lets hold the
    child (a building's parent is a community, zone or compound, never a grid or a building), not one per
    kind: 6 + 10 + 11 objects for the list's nodes, where a branch per kind made 6 + 36 + 216 (a plan that
    took 0.25–0.7 s to build). The answers are the resolvers' (the test above, whose AREA_SELECTION nests
    two parents)."""
    from tests.support.compiled import compiled_statements

    doc = "query { areas(first: 50) { nodes { __typename name parent { __typename name parent { name } } } } }"
    with compiled_statements() as made:
        r = await api.post(doc, {}, token=api.token(area_tenant, "admin"))
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    assert made and made[0] is not None
    sql = made[0][0]
    objects = sql.count("json_build_object(") + sql.count("'{\"")  # built, or written as text (JsonObject)
    assert objects <= 27 + 5, objects  # the nodes' 27, and the connection's own few
    names = [n["parent"] for n in r.json()["data"]["areas"]["nodes"]]
    assert any(p and p["parent"] for p in names)  # two levels of parents were read
