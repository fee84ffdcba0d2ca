"""Moves on the register (issue #23): movePerson, movePersonOut (迁出), movePersonIn (迁入),
recordPersonDeath (注销) — person · write (grid leaders in their grids, the secretary by inheritance,
the street admin), on both ends of a move; archived persons leave the current register (lists,
households, the figures) but are never deleted, keep their last household, and the residence history
keeps every move; refused states and bad input change nothing. World: tests/support/world.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import Member, PersonMove
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

ERR = "errors { code field }"
FIELDS = "person { id status leftOn version household { id } }"
DOCS = {name: f"mutation($i: {name[0].upper() + name[1:]}Input!) {{ {name}(input: $i) {{ {FIELDS} {ERR} }} }}"
        for name in ("movePerson", "movePersonOut", "movePersonIn", "recordPersonDeath")}
PERSONS = "query($a: Boolean!) { persons(first: 50, archived: $a) { totalCount nodes { id } } }"
HOUSEHOLD = "query($id: ID!) { node(id: $id) { ... on Household { persons { id } } } }"
PERSON = "query($id: ID!) { node(id: $id) { ... on Person { status leftOn version household { id } } } }"


def pid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Person", tw.persons[key])


def hid(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Household", tw.households[key])


async def act(api: Api, tw: TenantWorld, who: str, name: str, **i: Any) -> dict[str, Any]:
    return (await api.gql(tw, who, DOCS[name], {"i": i}))["data"][name]  # type: ignore[no-any-return]


def codes(p: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in p["errors"]]


async def person(api: Api, tw: TenantWorld, key: str) -> dict[str, Any]:
    return (await api.gql(tw, "admin", PERSON, {"id": pid(tw, key)}))["data"]["node"]  # type: ignore[no-any-return]


async def listed(api: Api, tw: TenantWorld, archived: bool, who: str = "admin") -> set[str]:
    body = await api.gql(tw, who, PERSONS, {"a": archived})
    return {n["id"] for n in body["data"]["persons"]["nodes"]}


async def test_move_within_the_register(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    before = await person(api, a, "h1b")
    # denied: no person·write (firm, chair, the resident themselves), not seen (resident4, grid3), the
    # grid leader of B1 does not even see H2 (B2, another grid)
    for who, code in (("firm", "FORBIDDEN"), ("chair", "FORBIDDEN"), ("resident", "FORBIDDEN"),
                      ("resident4", "NOT_FOUND"), ("grid3", "NOT_FOUND"), ("nobody", "NOT_FOUND")):
        assert codes(await act(api, a, who, "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H2"))) == [
            (code, "id")], who
    assert codes(await act(api, a, "grid1", "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H2"))) == [
        ("NOT_FOUND", "householdId")]
    assert codes(await act(api, fresh.b, "admin", "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H2"))) == [
        ("NOT_FOUND", "id")]
    # bad input
    tomorrow2 = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    for fields, err in (({"effectiveOn": tomorrow2}, ("INVALID", "effectiveOn")),
                        ({"note": "注" * 501}, ("TOO_LONG", "note")),
                        ({"expectedVersion": before["version"] + 2}, ("CONFLICT", "expectedVersion")),
                        ({"householdId": hid(a, "H1")}, ("INVALID", "householdId"))):
        p = await act(api, a, "secretary", "movePerson", **{"id": pid(a, "h1b"), "householdId": hid(a, "H2"),
                                                            **fields})
        assert codes(p) == [err], fields
    assert await person(api, a, "h1b") == before
    # allowed: the secretary of C1 reaches both households
    p = await act(api, a, "secretary", "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H2"),
                  effectiveOn="2026-03-01", expectedVersion=before["version"])
    assert codes(p) == [] and p["person"]["household"]["id"] == hid(a, "H2")
    assert p["person"]["status"] == "ACTIVE" and p["person"]["version"] == before["version"] + 1
    h1 = (await api.gql(a, "admin", HOUSEHOLD, {"id": hid(a, "H1")}))["data"]["node"]["persons"]
    assert pid(a, "h1b") not in {x["id"] for x in h1}
    # a move before the last one is refused; the history has the move
    p = await act(api, a, "admin", "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H1"), effectiveOn="2026-02-01")
    assert codes(p) == [("INVALID", "effectiveOn")]
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            moves = list(await s.scalars(select(PersonMove).where(PersonMove.person_id == a.persons["h1b"])))
    assert [(m.kind.value, m.from_household_id, m.to_household_id, m.effective_on) for m in moves] == [
        ("move", a.households["H1"], a.households["H2"], date(2026, 3, 1))]


async def test_move_out_in_and_death_archive_never_delete(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    assert pid(a, "h1a") in await listed(api, a, False)
    # 迁出: h1a (secretary2's own person) by the grid leader of B1
    p = await act(api, a, "grid1", "movePersonOut", id=pid(a, "h1a"), note="迁往外省")
    assert codes(p) == [] and p["person"]["status"] == "MOVED_OUT" and p["person"]["leftOn"]
    assert p["person"]["household"]["id"] == hid(a, "H1")  # kept: the ledgers of their time find them there
    assert pid(a, "h1a") not in await listed(api, a, False)
    assert pid(a, "h1a") in await listed(api, a, True)
    assert pid(a, "h1a") in await listed(api, a, True, "grid1")  # still readable in scope, archived
    h1 = (await api.gql(a, "admin", HOUSEHOLD, {"id": hid(a, "H1")}))["data"]["node"]["persons"]
    assert {x["id"] for x in h1} == {pid(a, "h1b")}
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            linked = await s.scalar(select(Member.person_id).where(Member.user_id == a.users["secretary2"]))
    assert linked is None  # the account's own-household rights ended with the residence
    # refused from MOVED_OUT: a move within the register, a second move out
    assert codes(await act(api, a, "grid1", "movePerson", id=pid(a, "h1a"), householdId=hid(a, "H1"))) == [
        ("INVALID_TRANSITION", "id")]
    assert codes(await act(api, a, "grid1", "movePersonOut", id=pid(a, "h1a"))) == [("INVALID_TRANSITION", "id")]
    # 迁入: back into H1; the grid leader of B2/B3 may not (H1 is outside their grids)
    assert codes(await act(api, a, "grid2", "movePersonIn", id=pid(a, "h1a"), householdId=hid(a, "H1"))) == [
        ("NOT_FOUND", "id")]
    p = await act(api, a, "grid1", "movePersonIn", id=pid(a, "h1a"), householdId=hid(a, "H1"))
    assert codes(p) == [] and p["person"]["status"] == "ACTIVE" and p["person"]["leftOn"] is None
    assert pid(a, "h1a") in await listed(api, a, False)
    assert codes(await act(api, a, "grid1", "movePersonIn", id=pid(a, "h1a"), householdId=hid(a, "H1"))) == [
        ("INVALID_TRANSITION", "id")]
    # 注销: h3a by the grid leader of B3; final
    assert codes(await act(api, a, "firm", "recordPersonDeath", id=pid(a, "h3a"))) in (
        [("FORBIDDEN", "id")], [("NOT_FOUND", "id")])
    p = await act(api, a, "grid2", "recordPersonDeath", id=pid(a, "h3a"), effectiveOn="2026-11-30")
    assert codes(p) == [] and (p["person"]["status"], p["person"]["leftOn"]) == ("DECEASED", "2026-11-30")
    for name, extra in (("movePersonIn", {"householdId": hid(a, "H3")}), ("movePersonOut", {}),
                        ("recordPersonDeath", {}), ("movePerson", {"householdId": hid(a, "H2")})):
        assert codes(await act(api, a, "admin", name, id=pid(a, "h3a"), **extra)) == [("INVALID_TRANSITION", "id")]
    assert await listed(api, a, True) == {pid(a, "h3a")}
    body = await api.gql(a, "admin", "{ persons(first: 50) { totalCount } }")
    assert body["data"]["persons"]["totalCount"] == 4  # the current figures: five persons, one deceased


MOVES = """query($id: ID!) { node(id: $id) { ... on Person { moves { kind effectiveOn recordedAt note
  fromHousehold { id room } toHousehold { id room } } } } }"""


async def test_person_moves_are_read_with_the_person_and_masked_like_personal_data(api: Api, db: DbEnv) -> None:
    """Person.moves (issue #23): the residence history under the person read rule; households only as the
    reader may read them (rooms masked without the full-read right), the note only with that right."""
    from tests.support.harness import new_slug
    from tests.support.world import build_tenant

    a = await build_tenant(db.sessionmaker, new_slug("moves"))
    assert (await api.gql(a, "admin", MOVES, {"id": pid(a, "h1b")}))["data"]["node"] == {"moves": []}
    moved = await act(api, a, "admin", "movePerson", id=pid(a, "h1b"), householdId=hid(a, "H2"),
                      note="随子女居住")
    assert moved["errors"] == [], moved

    def seen(who: str) -> Any:
        return api.gql(a, who, MOVES, {"id": pid(a, "h1b")})

    full = (await seen("admin"))["data"]["node"]["moves"]
    assert [(m["kind"], m["note"], m["fromHousehold"], m["toHousehold"]) for m in full] == [
        ("MOVE", "随子女居住", {"id": hid(a, "H1"), "room": "101"}, {"id": hid(a, "H2"), "room": "201"})]
    assert full[0]["effectiveOn"] == datetime.now(UTC).date().isoformat()
    # grid2 (G2 covers B2, now h1b's building): personal data in full; H1 (B1, G1's) is not theirs to read
    g2 = (await seen("grid2"))["data"]["node"]["moves"]
    assert [(m["note"], m["fromHousehold"], m["toHousehold"]) for m in g2] == [
        ("随子女居住", None, {"id": hid(a, "H2"), "room": "201"})]
    # the firm serving P1 reads its persons masked: both households, rooms masked, no note
    firm = (await seen("firm"))["data"]["node"]["moves"]
    assert [(m["kind"], m["note"], m["fromHousehold"], m["toHousehold"]) for m in firm] == [
        ("MOVE", None, {"id": hid(a, "H1"), "room": "***"}, {"id": hid(a, "H2"), "room": "***"})]
    # the chair now lives with h1b in H2: their own household's data in full, the room of H1 masked
    chair = (await seen("chair"))["data"]["node"]["moves"]
    assert [(m["note"], m["fromHousehold"]["room"], m["toHousehold"]["room"]) for m in chair] == [
        ("随子女居住", "***", "201")]
    # no person read, no history: grid1 (h1b left B1), resident4 (another compound), nobody
    for who in ("grid1", "resident4", "nobody"):
        assert (await seen(who))["data"]["node"] is None, who
