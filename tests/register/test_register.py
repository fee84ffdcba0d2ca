"""The household register: masked personal data, audited full reads, filters, keyset pagination and
a query count that does not grow with the page."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from models import AuditEntry, Household, Person, PersonCareTag, uuid7
from resolvers.ids import encode_global_id
from resolvers.validation import mask_id_card, mask_phone
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.world import TenantWorld, build_tenant, make_id_card

AREA_TYPE = {"S": "Street", "C1": "Community", "C2": "Community", "Z1": "Zone", "P1": "Compound", "P2": "Compound",
             "P3": "Compound", "G1": "Grid", "G2": "Grid", "G3": "Grid", "B1": "Building", "B2": "Building",
             "B3": "Building", "B4": "Building"}
PERSON_FIELDS = "id name idCardNo phone birthDate careTags piiMasked"
PERSONS = f"query ($f: Int) {{ persons(first: $f) {{ totalCount nodes {{ {PERSON_FIELDS} }} }} }}"
BIRTH = {"h1a": "1948-03-05", "h1b": "1980-07-12", "h2a": "1962-11-02", "h3a": "1955-01-20", "h4a": "1970-09-09"}
TAGS = {"h1a": ["living_alone"], "h1b": [], "h2a": [], "h3a": ["disabled"], "h4a": ["veteran"]}


def area_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id(AREA_TYPE[key], tw.areas[key])


def person_keys(tw: TenantWorld, nodes: list[dict[str, Any]]) -> set[str]:
    by_gid = {encode_global_id("Person", pid): key for key, pid in tw.persons.items()}
    return {by_gid[n["id"]] for n in nodes}


def household_keys(tw: TenantWorld, nodes: list[dict[str, Any]]) -> set[str]:
    by_gid = {encode_global_id("Household", hid): key for key, hid in tw.households.items()}
    return {by_gid[n["id"]] for n in nodes}


def full(tw: TenantWorld, key: str) -> dict[str, Any]:
    return {"id": encode_global_id("Person", tw.persons[key]), "idCardNo": tw.id_cards[key], "phone": tw.phones[key],
            "birthDate": BIRTH[key], "careTags": TAGS[key], "piiMasked": False}


def masked(tw: TenantWorld, key: str) -> dict[str, Any]:
    return {"id": encode_global_id("Person", tw.persons[key]), "idCardNo": mask_id_card(tw.id_cards[key]),
            "phone": mask_phone(tw.phones[key]), "birthDate": None, "careTags": None, "piiMasked": True}


async def persons_seen(api: Api, tw: TenantWorld, user: str) -> dict[str, dict[str, Any]]:
    """The persons a user reads, by world key, with their personal-data fields."""
    body = await api.gql(tw, user, PERSONS, {"f": 100})
    nodes = body["data"]["persons"]["nodes"]
    assert body["data"]["persons"]["totalCount"] == len(nodes)
    by_gid = {encode_global_id("Person", pid): key for key, pid in tw.persons.items()}
    return {by_gid[n["id"]]: {k: v for k, v in n.items() if k != "name"} for n in nodes}


async def audit_rows(db: DbEnv, tw: TenantWorld, request_id: str) -> list[AuditEntry]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return list(await s.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)))


async def post_as(api: Api, tw: TenantWorld, user: str, query: str, variables: dict[str, Any] | None = None,
                  ) -> tuple[dict[str, Any], str]:
    rid = f"t-{uuid.uuid4().hex}"
    r = await api.post(query, variables, token=api.token(tw, user), headers={"x-request-id": rid})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body
    return body, rid


# -- masking


async def test_chair_reads_own_household_in_full_others_masked(api: Api, world: World) -> None:
    tw = world.a
    assert await persons_seen(api, tw, "chair") == {
        "h1a": masked(tw, "h1a"), "h1b": masked(tw, "h1b"), "h2a": full(tw, "h2a")}


async def test_firm_reads_everything_masked(api: Api, world: World) -> None:
    tw = world.a
    assert await persons_seen(api, tw, "firm") == {
        "h1a": masked(tw, "h1a"), "h1b": masked(tw, "h1b"), "h2a": masked(tw, "h2a")}


async def test_grid_leader_reads_grid_in_full(api: Api, world: World) -> None:
    tw = world.a
    assert await persons_seen(api, tw, "grid1") == {"h1a": full(tw, "h1a"), "h1b": full(tw, "h1b")}
    assert await persons_seen(api, tw, "grid2") == {"h2a": full(tw, "h2a"), "h3a": full(tw, "h3a")}


async def test_admin_reads_all_in_full(api: Api, world: World) -> None:
    tw = world.a
    assert await persons_seen(api, tw, "admin") == {k: full(tw, k) for k in tw.persons}


async def test_masking_applies_wherever_person_appears(api: Api, world: World) -> None:
    """Through households { persons } and node(id:), the firm still sees masked data only."""
    tw = world.a
    body = await api.gql(tw, "firm", "{ households { nodes { room addressMasked persons { idCardNo phone "
                                     "piiMasked } } } }")
    households = body["data"]["households"]["nodes"]
    assert len(households) == 2
    assert all(h["room"] == "***" and h["addressMasked"] for h in households)
    persons = [p for h in households for p in h["persons"]]
    assert len(persons) == 3
    assert all(p["piiMasked"] and "****" in p["phone"] and "*" in p["idCardNo"] for p in persons)
    gid = encode_global_id("Person", tw.persons["h1a"])
    node = await api.gql(tw, "firm", "query ($id: ID!) { node(id: $id) { ... on Person { idCardNo phone } } }",
                         {"id": gid})
    assert node["data"]["node"] == {"idCardNo": mask_id_card(tw.id_cards["h1a"]), "phone": mask_phone(tw.phones["h1a"])}
    me = await api.gql(tw, "chair", "{ me { person { idCardNo piiMasked } } }")
    assert me["data"]["me"]["person"] == {"idCardNo": tw.id_cards["h2a"], "piiMasked": False}


# -- audit of full reads


async def test_full_read_is_audited(api: Api, db: DbEnv, world: World) -> None:
    tw = world.a
    body, rid = await post_as(api, tw, "grid1", "{ persons { nodes { name idCardNo } } }")
    assert {n["idCardNo"] for n in body["data"]["persons"]["nodes"]} == {tw.id_cards["h1a"], tw.id_cards["h1b"]}
    (row,) = await audit_rows(db, tw, rid)
    assert row.action == "person.read_pii"
    assert row.object_type == "person"
    assert row.user_id == tw.users["grid1"]
    assert row.tenant_id == tw.tenant_id
    assert "grid_leader" in row.roles
    assert sorted(row.object_ids) == sorted(str(tw.persons[k]) for k in ("h1a", "h1b"))
    # Written in that tenant only.
    assert await audit_rows(db, world.b, rid) == []


async def test_audit_names_only_the_persons_read_in_full(api: Api, db: DbEnv, world: World) -> None:
    tw = world.a
    _, rid = await post_as(api, tw, "chair", "{ persons { nodes { phone } } }")
    (row,) = await audit_rows(db, tw, rid)
    assert row.object_ids == [str(tw.persons["h2a"])]
    assert row.user_id == tw.users["chair"]


@pytest.mark.parametrize(
    ("user", "query"),
    [
        ("firm", "{ persons { nodes { name idCardNo phone birthDate careTags } } }"),
        ("grid1", "{ persons { nodes { name partyMember piiMasked } } }"),
        ("admin", "{ households { totalCount nodes { unit persons { name } } } }"),
    ],
    ids=["masked-only", "no-pii-fields", "names-only"],
)
async def test_read_without_full_pii_writes_no_audit(api: Api, db: DbEnv, world: World, user: str,
                                                     query: str) -> None:
    body, rid = await post_as(api, world.a, user, query)
    assert body["data"]
    assert await audit_rows(db, world.a, rid) == []


# -- filters


@pytest.mark.parametrize(
    ("user", "tag", "expected"),
    [
        ("admin", "living_alone", {"h1a"}),
        ("grid1", "living_alone", {"h1a"}),
        ("resident", "living_alone", {"h1a"}),  # own household
        ("chair", "living_alone", set()),  # reads h1a masked only
        ("firm", "living_alone", set()),
        ("grid2", "living_alone", set()),
        ("grid2", "disabled", {"h3a"}),
        ("admin", "veteran", {"h4a"}),
        ("admin", "empty_nest", set()),
        ("admin", "no_such_tag", set()),
    ],
)
async def test_persons_by_care_tag(api: Api, world: World, user: str, tag: str, expected: set[str]) -> None:
    body = await api.gql(world.a, user, "query ($t: String) { persons(careTag: $t) { totalCount nodes { id } } }",
                         {"t": tag})
    conn = body["data"]["persons"]
    assert person_keys(world.a, conn["nodes"]) == expected
    assert conn["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("user", "party", "expected"),
    [
        ("admin", True, {"h3a"}),
        ("admin", False, {"h1a", "h1b", "h2a", "h4a"}),
        ("grid2", True, {"h3a"}),
        ("grid1", True, set()),
    ],
)
async def test_persons_by_party_member(api: Api, world: World, user: str, party: bool, expected: set[str]) -> None:
    body = await api.gql(world.a, user, "query ($p: Boolean) { persons(partyMember: $p) { totalCount nodes { id } } }",
                         {"p": party})
    assert person_keys(world.a, body["data"]["persons"]["nodes"]) == expected
    assert body["data"]["persons"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("user", "search", "expected"),
    [
        ("admin", "张", {"h1a", "h1b"}),
        ("admin", "建国", {"h1a"}),
        ("admin", "卫东", {"h4a"}),
        ("admin", "无此人", set()),
        ("firm", "张", {"h1a", "h1b"}),
        ("grid2", "张", set()),
    ],
)
async def test_persons_by_name(api: Api, world: World, user: str, search: str, expected: set[str]) -> None:
    body = await api.gql(world.a, user, "query ($s: String) { persons(search: $s) { totalCount nodes { id } } }",
                         {"s": search})
    assert person_keys(world.a, body["data"]["persons"]["nodes"]) == expected
    assert body["data"]["persons"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("user", "area", "expected"),
    [
        ("admin", "S", {"h1a", "h1b", "h2a", "h3a", "h4a"}),
        ("admin", "C2", {"h4a"}),
        ("admin", "P2", {"h3a"}),
        ("admin", "G1", {"h1a", "h1b"}),
        ("admin", "G2", {"h2a", "h3a"}),
        ("admin", "B2", {"h2a"}),
        ("grid1", "P1", {"h1a", "h1b"}),  # the filter never widens the actor's reach
        ("grid1", "C2", set()),
    ],
)
async def test_persons_by_area(api: Api, world: World, user: str, area: str, expected: set[str]) -> None:
    body = await api.gql(world.a, user, "query ($a: ID) { persons(areaId: $a) { totalCount nodes { id } } }",
                         {"a": area_gid(world.a, area)})
    assert person_keys(world.a, body["data"]["persons"]["nodes"]) == expected
    assert body["data"]["persons"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("user", "area", "expected"),
    [
        ("admin", "S", {"H1", "H2", "H3", "H4"}),
        ("admin", "G2", {"H2", "H3"}),  # a grid: the buildings it covers, across compounds
        ("admin", "G1", {"H1"}),
        ("admin", "P1", {"H1", "H2"}),
        ("admin", "Z1", {"H4"}),
        ("admin", "B3", {"H3"}),
        ("secretary", "G2", {"H2", "H3"}),
        ("firm", "P1", {"H1", "H2"}),
        ("firm", "P3", set()),  # the contract expired
        ("grid1", "P1", {"H1"}),
    ],
)
async def test_households_by_area(api: Api, world: World, user: str, area: str, expected: set[str]) -> None:
    body = await api.gql(world.a, user, "query ($a: ID) { households(areaId: $a) { totalCount nodes { id } } }",
                         {"a": area_gid(world.a, area)})
    assert household_keys(world.a, body["data"]["households"]["nodes"]) == expected
    assert body["data"]["households"]["totalCount"] == len(expected)


async def test_area_filter_of_another_tenant_finds_nothing(api: Api, world: World) -> None:
    body = await api.gql(world.a, "admin", "query ($a: ID) { households(areaId: $a) { totalCount nodes { id } } }",
                         {"a": area_gid(world.b, "C1")}, allow_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- keyset pagination

PAGE = ("query ($f: Int, $a: String) { households(first: $f, after: $a) { totalCount "
        "edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")


@pytest.mark.parametrize("size", [1, 3])
async def test_keyset_walk_returns_every_household_once(api: Api, world: World, size: int) -> None:
    tw = world.a
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        conn = (await api.gql(tw, "admin", PAGE, {"f": size, "a": after}))["data"]["households"]
        pages += 1
        assert pages <= len(tw.households) + 1, "pagination does not end"
        info = conn["pageInfo"]
        edges = conn["edges"]
        assert conn["totalCount"] == len(tw.households)
        assert info["hasPreviousPage"] is (after is not None)
        assert len(edges) <= size
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        else:
            assert info["startCursor"] is None and info["endCursor"] is None
        seen.extend(e["node"]["id"] for e in edges)
        assert info["hasNextPage"] is (len(seen) < len(tw.households))
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert len(seen) == len(set(seen)) == len(tw.households)
    assert household_keys(tw, [{"id": i} for i in seen]) == set(tw.households)
    assert pages == -(-len(tw.households) // size)


async def test_keyset_walk_of_a_scoped_list(api: Api, world: World) -> None:
    """Pages of a filtered list: the firm serves P1 only (H1, H2)."""
    tw = world.a
    first = (await api.gql(tw, "firm", PAGE, {"f": 1, "a": None}))["data"]["households"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"] is True
    second = (await api.gql(tw, "firm", PAGE, {"f": 1, "a": first["pageInfo"]["endCursor"]}))["data"]["households"]
    assert second["pageInfo"]["hasNextPage"] is False
    ids = [first["edges"][0]["node"]["id"], second["edges"][0]["node"]["id"]]
    assert household_keys(tw, [{"id": i} for i in ids]) == {"H1", "H2"}


# -- query count does not grow with the page

BIG_PAGE = ("query ($f: Int) { households(first: $f) { nodes { id building { name } grids { name } "
            "persons { name idCardNo phone careTags } } } }")


@pytest.fixture(scope="module")
async def big_tenant(db: DbEnv) -> TenantWorld:
    """The world's shape plus 56 households (14 per building), each with one or two persons."""
    tw = await build_tenant(db.sessionmaker, new_slug("big"))
    tags = ["living_alone", "disabled", "veteran", "empty_nest"]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            seq = 0
            for n in range(56):
                building = f"B{n % 4 + 1}"
                h = Household(id=uuid7(), building_id=tw.areas[building], unit="2", room=f"{n + 1:03d}",
                              floor_area=Decimal("60.00"))
                s.add(h)
                await s.flush()
                for _ in range(1 + n % 2):
                    seq += 1
                    p = Person(id=uuid7(), household_id=h.id, name=f"居民{seq}", birth_date=date(1950 + seq % 50, 1, 1),
                               id_card_no=make_id_card("340303", date(1950 + seq % 50, 1, 1), 200 + seq),
                               phone=f"1370000{seq:04d}", party_member=False, in_service_party_member=False)
                    s.add(p)
                    await s.flush()
                    s.add(PersonCareTag(person_id=p.id, code=tags[seq % 4]))
    return tw


async def test_query_count_does_not_grow_with_page(api: Api, big_tenant: TenantWorld) -> None:
    tw = big_tenant
    await api.gql(tw, "admin", "{ me { username } }")  # the tenant's policy is loaded once, then cached
    small, small_count = await api.counted(tw, "admin", BIG_PAGE, {"f": 5})
    big, big_count = await api.counted(tw, "admin", BIG_PAGE, {"f": 50})
    small_nodes = small["data"]["households"]["nodes"]
    big_nodes = big["data"]["households"]["nodes"]
    assert len(small_nodes) == 5
    assert len(big_nodes) == 50
    assert all(h["building"]["name"] and h["grids"] and h["persons"] for h in big_nodes)
    persons = [p for h in big_nodes for p in h["persons"]]
    assert len(persons) >= 60
    assert all("*" not in p["idCardNo"] and p["careTags"] for p in persons if p["name"].startswith("居民"))
    assert big_count == small_count, (small_count, big_count)
