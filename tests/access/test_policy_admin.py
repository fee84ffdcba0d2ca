"""The street admin edits the tenant's policy through GraphQL: validated against what the platform
allows, audited, enforced from the next request on — by every server process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.access import DISPATCH, DISPATCH_RULE, GRANT, POLICY, REVOKE, accepted_case, partner_dispatch
from tests.support.harness import Api, DbEnv, World
from tests.support.servers import Server


async def test_revoke_and_grant_take_effect_on_the_next_request(api: Api, fresh: World) -> None:
    a = fresh.a
    before = (await api.gql(a, "admin", POLICY))["data"]["policy"]
    assert DISPATCH_RULE in before["rules"]
    cid = await accepted_case(api, a)
    revoked = (await api.gql(a, "admin", REVOKE, {"i": DISPATCH_RULE}))["data"]["revokePermission"]
    assert revoked == {"version": before["version"] + 1, "errors": []}
    denied = await api.gql(a, "grid1", DISPATCH, partner_dispatch(cid))
    assert denied["data"]["dispatchCase"]["errors"] == [{"code": "FORBIDDEN"}]
    # the party secretary held the right only through the chain (from grid_leader): gone as well
    denied2 = await api.gql(a, "secretary", DISPATCH, partner_dispatch(cid))
    assert denied2["data"]["dispatchCase"]["errors"] == [{"code": "FORBIDDEN"}]
    assert (await api.gql(a, "admin", DISPATCH, partner_dispatch(cid)))["data"]["dispatchCase"]["errors"] == []
    # the other tenant is untouched: its rules, and what its grid leader may do
    other = (await api.gql(fresh.b, "admin", POLICY))["data"]["policy"]
    assert DISPATCH_RULE in other["rules"]
    cid_b = await accepted_case(api, fresh.b)
    assert (await api.gql(fresh.b, "grid1", DISPATCH, partner_dispatch(cid_b)))["data"]["dispatchCase"]["errors"] == []
    granted = (await api.gql(a, "admin", GRANT, {"i": DISPATCH_RULE}))["data"]["grantPermission"]
    assert granted == {"version": before["version"] + 2, "errors": []}
    cid2 = await accepted_case(api, a)
    assert (await api.gql(a, "grid1", DISPATCH, partner_dispatch(cid2)))["data"]["dispatchCase"]["errors"] == []


async def test_only_what_the_platform_allows(api: Api, fresh: World) -> None:
    a = fresh.a
    refused = [
        ({"role": "mayor", "resource": "case", "action": "read", "condition": "scope"}, "INVALID", "role"),
        ({"role": "resident", "resource": "case", "action": "read", "condition": "everywhere"}, "INVALID",
         "condition"),
        ({"role": "resident", "resource": "case", "action": "delete", "condition": "own"}, "INVALID", "action"),
        ({"role": "partner_unit", "resource": "person", "action": "read_pii", "condition": "agreement"},
         "FORBIDDEN", "resource"),
        ({"role": "partner_unit", "resource": "household", "action": "read", "condition": "agreement"},
         "FORBIDDEN", "resource"),
        ({"role": "partner_unit", "resource": "activity", "action": "read", "condition": "scope"}, "INVALID",
         "condition"),
        ({"role": "party_secretary", "resource": "case", "action": "read", "condition": "all"}, "FORBIDDEN",
         "condition"),
        ({"role": "party_secretary", "resource": "policy", "action": "edit", "condition": "scope"}, "FORBIDDEN",
         "resource"),
        ({"role": "grid_leader", "resource": "case", "action": "dispatch", "condition": "scope"}, "CONFLICT",
         "role"),
    ]
    version = (await api.gql(a, "admin", POLICY))["data"]["policy"]["version"]
    for rule, code, field in refused:
        got = (await api.gql(a, "admin", GRANT, {"i": rule}))["data"]["grantPermission"]
        assert got == {"version": None, "errors": [{"code": code, "field": field}]}, rule
    lockout = {"role": "street_admin", "resource": "policy", "action": "edit", "condition": "all"}
    got = (await api.gql(a, "admin", REVOKE, {"i": lockout}))["data"]["revokePermission"]
    assert got["errors"] == [{"code": "FORBIDDEN", "field": "role"}]
    missing = {"role": "resident", "resource": "case", "action": "close", "condition": "own"}
    got = (await api.gql(a, "admin", REVOKE, {"i": missing}))["data"]["revokePermission"]
    assert got["errors"] == [{"code": "NOT_FOUND", "field": "role"}]
    assert (await api.gql(a, "admin", POLICY))["data"]["policy"]["version"] == version  # nothing changed
    # a partner line through an agreement is allowed (one the default policy does not have yet)
    ok = {"role": "partner_unit", "resource": "notice", "action": "read", "condition": "agreement"}
    assert (await api.gql(a, "admin", GRANT, {"i": ok}))["data"]["grantPermission"]["errors"] == []


async def test_only_the_street_admin_and_every_change_is_audited(api: Api, fresh: World) -> None:
    a = fresh.a
    for who in ("secretary", "grid1", "resident", "nobody"):
        body = await api.gql(a, who, POLICY, allow_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
        got = (await api.gql(a, who, REVOKE, {"i": DISPATCH_RULE}))["data"]["revokePermission"]
        assert got["errors"][0]["code"] == "FORBIDDEN", who
    await api.gql(a, "admin", REVOKE, {"i": DISPATCH_RULE})
    log = (await api.gql(a, "admin", """{ auditLog(action: "revokePermission") { nodes { outcome
        user { username } } } }"""))["data"]["auditLog"]["nodes"]
    assert {"outcome": "ok", "user": {"username": a.username("admin")}} in log
    assert sum(1 for n in log if n["outcome"] == "refused") == 4


async def test_a_change_reaches_every_server_process(db: DbEnv, api: Api, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    servers = [Server(db, tmp_path) for _ in range(2)]
    try:
        for s in servers:
            await s.ready()
        cid = await accepted_case(api, a)

        async def post(server: Server, who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            async with httpx.AsyncClient() as c:
                r = await c.post(server.http + "/graphql", json={"query": query, "variables": variables},
                                 headers={"authorization": f"Bearer {api.token(a, who)}"})
            return r.json()  # type: ignore[no-any-return]

        # both processes have served grid1 (and cached the policy) before the change
        for s in servers:
            assert "errors" not in await post(s, "grid1", "{ me { username } }", {})
        await post(servers[0], "admin", REVOKE, {"i": DISPATCH_RULE})
        late = await post(servers[1], "grid1", DISPATCH, partner_dispatch(cid))
        assert late["data"]["dispatchCase"]["errors"] == [{"code": "FORBIDDEN"}]
    finally:
        for s in servers:
            s.stop()
