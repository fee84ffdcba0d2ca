"""The default permission matrix (DESIGN.md §4), row by row, for every user of the test world.

Each implemented row is tested allowed AND denied, for every role of the chain
(street_admin > party_secretary > grid_leader > owner_committee_chair > property_firm > resident),
for the users beside it (a party secretary living in another community, an expired assignment,
a user without roles). The expected sets below are counted by hand from the drawing in
``tests/support/world.py`` — they are NOT computed from the code under test.

Sections: expected tables · helpers · me · area·read · area·manage · household/person·read ·
person·read PII · household/person·write · person·write_contact · the role chain ·
role_assignment·read/grant/revoke · expired assignments.

Reads use the session-shared ``world`` (never mutated); a test that writes gets its own new tenant of the
same shape (``scratch``: like ``fresh``, but one tenant, as isolation between tenants is not tested here),
batches its attempts in one request (each mutation runs in its own savepoint) and then re-reads
everything as the street admin, proving that what was denied wrote nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from models import User
from resolvers.ids import encode_global_id
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.world import TenantWorld, build_tenant

# ---------------------------------------------------------------------------------------------------------------
# The world (see tests/support/world.py), as plain facts
# ---------------------------------------------------------------------------------------------------------------

USERS = ["admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4", "secretary2",
         "expired", "nobody"]

AREA_TYPE = {
    "S": "Street", "C1": "Community", "C2": "Community", "Z1": "Zone",
    "P1": "Compound", "P2": "Compound", "P3": "Compound",
    "G1": "Grid", "G2": "Grid", "G3": "Grid",
    "B1": "Building", "B2": "Building", "B3": "Building", "B4": "Building",
}
ALL_AREAS = frozenset(AREA_TYPE)
AREA_NAME = {"S": None, "C1": "东风社区", "C2": "西湖社区", "Z1": "一片区", "P1": "幸福小区", "P2": "老街小区",
             "P3": "湖畔小区", "G1": "一网格", "G2": "二网格", "G3": "三网格", "B1": "1栋", "B2": "2栋", "B3": "3栋",
             "B4": "4栋"}
HOUSEHOLD_BUILDING = {"H1": "B1", "H2": "B2", "H3": "B3", "H4": "B4"}
BUILDINGS_OF = {  # the buildings of an area that has households: a building itself, a grid's covered ones
    "B1": {"B1"}, "B2": {"B2"}, "B3": {"B3"}, "B4": {"B4"},
    "G1": {"B1"}, "G2": {"B2", "B3"}, "G3": {"B4"},
    "P1": {"B1", "B2"}, "P2": {"B3"}, "P3": {"B4"},
}
ROOM = {"H1": "101", "H2": "201", "H3": "301", "H4": "401"}
PERSON_HOUSEHOLD = {"h1a": "H1", "h1b": "H1", "h2a": "H2", "h3a": "H3", "h4a": "H4"}
PERSON_NAME = {"h1a": "张建国", "h1b": "张小梅", "h2a": "李秀英", "h3a": "王德明", "h4a": "赵卫东"}
BIRTH_DATE = {"h1a": "1948-03-05", "h1b": "1980-07-12", "h2a": "1962-11-02", "h3a": "1955-01-20",
              "h4a": "1970-09-09"}
CARE_TAGS = {"h1a": ["living_alone"], "h1b": [], "h2a": [], "h3a": ["disabled"], "h4a": ["veteran"]}
ALL_HOUSEHOLDS = frozenset(ROOM)
ALL_PERSONS = frozenset(PERSON_HOUSEHOLD)
ROLE_USERS = ["admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4",
              "secretary2", "expired"]  # every user holding an assignment (expired's has ended)

# ---------------------------------------------------------------------------------------------------------------
# Expected answers, counted by hand
# ---------------------------------------------------------------------------------------------------------------

# me.roles: the assignments in force (role, scope key); the expired one is not in force.
ME_ROLES: dict[str, list[tuple[str, str]]] = {
    "admin": [("STREET_ADMIN", "S")], "secretary": [("PARTY_SECRETARY", "C1")],
    "grid1": [("GRID_LEADER", "G1")], "grid2": [("GRID_LEADER", "G2")], "grid3": [("GRID_LEADER", "G3")],
    "chair": [("OWNER_COMMITTEE_CHAIR", "P1")], "firm": [("PROPERTY_FIRM", "P1")], "resident": [("RESIDENT", "P1")],
    "resident4": [("RESIDENT", "P3")], "secretary2": [("PARTY_SECRETARY", "C2")], "expired": [], "nobody": [],
}
ME_PERSON: dict[str, str | None] = {k: None for k in USERS} | {
    "resident": "h1b", "resident4": "h4a", "secretary2": "h1a", "chair": "h2a"}

# area·read: the scope subtree, buildings covered by grids in scope, the ancestors of the scope;
# a resident their own compound; a firm the compounds served today (F1's P3 contract has expired).
AREAS_READ: dict[str, frozenset[str]] = {
    "admin": ALL_AREAS,
    "secretary": frozenset({"S", "C1", "P1", "B1", "B2", "P2", "B3", "G1", "G2"}),
    # DESIGN.md §8: and the compounds the grid's buildings belong to (with the areas above them), never
    # those compounds' other buildings: G1 touches P1 (not P2, not B2); G2 P1 and P2; G3 P3 under Z1.
    "grid1": frozenset({"S", "C1", "G1", "B1", "P1"}),
    "grid2": frozenset({"S", "C1", "G2", "B2", "B3", "P1", "P2"}),
    "grid3": frozenset({"S", "C2", "G3", "B4", "Z1", "P3"}),
    "chair": frozenset({"S", "C1", "P1", "B1", "B2"}),
    "firm": frozenset({"S", "C1", "P1", "B1", "B2"}),
    "resident": frozenset({"S", "C1", "P1", "B1", "B2"}),
    "resident4": frozenset({"S", "C2", "Z1", "P3", "B4"}),
    "secretary2": frozenset({"S", "C2", "Z1", "P3", "B4", "G3", "C1", "P1", "B1", "B2"}),  # scope C2 + own compound
    "expired": frozenset(),
    "nobody": frozenset(),
}

# area·manage: the scope subtree itself (never the ancestors); only party secretaries and the street admin.
AREAS_MANAGE: dict[str, frozenset[str]] = {k: frozenset() for k in USERS} | {
    "admin": ALL_AREAS,
    "secretary": frozenset({"C1", "P1", "B1", "B2", "P2", "B3", "G1", "G2"}),
    "secretary2": frozenset({"C2", "Z1", "P3", "B4", "G3"}),
}

# household·read and person·read (masked).
HOUSEHOLDS_READ: dict[str, frozenset[str]] = {
    "admin": ALL_HOUSEHOLDS,
    "secretary": frozenset({"H1", "H2", "H3"}),
    "grid1": frozenset({"H1"}),
    "grid2": frozenset({"H2", "H3"}),
    "grid3": frozenset({"H4"}),
    "chair": frozenset({"H1", "H2"}),  # scope P1 (and H2 is their own)
    "firm": frozenset({"H1", "H2"}),  # served P1 only
    "resident": frozenset({"H1"}),
    "resident4": frozenset({"H4"}),
    "secretary2": frozenset({"H1", "H4"}),  # own household + scope C2
    "expired": frozenset(),
    "nobody": frozenset(),
}
PERSONS_READ: dict[str, frozenset[str]] = {
    "admin": ALL_PERSONS,
    "secretary": frozenset({"h1a", "h1b", "h2a", "h3a"}),
    "grid1": frozenset({"h1a", "h1b"}),
    "grid2": frozenset({"h2a", "h3a"}),
    "grid3": frozenset({"h4a"}),
    "chair": frozenset({"h1a", "h1b", "h2a"}),
    "firm": frozenset({"h1a", "h1b", "h2a"}),
    "resident": frozenset({"h1a", "h1b"}),
    "resident4": frozenset({"h4a"}),
    "secretary2": frozenset({"h1a", "h1b", "h4a"}),
    "expired": frozenset(),
    "nobody": frozenset(),
}

# person·read PII in full (and a household's exact address): own for the three lowest roles, scope above.
PII_HOUSEHOLDS: dict[str, frozenset[str]] = {
    "admin": ALL_HOUSEHOLDS,
    "secretary": frozenset({"H1", "H2", "H3"}),
    "grid1": frozenset({"H1"}),
    "grid2": frozenset({"H2", "H3"}),
    "grid3": frozenset({"H4"}),
    "chair": frozenset({"H2"}),  # only their own household, although they read H1 masked
    "firm": frozenset(),  # a firm reads the register of P1 masked only
    "resident": frozenset({"H1"}),
    "resident4": frozenset({"H4"}),
    "secretary2": frozenset({"H1", "H4"}),
    "expired": frozenset(),
    "nobody": frozenset(),
}

# household·write and person·write: scope, from the grid leader up.
HOUSEHOLDS_WRITE: dict[str, frozenset[str]] = {k: frozenset() for k in USERS} | {
    "admin": ALL_HOUSEHOLDS,
    "secretary": frozenset({"H1", "H2", "H3"}),
    "grid1": frozenset({"H1"}),
    "grid2": frozenset({"H2", "H3"}),
    "grid3": frozenset({"H4"}),
    "secretary2": frozenset({"H4"}),  # not their own H1: living there gives contact data only
}
BUILDINGS_WRITE: dict[str, frozenset[str]] = {k: frozenset() for k in USERS} | {
    "admin": frozenset({"B1", "B2", "B3", "B4"}),
    "secretary": frozenset({"B1", "B2", "B3"}),
    "grid1": frozenset({"B1"}),
    "grid2": frozenset({"B2", "B3"}),
    "grid3": frozenset({"B4"}),
    "secretary2": frozenset({"B4"}),
}
# person·write_contact (the phone) of the own household: inherited by every role of the chain.
OWN_HOUSEHOLD: dict[str, str] = {"resident": "H1", "resident4": "H4", "secretary2": "H1", "chair": "H2"}

# role_assignment·read: scope for a party secretary, all for the street admin (includeInactive: true).
ROLE_ASSIGNMENTS_READ: dict[str, frozenset[str]] = {k: frozenset() for k in USERS} | {
    "admin": frozenset(ROLE_USERS),
    "secretary": frozenset({"secretary", "grid1", "grid2", "chair", "firm", "resident", "expired"}),
    "secretary2": frozenset({"secretary2", "grid3", "resident4"}),
}

# role_assignment·grant: (role, scope) attempts; who may make each.
GRANTS: list[tuple[str, str]] = [
    ("STREET_ADMIN", "S"), ("PARTY_SECRETARY", "C1"), ("PARTY_SECRETARY", "C2"), ("GRID_LEADER", "G1"),
    ("GRID_LEADER", "G3"), ("OWNER_COMMITTEE_CHAIR", "P1"), ("RESIDENT", "P1"), ("RESIDENT", "P3"),
    ("NEIGHBOR_LEAD", "B2"),
]
GRANTS_ALLOWED: dict[str, frozenset[tuple[str, str]]] = {k: frozenset() for k in USERS} | {
    "admin": frozenset(GRANTS),
    "secretary": frozenset({("GRID_LEADER", "G1"), ("OWNER_COMMITTEE_CHAIR", "P1"), ("RESIDENT", "P1"),
                            ("NEIGHBOR_LEAD", "B2")}),
    "secretary2": frozenset({("GRID_LEADER", "G3"), ("RESIDENT", "P3")}),
}
# role_assignment·revoke: whose assignment each user may revoke (the admin's own is left alone).
REVOKE_TARGETS = ["secretary", "grid1", "chair", "secretary2", "resident4"]
REVOKES_ALLOWED: dict[str, frozenset[str]] = {k: frozenset() for k in USERS} | {
    "admin": frozenset(REVOKE_TARGETS),
    "secretary": frozenset({"grid1", "chair"}),  # not their own: only roles strictly below theirs
    "secretary2": frozenset({"resident4"}),
}
# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


def area_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id(AREA_TYPE[key], tw.areas[key])


def household_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Household", tw.households[key])


def person_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Person", tw.persons[key])


def key_of(tw: TenantWorld) -> dict[str, str]:
    """Global ID → world key (areas, households, persons)."""
    out = {area_gid(tw, k): k for k in AREA_TYPE}
    out |= {household_gid(tw, k): k for k in ROOM}
    out |= {person_gid(tw, k): k for k in PERSON_HOUSEHOLD}
    return out


def persons_in(households: frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset(p for p, h in PERSON_HOUSEHOLD.items() if h in households)


def masked_card(card: str) -> str:
    """340302194803051019 → 340***********1019"""
    return card[:3] + "*" * 11 + card[-4:]


def masked_phone(phone: str) -> str:
    """13912340001 → 139****0001"""
    return phone[:3] + "****" + phone[-4:]


def denial(readable: bool) -> str:
    """A denied write on an object you may read is FORBIDDEN; on one you may not even read, NOT_FOUND
    (no existence leak)."""
    return "FORBIDDEN" if readable else "NOT_FOUND"


def by_user(table: dict[str, Any]) -> list[Any]:
    return [pytest.param(u, table[u], id=u) for u in USERS]


def node_fields(gids: list[str], selection: str, prefix: str = "n") -> str:
    """A ``node(id:)`` per global ID, aliased n0, n1 …"""
    return " ".join(f'{prefix}{i}: node(id: "{g}") {{ {selection} }}' for i, g in enumerate(gids))


MUTATIONS: dict[str, tuple[str, str, str]] = {  # name → (input type, payload object, its selection)
    "createArea": ("CreateAreaInput", "area", "area { id name }"),
    "updateArea": ("UpdateAreaInput", "area", "area { id name }"),
    "setGridBuildings": ("SetGridBuildingsInput", "grid", "grid { id buildingCount }"),
    "createHousehold": ("CreateHouseholdInput", "household", "household { id }"),
    "updateHousehold": ("UpdateHouseholdInput", "household", "household { id floorArea }"),
    "createPerson": ("CreatePersonInput", "person", "person { id name }"),
    "updatePerson": ("UpdatePersonInput", "person", "person { id name phone }"),
    "grantRole": ("GrantRoleInput", "roleAssignment", "roleAssignment { id role active }"),
    "revokeRole": ("RevokeRoleInput", "roleAssignment", "roleAssignment { id revokedAt active }"),
}


async def mutate_all(api: Api, tw: TenantWorld, user: str, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Run mutations as ``user`` in one request (each runs in its own savepoint, in order); for each,
    "OK" or the code of the first error in its payload. A failed payload carries no object."""
    defs, fields, variables = [], [], {}
    for i, (name, input_) in enumerate(calls):
        input_type, _, selection = MUTATIONS[name]
        defs.append(f"$i{i}: {input_type}!")
        fields.append(f"m{i}: {name}(input: $i{i}) {{ {selection} errors {{ code message field }} }}")
        variables[f"i{i}"] = input_
    body = await api.gql(tw, user, f"mutation({', '.join(defs)}) {{ {' '.join(fields)} }}", variables)
    out: list[str] = []
    for i, (name, _) in enumerate(calls):
        payload, obj = body["data"][f"m{i}"], MUTATIONS[name][1]
        if payload["errors"]:
            assert payload[obj] is None, payload
            out.append(str(payload["errors"][0]["code"]))
        else:
            assert payload[obj] is not None, payload
            out.append("OK")
    return out


async def mutate(api: Api, tw: TenantWorld, user: str, name: str, input_: dict[str, Any]) -> str:
    return (await mutate_all(api, tw, user, [(name, input_)]))[0]


ADMIN_VIEW_Q = """{
  areas(first: 100) { nodes { id name ... on Grid { buildingCount } } }
  households(first: 100) { nodes { id room floorArea } }
  persons(first: 100) { nodes { id name phone idCardNo relationToHead careTags partyMember } }
  roleAssignments(includeInactive: true, first: 100) { nodes { id role active revokedAt user { username }
                                                              scope { id } } }
}"""


async def admin_view(api: Api, tw: TenantWorld) -> dict[str, Any]:
    """Everything, as the street admin reads it after a test's mutations: areas, households and persons
    by world key (new ones by name/room), role assignments as a list."""
    data = (await api.gql(tw, "admin", ADMIN_VIEW_Q))["data"]
    keys = key_of(tw)
    return {
        "areas": {keys.get(n["id"], n["name"]): n for n in data["areas"]["nodes"]},
        "households": {keys.get(n["id"], n["room"]): n for n in data["households"]["nodes"]},
        "persons": {keys.get(n["id"], n["name"]): n for n in data["persons"]["nodes"]},
        "roles": data["roleAssignments"]["nodes"],
    }


def holder(tw: TenantWorld, ra: dict[str, Any]) -> str:
    return str(ra["user"]["username"]).removeprefix(f"{tw.slug}-")


PERSON_FIELDS = "id name idCardNo phone birthDate careTags piiMasked"
RA_Q = """query($inactive: Boolean!) { roleAssignments(includeInactive: $inactive, first: 100) {
    totalCount nodes { id role active revokedAt user { username } scope { id } } } }"""


def check_person(tw: TenantWorld, key: str, node: dict[str, Any], full: bool) -> None:
    """A person as seen with (full) or without the right to read personal data in full."""
    if full:
        assert node == {"id": person_gid(tw, key), "name": PERSON_NAME[key], "idCardNo": tw.id_cards[key],
                        "phone": tw.phones[key], "birthDate": BIRTH_DATE[key], "careTags": CARE_TAGS[key],
                        "piiMasked": False}, key
    else:
        assert node == {"id": person_gid(tw, key), "name": PERSON_NAME[key], "idCardNo": masked_card(tw.id_cards[key]),
                        "phone": masked_phone(tw.phones[key]), "birthDate": None, "careTags": None,
                        "piiMasked": True}, key


@pytest.fixture
async def scratch(db: DbEnv) -> TenantWorld:
    """A new tenant of the world's shape, for one test that writes."""
    return await build_tenant(db.sessionmaker, new_slug("perm"))


# ---------------------------------------------------------------------------------------------------------------
# me: each user's roles in force
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), by_user(ME_ROLES))
async def test_me_lists_the_roles_in_force(api: Api, world: World, user: str, expected: list[tuple[str, str]]) -> None:
    tw = world.a
    body = await api.gql(tw, user, "{ me { username roles { role active scope { id } } person { id } } }")
    me = body["data"]["me"]
    assert me["username"] == tw.username(user)
    assert [(r["role"], key_of(tw)[r["scope"]["id"]]) for r in me["roles"]] == expected
    assert all(r["active"] for r in me["roles"])
    own = ME_PERSON[user]
    assert me["person"] == (None if own is None else {"id": person_gid(tw, own)})


# ---------------------------------------------------------------------------------------------------------------
# area · read
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), by_user(AREAS_READ))
async def test_area_read(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """The `areas` list, `node(id:)`, `Area.children` (filtered like the list) and `Area.parent` (null
    when the parent is not readable) all show exactly the readable areas."""
    tw = world.a
    keys = key_of(tw)
    every = sorted(ALL_AREAS)
    q = "{ areas(first: 100) { totalCount nodes { id name } } " + node_fields(
        [area_gid(tw, k) for k in every], "id") + f"""
        c1: node(id: "{area_gid(tw, 'C1')}") {{ ... on Area {{ children(first: 100) {{ nodes {{ id }} }} }} }}
        b2: node(id: "{area_gid(tw, 'B2')}") {{ ... on Area {{ parent {{ id }} }} }} }}"""
    data = (await api.gql(tw, user, q))["data"]
    listed = [keys[n["id"]] for n in data["areas"]["nodes"]]
    assert sorted(listed) == sorted(expected)
    assert data["areas"]["totalCount"] == len(expected)
    for n in data["areas"]["nodes"]:
        assert AREA_NAME[keys[n["id"]]] in (None, n["name"])
    assert {k for i, k in enumerate(every) if data[f"n{i}"] is not None} == expected
    assert all(data[f"n{i}"] in (None, {"id": area_gid(tw, k)}) for i, k in enumerate(every))
    if "C1" in expected:
        assert {keys[n["id"]] for n in data["c1"]["children"]["nodes"]} == {"P1", "P2", "G1", "G2"} & expected
    else:
        assert data["c1"] is None
    if "B2" in expected:
        assert data["b2"]["parent"] == ({"id": area_gid(tw, "P1")} if "P1" in expected else None)
    else:
        assert data["b2"] is None


# ---------------------------------------------------------------------------------------------------------------
# area · manage (createArea, updateArea, setGridBuildings)
# ---------------------------------------------------------------------------------------------------------------


def manage_outcome(user: str, area: str) -> str:
    return "OK" if area in AREAS_MANAGE[user] else denial(area in AREAS_READ[user])


@pytest.mark.parametrize("user", USERS)
async def test_area_manage(api: Api, scratch: TenantWorld, user: str) -> None:
    tw = scratch
    creates = [("COMMUNITY", "S"), ("COMPOUND", "C1"), ("BUILDING", "P1"), ("GRID", "C2"), ("BUILDING", "P3")]
    updates = ["S", "C1", "P1", "B1", "G1", "C2", "B4", "G3"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("createArea", {"kind": kind, "parentId": area_gid(tw, parent), "name": f"新{kind}-{parent}"})
        for kind, parent in creates
    ]
    calls += [("updateArea", {"id": area_gid(tw, a), "name": f"改名-{a}"}) for a in updates]
    # G1 covers B1 → B1 and B2 (both in C1); G3 covers B4 → nothing.
    calls += [
        ("setGridBuildings", {"gridId": area_gid(tw, "G1"), "buildingIds": [area_gid(tw, "B1"), area_gid(tw, "B2")]}),
        ("setGridBuildings", {"gridId": area_gid(tw, "G3"), "buildingIds": []}),
    ]
    got = await mutate_all(api, tw, user, calls)
    targets = [p for _, p in creates] + updates + ["G1", "G3"]
    assert got == [manage_outcome(user, t) for t in targets]

    after = (await admin_view(api, tw))["areas"]
    assert {k for k in after if k not in ALL_AREAS} == {
        f"新{kind}-{parent}" for kind, parent in creates if parent in AREAS_MANAGE[user]}
    assert {a for a in updates if after[a]["name"] == f"改名-{a}"} == set(updates) & AREAS_MANAGE[user]
    assert after["G1"]["buildingCount"] == (2 if "G1" in AREAS_MANAGE[user] else 1)
    assert after["G3"]["buildingCount"] == (0 if "G3" in AREAS_MANAGE[user] else 1)


async def test_area_manage_grid_buildings_outside_scope(api: Api, scratch: TenantWorld) -> None:
    """A party secretary cannot put a building they do not manage into their grid; nothing changes."""
    tw = scratch
    got = await mutate(api, tw, "secretary", "setGridBuildings",
                       {"gridId": area_gid(tw, "G1"), "buildingIds": [area_gid(tw, "B1"), area_gid(tw, "B4")]})
    assert got == "NOT_FOUND"
    # secretary2 reads B1 (their own compound) but does not manage it.
    got = await mutate(api, tw, "secretary2", "setGridBuildings",
                       {"gridId": area_gid(tw, "G3"), "buildingIds": [area_gid(tw, "B1")]})
    assert got == "NOT_FOUND"
    after = (await admin_view(api, tw))["areas"]
    assert (after["G1"]["buildingCount"], after["G3"]["buildingCount"]) == (1, 1)


# ---------------------------------------------------------------------------------------------------------------
# household · read and person · read (lists, nested, node)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), by_user(HOUSEHOLDS_READ))
async def test_household_read(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """`households`, `node(id:)` and the nested `Building/Grid/Compound.households` show exactly the readable
    households (a grid's households are those of the buildings it covers)."""
    tw = world.a
    keys = key_of(tw)
    every = sorted(ALL_HOUSEHOLDS)
    hh = "households(first: 100) { totalCount nodes { id } }"
    q = ("{ households(first: 100) { totalCount nodes { id } } "
         + node_fields([household_gid(tw, h) for h in every], "id")
         + f" areas(first: 100) {{ nodes {{ id ... on Building {{ {hh} }} ... on Grid {{ {hh} }}"
           f" ... on Compound {{ {hh} }} }} }} }}")
    data = (await api.gql(tw, user, q))["data"]
    assert sorted(keys[n["id"]] for n in data["households"]["nodes"]) == sorted(expected)
    assert data["households"]["totalCount"] == len(expected)
    assert {h for i, h in enumerate(every) if data[f"n{i}"] is not None} == expected
    nested = {keys[a["id"]]: {keys[h["id"]] for h in a["households"]["nodes"]}
              for a in data["areas"]["nodes"] if "households" in a}
    assert all(a["households"]["totalCount"] == len(a["households"]["nodes"])
               for a in data["areas"]["nodes"] if "households" in a)
    assert nested == {a: {h for h in expected if HOUSEHOLD_BUILDING[h] in BUILDINGS_OF[a]}
                      for a in AREAS_READ[user] if a in BUILDINGS_OF}


@pytest.mark.parametrize(("user", "expected"), by_user(PERSONS_READ))
async def test_person_read(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """`persons`, `node(id:)` and `Household.persons` show exactly the readable persons."""
    tw = world.a
    keys = key_of(tw)
    every = sorted(ALL_PERSONS)
    q = ("{ persons(first: 100) { totalCount nodes { id name } } "
         + node_fields([person_gid(tw, p) for p in every], "id")
         + " households(first: 100) { nodes { id persons { id } } } }")
    data = (await api.gql(tw, user, q))["data"]
    assert sorted(keys[n["id"]] for n in data["persons"]["nodes"]) == sorted(expected)
    assert all(n["name"] == PERSON_NAME[keys[n["id"]]] for n in data["persons"]["nodes"])
    assert data["persons"]["totalCount"] == len(expected)
    assert {p for i, p in enumerate(every) if data[f"n{i}"] is not None} == expected
    nested = {keys[h["id"]]: {keys[p["id"]] for p in h["persons"]} for h in data["households"]["nodes"]}
    assert nested == {h: set(persons_in({h}) & expected) for h in HOUSEHOLDS_READ[user]}


@pytest.mark.parametrize("user", ["grid1", "chair", "firm", "resident"])
async def test_register_read_within_unreadable_area(api: Api, world: World, user: str) -> None:
    """Filtering by an area never widens the reach: C2's register is empty for a C1 user."""
    tw = world.a
    body = await api.gql(tw, user, "query($a: ID!) { households(areaId: $a) { totalCount } "
                                   "persons(areaId: $a) { totalCount } }", {"a": area_gid(tw, "C2")})
    assert body["data"] == {"households": {"totalCount": 0}, "persons": {"totalCount": 0}}


# ---------------------------------------------------------------------------------------------------------------
# person · read PII in full (idCardNo, phone, birthDate, careTags, Household.room)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), by_user(PII_HOUSEHOLDS))
async def test_pii_of_persons(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """Full or masked wherever a Person appears: the `persons` list, `Household.persons`, `node(id:)`."""
    tw = world.a
    keys = key_of(tw)
    readable = sorted(PERSONS_READ[user])
    q = (f"{{ persons(first: 100) {{ nodes {{ {PERSON_FIELDS} }} }} "
         f"households(first: 100) {{ nodes {{ persons {{ {PERSON_FIELDS} }} }} }} "
         + node_fields([person_gid(tw, p) for p in readable], f"... on Person {{ {PERSON_FIELDS} }}") + " }")
    data = (await api.gql(tw, user, q))["data"]
    seen = {
        "list": data["persons"]["nodes"],
        "nested": [p for h in data["households"]["nodes"] for p in h["persons"]],
        "node": [data[f"n{i}"] for i in range(len(readable))],
    }
    for where, nodes in seen.items():
        assert sorted(keys[n["id"]] for n in nodes) == readable, where
        for n in nodes:
            key = keys[n["id"]]
            check_person(tw, key, n, full=PERSON_HOUSEHOLD[key] in expected)
    assert {keys[n["id"]] for n in seen["list"] if not n["piiMasked"]} == persons_in(expected)


@pytest.mark.parametrize(("user", "expected"), by_user(PII_HOUSEHOLDS))
async def test_pii_of_households_and_pii_filters(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """The room (exact address) is masked (***) without the full-read right; filtering by care group or
    room number finds only what the actor reads in full."""
    tw = world.a
    keys = key_of(tw)
    q = ('{ households(first: 100) { nodes { id room addressMasked } } '
         'byTag: persons(careTag: "living_alone") { nodes { id } } '
         'byRoom: households(search: "01") { nodes { id } } }')
    data = (await api.gql(tw, user, q))["data"]
    rooms = {keys[h["id"]]: (h["room"], h["addressMasked"]) for h in data["households"]["nodes"]}
    assert rooms == {h: (ROOM[h], False) if h in expected else ("***", True) for h in HOUSEHOLDS_READ[user]}
    assert {keys[n["id"]] for n in data["byTag"]["nodes"]} == {"h1a"} & persons_in(expected)
    assert {keys[n["id"]] for n in data["byRoom"]["nodes"]} == set(expected)


# ---------------------------------------------------------------------------------------------------------------
# household · write and person · write (createHousehold, updateHousehold, createPerson, updatePerson)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", USERS)
async def test_household_write(api: Api, scratch: TenantWorld, user: str) -> None:
    tw = scratch
    buildings = ["B1", "B2", "B3", "B4"]
    households = sorted(ALL_HOUSEHOLDS)
    calls = [("createHousehold", {"buildingId": area_gid(tw, b), "room": f"9{b[1]}9", "unit": "2"})
             for b in buildings]
    calls += [("updateHousehold", {"id": household_gid(tw, h), "floorArea": "66.25"}) for h in households]
    got = await mutate_all(api, tw, user, calls)
    for b, code in zip(buildings, got[:4], strict=True):
        if b in BUILDINGS_WRITE[user]:
            assert code == "OK", b
        else:  # an unreadable building may be reported as FORBIDDEN or NOT_FOUND
            assert code == "FORBIDDEN" if b in AREAS_READ[user] else code in {"FORBIDDEN", "NOT_FOUND"}, (b, code)
    assert got[4:] == ["OK" if h in HOUSEHOLDS_WRITE[user] else denial(h in HOUSEHOLDS_READ[user])
                       for h in households]

    after = (await admin_view(api, tw))["households"]
    assert set(after) - ALL_HOUSEHOLDS == {f"9{b[1]}9" for b in BUILDINGS_WRITE[user]}
    assert {h: after[h]["floorArea"] for h in households} == {
        h: "66.25" if h in HOUSEHOLDS_WRITE[user] else "88.50" for h in households}


@pytest.mark.parametrize("user", USERS)
async def test_person_write(api: Api, scratch: TenantWorld, user: str) -> None:
    tw = scratch
    households, persons = sorted(ALL_HOUSEHOLDS), sorted(ALL_PERSONS)
    calls = [("createPerson", {"householdId": household_gid(tw, h), "name": f"新居民{h}"}) for h in households]
    calls += [("updatePerson", {"id": person_gid(tw, p), "name": f"改名{p}"}) for p in persons]
    got = await mutate_all(api, tw, user, calls)
    assert got[:4] == ["OK" if h in HOUSEHOLDS_WRITE[user] else denial(h in HOUSEHOLDS_READ[user])
                       for h in households]
    writable = persons_in(HOUSEHOLDS_WRITE[user])
    assert got[4:] == ["OK" if p in writable else denial(p in PERSONS_READ[user]) for p in persons]

    after = (await admin_view(api, tw))["persons"]
    assert set(after) - ALL_PERSONS == {f"新居民{h}" for h in HOUSEHOLDS_WRITE[user]}
    assert {p: after[p]["name"] for p in persons} == {
        p: f"改名{p}" if p in writable else PERSON_NAME[p] for p in persons}


# ---------------------------------------------------------------------------------------------------------------
# person · write_contact: the phone of the own household's members, nothing else
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", USERS)
async def test_person_write_contact_phone(api: Api, scratch: TenantWorld, user: str) -> None:
    """The phone may be changed with person·write (scope) or with write_contact (own household), which
    every role of the chain inherits from resident."""
    tw = scratch
    persons = sorted(ALL_PERSONS)
    new_phone = {p: f"1860000{i:04d}" for i, p in enumerate(persons)}
    got = await mutate_all(api, tw, user, [("updatePerson", {"id": person_gid(tw, p), "phone": new_phone[p]})
                                           for p in persons])
    own = persons_in({OWN_HOUSEHOLD[user]}) if user in OWN_HOUSEHOLD else frozenset()
    writable = persons_in(HOUSEHOLDS_WRITE[user]) | own
    assert got == ["OK" if p in writable else denial(p in PERSONS_READ[user]) for p in persons]
    after = (await admin_view(api, tw))["persons"]
    assert {p: after[p]["phone"] for p in persons} == {
        p: new_phone[p] if p in writable else tw.phones[p] for p in persons}


CONTACT_ONLY_DENIED: list[dict[str, Any]] = [
    {"name": "改名"},
    {"phone": "18600001111", "name": "改名"},
    {"idCardNo": None},
    {"relationToHead": "户主"},
    {"careTags": []},
    {"partyMember": True},
]


@pytest.mark.parametrize(("user", "own"), [("resident", "h1b"), ("resident", "h1a"), ("resident4", "h4a"),
                                           ("chair", "h2a"), ("secretary2", "h1a")])
async def test_person_write_contact_is_phone_only(api: Api, scratch: TenantWorld, user: str, own: str) -> None:
    """A resident (and anyone acting only through the inherited contact right) may change the phone of their
    own household's members and nothing else: changing the name, the ID number, the relation, care tags or
    party membership is FORBIDDEN — even together with the phone — and writes nothing."""
    tw = scratch
    before = (await admin_view(api, tw))["persons"][own]
    got = await mutate_all(api, tw, user, [("updatePerson", {"id": person_gid(tw, own), **c})
                                           for c in CONTACT_ONLY_DENIED])
    assert got == ["FORBIDDEN"] * len(CONTACT_ONLY_DENIED)
    assert (await admin_view(api, tw))["persons"][own] == before
    assert await mutate(api, tw, user, "updatePerson", {"id": person_gid(tw, own), "phone": "18600002222"}) == "OK"
    assert (await admin_view(api, tw))["persons"][own] == before | {"phone": "18600002222"}


# ---------------------------------------------------------------------------------------------------------------
# The role chain: a higher role does what the lower roles do, inside its own scope
# ---------------------------------------------------------------------------------------------------------------


async def test_role_chain_secretary_acts_as_grid_leader_in_c1(api: Api, scratch: TenantWorld) -> None:
    """The party secretary of C1 edits H2/H3 (grid2's), which grid1 (the neighbouring grid) cannot."""
    tw = scratch
    assert await mutate_all(api, tw, "secretary", [
        ("updateHousehold", {"id": household_gid(tw, "H2"), "floorArea": "70.00"}),
        ("updateHousehold", {"id": household_gid(tw, "H3"), "floorArea": "70.00"}),
        ("updatePerson", {"id": person_gid(tw, "h3a"), "name": "王德明改"}),
        ("createPerson", {"householdId": household_gid(tw, "H2"), "name": "李新"}),
    ]) == ["OK"] * 4
    for call in (("updateHousehold", {"id": household_gid(tw, "H2"), "floorArea": "12.00"}),
                 ("updatePerson", {"id": person_gid(tw, "h2a"), "name": "x"}),
                 ("updatePerson", {"id": person_gid(tw, "h2a"), "phone": "18600004444"}),
                 ("createPerson", {"householdId": household_gid(tw, "H2"), "name": "y"})):
        assert await mutate(api, tw, "grid1", *call) in {"FORBIDDEN", "NOT_FOUND"}, call
    # ... and the secretary of C1 cannot act in C2.
    assert await mutate(api, tw, "secretary", "updateHousehold",
                        {"id": household_gid(tw, "H4"), "floorArea": "12.00"}) == "NOT_FOUND"
    after = await admin_view(api, tw)
    assert {h: after["households"][h]["floorArea"] for h in ("H1", "H2", "H3", "H4")} == {
        "H1": "88.50", "H2": "70.00", "H3": "70.00", "H4": "88.50"}
    assert after["persons"]["h2a"]["name"] == PERSON_NAME["h2a"]
    assert after["persons"]["h2a"]["phone"] == tw.phones["h2a"]
    assert after["persons"]["h3a"]["name"] == "王德明改"
    assert set(after["persons"]) - ALL_PERSONS == {"李新"}


async def test_role_chain_higher_roles_keep_lower_rights(api: Api, world: World) -> None:
    """secretary2 reads their own household in full like any resident, though it lies outside their scope;
    the chair reads their own household in full like a resident and the rest of P1 masked."""
    tw = world.a
    keys = key_of(tw)
    for user, full, masked in (("secretary2", {"h1a", "h1b", "h4a"}, set()), ("chair", {"h2a"}, {"h1a", "h1b"})):
        nodes = (await api.gql(tw, user, "{ persons { nodes { id piiMasked } } }"))["data"]["persons"]["nodes"]
        assert {keys[n["id"]] for n in nodes if not n["piiMasked"]} == full
        assert {keys[n["id"]] for n in nodes if n["piiMasked"]} == masked


# ---------------------------------------------------------------------------------------------------------------
# role_assignment · read / grant / revoke
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), by_user(ROLE_ASSIGNMENTS_READ))
async def test_role_assignment_read(api: Api, world: World, user: str, expected: frozenset[str]) -> None:
    """`roleAssignments` lists those in scope; `node(id:)` also finds one's own assignment."""
    tw = world.a
    conn = (await api.gql(tw, user, RA_Q, {"inactive": True}))["data"]["roleAssignments"]
    assert sorted(holder(tw, n) for n in conn["nodes"]) == sorted(expected)
    assert conn["totalCount"] == len(expected)
    everyone = {holder(tw, n): n["id"] for n in (await admin_view(api, tw))["roles"]}
    holders = sorted(everyone)
    data = (await api.gql(tw, user, "{ " + node_fields([everyone[h] for h in holders], "id") + " }"))["data"]
    own = {user} if user in ROLE_USERS else set()
    assert {h for i, h in enumerate(holders) if data[f"n{i}"] is not None} == expected | own


@pytest.mark.parametrize("user", ["admin", "secretary"])
async def test_role_assignment_read_default_lists_only_assignments_in_force(api: Api, world: World,
                                                                             user: str) -> None:
    """`includeInactive` defaults to false: the list then holds only assignments in force (`active`),
    not the grid_leader@G1 assignment that ended yesterday."""
    tw = world.a
    conn = (await api.gql(tw, user, RA_Q, {"inactive": False}))["data"]["roleAssignments"]
    assert {holder(tw, n) for n in conn["nodes"]} == ROLE_ASSIGNMENTS_READ[user] - {"expired"}
    assert all(n["active"] for n in conn["nodes"])


@pytest.mark.parametrize("user", USERS)
async def test_role_assignment_grant(api: Api, db: DbEnv, scratch: TenantWorld, user: str) -> None:
    """A street admin grants anything anywhere; a party secretary only roles strictly below their own,
    inside their scope; grid leaders and below grant nothing. Also to an existing account (nobody)."""
    tw = scratch
    calls = [("grantRole", {"username": f"{tw.slug}-new{i}", "displayName": f"新人{i}", "role": role,
                            "scopeAreaId": area_gid(tw, scope)}) for i, (role, scope) in enumerate(GRANTS)]
    calls += [("grantRole", {"username": tw.username("nobody"), "role": "RESIDENT", "scopeAreaId": area_gid(tw, s)})
              for s in ("P1", "P3")]
    attempts = [*GRANTS, ("RESIDENT", "P1"), ("RESIDENT", "P3")]
    got = await mutate_all(api, tw, user, calls)
    assert got == ["OK" if a in GRANTS_ALLOWED[user] else "FORBIDDEN" for a in attempts]

    keys = key_of(tw)
    new = {(holder(tw, n), n["role"], keys[n["scope"]["id"]]) for n in (await admin_view(api, tw))["roles"]
           if holder(tw, n) not in ROLE_USERS}
    assert new == {(f"new{i}", role, scope) for i, (role, scope) in enumerate(GRANTS)
                   if (role, scope) in GRANTS_ALLOWED[user]} | {
        ("nobody", "RESIDENT", s) for s in ("P1", "P3") if ("RESIDENT", s) in GRANTS_ALLOWED[user]}
    roles = (await api.gql(tw, "nobody", "{ me { roles { role } } }"))["data"]["me"]["roles"]
    assert len(roles) == len([s for s in ("P1", "P3") if ("RESIDENT", s) in GRANTS_ALLOWED[user]])
    # a denied grant did not even create the login account
    async with db.owner_engine.connect() as conn:
        accounts = set((await conn.execute(
            select(User.username).where(User.username.in_([f"{tw.slug}-new{i}" for i in range(len(GRANTS))]))
        )).scalars())
    assert accounts == {f"{tw.slug}-new{i}" for i, a in enumerate(GRANTS) if a in GRANTS_ALLOWED[user]}


async def test_role_assignment_grant_property_firm_needs_firm(api: Api, scratch: TenantWorld) -> None:
    """A property_firm grant must name an existing firm (INVALID otherwise) and only that role names one;
    partner units get no role grants; a grid leader cannot grant it at all. With the firm named, the grantee
    reads the register of the compounds the firm serves (P1; F1's contract for P3 expired), masked."""
    tw = scratch
    nobody = tw.username("nobody")
    base = {"username": nobody, "role": "PROPERTY_FIRM", "scopeAreaId": area_gid(tw, "P1")}
    f1 = encode_global_id("PropertyFirm", tw.firms["F1"])
    got = await mutate_all(api, tw, "secretary", [
        ("grantRole", base),
        ("grantRole", base | {"firmId": encode_global_id("PropertyFirm", uuid.uuid4())}),
        ("grantRole", base | {"role": "RESIDENT", "firmId": f1}),
        ("grantRole", base | {"role": "PARTNER_UNIT"}),
    ])
    assert got == ["INVALID"] * 4
    assert await mutate(api, tw, "grid1", "grantRole", base | {"firmId": f1}) == "FORBIDDEN"
    assert nobody not in {n["user"]["username"] for n in (await admin_view(api, tw))["roles"]}
    assert await mutate(api, tw, "secretary", "grantRole", base | {"firmId": f1}) == "OK"
    keys = key_of(tw)
    data = (await api.gql(tw, "nobody", "{ households { nodes { id room } } }"))["data"]
    assert {keys[h["id"]]: h["room"] for h in data["households"]["nodes"]} == {"H1": "***", "H2": "***"}


async def test_role_assignment_grant_links_only_a_readable_person(api: Api, scratch: TenantWorld) -> None:
    """personId links the grantee to their register entry (the 'own' condition) only when the granter may
    read that person: the secretary of C1 cannot link anyone to h4a (C2); linked to h2a, the new resident
    reads their own household H2 in full and nothing else."""
    tw = scratch
    grant = {"username": tw.username("nobody"), "role": "RESIDENT", "scopeAreaId": area_gid(tw, "P1")}
    assert await mutate(api, tw, "secretary", "grantRole", grant | {"personId": person_gid(tw, "h4a")}) == "NOT_FOUND"
    assert (await api.gql(tw, "nobody", "{ me { roles { role } person { id } } }"))["data"]["me"] == {
        "roles": [], "person": None}
    assert await mutate(api, tw, "secretary", "grantRole", grant | {"personId": person_gid(tw, "h2a")}) == "OK"
    keys = key_of(tw)
    data = (await api.gql(tw, "nobody", "{ households { nodes { id room } } persons { nodes { id piiMasked } } }"))
    assert {keys[h["id"]]: h["room"] for h in data["data"]["households"]["nodes"]} == {"H2": "201"}
    assert {keys[p["id"]]: p["piiMasked"] for p in data["data"]["persons"]["nodes"]} == {"h2a": False}


@pytest.mark.parametrize("user", USERS)
async def test_role_assignment_revoke(api: Api, scratch: TenantWorld, user: str) -> None:
    tw = scratch
    ids = {holder(tw, n): n["id"] for n in (await admin_view(api, tw))["roles"]}
    got = await mutate_all(api, tw, user, [("revokeRole", {"id": ids[t]}) for t in REVOKE_TARGETS])
    assert got == ["OK" if t in REVOKES_ALLOWED[user] else denial(t in ROLE_ASSIGNMENTS_READ[user])
                   for t in REVOKE_TARGETS]
    after = {holder(tw, n): n for n in (await admin_view(api, tw))["roles"]}
    assert {k for k, n in after.items() if n["revokedAt"] is not None} == REVOKES_ALLOWED[user]
    assert {k for k, n in after.items() if n["active"]} == set(ROLE_USERS) - {"expired"} - REVOKES_ALLOWED[user]


async def test_role_assignment_revoke_takes_effect_and_conflicts_twice(api: Api, scratch: TenantWorld) -> None:
    tw = scratch
    ids = {holder(tw, n): n["id"] for n in (await admin_view(api, tw))["roles"]}
    q = "{ households { totalCount } me { roles { role } } }"
    assert (await api.gql(tw, "grid2", q))["data"] == {"households": {"totalCount": 2},
                                                       "me": {"roles": [{"role": "GRID_LEADER"}]}}
    assert await mutate(api, tw, "secretary", "revokeRole", {"id": ids["grid2"]}) == "OK"
    assert await mutate(api, tw, "secretary", "revokeRole", {"id": ids["grid2"]}) == "CONFLICT"
    assert (await api.gql(tw, "grid2", q))["data"] == {"households": {"totalCount": 0}, "me": {"roles": []}}


# ---------------------------------------------------------------------------------------------------------------
# Expired assignments grant nothing
# ---------------------------------------------------------------------------------------------------------------


async def test_expired_assignment_grants_nothing(api: Api, scratch: TenantWorld) -> None:
    """``expired`` held grid_leader@G1 until yesterday: what grid1 may do, expired may not."""
    tw = scratch
    q = "{ areas { totalCount } households { totalCount } persons { totalCount } roleAssignments { totalCount } }"
    assert (await api.gql(tw, "grid1", q))["data"] == {  # areas: S C1 G1 B1 and their compound P1 (DESIGN.md §8)
        "areas": {"totalCount": 5}, "households": {"totalCount": 1}, "persons": {"totalCount": 2},
        "roleAssignments": {"totalCount": 0}}
    assert (await api.gql(tw, "expired", q))["data"] == {
        "areas": {"totalCount": 0}, "households": {"totalCount": 0}, "persons": {"totalCount": 0},
        "roleAssignments": {"totalCount": 0}}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("updateHousehold", {"id": household_gid(tw, "H1"), "floorArea": "10.00"}),
        ("updatePerson", {"id": person_gid(tw, "h1a"), "phone": "18600003333"}),
        ("createPerson", {"householdId": household_gid(tw, "H1"), "name": "过期"}),
    ]
    assert await mutate_all(api, tw, "grid1", calls[:1]) == ["OK"]
    assert await mutate_all(api, tw, "expired", calls[1:]) == ["NOT_FOUND", "NOT_FOUND"]
    created = await mutate(api, tw, "expired", "createHousehold", {"buildingId": area_gid(tw, "B1"), "room": "999"})
    assert created in {"FORBIDDEN", "NOT_FOUND"}
    after = await admin_view(api, tw)
    assert set(after["households"]) == ALL_HOUSEHOLDS
    assert set(after["persons"]) == ALL_PERSONS
    assert after["persons"]["h1a"]["phone"] == tw.phones["h1a"]
    # an assignment that starts tomorrow grants nothing yet either
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    future = {"username": tw.username("nobody"), "role": "GRID_LEADER", "scopeAreaId": area_gid(tw, "G1"),
              "validFrom": tomorrow}
    assert await mutate(api, tw, "admin", "grantRole", future) == "OK"
    assert (await api.gql(tw, "nobody", q))["data"]["households"] == {"totalCount": 0}
    assert (await api.gql(tw, "nobody", "{ me { roles { role } } }"))["data"]["me"]["roles"] == []
    # the expired assignment is still on record, not in force
    assert [(n["role"], n["active"], n["revokedAt"]) for n in after["roles"] if holder(tw, n) == "expired"] == [
        ("GRID_LEADER", False, None)]


async def test_grant_cannot_relink_an_account_already_linked_unless_street_admin(
    api: Api, scratch: TenantWorld
) -> None:
    """Re-linking an account's own register entry changes what it may read in full: a party secretary
    may link an unlinked account, but moving resident4 (linked to h4a) to H1's h1b is the street
    admin's alone."""
    tw = scratch
    base = {"username": tw.username("resident4"), "role": "RESIDENT", "scopeAreaId": area_gid(tw, "P1"),
            "personId": encode_global_id("Person", tw.persons["h1b"])}
    assert await mutate(api, tw, "secretary", "grantRole", base) == "CONFLICT"
    me = "{ me { person { name } } }"
    assert (await api.gql(tw, "resident4", me))["data"]["me"]["person"]["name"] == "赵卫东"
    unlinked = base | {"username": tw.username("nobody")}
    assert await mutate(api, tw, "secretary", "grantRole", unlinked) == "OK"
    assert (await api.gql(tw, "nobody", me))["data"]["me"]["person"]["name"] == "张小梅"
    assert await mutate(api, tw, "admin", "grantRole", base) == "OK"
    assert (await api.gql(tw, "resident4", me))["data"]["me"]["person"]["name"] == "张小梅"
