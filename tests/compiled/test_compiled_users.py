"""The compiled accounts list (compiled/users.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled where the compiler takes it (the
street admin; for others the resolvers' FORBIDDEN, the same bytes either way), then through
strawberry's resolvers, and both bodies must be the same bytes; a compiled request is one statement
after the request's start-up. Besides the world's accounts: one deactivated (with microseconds in its
time), one with an identity provider's subject, one identity the operator linked, and another
street office's account, which must not show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from models import Member, User, uuid7
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_world, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

USERS_DOC = """
query Users($first: Int, $after: String, $includeDeactivated: Boolean! = false) {
  users(first: $first, after: $after, includeDeactivated: $includeDeactivated) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id username displayName subject active deactivatedAt linked } }
    nodes { id username }
  }
}
"""
PORTAL = """
query Users { users(includeDeactivated: false, first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id username displayName active linked } } }
"""
USERS_FRAGMENTS = """
query { a: users(first: 1) { nodes { ...F } } b: users(includeDeactivated: true) { edges { node { ...F } } }
        c: users { totalCount } }
fragment F on UserAccount { ... on Node { id } u: username linked }
"""

EQUIVALENCE_DOCUMENTS = (USERS_DOC, PORTAL, USERS_FRAGMENTS)


@pytest.fixture(scope="module")
async def user_world(db: DbEnv) -> World:
    """The module's tenants (the second one's rows must not show), for the tests that only read them."""
    w = await module_world(db)
    tw = w.a
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            extra = [User(id=uuid7(), username=tw.username("gone"), display_name="已停用",
                          home_tenant_id=tw.tenant_id, deactivated_at=datetime.now(UTC).replace(microsecond=654321)),
                     User(id=uuid7(), username=tw.username("oidc"), display_name="统一身份", subject=f"sub-{tw.slug}",
                          home_tenant_id=tw.tenant_id),
                     User(id=uuid7(), username=tw.username("linked"), display_name="关联身份",
                          subject=f"sub-linked-{tw.slug}",
                          home_tenant_id=None)]
            s.add_all(extra)
            await s.flush()
            s.add_all([Member(user_id=u.id, person_id=None) for u in extra])
    return w


@pytest.fixture
def user_tenant(user_world: World) -> TenantWorld:
    return user_world.a


async def test_user_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, user_tenant: TenantWorld) -> None:
    tw = user_tenant
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 100}, {"includeDeactivated": True}]
    for user in USERS:
        for variables in pages:
            compiled, resolved, taken = await both(api, tw, user, USERS_DOC, variables)
            assert taken == (user == "admin"), (user, variables)
            assert compiled == resolved, (user, variables, around(compiled, resolved))
        for document in (PORTAL, USERS_FRAGMENTS):
            compiled, resolved, taken = await both(api, tw, user, document, {})
            assert taken == (user == "admin") and compiled == resolved, (user, document[:30])
    for include in (False, True):
        assert await walk_pages(api, tw, "admin", USERS_DOC, "users", {"first": 3, "includeDeactivated": include}) > 3


async def test_a_user_list_has_real_content(api: Api, user_tenant: TenantWorld, user_world: World) -> None:
    tw = user_tenant
    body = orjson.loads((await both(api, tw, "admin", USERS_DOC, {"first": 100, "includeDeactivated": True}))[0])
    nodes = {e["node"]["username"]: e["node"] for e in body["data"]["users"]["edges"]}
    assert len(nodes) == len(USERS) + 3 and body["data"]["users"]["totalCount"] == len(nodes)
    assert not nodes[tw.username("gone")]["active"] and ".654321+00:00" in nodes[tw.username("gone")]["deactivatedAt"]
    assert nodes[tw.username("oidc")]["subject"] == f"sub-{tw.slug}"
    assert nodes[tw.username("linked")]["linked"] and nodes[tw.username("linked")]["subject"] is None
    assert not any(name.startswith(user_world.b.slug) for name in nodes)
    body = orjson.loads((await both(api, tw, "admin", USERS_DOC, {"first": 100}))[0])
    assert tw.username("gone") not in {e["node"]["username"] for e in body["data"]["users"]["edges"]}


async def test_bad_arguments_are_the_resolvers_errors_either_way(api: Api, user_tenant: TenantWorld) -> None:
    tw = user_tenant
    for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}):
        compiled, resolved, _ = await both(api, tw, "admin", USERS_DOC, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled)


async def test_a_compiled_user_list_is_one_statement(api: Api, user_tenant: TenantWorld) -> None:
    tw = user_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        await api.counted(tw, "admin", "query { __typename }")
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "admin", USERS_DOC, {"first": n}))[1] for n in (1, 50)]
    assert counts == [baseline + 1, baseline + 1], (counts, baseline)
