"""The compiled persons list (compiled/persons.py, issue #21) answers exactly what the resolvers answer.

As in test_compiled.py: every world user sends each query compiled, then through strawberry's
resolvers, and both bodies must be the same bytes; the compiled path must have been taken; a compiled
request is one statement after the request's start-up. Besides the world's five persons, six more live
in its four households — party members, care groups, phones — and two of them left the register (one
moved out, one died), so that every filter and the archived list have rows to tell apart."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tests.support.compiled import agree, around, both, compiled_statements, module_tenant, walk_pages
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")  # every role of the test world, and a user holding none

PERSON_SELECTION = """
  __typename id name gender relationToHead partyMember inServicePartyMember status leftOn version piiMasked
  idCardNo phone birthDate careTags
  household { __typename id unit room addressMasked building { name } }
"""

PERSONS = """
query Persons($first: Int, $after: String, $areaId: ID, $householdId: ID, $careTag: String, $partyMember: Boolean,
              $search: String, $archived: Boolean! = false, $idCardNo: String, $phone: String) {
  persons(first: $first, after: $after, areaId: $areaId, householdId: $householdId, careTag: $careTag,
          partyMember: $partyMember, search: $search, archived: $archived, idCardNo: $idCardNo, phone: $phone) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @PERSON } }
    nodes { id name }
  }
}
""".replace("@PERSON", PERSON_SELECTION)

# The register page as bench/mix_ops.py sends it, and fragments, aliases and a list asked twice.
PORTAL = """
query Persons { persons(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id name gender partyMember
  piiMasked phone idCardNo careTags household { unit room } } } }
"""
PERSONS_FRAGMENTS = """
query { a: persons(first: 1) { nodes { ...F } }
        b: persons(archived: true) { edges { node { ... on Node { id } ...F } } }
        c: persons { totalCount } d: persons(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Person { id n: name ...G }
fragment G on Person { household { room } phone }
"""

PERSON_DOCUMENTS = (PERSONS, PORTAL, PERSONS_FRAGMENTS)

CREATE = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id } errors { code } } }"
MOVE_OUT = "mutation($i: MovePersonOutInput!) { movePersonOut(input: $i) { errors { code } } }"
DEATH = "mutation($i: RecordPersonDeathInput!) { recordPersonDeath(input: $i) { errors { code } } }"

# (household, name, party member, care groups, phone); the last two leave the register.
PERSONS_OF_THE_WORLD = (
    ("H1", "张老伯", True, ["living_alone"], "13911112222"), ("H2", "李明", True, [], None),
    ("H3", "王小红", False, ["disabled", "living_alone"], "13822223333"), ("H4", "赵一鸣", True, ["veteran"], None),
    ("H2", "李迁出", False, [], "13733334444"), ("H3", "王故", True, ["disabled"], None),
)


def household(tw: TenantWorld, key: str) -> str:
    return encode_global_id("Household", tw.households[key])


async def _persons(api: Api, db: DbEnv, tw: TenantWorld) -> TenantWorld:
    ids = {}
    for hh, name, party, tags, phone in PERSONS_OF_THE_WORLD:
        r = await api.gql(tw, "admin", CREATE, {"i": {"householdId": household(tw, hh), "name": name,
                                                      "partyMember": party, "careTags": tags, "phone": phone}})
        assert r["data"]["createPerson"]["errors"] == [], (name, r)
        ids[name] = r["data"]["createPerson"]["person"]["id"]
    r = await api.gql(tw, "admin", MOVE_OUT, {"i": {"id": ids["李迁出"], "note": "迁往外区"}})
    assert r["data"]["movePersonOut"]["errors"] == [], r
    r = await api.gql(tw, "admin", DEATH, {"i": {"id": ids["王故"]}})
    assert r["data"]["recordPersonDeath"]["errors"] == [], r
    return tw


@pytest.fixture(scope="module")
async def person_tenant(api: Api, db: DbEnv) -> TenantWorld:
    """The module's world, for the tests that only read it."""
    return await _persons(api, db, await module_tenant(db))


def _pages(tw: TenantWorld) -> list[dict[str, Any]]:
    areas = [area(tw, k) for k in ("S", "C1", "C2", "P1", "B1", "G2", "Z1", "B4")]
    pages: list[dict[str, Any]] = [{}, {"first": 2}, {"first": 0}, {"first": 100}, {"archived": True},
                                   {"partyMember": True}, {"partyMember": False, "archived": True},
                                   {"careTag": "living_alone"}, {"careTag": "disabled", "archived": True},
                                   {"careTag": "no-such-group"}, {"search": "张"}, {"search": " 李 "},
                                   {"search": ""}, {"householdId": household(tw, "H1")},
                                   {"householdId": household(tw, "H3"), "archived": True},
                                   {"householdId": encode_global_id("Household", tw.tenant_id)}]
    pages += [{"areaId": a} for a in areas]
    pages += [{"areaId": areas[1], "partyMember": True, "search": "王", "first": 1},
              {"areaId": areas[5], "careTag": "disabled", "householdId": household(tw, "H3")}]
    return pages


# One test per user (CI time, issue #21: the users' loop was one test that one worker ran alone at the end
# of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_person_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, person_tenant: Any,
                                                                           user: str) -> None:
    tw = person_tenant
    for variables in _pages(tw):
        await agree(api, tw, user, PERSONS, variables)
    for document in (PORTAL, PERSONS_FRAGMENTS):
        await agree(api, tw, user, document, {})


async def test_person_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, person_tenant: Any) -> None:
    tw = person_tenant
    seen_pages = 0
    for user in USERS:
        # page by page from the cursors, to the end
        for archived in (False, True):
            variables = {"first": 2, "archived": archived}
            seen_pages += await walk_pages(api, tw, user, PERSONS, "persons", variables, 20)
    assert seen_pages > 3 * len(USERS), seen_pages  # several users' registers ran to several pages


async def names(api: Api, tw: TenantWorld, user: str, variables: dict[str, Any]) -> list[str]:
    body = orjson.loads((await both(api, tw, user, PERSONS, {"first": 100, **variables}))[0])
    conn = body["data"]["persons"]
    assert conn["totalCount"] == len(conn["edges"]), (user, variables)
    return [e["node"]["name"] for e in conn["edges"]]


async def test_a_person_list_has_real_content(api: Api, person_tenant: Any) -> None:
    """Guards the comparison above from comparing empty answers: what each register holds."""
    tw = person_tenant
    world = ["张建国", "张小梅", "李秀英", "王德明", "赵卫东"]
    added = [name for _, name, *_ in PERSONS_OF_THE_WORLD]
    assert await names(api, tw, "admin", {}) == world + added[:4]  # by id: the order of registration
    assert await names(api, tw, "admin", {"archived": True}) == ["李迁出", "王故"]
    assert await names(api, tw, "admin", {"partyMember": True}) == ["王德明", "张老伯", "李明", "赵一鸣"]
    assert await names(api, tw, "admin", {"careTag": "living_alone"}) == ["张建国", "张老伯", "王小红"]
    assert await names(api, tw, "admin", {"search": " 李 "}) == ["李秀英", "李明"]
    assert await names(api, tw, "admin", {"householdId": household(tw, "H3"), "archived": True}) == ["王故"]
    assert await names(api, tw, "admin", {"areaId": area(tw, "G2")}) == ["李秀英", "王德明", "李明", "王小红"]
    assert await names(api, tw, "admin", {"areaId": area(tw, "C2")}) == ["赵卫东", "赵一鸣"]
    assert await names(api, tw, "nobody", {}) == []
    assert await names(api, tw, "grid1", {}) == ["张建国", "张小梅", "张老伯"]
    # The firm reads P1's register masked: care groups are personal data, so the care filter finds none.
    assert await names(api, tw, "firm", {"careTag": "living_alone"}) == []
    firm = orjson.loads((await both(api, tw, "firm", PERSONS, {"areaId": area(tw, "B1")}))[0])
    nodes = [e["node"] for e in firm["data"]["persons"]["edges"]]
    assert [p["name"] for p in nodes] == ["张建国", "张小梅", "张老伯"]
    assert all(p["piiMasked"] and p["careTags"] is None and p["birthDate"] is None for p in nodes)
    assert nodes[0]["phone"] == tw.phones["h1a"][:3] + "****" + tw.phones["h1a"][-4:] != tw.phones["h1a"]
    assert nodes[2]["phone"] == "139****2222" and nodes[2]["household"]["room"] != "101"
    grid = orjson.loads((await both(api, tw, "grid1", PERSONS, {}))[0])["data"]["persons"]["edges"]
    assert grid[0]["node"]["phone"] == tw.phones["h1a"] and grid[0]["node"]["idCardNo"] == tw.id_cards["h1a"]
    assert grid[2]["node"]["careTags"] == ["living_alone"] and grid[2]["node"]["household"]["room"] == "101"
    archived = orjson.loads((await both(api, tw, "admin", PERSONS, {"archived": True}))[0])
    leavers = [e["node"] for e in archived["data"]["persons"]["edges"]]
    assert [(p["status"], p["leftOn"] is not None) for p in leavers] == [("MOVED_OUT", True), ("DECEASED", True)]


async def test_a_bad_person_argument_is_the_resolvers_error_either_way(api: Api, person_tenant: Any) -> None:
    """An unknown area (NOT_FOUND), an ID of no area or of no household, a blank or long search, a page
    size out of range, a bad cursor: the resolvers' typed errors, the same bytes whichever path was tried
    first. A lookup by ID number or phone is audited by the resolvers: it takes the general path.

    Plans cached first (issue #21): each user sends the same arguments with valid values before the
    bad ones, so the bad ones meet a cached plan of their shape — for "nobody" one whose SQL dropped the
    argument (``x AND false``): a reused plan must refuse what compiling anew refuses
    (compiled.plans.Plan.unused; 2026-12-05 it answered an empty page where the resolvers say INVALID_ID)."""
    tw = person_tenant
    bad: list[dict[str, Any]] = [{"areaId": encode_global_id("Building", tw.tenant_id)},
                                 {"areaId": encode_global_id("Case", tw.tenant_id)},
                                 {"householdId": area(tw, "B1")}, {"householdId": "not-an-id"},
                                 {"search": "   "}, {"search": "张" * 51}, {"first": 101}, {"first": -1},
                                 {"after": "not-a-cursor"}, {"phone": "12"}, {"idCardNo": "123"}]
    for user in ("admin", "resident", "nobody"):
        for variables in ({"areaId": area(tw, "C1")},
                          {"householdId": encode_global_id("Household", tw.households["H1"])},
                          {"search": "张"}, {"first": 2}):
            compiled, resolved, taken = await both(api, tw, user, PERSONS, variables)
            assert compiled == resolved and taken, (user, variables, around(compiled, resolved))
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, PERSONS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)
        for variables in ({"phone": tw.phones["h1a"]}, {"idCardNo": tw.id_cards["h2a"]}):
            compiled, resolved, taken = await both(api, tw, user, PERSONS, variables)
            assert compiled == resolved and not taken, (user, variables)
    found = await names(api, tw, "admin", {"phone": tw.phones["h1a"]})
    assert found == ["张建国"]  # the general path answered it: the comparison above was not of two empties


async def test_a_compiled_person_list_is_one_statement_whatever_the_page_size(api: Api, person_tenant: Any
                                                                               ) -> None:
    """As the firm, who reads P1's register masked: a full read adds the audit's write to a request,
    on either path (the test below)."""
    tw = person_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "firm", "query { __typename }")
        _, resolved = await api.counted(tw, "firm", PERSONS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = {}
    for first in (1, 50):
        _, counts[first] = await api.counted(tw, "firm", PERSONS, {"first": first})
    _, counts[0] = await api.counted(tw, "firm", PERSONS, {"first": 2, "areaId": area(tw, "P1"),
                                                            "partyMember": True, "search": "张"})
    assert counts[1] == counts[50] == counts[0] == baseline + 1, (counts, baseline)
    assert resolved > baseline + 1, resolved  # the resolvers need several: the comparison means something
    body = orjson.loads((await both(api, tw, "firm", PERSONS, {"first": 50}))[0])
    assert body["data"]["persons"]["totalCount"] == 5  # P1's register: H1's three, H2's 李秀英 and 李明


async def test_a_compiled_person_list_audits_the_same_full_reads_as_the_resolvers(
        api: Api, person_tenant: Any, db: DbEnv) -> None:
    """Full reads are markers the compiled path unseals and records (person.read_pii), as the resolvers
    record theirs: the same persons for the same request, whichever path answered."""
    tw = person_tenant

    async def pii_audit() -> list[tuple[str, ...]]:
        async with db.owner_engine.connect() as c, c.begin():
            await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
            rows = await c.execute(sa.text("SELECT object_ids FROM audit_log WHERE tenant_id = :t AND "
                                           "action = 'person.read_pii' ORDER BY created_at, id"),
                                   {"t": tw.tenant_id})
            return [tuple(sorted(r[0])) for r in rows]

    for user, variables in (("grid2", {}), ("secretary", {"first": 3}), ("admin", {"archived": True})):
        before = await pii_audit()
        _, _, taken = await both(api, tw, user, PORTAL if not variables else PERSONS, variables)
        after = await pii_audit()
        assert taken and len(after) == len(before) + 2, (user, before, after)
        compiled_read, resolved_read = after[-2:]
        assert compiled_read == resolved_read and compiled_read, (user, compiled_read)


async def test_a_person_pages_personal_data_is_written_as_text(api: Api, person_tenant: Any) -> None:
    """The full reads' "$pii" markers and the masked values are written as text in the statement (compiled.pii,
    issue #21: no json_build_object per person and field), and the page is the resolvers' bytes — as a full
    reader, as a reader of masked values, and as one who reads some persons in full and others masked."""
    for user in ("admin", "firm", "grid2"):
        with compiled_statements() as made:
            body = await agree(api, person_tenant, user, PERSONS, {"first": 50})
        statement = made[0]
        assert statement is not None
        assert "json_build_object" not in statement[0], (user, statement[0])
        assert b'"phone":' in body and b'"careTags":' in body and b"$pii" not in body


async def test_a_person_pages_full_read_check_is_made_once_per_person(api: Api, person_tenant: Any) -> None:
    """Whether a person's data is read in full is one column of the page's rows, which each field that is personal
    data (piiMasked, idCardNo, phone, birthDate, careTags) reads — not the check again per field (compiled.pii,
    issue #21: four hashed lookups per person) — and the page is the resolvers' bytes. A role whose answer is the
    same for every person (admin: all, firm: none) has the constant, no column. piiMasked and the household's
    addressMasked are written as text by a CASE of 'true' / 'false', not through to_json."""
    for user, checked in (("admin", False), ("firm", False), ("grid2", True)):
        with compiled_statements() as made:
            await agree(api, person_tenant, user, PERSONS, {"first": 50})
        statement = made[0]
        assert statement is not None
        sql = statement[0]
        assert "to_json(NOT" not in sql.replace("to_json(CAST(NOT", "to_json(NOT"), (user, sql)
        if checked:
            assert sql.count(" AS _pii") == 1, (user, sql)  # once, in the page's rows (not in the count's)
            assert sql.count("p._pii") == 5, (user, sql)  # read by the five fields
        else:
            assert "_pii" not in sql, (user, sql)
