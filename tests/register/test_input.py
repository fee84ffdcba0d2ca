"""Bad input gets a clear, typed error and writes nothing; unit tests of resolvers/validation.py."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Area, GridBuilding, Household, Person, PersonCareTag
from resolvers import validation as v
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import encode_cursor, encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.world import TenantWorld, build_tenant, make_id_card

AREA_TYPE = {"S": "Street", "C1": "Community", "C2": "Community", "Z1": "Zone", "P1": "Compound", "P2": "Compound",
             "P3": "Compound", "G1": "Grid", "G2": "Grid", "G3": "Grid", "B1": "Building", "B2": "Building",
             "B3": "Building", "B4": "Building"}

CREATE_AREA = "mutation ($i: CreateAreaInput!) { createArea(input: $i) { area { id } errors { code field message } } }"
CREATE_HOUSEHOLD = ("mutation ($i: CreateHouseholdInput!) { createHousehold(input: $i) { household { id } "
                    "errors { code field message } } }")
UPDATE_HOUSEHOLD = ("mutation ($i: UpdateHouseholdInput!) { updateHousehold(input: $i) { household { id } "
                    "errors { code field message } } }")
CREATE_PERSON = ("mutation ($i: CreatePersonInput!) { createPerson(input: $i) { person { id } "
                 "errors { code field message } } }")
UPDATE_PERSON = ("mutation ($i: UpdatePersonInput!) { updatePerson(input: $i) { person { id } "
                 "errors { code field message } } }")
MUTATIONS = {"createArea": CREATE_AREA, "createHousehold": CREATE_HOUSEHOLD, "updateHousehold": UPDATE_HOUSEHOLD,
             "createPerson": CREATE_PERSON, "updatePerson": UPDATE_PERSON}


def area_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id(AREA_TYPE[key], tw.areas[key])


def household_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Household", tw.households[key])


def person_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Person", tw.persons[key])


def raw_gid(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def card_with_wrong_check(card: str) -> str:
    wrong = next(c for c in "0123456789X" if c != card[17])
    return card[:17] + wrong


def card_with_bad_birth_date() -> str:
    first17 = "340302" + "19481332" + "101"  # month 13
    return first17 + v.id_card_check_char(first17)


NEW_CARD = make_id_card("110105", date(1990, 5, 17), 321)


@pytest.fixture(scope="module")
async def scratch(db: DbEnv) -> TenantWorld:
    """A tenant of this module for mutations that must be rejected (each checks that nothing was written)."""
    return await build_tenant(db.sessionmaker, new_slug("input"))


async def row_counts(db: DbEnv, tw: TenantWorld) -> dict[str, int]:
    out: dict[str, int] = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for model in (Area, GridBuilding, Household, Person, PersonCareTag):
                out[model.__tablename__] = int(await s.scalar(select(func.count()).select_from(model)) or 0)
    return out


async def person_row(db: DbEnv, tw: TenantWorld, key: str) -> tuple[str, str | None, str | None]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            p = (await s.scalars(select(Person).where(Person.id == tw.persons[key]))).one()
            return p.name, p.phone, p.id_card_no


async def run_mutation(api: Api, tw: TenantWorld, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = await api.gql(tw, "admin", MUTATIONS[name], {"i": payload})
    result: dict[str, Any] = body["data"][name]
    return result


async def assert_rejected(api: Api, db: DbEnv, tw: TenantWorld, name: str, payload: dict[str, Any],
                          code: str, field: str | None) -> list[dict[str, Any]]:
    """The mutation answers with a typed error on `field`, returns no object and writes nothing."""
    before = await row_counts(db, tw)
    result = await run_mutation(api, tw, name, payload)
    errors: list[dict[str, Any]] = result["errors"]
    assert errors, result
    assert (errors[0]["code"], errors[0]["field"]) == (code, field), errors
    assert errors[0]["message"]
    assert all(value is None for key, value in result.items() if key != "errors"), result
    assert await row_counts(db, tw) == before
    return errors


# -- malformed global IDs

NODE = "query ($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize(
    "make_id",
    [
        lambda tw: "not an id!!",
        lambda tw: "",
        lambda tw: "%%%%",
        lambda tw: raw_gid("Person:not-a-uuid"),
        lambda tw: raw_gid(f"Planet:{tw.persons['h1a']}"),
        lambda tw: raw_gid(str(tw.persons["h1a"])),
        lambda tw: base64.urlsafe_b64encode(b"\xff\xfe\x00Person").decode(),
    ],
    ids=["garbage", "empty", "percent", "bad-uuid", "unknown-type", "no-type", "not-utf8"],
)
async def test_node_with_malformed_id_is_invalid_id(api: Api, world: World, make_id: Callable[[TenantWorld], str],
                                                    ) -> None:
    body = await api.gql(world.a, "admin", NODE, {"id": make_id(world.a)}, allow_errors=True)
    assert body["data"] == {"node": None}, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ID", error
    assert error["path"] == ["node"]


async def test_node_with_well_formed_id_it_cannot_see_is_null(api: Api, world: World) -> None:
    cases = [
        household_gid(world.b, "H1"),  # another tenant's household
        encode_global_id("Person", uuid.uuid4()),  # nobody
        encode_global_id("Compound", world.a.areas["B1"]),  # a building named as a compound
    ]
    for gid in cases:
        assert await api.gql(world.a, "admin", NODE, {"id": gid}) == {"data": {"node": None}}
    assert await api.gql(world.a, "admin", NODE, {"id": household_gid(world.a, "H1")}) == {
        "data": {"node": {"id": household_gid(world.a, "H1")}}}


@pytest.mark.parametrize(
    ("query", "make_vars", "field"),
    [
        ("query ($x: ID) { persons(householdId: $x) { totalCount } }", lambda tw: person_gid(tw, "h1a"),
         "householdId"),
        ("query ($x: ID) { persons(householdId: $x) { totalCount } }", lambda tw: "garbage", "householdId"),
        ("query ($x: ID) { households(areaId: $x) { totalCount } }", lambda tw: household_gid(tw, "H1"), "areaId"),
        ("query ($x: ID) { areas(parentId: $x) { totalCount } }", lambda tw: person_gid(tw, "h1a"), "parentId"),
    ],
    ids=["person-as-household", "garbage-household", "household-as-area", "person-as-parent"],
)
async def test_query_argument_of_wrong_type_is_invalid_id(api: Api, world: World, query: str,
                                                          make_vars: Callable[[TenantWorld], str], field: str) -> None:
    body = await api.gql(world.a, "admin", query, {"x": make_vars(world.a)}, allow_errors=True)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ID"
    assert error["extensions"]["field"] == field


@pytest.mark.parametrize(
    ("name", "make_input", "field"),
    [
        ("createPerson", lambda tw: {"householdId": "garbage", "name": "王五"}, "householdId"),
        ("createPerson", lambda tw: {"householdId": person_gid(tw, "h1a"), "name": "王五"}, "householdId"),
        ("createHousehold", lambda tw: {"buildingId": area_gid(tw, "P1"), "room": "901"}, "buildingId"),
        ("createHousehold", lambda tw: {"buildingId": raw_gid("Building:xyz"), "room": "901"}, "buildingId"),
        ("createArea", lambda tw: {"kind": "COMPOUND", "parentId": household_gid(tw, "H1"), "name": "新小区"},
         "parentId"),
        ("updatePerson", lambda tw: {"id": household_gid(tw, "H1"), "name": "改名"}, "id"),
        ("updateHousehold", lambda tw: {"id": person_gid(tw, "h1a"), "room": "909"}, "id"),
    ],
    ids=["garbage-household", "person-as-household", "compound-as-building", "bad-uuid", "household-as-parent",
         "household-as-person", "person-as-household-update"],
)
async def test_mutation_with_bad_id_is_invalid_id(api: Api, db: DbEnv, scratch: TenantWorld, name: str,
                                                  make_input: Callable[[TenantWorld], dict[str, Any]],
                                                  field: str) -> None:
    await assert_rejected(api, db, scratch, name, make_input(scratch), "INVALID_ID", field)


# -- unknown enum values in literal documents: request errors


@pytest.mark.parametrize(
    "query",
    [
        "{ areas(kind: PLANET) { totalCount } }",
        "{ roleAssignments(role: EMPEROR) { totalCount } }",
        '{ areas(kind: "COMMUNITY") { totalCount } }',
        'mutation { createArea(input: {kind: PLANET, parentId: "x", name: "n"}) { errors { code } } }',
        'mutation { createHousehold(input: {buildingId: "x", room: "1", tenure: SQUATTER}) { errors { code } } }',
    ],
    ids=["area-kind", "role", "string-for-enum", "create-area", "tenure"],
)
async def test_unknown_enum_literal_is_400(api: Api, db: DbEnv, world: World, query: str) -> None:
    before = await row_counts(db, world.a)
    r = await api.post(query, token=api.token(world.a, "admin"))
    assert r.status_code == 400, r.text
    assert "data" not in r.json()
    assert r.json()["errors"]
    assert await row_counts(db, world.a) == before


# -- lengths, ID numbers, phones, tags


@pytest.mark.parametrize(
    ("name", "make_input", "code", "field"),
    [
        ("createArea", lambda tw: {"kind": "COMPOUND", "parentId": area_gid(tw, "C1"), "name": "小" * 101},
         "TOO_LONG", "name"),
        ("createArea", lambda tw: {"kind": "COMPOUND", "parentId": area_gid(tw, "C1"), "name": "   "},
         "INVALID", "name"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "名" * 51}, "TOO_LONG", "name"),
        ("createHousehold", lambda tw: {"buildingId": area_gid(tw, "B1"), "room": "1" * 17}, "TOO_LONG", "room"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "idCardNo": card_with_wrong_check(NEW_CARD)}, "INVALID_ID_CARD", "idCardNo"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "idCardNo": card_with_bad_birth_date()}, "INVALID_ID_CARD", "idCardNo"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "idCardNo": NEW_CARD[:17]}, "INVALID_ID_CARD", "idCardNo"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "idCardNo": NEW_CARD + "1"}, "INVALID_ID_CARD", "idCardNo"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "idCardNo": "34030219900517A21X"}, "INVALID_ID_CARD", "idCardNo"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五", "phone": "12345"},
         "INVALID_PHONE", "phone"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "phone": "23812345678"}, "INVALID_PHONE", "phone"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "phone": "138123456789"}, "INVALID_PHONE", "phone"),
        ("createPerson", lambda tw: {"householdId": household_gid(tw, "H1"), "name": "王五",
                                     "careTags": ["living_alone", "astronaut"]}, "INVALID", "careTags"),
        ("updatePerson", lambda tw: {"id": person_gid(tw, "h2a"), "careTags": ["astronaut"]}, "INVALID", "careTags"),
        ("updateHousehold", lambda tw: {"id": household_gid(tw, "H2"), "room": "2" * 17}, "TOO_LONG", "room"),
    ],
    ids=["area-name-101", "area-name-blank", "person-name-51", "room-17", "id-check-digit", "id-birth-date",
         "id-17-chars", "id-19-chars", "id-letter", "phone-short", "phone-prefix", "phone-12-digits",
         "care-tag-create", "care-tag-update", "room-17-update"],
)
async def test_bad_field_is_rejected(api: Api, db: DbEnv, scratch: TenantWorld, name: str,
                                     make_input: Callable[[TenantWorld], dict[str, Any]], code: str,
                                     field: str) -> None:
    await assert_rejected(api, db, scratch, name, make_input(scratch), code, field)


async def test_length_limits_are_inclusive(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    before = await row_counts(db, tw)
    area = await run_mutation(api, tw, "createArea",
                              {"kind": "COMPOUND", "parentId": area_gid(tw, "C1"), "name": "小" * 100})
    assert area["errors"] == [] and area["area"]["id"]
    household = await run_mutation(api, tw, "createHousehold",
                                   {"buildingId": area_gid(tw, "B1"), "unit": "2", "room": "1" * 16})
    assert household["errors"] == [] and household["household"]["id"]
    person = await run_mutation(api, tw, "createPerson", {"householdId": household_gid(tw, "H1"), "name": "名" * 50,
                                                          "idCardNo": NEW_CARD.lower(), "phone": "138 1234 5678"})
    assert person["errors"] == [] and person["person"]["id"]
    after = await row_counts(db, tw)
    assert (after["areas"], after["households"], after["persons"]) == (
        before["areas"] + 1, before["households"] + 1, before["persons"] + 1)


async def test_all_field_errors_are_reported_at_once(api: Api, db: DbEnv, scratch: TenantWorld) -> None:
    errors = await assert_rejected(api, db, scratch, "createPerson", {
        "householdId": household_gid(scratch, "H1"), "name": "名" * 51,
        "idCardNo": card_with_wrong_check(NEW_CARD), "phone": "12345",
    }, "TOO_LONG", "name")
    assert {(e["code"], e["field"]) for e in errors} == {
        ("TOO_LONG", "name"), ("INVALID_ID_CARD", "idCardNo"), ("INVALID_PHONE", "phone")}


async def test_failed_update_changes_nothing(api: Api, db: DbEnv, scratch: TenantWorld) -> None:
    before = await person_row(db, scratch, "h2a")
    await assert_rejected(api, db, scratch, "updatePerson",
                          {"id": person_gid(scratch, "h2a"), "name": "新名字", "phone": "not-a-phone"},
                          "INVALID_PHONE", "phone")
    await assert_rejected(api, db, scratch, "updatePerson",
                          {"id": person_gid(scratch, "h2a"), "phone": "13900000000", "idCardNo": "123"},
                          "INVALID_ID_CARD", "idCardNo")
    assert await person_row(db, scratch, "h2a") == before


# -- conflicts


async def test_duplicate_id_number_is_conflict(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await assert_rejected(api, db, tw, "createPerson",
                          {"householdId": household_gid(tw, "H2"), "name": "王五", "idCardNo": tw.id_cards["h1a"]},
                          "CONFLICT", "idCardNo")
    # The same number typed with a lower-case x (or spaces) is still the same number.
    card = make_id_card("110105", date(1949, 12, 31), 2)
    first = await run_mutation(api, tw, "createPerson",
                               {"householdId": household_gid(tw, "H2"), "name": "甲", "idCardNo": card})
    assert first["errors"] == []
    await assert_rejected(api, db, tw, "createPerson",
                          {"householdId": household_gid(tw, "H3"), "name": "乙", "idCardNo": f" {card.lower()} "},
                          "CONFLICT", "idCardNo")


async def test_update_to_taken_id_number_is_conflict(api: Api, db: DbEnv, scratch: TenantWorld) -> None:
    before = await person_row(db, scratch, "h2a")
    await assert_rejected(api, db, scratch, "updatePerson",
                          {"id": person_gid(scratch, "h2a"), "idCardNo": scratch.id_cards["h1a"]}, "CONFLICT",
                          "idCardNo")
    assert await person_row(db, scratch, "h2a") == before


async def test_same_id_number_in_another_tenant_is_no_conflict(api: Api, db: DbEnv, fresh: World) -> None:
    """Uniqueness is per tenant: tenant B learns nothing about tenant A's register."""
    for tw in (fresh.a, fresh.b):
        result = await run_mutation(api, tw, "createPerson",
                                    {"householdId": household_gid(tw, "H1"), "name": "钱七", "idCardNo": NEW_CARD})
        assert result["errors"] == [], result


async def test_duplicate_room_is_conflict(api: Api, db: DbEnv, scratch: TenantWorld) -> None:
    await assert_rejected(api, db, scratch, "createHousehold",
                          {"buildingId": area_gid(scratch, "B1"), "unit": "1", "room": "101"}, "CONFLICT", "room")


async def test_update_onto_taken_room_is_conflict(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    # The same room in another unit is fine; moving it onto the taken unit and room is not.
    other = await run_mutation(api, tw, "createHousehold", {"buildingId": area_gid(tw, "B1"), "unit": "2",
                                                            "room": "101"})
    assert other["errors"] == [], other
    await assert_rejected(api, db, tw, "updateHousehold", {"id": other["household"]["id"], "unit": "1"},
                          "CONFLICT", "room")


# -- pagination arguments


@pytest.mark.parametrize(
    ("after", "first", "code", "field"),
    [
        ("garbage!", 5, "INVALID_CURSOR", "after"),
        (raw_gid("k:short"), 5, "INVALID_CURSOR", "after"),
        (base64.urlsafe_b64encode(b"x:" + uuid.uuid4().bytes).decode(), 5, "INVALID_CURSOR", "after"),
        (None, 101, "INVALID", "first"),
        (None, -1, "INVALID", "first"),
    ],
    ids=["garbage", "short", "wrong-prefix", "first-101", "first-negative"],
)
async def test_bad_page_arguments(api: Api, world: World, after: str | None, first: int, code: str,
                                  field: str) -> None:
    query = "query ($a: String, $f: Int) { households(after: $a, first: $f) { totalCount } }"
    body = await api.gql(world.a, "admin", query, {"a": after, "f": first}, allow_errors=True)
    assert body["data"] is None
    (error,) = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field)


async def test_page_size_limits_are_inclusive(api: Api, world: World) -> None:
    query = "query ($f: Int, $a: String) { households(first: $f, after: $a) { nodes { id } } }"
    assert len((await api.gql(world.a, "admin", query, {"f": 100}))["data"]["households"]["nodes"]) == 4
    assert (await api.gql(world.a, "admin", query, {"f": 0}))["data"]["households"]["nodes"] == []
    # A well-formed cursor past the end is an empty page, not an error.
    cursor = encode_cursor(uuid.UUID(int=(1 << 128) - 1))
    assert (await api.gql(world.a, "admin", query, {"f": 5, "a": cursor}))["data"]["households"]["nodes"] == []


async def test_bad_cursor_in_nested_connection(api: Api, world: World) -> None:
    query = "query ($id: ID!) { node(id: $id) { ... on Building { households(after: \"nope\") { totalCount } } } }"
    body = await api.gql(world.a, "admin", query, {"id": area_gid(world.a, "B1")}, allow_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


# -- the area tree


@pytest.mark.parametrize(
    ("kind", "parent"),
    [("COMMUNITY", "P1"), ("ZONE", "S"), ("BUILDING", "B1"), ("COMPOUND", "G1"), ("ZONE", "Z1")],
    ids=["community-under-compound", "zone-under-street", "building-under-building", "compound-under-grid",
         "zone-under-zone"],
)
async def test_area_under_wrong_parent_kind_is_invalid_parent(api: Api, db: DbEnv, scratch: TenantWorld,
                                                              kind: str, parent: str) -> None:
    await assert_rejected(api, db, scratch, "createArea",
                          {"kind": kind, "parentId": area_gid(scratch, parent), "name": "新区域"},
                          "INVALID_PARENT", "parentId")


async def test_second_street_is_invalid(api: Api, db: DbEnv, scratch: TenantWorld) -> None:
    await assert_rejected(api, db, scratch, "createArea",
                          {"kind": "STREET", "parentId": area_gid(scratch, "S"), "name": "另一个街道"},
                          "INVALID", "kind")


# -- resolvers/validation.py


def _code(fn: Callable[[], object]) -> ErrorCode:
    with pytest.raises(ServiceError) as e:
        fn()
    return e.value.code


def test_check_digit_known_numbers() -> None:
    # GB 11643's published example ends in X; the weights sum to 10 (mod 11) → X.
    assert v.id_card_check_char("11010519491231002") == "X"
    assert v.id_card_check_char("44052418800101001") == "4"
    assert v.normalize_id_card("11010519491231002x") == "11010519491231002X"
    assert v.normalize_id_card(" 440524188001010014 ") == "440524188001010014"
    assert v.birth_date_of("11010519491231002X") == date(1949, 12, 31)


def test_check_digit_every_value_is_reachable() -> None:
    seen = {v.id_card_check_char(f"1101051949123100{i}") for i in range(10)}
    seen |= {v.id_card_check_char(f"110105194912310{i}0") for i in range(10)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    "value",
    ["110105194912310021", "11010519491231002", "1101051949123100211", "11010519491331002X", "11010519490229002X",
     "11010519491231002Y", "", "ABCDEFGHIJKLMNOPQR"],
    ids=["check", "short", "long", "month-13", "feb-29-1949", "letter-y", "empty", "letters"],
)
def test_normalize_id_card_rejects(value: str) -> None:
    assert _code(lambda: v.normalize_id_card(value)) is ErrorCode.INVALID_ID_CARD


def test_normalize_id_card_accepts_leap_day() -> None:
    first17 = "11010520000229123"
    card = first17 + v.id_card_check_char(first17)
    assert v.normalize_id_card(card) == card
    assert v.birth_date_of(card) == date(2000, 2, 29)


def test_normalize_phone() -> None:
    assert v.normalize_phone("138 1234 5678") == "13812345678"
    assert v.normalize_phone("0551-62345678") == "0551-62345678"
    assert v.normalize_phone("010-1234567") == "010-1234567"
    for bad in ("12812345678", "1381234567", "+8613812345678", "phone", "", "551-62345678"):
        with pytest.raises(ServiceError) as e:
            v.normalize_phone(bad)
        assert e.value.code is ErrorCode.INVALID_PHONE, bad


def test_text() -> None:
    assert v.text("  幸福小区 ", "name", max_len=4) == "幸福小区"
    assert _code(lambda: v.text("幸福小区A", "name", max_len=4)) is ErrorCode.TOO_LONG
    assert _code(lambda: v.text("   ", "name", max_len=4)) is ErrorCode.INVALID
    assert v.text("  ", "note", max_len=4, required=False) == ""
    with pytest.raises(ServiceError) as e:
        v.text("x" * 9, "room", max_len=8)
    assert e.value.field == "room"


def test_mask_phone() -> None:
    assert v.mask_phone("13812345678") == "138****5678"
    assert v.mask_phone("0551-62345678") == "055****5678"
    assert v.mask_phone("6234567") == "*****67"
    assert v.mask_phone(None) is None
    assert v.mask_phone("") == ""


def test_mask_id_card() -> None:
    assert v.mask_id_card("11010519491231002X") == "110***********002X"
    masked = v.mask_id_card("440524188001010014")
    assert masked is not None and len(masked) == 18
    assert masked[:3] == "440" and masked[-4:] == "0014"
    assert "19491231" not in (v.mask_id_card("11010519491231002X") or "")
    assert v.mask_id_card(None) is None
