"""Tenant isolation (DESIGN.md §2): whatever a request of tenant A is given — a list, a global ID, a
mutation aimed at B's rows, a token naming B — it never reads or changes tenant B.

Sections:
 1. lists and ``me`` for several roles of A contain nothing of B (ids and counts);
    arguments naming B's objects behave exactly like ids that exist nowhere
 2. ``node`` / ``nodes`` with B's global IDs of every type
 3. mutations aimed at B's objects: typed errors, no row of A or B changed
 4. the token and the tenant header
 5. PostgreSQL only: row-level security holds by itself (ORM filter off), roles and grants
 6. metadata: tenant_id leads every tenant primary key and is part of every tenant foreign key
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import (
    ForeignKeyConstraint,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from models import Base, RoleAssignment, TenantScoped, tenant_tables, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support import citus
from tests.support.harness import APP_ROLE, KEYLESS_TABLES, Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

# ---------------------------------------------------------------- helpers

AREA_TYPE = {
    "S": "Street", "C1": "Community", "C2": "Community", "Z1": "Zone", "P1": "Compound", "P2": "Compound",
    "P3": "Compound", "G1": "Grid", "G2": "Grid", "G3": "Grid", "B1": "Building", "B2": "Building",
    "B3": "Building", "B4": "Building",
}
PLATFORM_TABLES = {"tenants", "users", "platform_audit", "platform_calendars", "platform_calendar_days"}
# Hand-counted from the world's docstring (tests/support/world.py).
N_AREAS, N_HOUSEHOLDS, N_PERSONS, N_ASSIGNMENTS, N_CARE_TAG_KINDS = 14, 4, 5, len(ROLE_USERS), 8


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


def raw_id(global_id: str) -> uuid.UUID:
    """The uuid a global ID names (the tests read ids back to compare them with the world's)."""
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(raw.partition(":")[2])


def tables() -> dict[str, Table]:
    return {name: Base.metadata.tables[name] for name in tenant_tables()}


async def assignment_ids(db: DbEnv, tw: TenantWorld) -> dict[str, uuid.UUID]:
    """Role assignment id by user key (the world does not record them)."""
    by_user = {v: k for k, v in tw.users.items()}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        rows = (await s.execute(select(RoleAssignment.id, RoleAssignment.user_id))).all()
    return {by_user[u]: i for i, u in rows if u in by_user}


async def snapshot(db: DbEnv, tenant_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tenant table of one tenant, in id order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        for name, t in tables().items():
            rows = (await s.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.id))).all()
            out[name] = [tuple(r) for r in rows]
    return out


def _data(snap: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """A snapshot without the audit log (which records refused attempts too)."""
    return {k: v for k, v in snap.items() if k != "audit_log"}


def all_ids(tw: TenantWorld) -> set[uuid.UUID]:
    return {*tw.areas.values(), *tw.households.values(), *tw.persons.values(), *tw.firms.values()}


# ================================================================ 1. lists and me

LISTS = """
{
  me { username tenant { slug } roles { id scope { id } } person { id household { id } } }
  areas(first: 100) { totalCount nodes { id name parent { id } ancestors { id } } }
  households(first: 100) {
    totalCount nodes { id building { id } persons { id } grids { id } }
  }
  persons(first: 100) { totalCount nodes { id household { id } } }
  roleAssignments(first: 100, includeInactive: true) {
    totalCount nodes { id scope { id } user { username } }
  }
  careTagKinds { code name }
}
"""

LIST_ROLES = ["admin", "secretary", "grid1", "chair", "firm", "resident", "secretary2", "expired", "nobody"]


@pytest.mark.parametrize("key", LIST_ROLES)
async def test_lists_of_a_hold_nothing_of_b(api: Api, db: DbEnv, world: World, key: str) -> None:
    a, b = world.a, world.b
    data = (await api.gql(a, key, LISTS))["data"]
    a_ra, b_ra = await assignment_ids(db, a), await assignment_ids(db, b)
    a_ids = all_ids(a) | set(a_ra.values())
    b_ids = all_ids(b) | set(b_ra.values())

    seen: set[uuid.UUID] = set()
    for conn in ("areas", "households", "persons", "roleAssignments"):
        nodes = data[conn]["nodes"]
        # The count is filtered like the page: a count over both tenants would betray B's size.
        assert data[conn]["totalCount"] == len(nodes), (conn, data[conn]["totalCount"], len(nodes))
        for n in nodes:
            seen.add(raw_id(n["id"]))
    for area in data["areas"]["nodes"]:
        seen |= {raw_id(x["id"]) for x in area["ancestors"]}
        if area["parent"]:
            seen.add(raw_id(area["parent"]["id"]))
    for h in data["households"]["nodes"]:
        seen |= {raw_id(x["id"]) for x in (*h["persons"], *h["grids"])}
        if h["building"]:
            seen.add(raw_id(h["building"]["id"]))
    for ra in data["roleAssignments"]["nodes"]:
        assert ra["user"]["username"].startswith(a.slug + "-"), ra
        if ra["scope"]:
            seen.add(raw_id(ra["scope"]["id"]))
    me = data["me"]
    assert me["username"] == a.username(key)
    assert me["tenant"]["slug"] == a.slug
    for r in me["roles"]:
        seen |= {raw_id(r["id"]), raw_id(r["scope"]["id"])}
    if me["person"]:
        seen.add(raw_id(me["person"]["id"]))
        if me["person"]["household"]:
            seen.add(raw_id(me["person"]["household"]["id"]))

    assert not seen & b_ids, f"{key} of A sees B's objects"
    assert seen <= a_ids, f"{key} of A sees objects of no known A row: {seen - a_ids}"
    # The catalogue is the tenant's own: same codes in both tenants, so only the count tells.
    codes = [c["code"] for c in data["careTagKinds"]]
    assert len(codes) == len(set(codes)) == N_CARE_TAG_KINDS, codes


async def test_admin_of_a_sees_exactly_a(api: Api, world: World) -> None:
    data = (await api.gql(world.a, "admin", LISTS))["data"]
    assert {raw_id(n["id"]) for n in data["areas"]["nodes"]} == set(world.a.areas.values())
    assert {raw_id(n["id"]) for n in data["households"]["nodes"]} == set(world.a.households.values())
    assert {raw_id(n["id"]) for n in data["persons"]["nodes"]} == set(world.a.persons.values())
    counts = {k: data[k]["totalCount"] for k in ("areas", "households", "persons", "roleAssignments")}
    assert counts == {"areas": N_AREAS, "households": N_HOUSEHOLDS, "persons": N_PERSONS,
                      "roleAssignments": N_ASSIGNMENTS}
    assert len(data["me"]["roles"]) == 1


async def test_concurrent_requests_of_a_and_b_do_not_mix(api: Api, world: World) -> None:
    """Requests of both tenants in flight at once (shared engine, pool, policy cache) stay apart."""
    worlds = [world.a, world.b] * 6
    keys = ["admin", "grid1", "resident"]
    bodies = await asyncio.gather(*(api.gql(tw, keys[i % 3], LISTS) for i, tw in enumerate(worlds)))
    for tw, body in zip(worlds, bodies, strict=True):
        data = body["data"]
        assert data["me"]["tenant"]["slug"] == tw.slug
        seen = {raw_id(n["id"]) for k in ("areas", "households", "persons") for n in data[k]["nodes"]}
        assert seen and seen <= all_ids(tw), tw.slug


async def test_me_of_a_has_only_a_roles(api: Api, db: DbEnv, world: World) -> None:
    ra = await assignment_ids(db, world.a)
    me = (await api.gql(world.a, "resident", LISTS))["data"]["me"]
    assert [raw_id(r["id"]) for r in me["roles"]] == [ra["resident"]]
    assert raw_id(me["person"]["id"]) == world.a.persons["h1b"]
    assert (await api.gql(world.a, "nobody", LISTS))["data"]["me"]["roles"] == []


FILTERED = {
    "areas(within:)": ('query($x: ID!) { areas(within: $x) { totalCount nodes { id } } }', "Community"),
    "areas(parentId:)": ('query($x: ID!) { areas(parentId: $x) { totalCount nodes { id } } }', "Community"),
    "households(areaId:)": ('query($x: ID!) { households(areaId: $x) { totalCount nodes { id } } }', "Compound"),
    "persons(areaId:)": ('query($x: ID!) { persons(areaId: $x) { totalCount nodes { id } } }', "Compound"),
    "persons(householdId:)": ('query($x: ID!) { persons(householdId: $x) { totalCount nodes { id } } }',
                              "Household"),
    "roleAssignments(areaId:)": ('query($x: ID!) { roleAssignments(areaId: $x, includeInactive: true) '
                                 '{ totalCount nodes { id } } }', "Community"),
}
FILTER_TARGET = {"Community": "C1", "Compound": "P1"}


def _b_object(tw: TenantWorld, type_name: str) -> uuid.UUID:
    return tw.households["H1"] if type_name == "Household" else tw.areas[FILTER_TARGET[type_name]]


def _strip_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    for e in body.get("errors", []):
        e.get("extensions", {}).pop("requestId", None)
    return body


@pytest.mark.parametrize("case", list(FILTERED))
async def test_list_arguments_naming_b_are_like_ids_of_nothing(api: Api, world: World, case: str) -> None:
    """A list filtered by B's object answers exactly as for an id that exists nowhere (no oracle)."""
    doc, type_name = FILTERED[case]
    tok = api.token(world.a, "admin")
    b_resp = await api.post(doc, {"x": gid(type_name, _b_object(world.b, type_name))}, token=tok)
    none_resp = await api.post(doc, {"x": gid(type_name, uuid7())}, token=tok)
    b_body = _strip_request_ids(b_resp.json())
    assert b_resp.status_code == none_resp.status_code == 200
    assert b_body == _strip_request_ids(none_resp.json())
    conn = (b_body.get("data") or {}).get(case.split("(")[0])
    assert conn is None or (conn["nodes"] == [] and conn["totalCount"] == 0), b_body


# ================================================================ 2. node / nodes

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }"


async def typed_ids(db: DbEnv, tw: TenantWorld) -> list[tuple[str, str, uuid.UUID]]:
    """(key, GraphQL type, uuid) of every object of the world that has a global ID."""
    out = [(k, AREA_TYPE[k], v) for k, v in tw.areas.items()]
    out += [(k, "Household", v) for k, v in tw.households.items()]
    out += [(k, "Person", v) for k, v in tw.persons.items()]
    out += [(f"ra:{k}", "RoleAssignment", v) for k, v in (await assignment_ids(db, tw)).items()]
    return out


async def test_node_with_b_ids_is_null_for_a(api: Api, db: DbEnv, world: World) -> None:
    tok = api.token(world.a, "admin")
    leaked: list[str] = []
    for key, type_name, id_ in await typed_ids(db, world.b):
        body = (await api.post(NODE, {"id": gid(type_name, id_)}, token=tok)).json()
        assert "errors" not in body, body
        if body["data"]["node"] is not None:
            leaked.append(f"{type_name} {key}")
    assert leaked == []


async def test_node_with_a_ids_resolves_for_a_admin(api: Api, db: DbEnv, world: World) -> None:
    tok = api.token(world.a, "admin")
    missing: list[str] = []
    for key, type_name, id_ in await typed_ids(db, world.a):
        body = (await api.post(NODE, {"id": gid(type_name, id_)}, token=tok)).json()
        node = body["data"]["node"]
        if node != {"id": gid(type_name, id_), "__typename": type_name}:
            missing.append(f"{type_name} {key}: {node}")
    assert missing == []


async def test_nodes_interleaving_a_and_b(api: Api, db: DbEnv, world: World) -> None:
    a_ids, b_ids = await typed_ids(db, world.a), await typed_ids(db, world.b)
    ids: list[str] = []
    expected: list[dict[str, str] | None] = []
    for (_, ta, ia), (_, tb, ib) in zip(a_ids, b_ids, strict=True):
        ids += [gid(ta, ia), gid(tb, ib)]
        expected += [{"id": gid(ta, ia), "__typename": ta}, None]
    body = (await api.post(NODES, {"ids": ids}, token=api.token(world.a, "admin"))).json()
    assert "errors" not in body, body
    assert body["data"]["nodes"] == expected


@pytest.mark.parametrize("key", ["secretary", "grid1", "resident", "firm", "nobody"])
async def test_nodes_with_b_ids_null_for_other_roles(api: Api, db: DbEnv, world: World, key: str) -> None:
    ids = [gid(t, i) for _, t, i in await typed_ids(db, world.b)]
    body = (await api.post(NODES, {"ids": ids}, token=api.token(world.a, key))).json()
    assert "errors" not in body, body
    assert body["data"]["nodes"] == [None] * len(ids)


async def test_b_id_relabelled_with_another_type_is_null(api: Api, world: World) -> None:
    """Type names in a global ID are not a way round the tenant filter."""
    tok = api.token(world.a, "admin")
    for type_name in ("Street", "Community", "Building", "Household", "Person", "RoleAssignment"):
        body = (await api.post(NODE, {"id": gid(type_name, world.b.areas["B1"])}, token=tok)).json()
        assert body.get("data", {}).get("node") is None, (type_name, body)


# ================================================================ 3. mutations aimed at B

ERRORS = "errors { code field }"


@dataclass(frozen=True)
class Attack:
    doc: str
    payload: str  # field of the payload holding the object
    variables: Callable[[World, dict[str, uuid.UUID], uuid.UUID | None], dict[str, Any]]
    codes: frozenset[str] = frozenset({"NOT_FOUND"})


def _m(name: str, input_type: str, selection: str) -> str:
    return f"mutation($i: {input_type}!) {{ r: {name}(input: $i) {{ {selection} {ERRORS} }} }}"


# Each attack is sent with B's id and then with an id that exists nowhere (`other`): same answer.
ATTACKS: dict[str, Attack] = {
    "updateArea": Attack(
        _m("updateArea", "UpdateAreaInput", "area { id name }"), "area",
        lambda w, _ra, o: {"i": {"id": gid("Community", o or w.b.areas["C1"]), "name": "被改了"}}),
    "createArea under B's street": Attack(
        _m("createArea", "CreateAreaInput", "area { id }"), "area",
        lambda w, _ra, o: {"i": {"kind": "COMMUNITY", "parentId": gid("Street", o or w.b.areas["S"]),
                                 "name": "新社区"}}),
    "createArea under B's compound": Attack(
        _m("createArea", "CreateAreaInput", "area { id }"), "area",
        lambda w, _ra, o: {"i": {"kind": "BUILDING", "parentId": gid("Compound", o or w.b.areas["P1"]),
                                 "name": "9栋"}}),
    "setGridBuildings of B's grid": Attack(
        _m("setGridBuildings", "SetGridBuildingsInput", "grid { id }"), "grid",
        lambda w, _ra, o: {"i": {"gridId": gid("Grid", o or w.b.areas["G1"]),
                                 "buildingIds": [gid("Building", w.b.areas["B1"]), gid("Building", w.b.areas["B2"])]}}),
    "setGridBuildings of A's grid with B's building": Attack(
        _m("setGridBuildings", "SetGridBuildingsInput", "grid { id }"), "grid",
        lambda w, _ra, o: {"i": {"gridId": gid("Grid", w.a.areas["G1"]),
                                 "buildingIds": [gid("Building", w.a.areas["B1"]),
                                                 gid("Building", o or w.b.areas["B2"])]}}),
    "createHousehold in B's building": Attack(
        _m("createHousehold", "CreateHouseholdInput", "household { id }"), "household",
        lambda w, _ra, o: {"i": {"buildingId": gid("Building", o or w.b.areas["B1"]), "room": "909"}}),
    "updateHousehold": Attack(
        _m("updateHousehold", "UpdateHouseholdInput", "household { id }"), "household",
        lambda w, _ra, o: {"i": {"id": gid("Household", o or w.b.households["H1"]), "room": "909",
                                 "note": "改"}}),
    "createPerson in B's household": Attack(
        _m("createPerson", "CreatePersonInput", "person { id }"), "person",
        lambda w, _ra, o: {"i": {"householdId": gid("Household", o or w.b.households["H1"]), "name": "外人"}}),
    "updatePerson": Attack(
        _m("updatePerson", "UpdatePersonInput", "person { id }"), "person",
        lambda w, _ra, o: {"i": {"id": gid("Person", o or w.b.persons["h1a"]), "name": "改名",
                                 "phone": "13900001111", "careTags": ["veteran"]}}),
    "updatePerson clearing PII": Attack(
        _m("updatePerson", "UpdatePersonInput", "person { id }"), "person",
        lambda w, _ra, o: {"i": {"id": gid("Person", o or w.b.persons["h3a"]), "idCardNo": None, "phone": None}}),
    "grantRole with B's scope": Attack(
        _m("grantRole", "GrantRoleInput", "roleAssignment { id }"), "roleAssignment",
        lambda w, _ra, o: {"i": {"username": w.a.username("nobody"), "role": "GRID_LEADER",
                                 "scopeAreaId": gid("Grid", o or w.b.areas["G1"])}}),
    "grantRole linking B's person": Attack(
        _m("grantRole", "GrantRoleInput", "roleAssignment { id }"), "roleAssignment",
        lambda w, _ra, o: {"i": {"username": w.a.username("nobody"), "role": "RESIDENT",
                                 "scopeAreaId": gid("Compound", w.a.areas["P1"]),
                                 "personId": gid("Person", o or w.b.persons["h1a"])}}),
    "grantRole naming B's firm": Attack(
        _m("grantRole", "GrantRoleInput", "roleAssignment { id }"), "roleAssignment",
        lambda w, _ra, o: {"i": {"username": w.a.username("nobody"), "role": "PROPERTY_FIRM",
                                 "scopeAreaId": gid("Compound", w.a.areas["P1"]),
                                 "firmId": gid("PropertyFirm", o or w.b.firms["F1"])}},
        frozenset({"NOT_FOUND", "INVALID"})),
    "revokeRole": Attack(
        _m("revokeRole", "RevokeRoleInput", "roleAssignment { id }"), "roleAssignment",
        lambda w, ra, o: {"i": {"id": gid("RoleAssignment", o or ra["grid1"])}}),
}


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_mutation_aimed_at_b_fails_and_writes_nothing(api: Api, db: DbEnv, fresh: World, name: str) -> None:
    attack = ATTACKS[name]
    b_ra = await assignment_ids(db, fresh.b)
    before_a, before_b = await snapshot(db, fresh.a.tenant_id), await snapshot(db, fresh.b.tenant_id)
    tok = api.token(fresh.a, "admin")

    resp = await api.post(attack.doc, attack.variables(fresh, b_ra, None), token=tok)
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    result = body["data"]["r"]
    assert result[attack.payload] is None, body
    assert result["errors"], body
    assert {e["code"] for e in result["errors"]} <= attack.codes, body

    # B's id answers exactly like an id that exists nowhere: the error is no existence oracle.
    ghost = await api.post(attack.doc, attack.variables(fresh, b_ra, uuid7()), token=tok)
    assert ghost.json()["data"]["r"] == result

    assert await snapshot(db, fresh.b.tenant_id) == before_b, "B's rows changed"
    after_a = await snapshot(db, fresh.a.tenant_id)
    assert _data(after_a) == _data(before_a), "a failed mutation wrote to A"
    # …except the audit log, which records both refused attempts (in A, where the request acted).
    new = [r for r in after_a["audit_log"] if r not in before_a["audit_log"]]
    assert len(new) == 2
    audit = tables()["audit_log"]
    for row in new:
        entry = dict(zip(audit.c.keys(), row, strict=True))
        assert entry["user_id"] == fresh.a.users["admin"]
        assert entry["detail"]["outcome"] == "refused" and entry["detail"]["changes"] == []


async def test_b_unchanged_as_b_admin_reads_it(api: Api, db: DbEnv, fresh: World) -> None:
    """After every attack, B's admin still reads B as built (names, rooms, grids, roles)."""
    b_ra = await assignment_ids(db, fresh.b)
    tok = api.token(fresh.a, "admin")
    for attack in ATTACKS.values():
        await api.post(attack.doc, attack.variables(fresh, b_ra, None), token=tok)
    q = """query($c: ID!, $g: ID!, $h: ID!, $p: ID!) {
      c: node(id: $c) { ... on Community { name } }
      g: node(id: $g) { ... on Grid { buildingCount } }
      h: node(id: $h) { ... on Household { room persons { id } } }
      p: node(id: $p) { ... on Person { name phone careTags } }
      roleAssignments(first: 100, includeInactive: true) { totalCount }
      areas(first: 100) { totalCount }
    }"""
    b = fresh.b
    data = (await api.gql(b, "admin", q, {
        "c": gid("Community", b.areas["C1"]), "g": gid("Grid", b.areas["G1"]),
        "h": gid("Household", b.households["H1"]), "p": gid("Person", b.persons["h1a"]),
    }))["data"]
    assert data["c"] == {"name": "东风社区"}
    assert data["g"] == {"buildingCount": 1}
    assert data["h"]["room"] == "101" and len(data["h"]["persons"]) == 2
    assert data["p"] == {"name": "张建国", "phone": b.phones["h1a"], "careTags": ["living_alone"]}
    assert data["roleAssignments"]["totalCount"] == N_ASSIGNMENTS
    assert data["areas"]["totalCount"] == N_AREAS


async def test_audit_of_a_full_read_in_a_stays_in_a(api: Api, db: DbEnv, fresh: World) -> None:
    """The audit entry a request writes carries the request's tenant, and B's log is untouched."""
    a, b = fresh.a, fresh.b
    before_b = await snapshot(db, b.tenant_id)
    before_a = len((await snapshot(db, a.tenant_id))["audit_log"])
    data = (await api.gql(a, "admin", "{ persons(first: 100) { nodes { id phone } } }"))["data"]
    assert {p["phone"] for p in data["persons"]["nodes"]} == set(a.phones.values())
    audit = Base.metadata.tables["audit_log"]
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        rows = (await s.execute(select(audit.c.tenant_id, audit.c.object_ids)
                                .where(audit.c.tenant_id == a.tenant_id))).all()
    assert len(rows) == before_a + 1
    assert {uuid.UUID(i) for i in rows[-1].object_ids} == set(a.persons.values())
    assert await snapshot(db, b.tenant_id) == before_b


# ================================================================ 4. token and tenant header

ME_AND_LISTS = """
{ me { username tenant { slug } roles { id role scope { id } } person { id } }
  areas(first: 100) { totalCount nodes { id } }
  households(first: 100) { totalCount nodes { id } }
  persons(first: 100) { totalCount nodes { id } }
  roleAssignments(first: 100, includeInactive: true) { totalCount nodes { id } }
}
"""


def _auth_error(resp: httpx.Response, status: int, code: str) -> None:
    body = resp.json()
    assert resp.status_code == status, (resp.status_code, body)
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


async def test_header_naming_a_tenant_the_token_does_not_allow_is_403(api: Api, world: World) -> None:
    tok = api.token(world.a, "admin", tenants=[world.a.slug])
    _auth_error(await api.post(ME_AND_LISTS, token=tok, tenant=world.b.slug), 403, "TENANT_NOT_ALLOWED")
    # The same token with its own tenant in the header works (the refusal is about B, not the header).
    ok = await api.post(ME_AND_LISTS, token=tok, tenant=world.a.slug)
    assert ok.status_code == 200 and ok.json()["data"]["me"]["tenant"]["slug"] == world.a.slug


@pytest.mark.parametrize("header", ["{b}", "{B}", " {b}", "{b},{a}"])
async def test_header_variants_do_not_reach_b(api: Api, world: World, header: str) -> None:
    tok = api.token(world.a, "admin", tenants=[world.a.slug])
    value = header.format(a=world.a.slug, b=world.b.slug, B=world.b.slug.upper())
    resp = await api.post(ME_AND_LISTS, token=tok, tenant=value)
    assert resp.status_code in (400, 403), (value, resp.status_code, resp.json())
    assert "data" not in resp.json()


async def test_token_with_several_tenants_needs_the_header(api: Api, world: World) -> None:
    tok = api.token(world.b, "admin", tenants=[world.a.slug, world.b.slug])
    _auth_error(await api.post(ME_AND_LISTS, token=tok), 400, "TENANT_REQUIRED")


async def test_token_allowing_no_or_unknown_tenant_is_refused(api: Api, world: World) -> None:
    from gongzhi.http.auth import issue_dev_token

    none = issue_dev_token(api.settings, user_id=world.a.users["admin"], username=world.a.username("admin"),
                           tenants=[])
    _auth_error(await api.post(ME_AND_LISTS, token=none), 403, "TENANT_NOT_ALLOWED")
    ghost = api.token(world.a, "admin", tenants=["no-such-tenant"])
    _auth_error(await api.post(ME_AND_LISTS, token=ghost), 403, "TENANT_NOT_ALLOWED")


async def test_multi_tenant_token_with_header_b_acts_in_b_only(api: Api, db: DbEnv, world: World) -> None:
    a, b = world.a, world.b
    tok = api.token(b, "admin", tenants=[a.slug, b.slug])
    resp = await api.post(ME_AND_LISTS, token=tok, tenant=b.slug)
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    data = body["data"]
    assert data["me"]["tenant"]["slug"] == b.slug
    assert [r["role"] for r in data["me"]["roles"]] == ["STREET_ADMIN"]
    ids = {raw_id(n["id"]) for k in ("areas", "households", "persons", "roleAssignments") for n in data[k]["nodes"]}
    b_ra = await assignment_ids(db, b)
    assert ids == all_ids(b) - set(b.firms.values()) | set(b_ra.values())
    assert not ids & (all_ids(a) | set((await assignment_ids(db, a)).values()))
    assert data["areas"]["totalCount"] == N_AREAS


@pytest.mark.parametrize("how", ["token lists only B", "token lists A and B, header B"])
async def test_a_user_in_b_without_roles_gets_no_b_data(api: Api, db: DbEnv, world: World, how: str) -> None:
    a, b = world.a, world.b
    if how == "token lists only B":
        resp = await api.post(ME_AND_LISTS, token=api.token(a, "admin", tenants=[b.slug]))
    else:
        resp = await api.post(ME_AND_LISTS, token=api.token(a, "admin", tenants=[a.slug, b.slug]), tenant=b.slug)
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    data = body["data"]
    assert data["me"]["tenant"]["slug"] == b.slug
    assert data["me"]["roles"] == [] and data["me"]["person"] is None
    for k in ("areas", "households", "persons", "roleAssignments"):
        assert data[k] == {"totalCount": 0, "nodes": []}, (k, data[k])
    ids = [gid(t, i) for _, t, i in await typed_ids(db, b)]
    tok = api.token(a, "admin", tenants=[b.slug])
    nodes = (await api.post(NODES, {"ids": ids}, token=tok)).json()["data"]["nodes"]
    assert nodes == [None] * len(ids)


async def test_mutations_of_a_user_without_roles_in_b_fail(api: Api, db: DbEnv, fresh: World) -> None:
    """A's admin whose token names B acts in B with no role: B's objects are out of reach."""
    before = await snapshot(db, fresh.b.tenant_id)
    tok = api.token(fresh.a, "admin", tenants=[fresh.b.slug])
    b_ra = await assignment_ids(db, fresh.b)
    for name, attack in ATTACKS.items():
        body = (await api.post(attack.doc, attack.variables(fresh, b_ra, None), token=tok)).json()
        result = body["data"]["r"]
        assert result[attack.payload] is None and result["errors"], (name, body)
    after = await snapshot(db, fresh.b.tenant_id)
    assert _data(after) == _data(before)
    # Each refused attempt is on B's audit log: the request acted in B.
    assert len(after["audit_log"]) - len(before["audit_log"]) == len(ATTACKS)


GRANT = ("mutation($i: GrantRoleInput!) { grantRole(input: $i) { roleAssignment { id role } "
         "errors { code field message } } }")


async def test_user_with_roles_in_both_tenants_sees_one_at_a_time(api: Api, db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    # Accounts belong to their street office (issue #24, DESIGN.md §8): B's admin reaches A's account by
    # its name only once the operator has linked it to B (test_accounts.py: without the link, a new one).
    from gongzhi.ops.accounts import link_identity

    await link_identity(db.owner_engine, username=a.username("admin"), from_slug=a.slug, to_slug=b.slug)
    granted = (await api.gql(b, "admin", GRANT, {"i": {
        "username": a.username("admin"), "role": "GRID_LEADER", "scopeAreaId": gid("Grid", b.areas["G3"])}}))
    in_b = granted["data"]["grantRole"]
    assert in_b["errors"] == [], in_b
    ra_b = raw_id(in_b["roleAssignment"]["id"])
    tok = api.token(a, "admin", tenants=[a.slug, b.slug])
    a_ra = await assignment_ids(db, a)

    as_a = (await api.post(ME_AND_LISTS, token=tok, tenant=a.slug)).json()["data"]
    assert [(r["role"], raw_id(r["id"])) for r in as_a["me"]["roles"]] == [("STREET_ADMIN", a_ra["admin"])]
    assert {raw_id(n["id"]) for n in as_a["areas"]["nodes"]} == set(a.areas.values())
    assert ra_b not in {raw_id(n["id"]) for n in as_a["roleAssignments"]["nodes"]}
    # Its own assignment in B is not readable from A, though node() lets one read one's own assignments.
    own = (await api.post(NODE, {"id": gid("RoleAssignment", ra_b)}, token=tok, tenant=a.slug)).json()
    assert own["data"]["node"] is None, own

    as_b = (await api.post(ME_AND_LISTS, token=tok, tenant=b.slug)).json()["data"]
    assert [(r["role"], raw_id(r["id"])) for r in as_b["me"]["roles"]] == [("GRID_LEADER", ra_b)]
    seen = {raw_id(n["id"]) for k in ("areas", "households", "persons") for n in as_b[k]["nodes"]}
    assert seen and seen <= all_ids(b), seen - all_ids(b)
    assert b.areas["G3"] in seen and b.households["H4"] in seen and b.areas["C1"] not in seen
    mine = (await api.post(NODE, {"id": gid("RoleAssignment", a_ra["admin"])}, token=tok, tenant=b.slug)).json()
    assert mine["data"]["node"] is None, mine


# ================================================================ 5. PostgreSQL: row-level security


def _pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("row-level security exists on PostgreSQL only")


# Rows of one world tenant per table, counted by hand (audit_log, casbin_rules, party_orgs vary or are empty).
WORLD_ROWS = {
    "areas": N_AREAS, "households": N_HOUSEHOLDS, "persons": N_PERSONS, "role_assignments": N_ASSIGNMENTS,
    "members": len(ROLE_USERS) + 1, "grid_buildings": 4, "service_contracts": 2, "property_firms": 1,
    "person_care_tags": 3, "care_tag_kinds": N_CARE_TAG_KINDS,
}


def _known_b_ids(tw: TenantWorld) -> dict[str, tuple[str, set[uuid.UUID]]]:
    """Per table: a column and B's values of it that the world knows."""
    users = set(tw.users.values())
    return {
        "areas": ("id", set(tw.areas.values())),
        "households": ("id", set(tw.households.values())),
        "persons": ("id", set(tw.persons.values())),
        "property_firms": ("id", set(tw.firms.values())),
        "role_assignments": ("user_id", users),
        "members": ("user_id", users),
        "grid_buildings": ("grid_id", set(tw.areas.values())),
        "service_contracts": ("firm_id", set(tw.firms.values())),
        "person_care_tags": ("person_id", set(tw.persons.values())),
    }


async def test_rls_select_without_orm_filter_sees_only_a(db: DbEnv, world: World) -> None:
    _pg(db)
    a, b = world.a, world.b
    known = _known_b_ids(b)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id, orm_filter=False)
        async with s.begin():
            for mapper in Base.registry.mappers:
                cls = mapper.class_
                if not issubclass(cls, TenantScoped):
                    continue
                t = mapper.local_table
                assert isinstance(t, Table)
                with count_statements() as stmts:
                    rows = (await s.execute(select(cls))).scalars().all()
                # The ORM added no tenant criterion: what filters here is the database.
                assert all("WHERE" not in st.upper() for st in stmts), stmts
                assert {r.tenant_id for r in rows} <= {a.tenant_id}, t.name
                if t.name in WORLD_ROWS:
                    assert len(rows) == WORLD_ROWS[t.name], (t.name, len(rows))
                if t.name in known:
                    col, b_values = known[t.name]
                    assert not {getattr(r, col) for r in rows} & b_values, t.name


async def test_rls_update_delete_of_b_rows_affect_nothing(db: DbEnv, world: World) -> None:
    _pg(db)
    a, b = world.a, world.b
    for name, t in tables().items():
        if name in APPEND_ONLY or name == "audit_checkpoints":
            continue  # the app role may not UPDATE/DELETE them at all (below; tests/audit/test_chain.py)
        async with db.sessionmaker() as s:
            bind_tenant(s, a.tenant_id, orm_filter=False)
            async with s.begin():
                conn = await s.connection()
                visible = (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                upd = await conn.execute(update(t).where(t.c.tenant_id == b.tenant_id)
                                         .values(created_at=t.c.created_at))
                assert upd.rowcount == 0, name
                if name not in NO_APP_DELETE:
                    dele = await conn.execute(delete(t).where(t.c.tenant_id == b.tenant_id))
                    assert dele.rowcount == 0, name
                # No WHERE at all: only A's rows are touched.
                everything = await conn.execute(update(t).values(created_at=t.c.created_at))
                assert everything.rowcount == visible, name
                await s.rollback()
    b_snap = await snapshot(db, b.tenant_id)
    assert {k: len(v) for k, v in b_snap.items() if k in WORLD_ROWS} == WORLD_ROWS


async def test_rls_insert_or_move_into_b_through_a_fails(db: DbEnv, world: World) -> None:
    _pg(db)
    a, b = world.a, world.b
    ctk = Base.metadata.tables["care_tag_kinds"]
    areas = Base.metadata.tables["areas"]
    now = datetime.now(UTC)
    new_id = uuid7()
    attempts: dict[str, Any] = {
        "insert care tag kind of B": insert(ctk).values(tenant_id=b.tenant_id, id=uuid7(), code="x", name="x",
                                                        created_at=now),
        "insert area of B under B's street": insert(areas).values(
            tenant_id=b.tenant_id, id=new_id, parent_id=b.areas["S"], kind="community", name="x",
            path=f"/{b.areas['S'].hex}/{new_id.hex}/", depth=1, created_at=now),
        "move A's care tag kind into B": update(ctk).where(ctk.c.tenant_id == a.tenant_id, ctk.c.code == "veteran")
        .values(tenant_id=b.tenant_id),
    }
    for label, stmt in attempts.items():
        async with db.sessionmaker() as s:
            bind_tenant(s, a.tenant_id, orm_filter=False)
            async with s.begin():
                conn = await s.connection()
                # On Citus, moving a row to another tenant changes its distribution column: Citus
                # refuses that before the policy is asked (scripts/citus-cluster.sh test).
                refusal = ("modifying the partition value of rows is not allowed"
                           if citus.ENABLED and label.startswith("move") else "row-level security")
                with pytest.raises(DBAPIError, match=refusal) as exc:
                    await conn.execute(stmt)
                assert exc.value is not None, label
                await s.rollback()
    # The same insert for A's own tenant passes (so the refusal above is RLS, not the statement).
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            ok = await conn.execute(insert(ctk).values(tenant_id=a.tenant_id, id=uuid7(), code="x", name="x",
                                                       created_at=now))
            assert ok.rowcount == 1
            await s.rollback()


async def test_rls_unbound_session_sees_and_writes_nothing(db: DbEnv, world: World) -> None:
    _pg(db)
    async with db.sessionmaker() as s:
        bind_tenant(s, None, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            for name, t in tables().items():
                n = (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                assert n == 0, (name, n)
            ctk = Base.metadata.tables["care_tag_kinds"]
            with pytest.raises(DBAPIError, match="row-level security"):
                await conn.execute(insert(ctk).values(tenant_id=world.a.tenant_id, id=uuid7(), code="y",
                                                      name="y", created_at=datetime.now(UTC)))
            await s.rollback()


async def test_app_role_owns_nothing_and_cannot_bypass_rls(db: DbEnv) -> None:
    _pg(db)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == APP_ROLE
        owned = (await conn.execute(text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"))).scalar_one()
        assert owned == 0
        owned_tables = (await conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"))).scalar_one()
        assert owned_tables == 0
        sup, bypass = (await conn.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))).one()
        assert (sup, bypass) == (False, False)


async def test_tenant_setting_does_not_outlive_its_transaction(api: Api, db: DbEnv, world: World) -> None:
    """After requests of A, every idle pooled connection of the app is bound to no tenant."""
    _pg(db)
    for key in ("admin", "grid1", "resident"):
        await api.gql(world.a, key, LISTS)
    idle = max(db.engine.pool.checkedin(), 1)  # type: ignore[attr-defined]
    conns = [await db.engine.connect() for _ in range(idle)]
    try:
        for conn in conns:
            setting = (await conn.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar_one()
            assert setting in (None, ""), setting
            assert (await conn.execute(text("SELECT count(*) FROM areas"))).scalar_one() == 0
    finally:
        for conn in conns:
            await conn.close()


async def test_every_tenant_table_has_forced_rls_and_a_policy(db: DbEnv) -> None:
    _pg(db)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"))).all()
        with_tenant_id = set((await conn.execute(text(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'"))).scalars())
    state = {r[0]: (r[1], r[2], r[3] > 0) for r in rows}
    assert with_tenant_id == set(tenant_tables())
    bad = {name: state.get(name) for name in tenant_tables() if state.get(name) != (True, True, True)}
    assert bad == {}, "tenant tables without forced RLS and a policy"
    assert {n for n, (rls, _f, _p) in state.items() if not rls} >= PLATFORM_TABLES


async def test_app_role_cannot_turn_rls_off(db: DbEnv, world: World) -> None:
    _pg(db)
    async with db.sessionmaker() as s:
        bind_tenant(s, world.a.tenant_id, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            await conn.execute(text("SET LOCAL row_security = off"))
            with pytest.raises(DBAPIError, match="row-level security"):
                await conn.execute(text("SELECT count(*) FROM areas"))
            await s.rollback()
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="must be owner"):
            await conn.execute(text("ALTER TABLE areas DISABLE ROW LEVEL SECURITY"))
        await conn.rollback()


# The audit chain's head (issue #24): the sealing job updates it, nothing deletes it (the checkpoints
# after a purge the app role may only read).
NO_APP_DELETE = ("audit_chain_heads",
                 "property_owners",  # an ownership is ended, never deleted (the votes of its time, issue #23)
                 "privacy_settings", "personal_data_consents")  # a setting row; consents are withdrawn, kept (#24)
# Tables the app role may only read and append to (the audit log, the case timeline).
APPEND_ONLY = ("audit_log", "case_events", "visits", "care_service_records", "points_entries", "person_moves",
               "inservice_records",  # co-building (issue #7): 双报到 service records are a ledger too
               "person_erasures",  # the erasure list (issue #24): read and appended to, never changed
               "audit_pii_reads")  # the ids of audit_log's full reads (migration 0049), as audit_log


@pytest.mark.parametrize("stmt", ["UPDATE audit_log SET action = action", "DELETE FROM audit_log",
                                  "UPDATE case_events SET note = note", "DELETE FROM case_events",
                                  "UPDATE audit_pii_reads SET object_id = object_id", "DELETE FROM audit_pii_reads"])
async def test_audit_log_and_case_timeline_are_append_only_for_the_app(db: DbEnv, world: World, stmt: str) -> None:
    _pg(db)
    async with db.sessionmaker() as s:
        bind_tenant(s, world.a.tenant_id, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text(stmt))
            await s.rollback()
    # Appending is allowed (every full read of personal data is audited).
    audit = Base.metadata.tables["audit_log"]
    async with db.sessionmaker() as s:
        bind_tenant(s, world.a.tenant_id, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            res = await conn.execute(insert(audit).values(
                tenant_id=world.a.tenant_id, id=uuid7(), roles="", action="test", object_type="test",
                object_ids=[], detail={}, created_at=datetime.now(UTC)))
            assert res.rowcount == 1
            await s.rollback()


# ================================================================ 6. metadata (no database)


def _pk_names(t: Table) -> list[str]:
    return [c.name for c in t.primary_key.columns]


def test_platform_tables_are_the_only_ones_without_tenant_id() -> None:
    without = {name for name, t in Base.metadata.tables.items() if "tenant_id" not in t.c}
    assert without == PLATFORM_TABLES
    assert set(tenant_tables()) == set(Base.metadata.tables) - PLATFORM_TABLES


def test_tenant_primary_keys_start_with_tenant_id() -> None:
    bad = {name: _pk_names(t) for name, t in tables().items()
           if _pk_names(t)[:1] != ["tenant_id"] and name not in KEYLESS_TABLES}
    assert bad == {}
    # the tables without a key have none, and tenant_id leads each of their indexes
    keyless = {name: (_pk_names(t), [[c.name for c in ix.columns][:1] for ix in t.indexes])
               for name, t in tables().items() if name in KEYLESS_TABLES}
    assert keyless == {name: ([], [["tenant_id"]]) for name in KEYLESS_TABLES}


def test_tenant_foreign_keys_include_tenant_id() -> None:
    tenant = set(tenant_tables())
    bad: list[str] = []
    for name, t in tables().items():
        for fk in t.constraints:
            if not isinstance(fk, ForeignKeyConstraint):
                continue
            target = fk.referred_table.name
            if target in PLATFORM_TABLES:
                continue
            assert target in tenant, (name, target)
            pairs = {(e.parent.name, e.column.name) for e in fk.elements}
            if ("tenant_id", "tenant_id") not in pairs:
                bad.append(f"{name}({', '.join(c.name for c in fk.columns)}) -> {target}")
    assert bad == []


def test_tenant_unique_keys_include_tenant_id() -> None:
    bad: list[str] = []
    for name, t in tables().items():
        keys: list[Sequence[str]] = [[c.name for c in uc.columns] for uc in t.constraints
                                     if isinstance(uc, UniqueConstraint)]
        keys += [[c.name for c in ix.columns] for ix in t.indexes if ix.unique]
        keys += [[c.name] for c in t.columns if c.unique]
        bad += [f"{name}{list(k)}" for k in keys if "tenant_id" not in k]
    assert bad == []
