"""The compiled policy read (compiled/policy.py, issue #21) answers exactly what the resolvers answer.

Every world user sends the documents compiled, then through strawberry's resolvers: the same bytes.
The street admin's answer comes from the compiled path; anyone else is refused by the resolvers
(FORBIDDEN) whichever path is tried first. The policy is read as provisioned, after a line was
granted and one revoked (the version moves), and with lines whose role or condition the enums do not
know (granted role and condition kind null)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import update

import gongzhi.http.graphql as app_module
from models import CasbinRule, Tenant
from tenants.session import bind_tenant
from tests.support.access import DISPATCH_RULE, GRANT, REVOKE
from tests.support.compiled import around, both
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

POLICY_DOC = """
query Policy { policy { __typename version
  rules { __typename role resource action condition grantedRole conditionKind } } }
"""
PORTAL = "query Policy { policy { version rules { role resource action condition } } }"
POLICY_FRAGMENTS = """
query { a: policy { ...P } b: policy { v: version } }
fragment P on Policy { rules { ... on PolicyRule { action r: resource } ...R } }
fragment R on PolicyRule { grantedRole role }
"""

EQUIVALENCE_DOCUMENTS = (POLICY_DOC, PORTAL, POLICY_FRAGMENTS)


@pytest.fixture
def policy_tenant(fresh: World, db: DbEnv) -> TenantWorld:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    return fresh.a


async def _compare_all(api: Api, tw: TenantWorld) -> None:
    for user in USERS:
        for document in EQUIVALENCE_DOCUMENTS:
            compiled, resolved, taken = await both(api, tw, user, document, {})
            assert compiled == resolved, (user, document[:30], around(compiled, resolved))
            assert taken == (user == "admin"), (user, taken)  # only the street admin may read it
            if user != "admin":
                assert b'"FORBIDDEN"' in compiled, (user, compiled[:200])


async def test_the_policy_compiles_to_the_resolvers_answer(api: Api, policy_tenant: TenantWorld,
                                                           db: DbEnv) -> None:
    tw = policy_tenant
    await _compare_all(api, tw)
    first = orjson.loads((await both(api, tw, "admin", POLICY_DOC, {}))[0])["data"]["policy"]
    assert len(first["rules"]) > 50 and first["version"] >= 1  # a real policy, not an empty answer
    assert all(r["grantedRole"] and r["conditionKind"] for r in first["rules"])
    # the same (resource, action, role) under two conditions: the order must break the tie the same way
    keys = [(r["resource"], r["action"], r["role"]) for r in first["rules"]]
    assert keys == sorted(keys) and len(set(keys)) < len(keys)

    # a line revoked, then granted again: the version moves each time, the plan is not reused for the old one
    line = {"role": "grid_leader", "resource": "case", "action": "dispatch", "condition": "scope",
            "grantedRole": "GRID_LEADER", "conditionKind": "SCOPE", "__typename": "PolicyRule"}
    assert line in first["rules"]
    got = (await api.gql(tw, "admin", REVOKE, {"i": DISPATCH_RULE}))["data"]["revokePermission"]
    assert got["errors"] == []
    await _compare_all(api, tw)
    after = orjson.loads((await both(api, tw, "admin", POLICY_DOC, {}))[0])["data"]["policy"]
    assert after["version"] > first["version"] and line not in after["rules"]
    got = (await api.gql(tw, "admin", GRANT, {"i": DISPATCH_RULE}))["data"]["grantPermission"]
    assert got["errors"] == []
    await _compare_all(api, tw)
    again = orjson.loads((await both(api, tw, "admin", POLICY_DOC, {}))[0])["data"]["policy"]
    assert again["version"] > after["version"] and line in again["rules"]

    # lines the enums do not know (written before a role was retired): null granted role / condition kind;
    # written with the version's bump, as every writer of the lines does (tenants.migration_ops for a migration)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Tenant).where(Tenant.id == tw.tenant_id)
                            .values(policy_version=Tenant.policy_version + 1))
            s.add_all([CasbinRule(id=uuid.uuid4(), tenant_id=tw.tenant_id, ptype="p", v0="retired_role",
                                  v1=str(tw.tenant_id), v2="case", v3="read", v4="scope", v5=""),
                       CasbinRule(id=uuid.uuid4(), tenant_id=tw.tenant_id, ptype="p", v0="grid_leader",
                                  v1=str(tw.tenant_id), v2="case", v3="read", v4="old_condition", v5=""),
                       # a grouping line in the tenant's domain, as Casbin loads one at the new version
                       CasbinRule(id=uuid.uuid4(), tenant_id=tw.tenant_id, ptype="g", v0="x", v1="y",
                                  v2=str(tw.tenant_id), v3="", v4="", v5="")])
    await _compare_all(api, tw)
    rules: list[dict[str, Any]] = orjson.loads((await both(api, tw, "admin", POLICY_DOC, {}))[0]
                                               )["data"]["policy"]["rules"]
    odd = [r for r in rules if r["role"] == "retired_role" or r["condition"] == "old_condition"]
    assert [(r["grantedRole"], r["conditionKind"]) for r in odd] == [("GRID_LEADER", None), (None, "SCOPE")]
    assert all(r["role"] != "x" for r in rules)  # g lines are not permission lines


async def test_a_compiled_policy_read_is_one_statement(api: Api, policy_tenant: TenantWorld) -> None:
    tw = policy_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    # the first request loads the tenant's policy into the cache (a policy read would also keep its answer)
    await api.counted(tw, "admin", "query { __typename }")
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PORTAL)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "admin", PORTAL)
    assert compiled == baseline + 1, (compiled, baseline)
    assert resolved > baseline + 1, resolved


async def test_a_policy_read_at_a_version_read_before_sends_no_statement_of_its_own(
        api: Api, policy_tenant: TenantWorld) -> None:
    """The answer depends on the policy's version alone: the statement runs once per version and plan, its answer
    is kept (compiled.plans.PlanCache.kept); a line granted or revoked moves the version and the next read runs it
    again — the new lines, the resolvers' bytes. Who may read it is still asked on every request."""
    tw = policy_tenant
    doc = "query KeptPolicy { policy { version rules { role resource action condition } } }"
    await api.counted(tw, "admin", "query { __typename }")  # the tenant's policy in the cache
    first, n_first = await api.counted(tw, "admin", doc)
    again, n_again = await api.counted(tw, "admin", doc)
    # start-up and the compiled read; then the start-up alone (on the base: 2 and 2)
    assert (n_first, n_again) == (2, 1), (n_first, n_again)
    assert again == first
    # a refused reader is refused still (the plan and its kept answer are the admin's; the grant is asked first)
    refused = await api.gql(tw, "secretary", doc, allow_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    line = {k: DISPATCH_RULE[k] for k in ("role", "resource", "action", "condition")}
    for mutation in (REVOKE, GRANT):
        got = await api.gql(tw, "admin", mutation, {"i": DISPATCH_RULE})
        assert next(iter(got["data"].values()))["errors"] == []
        await api.counted(tw, "admin", "query { __typename }")  # the new version's policy in the cache
        moved, n_moved = await api.counted(tw, "admin", doc)
        assert n_moved == 2 and moved["data"]["policy"]["version"] > first["data"]["policy"]["version"]
        assert (line in moved["data"]["policy"]["rules"]) == (mutation is GRANT)
        compiled, resolved, taken = await both(api, tw, "admin", doc, {})
        assert taken and compiled == resolved, around(compiled, resolved)
        assert orjson.loads(compiled)["data"] == moved["data"]
        assert (await api.counted(tw, "admin", doc))[1] == 1


async def test_a_version_moved_after_the_first_statement_is_answered_by_the_resolvers(
        api: Api, policy_tenant: TenantWorld, db: DbEnv) -> None:
    """A line granted (and the version bumped) between a request's first statement and its policy read: the plan
    was made for the version the first statement read, its statement yields NULL and the request is answered again
    from the start — the new line —, and nothing is kept for the old version."""
    tw = policy_tenant
    doc = "query RacedPolicy { policy { version rules { role resource action condition } } }"
    await api.gql(tw, "admin", doc)  # compiled before: the next request of it takes the driver path
    got = await api.gql(tw, "admin", REVOKE, {"i": DISPATCH_RULE})  # a version whose answer nothing kept
    assert got["data"]["revokePermission"]["errors"] == []
    await api.gql(tw, "admin", "query { __typename }")
    line = {"role": "resident", "resource": "case", "action": "supervise", "condition": "own"}
    real = app_module.run_compiled
    ran: list[bool] = []

    async def grant_first(*args: Any, **kw: Any) -> Any:
        if not ran:  # another session grants a line and commits, while this request is between its statements
            async with db.sessionmaker() as s:
                bind_tenant(s, tw.tenant_id)
                async with s.begin():
                    await s.execute(update(Tenant).where(Tenant.id == tw.tenant_id)
                                    .values(policy_version=Tenant.policy_version + 1))
                    s.add(CasbinRule(id=uuid.uuid4(), tenant_id=tw.tenant_id, ptype="p", v1=str(tw.tenant_id),
                                     v5="", v0=line["role"], v2=line["resource"], v3=line["action"],
                                     v4=line["condition"]))
        out = await real(*args, **kw)
        ran.append(out is None)
        return out

    app_module.run_compiled = grant_first  # type: ignore[assignment]
    try:
        raced = (await api.gql(tw, "admin", doc))["data"]["policy"]
    finally:
        app_module.run_compiled = real  # type: ignore[assignment]
    assert ran == [True, False], ran  # the guard's NULL, then the request again at the new version
    assert line in raced["rules"]
    compiled, resolved, taken = await both(api, tw, "admin", doc, {})
    assert taken and compiled == resolved, around(compiled, resolved)
    assert orjson.loads(compiled)["data"]["policy"] == raced
