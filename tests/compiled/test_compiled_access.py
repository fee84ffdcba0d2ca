"""The compiled ``me`` (compiled/me.py) and ``roleAssignments`` (compiled/access.py, issue #21) answer
exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. Besides the world's one assignment per user,
some users hold more: a second scope in force (a timestamp with microseconds, an end in the future),
one not yet in force, one revoked — so that ``me.roles``' order and ``active``, and the list's
``includeInactive``, have rows to tell apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from models import RoleAssignment
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import agree, around, both, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

ROLE_SELECTION = """
  __typename id role active validFrom validUntil revokedAt
  scope { __typename id name kind code ... on Compound { propertyManagement } ... on Building { floors } }
  user { username displayName }
"""

ME = """
query Me { me { __typename username displayName tenant { __typename slug name }
  roles { @ROLE }
  person { __typename id name gender piiMasked phone idCardNo birthDate careTags
           household { __typename id unit room addressMasked floorArea building { name } } } } }
""".replace("@ROLE", ROLE_SELECTION)

# What bench/mix_ops.py sends at a portal's start, and fragments and aliases.
ME_PORTAL = """
query Me { me { username displayName tenant { name }
  roles { role active scope { id name kind } } person { id name household { id room } } } }
"""
ME_FRAGMENTS = """
query { a: me { ...M } b: me { roles { ... on Node { id } ...R } } }
fragment M on Me { u: username tenant { slug } person { ... on Node { id } name } }
fragment R on RoleAssignment { role scope { ... on Area { name } } }
"""

ROLES = """
query Roles($first: Int, $after: String, $areaId: ID, $role: Role, $includeInactive: Boolean! = false) {
  roleAssignments(first: $first, after: $after, areaId: $areaId, role: $role, includeInactive: $includeInactive) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @ROLE } }
    nodes { id role }
  }
}
""".replace("@ROLE", ROLE_SELECTION)

ROLES_PORTAL = """
query Roles { roleAssignments(includeInactive: false, first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id role active validFrom scope { name } user { username displayName } } } }
"""
ROLES_FRAGMENTS = """
query { a: roleAssignments(first: 1) { nodes { ...F } }
        b: roleAssignments(includeInactive: true) { edges { node { ... on Node { id } ...F } } }
        c: roleAssignments { totalCount } d: roleAssignments(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on RoleAssignment { id r: role ...G }
fragment G on RoleAssignment { user { username } scope { name } }
"""

EQUIVALENCE_DOCUMENTS = (ME, ME_PORTAL, ME_FRAGMENTS, ROLES, ROLES_PORTAL, ROLES_FRAGMENTS)

# (user, role, scope, from days ago, until days ahead, revoked): more assignments than the world's one each.
MORE_ASSIGNMENTS = (
    ("grid1", "grid_leader", "G2", 10, 30, False),        # a second scope, in force
    ("grid1", "resident", "P1", 400, None, False),        # a third, in force, open-ended
    ("secretary", "grid_leader", "G3", -5, None, False),  # not yet in force
    ("chair", "resident", "P1", 100, None, True),         # revoked
    ("resident4", "neighbor_lead", "P3", 3, 3, False),    # in force for three more days
    ("nobody", "resident", "B4", 50, -1, False),          # ended yesterday: still nobody
)


@pytest.fixture(scope="module")
async def access_tenant(db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    now = datetime.now(UTC).replace(microsecond=123456)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for who, role, scope, ago, ahead, revoked in MORE_ASSIGNMENTS:
                s.add(RoleAssignment(user_id=tw.users[who], role=role, scope_area_id=tw.areas[scope],
                                     valid_from=now - timedelta(days=ago),
                                     valid_until=None if ahead is None else now + timedelta(days=ahead),
                                     revoked_at=now - timedelta(days=1) if revoked else None))
    return tw


# One test per user, the role assignments' page walks of every user in one test of their own (CI time,
# issue #21): pytest-xdist's worksteal can share a file's users between the workers; as one test the users'
# loop held one worker for one to three minutes at the end of a run under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_me_compiles_to_the_resolvers_answer_for_every_user(api: Api, access_tenant: TenantWorld,
                                                                  user: str) -> None:
    tw = access_tenant
    for document in (ME, ME_PORTAL, ME_FRAGMENTS):
        compiled, resolved, taken = await both(api, tw, user, document, {})
        assert taken, (user, document[:30])
        assert compiled == resolved, (user, document[:30], around(compiled, resolved))


async def test_me_has_real_content(api: Api, access_tenant: TenantWorld) -> None:
    """Guards the comparison above from comparing empty answers."""
    tw = access_tenant

    async def me(user: str) -> dict[str, Any]:
        body = orjson.loads((await both(api, tw, user, ME, {}))[0])
        return body["data"]["me"]  # type: ignore[no-any-return]

    grid1 = await me("grid1")
    assert [r["role"] for r in grid1["roles"]] == ["GRID_LEADER", "GRID_LEADER", "RESIDENT"]  # by id
    assert all(r["active"] for r in grid1["roles"]) and grid1["roles"][1]["validUntil"]
    assert ".123456+00:00" in grid1["roles"][1]["validFrom"]
    assert grid1["person"] is None and grid1["tenant"]["slug"] == tw.slug
    resident = await me("resident")
    assert resident["person"]["name"] == "张小梅" and resident["person"]["phone"] == tw.phones["h1b"]
    assert resident["person"]["household"]["room"] == "101"
    assert [r["role"] for r in (await me("chair"))["roles"]] == ["OWNER_COMMITTEE_CHAIR"]  # the revoked one not
    assert [r["role"] for r in (await me("secretary"))["roles"]] == ["PARTY_SECRETARY"]  # nor one to come
    assert (await me("nobody"))["roles"] == [] and (await me("expired"))["roles"] == []


@pytest.mark.parametrize("user", USERS)
async def test_role_assignment_lists_compile_to_the_resolvers_answer_for_every_user(
        api: Api, access_tenant: TenantWorld, user: str) -> None:
    tw = access_tenant
    areas = [area(tw, k) for k in ("S", "C1", "C2", "P1", "G2", "B4")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 100}, {"includeInactive": True},
                                   {"role": "GRID_LEADER"}, {"role": "RESIDENT", "includeInactive": True},
                                   {"role": "PARTNER_UNIT"}]
    pages += [{"areaId": a} for a in areas]
    pages += [{"areaId": areas[1], "role": "GRID_LEADER", "includeInactive": True, "first": 1}]
    for variables in pages:
        await agree(api, tw, user, ROLES, variables)
    for document in (ROLES_PORTAL, ROLES_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_role_assignment_pages_compile_to_the_resolvers_answer_for_every_user(
        api: Api, access_tenant: TenantWorld) -> None:
    tw = access_tenant
    seen_pages = 0
    for user in USERS:
        for include_inactive in (False, True):
            variables = {"first": 2, "includeInactive": include_inactive}
            seen_pages += await walk_pages(api, tw, user, ROLES, "roleAssignments", variables, 20)
    assert seen_pages > 3 * 2, seen_pages


async def test_a_role_assignment_list_has_real_content(api: Api, access_tenant: TenantWorld) -> None:
    tw = access_tenant

    async def listed(user: str, variables: dict[str, Any]) -> list[tuple[str, bool]]:
        body = orjson.loads((await both(api, tw, user, ROLES, {"first": 100, **variables}))[0])
        conn = body["data"]["roleAssignments"]
        assert conn["totalCount"] == len(conn["edges"]), (user, variables)
        return [(e["node"]["user"]["username"], e["node"]["active"]) for e in conn["edges"]]

    in_force = await listed("admin", {})
    everything = await listed("admin", {"includeInactive": True})
    assert len(in_force) == len(ROLE_USERS) - 1 + 3 and all(active for _, active in in_force)
    assert len(everything) == len(ROLE_USERS) + len(MORE_ASSIGNMENTS)
    assert sum(not active for _, active in everything) == 4  # expired, to come, revoked, ended
    assert {u for u, _ in await listed("admin", {"areaId": area(tw, "G2")})} == {tw.username("grid2"),
                                                                                tw.username("grid1")}
    assert await listed("resident", {}) == []


async def test_a_bad_argument_is_the_resolvers_error_either_way(api: Api, access_tenant: TenantWorld) -> None:
    """An unknown area (NOT_FOUND), an ID of no area, a page size out of range, a bad cursor, a role
    that does not exist: the resolvers' errors, the same bytes whichever path was tried first."""
    tw = access_tenant
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"first": 101}, {"first": -1}, {"after": "not-a-cursor"}, {"role": "KING"}]
    for user in ("admin", "secretary", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, ROLES, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)


async def test_compiled_me_and_role_lists_are_one_statement(api: Api, access_tenant: TenantWorld) -> None:
    tw = access_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy cached)
        await api.counted(tw, "grid1", "query { __typename }")
        _, baseline = await api.counted(tw, "grid1", "query { __typename }")
        _, resolved = await api.counted(tw, "grid1", ROLES, {"first": 50})
        _, resolved_me = await api.counted(tw, "chair", ME_PORTAL)
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "admin", ROLES, {"first": first, "includeInactive": True})
    _, counts[0] = await api.counted(tw, "grid1", ROLES, {"first": 2, "areaId": area(tw, "C1")})
    _, me_grid = await api.counted(tw, "grid1", ME_PORTAL)
    assert counts[1] == counts[50] == counts[0] == me_grid == baseline + 1, (counts, me_grid, baseline)
    assert resolved > baseline + 1 and resolved_me > baseline + 1, (resolved, resolved_me)
