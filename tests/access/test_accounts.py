"""Accounts belong to their street office (issues #23, #24; DESIGN.md §8 "Accounts"): createUser,
deactivateUser, reactivateUser, the users list, the identity-provider subject, and no account of
another street office found or named by its username."""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy import select

from gongzhi.http.auth import issue_dev_token
from models import Member, RoleAssignment, User, account_id_for_subject
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import JWT_SECRET, Api, DbEnv, World

ME = "{ me { username displayName roles { role } } }"
GRANT = ("mutation($i: GrantRoleInput!) { grantRole(input: $i) { roleAssignment { id user { username displayName } }"
         " errors { code field } } }")
CREATE = ("mutation($i: CreateUserInput!) { createUser(input: $i) { user { id username displayName subject active "
          "linked } errors { code field } } }")
DEACTIVATE = ("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id active deactivatedAt } "
              "errors { code field } } }")
REACTIVATE = ("mutation($i: ReactivateUserInput!) { reactivateUser(input: $i) { user { id active } "
              "errors { code field } } }")
USERS = "query($d: Boolean) { users(includeDeactivated: $d, first: 100) { totalCount nodes { id username active } } }"


def gid(type_name: str, id_: Any) -> str:
    return encode_global_id(type_name, id_)


def _sub_token(api: Api, sub: str, slug: str) -> str:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return jwt.encode({"sub": sub, "tenants": [slug], "iss": api.settings.jwt_issuer, "aud": api.settings.jwt_audience,
                       "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())},
                      JWT_SECRET, algorithm="HS256")


async def test_a_username_of_another_street_office_reaches_nothing_of_it(api: Api, db: DbEnv, fresh: World) -> None:
    """The report of issue #24: B's admin granted a role to A's user by its username and then read that
    person's real name. Now the name makes a new account of B; A's account, roles and name stay A's."""
    a, b = fresh.a, fresh.b
    async with db.sessionmaker() as s:  # A's account gets its real name, as langya.grid2 had
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            u = await s.get(User, a.users["grid2"])
            assert u is not None
            u.display_name = "张网格"
    body = await api.gql(b, "admin", GRANT, {"i": {"username": a.username("grid2"), "role": "GRID_LEADER",
                                                   "scopeAreaId": gid("Grid", b.areas["G1"])}})
    result = body["data"]["grantRole"]
    assert result["errors"] == [], result
    assert result["roleAssignment"]["user"] == {"username": a.username("grid2"), "displayName": a.username("grid2")}
    async with db.sessionmaker() as s:
        bind_tenant(s, b.tenant_id)
        ra = (await s.scalars(select(RoleAssignment).where(RoleAssignment.id.in_(
            select(RoleAssignment.id).where(RoleAssignment.scope_area_id == b.areas["G1"],
                                            RoleAssignment.granted_by == b.users["admin"]))))).one()
        assert ra.user_id != a.users["grid2"]
        new = await s.get(User, ra.user_id)
        assert new is not None and new.home_tenant_id == b.tenant_id
    # A's grid leader has no role in B, and B's list of accounts does not name A's.
    tok_b = issue_dev_token(api.settings, user_id=a.users["grid2"], username="x", tenants=[b.slug])
    me = (await api.post(ME, token=tok_b)).json()
    assert me["data"]["me"]["roles"] == [], me
    names = {n["username"]: n["id"] for n in (await api.gql(b, "admin", USERS))["data"]["users"]["nodes"]}
    assert names[a.username("grid2")] == gid("UserAccount", ra.user_id)
    assert gid("UserAccount", a.users["grid2"]) not in names.values()
    # node() of A's account from B: nothing
    node = await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }",
                         {"id": gid("UserAccount", a.users["grid2"])})
    assert node["data"]["node"] is None


async def test_create_list_deactivate_reactivate(api: Api, db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    made = (await api.gql(a, "admin", CREATE, {"i": {"username": "wang.wu", "displayName": "王五",
                                                     "subject": "wx|o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}}))
    user = made["data"]["createUser"]
    assert user["errors"] == [], user
    assert user["user"] == {"id": user["user"]["id"], "username": "wang.wu", "displayName": "王五",
                            "subject": "wx|o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "active": True, "linked": False}
    uid = account_id_for_subject("wx|o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    assert user["user"]["id"] == gid("UserAccount", uid)
    # the same username again in A: CONFLICT; in B: its own account
    again = (await api.gql(a, "admin", CREATE, {"i": {"username": "wang.wu", "displayName": "x"}}))
    assert again["data"]["createUser"]["errors"] == [{"code": "CONFLICT", "field": "username"}]
    in_b = (await api.gql(b, "admin", CREATE, {"i": {"username": "wang.wu", "displayName": "王五"}}))
    assert in_b["data"]["createUser"]["errors"] == []
    # the same identity-provider subject in B: CONFLICT (the operator links it), nothing named
    dup = (await api.gql(b, "admin", CREATE, {"i": {"username": "w2", "displayName": "x",
                                                    "subject": "wx|o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}}))
    assert dup["data"]["createUser"]["errors"] == [{"code": "CONFLICT", "field": "subject"}]
    # The identity provider's token (sub = the subject) acts as the account; it gets a role later.
    tok = _sub_token(api, "wx|o6_bmjrPTlm6_2sgVt7hMZOPfL2M", a.slug)
    me = (await api.post(ME, token=tok)).json()
    assert me["data"]["me"] == {"username": "wang.wu", "displayName": "王五", "roles": []}, me
    listed = (await api.gql(a, "admin", USERS))["data"]["users"]
    assert "wang.wu" in {n["username"] for n in listed["nodes"]}
    assert listed["totalCount"] == len(listed["nodes"])
    assert all(n["username"].startswith(a.slug) or n["username"] == "wang.wu" for n in listed["nodes"])

    off = (await api.gql(a, "admin", DEACTIVATE, {"i": {"id": user["user"]["id"]}}))["data"]["deactivateUser"]
    assert off["errors"] == [] and off["user"]["active"] is False and off["user"]["deactivatedAt"]
    refused = await api.post(ME, token=tok)
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "USER_DEACTIVATED"
    active = {n["username"] for n in (await api.gql(a, "admin", USERS))["data"]["users"]["nodes"]}
    assert "wang.wu" not in active
    every = {n["username"] for n in (await api.gql(a, "admin", USERS, {"d": True}))["data"]["users"]["nodes"]}
    assert "wang.wu" in every
    twice = (await api.gql(a, "admin", DEACTIVATE, {"i": {"id": user["user"]["id"]}}))["data"]["deactivateUser"]
    assert twice["errors"] == [{"code": "CONFLICT", "field": "id"}]
    on = (await api.gql(a, "admin", REACTIVATE, {"i": {"id": user["user"]["id"]}}))["data"]["reactivateUser"]
    assert on["errors"] == [] and on["user"]["active"] is True
    assert (await api.post(ME, token=tok)).status_code == 200
    # A world user deactivated: its dev token too
    grid = (await api.gql(a, "admin", DEACTIVATE, {"i": {"id": gid("UserAccount", a.users["grid1"])}}))
    assert grid["data"]["deactivateUser"]["errors"] == []
    r = await api.post(ME, token=api.token(a, "grid1"))
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "USER_DEACTIVATED"
    # nobody deactivates themselves; B's admin cannot touch A's account (NOT_FOUND, as for a made-up id)
    me_off = (await api.gql(a, "admin", DEACTIVATE, {"i": {"id": gid("UserAccount", a.users["admin"])}}))
    assert me_off["data"]["deactivateUser"]["errors"] == [{"code": "INVALID", "field": "id"}]
    foreign = (await api.gql(b, "admin", DEACTIVATE, {"i": {"id": user["user"]["id"]}}))
    assert foreign["data"]["deactivateUser"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    assert (await api.post(ME, token=tok)).status_code == 200


async def test_only_the_street_admin_manages_accounts(api: Api, fresh: World) -> None:
    a = fresh.a
    for key in ("secretary", "grid1", "resident"):
        made = (await api.gql(a, key, CREATE, {"i": {"username": f"x-{key}", "displayName": "x"}}))
        assert made["data"]["createUser"]["errors"] == [{"code": "FORBIDDEN", "field": None}], key
        off = (await api.gql(a, key, DEACTIVATE, {"i": {"id": gid("UserAccount", a.users["nobody"])}}))
        assert off["data"]["deactivateUser"]["errors"] == [{"code": "FORBIDDEN", "field": None}], key
        on = (await api.gql(a, key, REACTIVATE, {"i": {"id": gid("UserAccount", a.users["nobody"])}}))
        assert on["data"]["reactivateUser"]["errors"] == [{"code": "FORBIDDEN", "field": None}], key
        listed = await api.gql(a, key, USERS, allow_errors=True)
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", key
    assert (await api.post(ME, token=api.token(a, "nobody"))).status_code == 200


async def test_operator_linked_identity_is_not_deactivated_by_a_street_admin(api: Api, db: DbEnv,
                                                                             fresh: World) -> None:
    from gongzhi.ops.accounts import link_identity

    a, b = fresh.a, fresh.b
    await link_identity(db.owner_engine, username=a.username("grid1"), from_slug=a.slug, to_slug=b.slug)
    async with db.sessionmaker() as s:
        bind_tenant(s, b.tenant_id)
        assert await s.scalar(select(Member.id).where(Member.user_id == a.users["grid1"])) is not None
    for tw in (a, b):
        off = (await api.gql(tw, "admin", DEACTIVATE, {"i": {"id": gid("UserAccount", a.users["grid1"])}}))
        assert off["data"]["deactivateUser"]["errors"] == [{"code": "FORBIDDEN", "field": "id"}]
    listed = (await api.gql(b, "admin", USERS))["data"]["users"]["nodes"]
    assert a.username("grid1") in {n["username"] for n in listed}
