"""Co-building (issue #7), the staff side: partner units (credit code check character), agreements
(agreement·manage: party_secretary scope — every covered community inside it — street_admin all;
— for everyone else), typed errors that change nothing, lists filtered per role and tenant.

From tests/support/world.py: secretary is party_secretary@C1, secretary2 party_secretary@C2; admin is
street_admin; the others hold roles below party_secretary, which never manage agreements.
"""

from __future__ import annotations

from sqlalchemy import func, select

from models import Agreement, PartnerUnit
from resolvers.cobuilding import credit_code_check_char, normalize_credit_code
from resolvers.errors import ServiceError
from tenants.session import bind_tenant
from tests.support.cobuilding import (
    AGREEMENTS,
    CREATE_AGREEMENT,
    CREATE_UNIT,
    SET_STATUS,
    UPDATE_AGREEMENT,
    UPDATE_UNIT,
    USERS,
    agreement_input,
    codes,
    community,
    credit_code,
    gid,
    make_agreement,
    make_unit,
    run,
    unit_input,
    wrong_check,
)
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

MANAGERS_C1 = {"admin", "secretary"}


async def _count(db: DbEnv, tw: TenantWorld, model: type) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def test_credit_code_check_character() -> None:
    # Published codes: 91350100M000100Y43 (the standard's example form), 91440300708461136T.
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert credit_code_check_char("91440300708461136") == "T"
    assert normalize_credit_code(" 91440300708461136t ") == "91440300708461136T"
    for bad in ("91440300708461136U", "9144030070846113", "91440300708461136I", "914403007084611360"):
        try:
            normalize_credit_code(bad)
        except ServiceError as e:
            assert e.field == "creditCode"
        else:
            raise AssertionError(bad)


async def test_partner_units_by_role_and_bad_input(api: Api, fresh: World, db: DbEnv) -> None:
    tw = fresh.a
    for i, key in enumerate(USERS):
        p = await run(api, tw, key, CREATE_UNIT, unit_input(f"单位{key}", 100 + i))
        # agreement·manage: party secretaries (scope) and the street admin; nobody else.
        assert (p["errors"] == []) == (key in {"admin", "secretary", "secretary2"}), (key, p)
        if p["errors"]:
            assert codes(p) == ["FORBIDDEN"], p
    assert await _count(db, tw, PartnerUnit) == 3
    # A wrong check character is a typed error and writes nothing.
    bad = unit_input("实验小学", 200)
    bad["in"]["creditCode"] = wrong_check(credit_code(200))
    p = await run(api, tw, "admin", CREATE_UNIT, bad)
    assert p["partnerUnit"] is None and codes(p) == ["INVALID"] and p["errors"][0]["field"] == "creditCode", p
    bad = unit_input("", 201)
    bad["in"]["contactPhone"] = "12345"
    p = await run(api, tw, "admin", CREATE_UNIT, bad)
    assert {e["field"] for e in p["errors"]} == {"name", "contactPhone"}, p
    assert await _count(db, tw, PartnerUnit) == 3
    # Duplicates: the same name or the same code.
    p = await run(api, tw, "admin", CREATE_UNIT, unit_input("单位admin", 300))
    assert codes(p) == ["CONFLICT"], p
    p = await run(api, tw, "admin", CREATE_UNIT, unit_input("另一个", 100))
    assert codes(p) == ["CONFLICT"] and p["errors"][0]["field"] == "creditCode", p
    assert await _count(db, tw, PartnerUnit) == 3
    # The contact's phone is shown in full to managers and masked for the others who read units.
    units = await api.gql(tw, "admin", "query { partnerUnits { nodes { name contactPhone } } }")
    assert {n["contactPhone"] for n in units["data"]["partnerUnits"]["nodes"]} == {"13912345678"}
    for key in ("grid1", "resident", "nobody"):
        units = await api.gql(tw, key, "query { partnerUnits { totalCount } }")
        assert units["data"]["partnerUnits"]["totalCount"] == 0, key


async def test_agreement_manage_per_role(api: Api, fresh: World, db: DbEnv) -> None:
    tw = fresh.a
    unit = await make_unit(api, tw, "实验小学", 1)
    for key in USERS:
        p = await run(api, tw, key, CREATE_AGREEMENT, agreement_input(unit, [community(tw, "C1")]))
        assert (p["errors"] == []) == (key in MANAGERS_C1), (key, p)
        if p["errors"]:
            assert codes(p) == ["FORBIDDEN"], (key, p)
    assert await _count(db, tw, Agreement) == 2
    # Covering C1 and C2: only the street admin; each secretary has one of them outside scope.
    both = [community(tw, "C1"), community(tw, "C2")]
    for key in ("secretary", "secretary2"):
        p = await run(api, tw, key, CREATE_AGREEMENT, agreement_input(unit, both))
        assert codes(p) == ["FORBIDDEN"] and p["errors"][0]["field"] == "communityIds", p
    wide = await make_agreement(api, tw, unit, both, activate=False)
    c1 = await make_agreement(api, tw, unit, [community(tw, "C1")], activate=False, key="secretary")
    # Status changes: the C1 agreement is the secretary's and the admin's; the C1+C2 one only the admin's.
    for key in USERS:
        p = await run(api, tw, key, SET_STATUS, {"id": c1, "s": "ACTIVE", "v": None})
        if key in MANAGERS_C1:
            assert p["errors"] == [] and p["agreement"]["status"] == "ACTIVE", (key, p)
            back = await run(api, tw, key, SET_STATUS, {"id": c1, "s": "SUSPENDED", "v": None})
            assert back["errors"] == [], back
            again = await run(api, tw, key, SET_STATUS, {"id": c1, "s": "ACTIVE", "v": None})
            assert again["errors"] == [], again
            await run(api, tw, "admin", SET_STATUS, {"id": c1, "s": "SUSPENDED", "v": None})
        else:
            # secretary2 reads C2's agreements only; the others read none: not found.
            assert codes(p) in (["NOT_FOUND"], ["FORBIDDEN"]), (key, p)
    p = await run(api, tw, "secretary", SET_STATUS, {"id": wide, "s": "ACTIVE", "v": None})
    assert codes(p) == ["FORBIDDEN"], p
    p = await run(api, tw, "secretary2", SET_STATUS, {"id": wide, "s": "ACTIVE", "v": None})
    assert codes(p) == ["FORBIDDEN"], p
    p = await run(api, tw, "admin", SET_STATUS, {"id": wide, "s": "ACTIVE", "v": None})
    assert p["errors"] == [], p
    # Updating: the same rule.
    upd = agreement_input(unit, [community(tw, "C1")], grants=["activity.read"], title="改")
    upd["in"] |= {"id": wide, "expectedVersion": None}
    p = await run(api, tw, "secretary", UPDATE_AGREEMENT, upd)
    assert codes(p) == ["FORBIDDEN"], p
    upd["in"]["id"] = c1
    p = await run(api, tw, "secretary", UPDATE_AGREEMENT, upd)
    assert p["errors"] == [] and p["agreement"]["grants"] == ["activity.read"], p
    # A secretary cannot move an agreement into a community outside scope.
    upd["in"]["communityIds"] = [community(tw, "C2")]
    p = await run(api, tw, "secretary", UPDATE_AGREEMENT, upd)
    assert codes(p) == ["FORBIDDEN"], p


async def test_agreement_states_and_bad_input(api: Api, fresh: World, db: DbEnv) -> None:
    tw = fresh.a
    unit = await make_unit(api, tw, "市三医院", 2)
    aid = await make_agreement(api, tw, unit, [community(tw, "C1")], activate=False)
    for target, ok in (("EXPIRED", False), ("SUSPENDED", False), ("ACTIVE", True), ("DRAFT", False),
                       ("SUSPENDED", True), ("EXPIRED", True), ("ACTIVE", False), ("TERMINATED", False)):
        p = await run(api, tw, "admin", SET_STATUS, {"id": aid, "s": target, "v": None})
        assert (p["errors"] == []) == ok, (target, p)
        if not ok:
            assert codes(p) == ["INVALID_TRANSITION"], p
    # A stale version is a conflict.
    other = await make_agreement(api, tw, unit, [community(tw, "C1")], activate=False)
    p = await run(api, tw, "admin", SET_STATUS, {"id": other, "s": "ACTIVE", "v": 7})
    assert codes(p) == ["CONFLICT"], p
    before = await _count(db, tw, Agreement)
    bad = agreement_input(unit, [community(tw, "C1")], grants=["person.read", "activity.read"])
    bad["in"]["areas"] = ["nonsense"]
    bad["in"]["validUntil"] = "2000-01-01"
    bad["in"]["signatories"] = [{"name": "", "side": "nobody"}]
    p = await run(api, tw, "admin", CREATE_AGREEMENT, bad)
    assert p["agreement"] is None
    assert {e["field"] for e in p["errors"]} == {"grants", "areas", "validUntil", "signatories[0].name",
                                                 "signatories[0].side"}, p
    p = await run(api, tw, "admin", CREATE_AGREEMENT, agreement_input(unit, [community(tw, "C1")],
                                                                      grants=["wish.claim"]))
    assert codes(p) == ["INVALID"] and p["errors"][0]["field"] == "grants", p
    # Not a community; another tenant's community; a malformed id.
    for ids, code in (([gid("Compound", tw.areas["P1"])], "INVALID_ID"),
                      ([gid("Community", tw.areas["P1"])], "NOT_FOUND"),
                      ([community(fresh.b, "C1")], "NOT_FOUND"),
                      ([], "INVALID")):
        p = await run(api, tw, "admin", CREATE_AGREEMENT, agreement_input(unit, ids))
        assert codes(p) == [code], (ids, p)
    p = await run(api, tw, "admin", CREATE_AGREEMENT,
                  agreement_input(gid("PartnerUnit", fresh.b.tenant_id), [community(tw, "C1")]))
    assert codes(p) == ["NOT_FOUND"], p
    # An agreement whose validity has ended is not activated.
    old = await make_agreement(api, tw, unit, [community(tw, "C1")], activate=False,
                               valid_from=__import__("datetime").date(2020, 1, 1),
                               valid_until=__import__("datetime").date(2020, 12, 31))
    p = await run(api, tw, "admin", SET_STATUS, {"id": old, "s": "ACTIVE", "v": None})
    assert codes(p) == ["INVALID"], p
    assert await _count(db, tw, Agreement) == before + 1


async def test_agreement_lists_per_role_and_tenant(api: Api, fresh: World) -> None:
    tw = fresh.a
    unit = await make_unit(api, tw, "航空航模协会", 3)
    a1 = await make_agreement(api, tw, unit, [community(tw, "C1")], title="一")
    a2 = await make_agreement(api, tw, unit, [community(tw, "C2")], title="二")
    a12 = await make_agreement(api, tw, unit, [community(tw, "C1"), community(tw, "C2")], title="三")
    expect = {"admin": {a1, a2, a12}, "secretary": {a1, a12}, "secretary2": {a2, a12}}
    for key in USERS:
        body = await api.gql(tw, key, AGREEMENTS)
        got = {n["id"] for n in body["data"]["agreements"]["nodes"]}
        assert got == expect.get(key, set()), (key, got)
        assert body["data"]["agreements"]["totalCount"] == len(got)
    # Tenant B sees none of A's, by list or by id.
    body = await api.gql(fresh.b, "admin", AGREEMENTS)
    assert body["data"]["agreements"]["totalCount"] == 0
    for gid_ in (a1, unit):
        body = await api.gql(fresh.b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": gid_})
        assert body["data"]["node"] is None
    p = await run(api, fresh.b, "admin", SET_STATUS, {"id": a1, "s": "SUSPENDED", "v": None})
    assert codes(p) == ["NOT_FOUND"], p
    p = await run(api, fresh.b, "admin", UPDATE_UNIT, {"in": {**unit_input("x", 9)["in"], "id": unit}})
    assert codes(p) == ["NOT_FOUND"], p
    # Filters.
    body = await api.gql(tw, "admin", "query($c: ID!) { agreements(communityId: $c) { nodes { id } } }",
                         {"c": community(tw, "C2")})
    assert {n["id"] for n in body["data"]["agreements"]["nodes"]} == {a2, a12}


async def test_agreement_page_costs_the_same_statements_for_2_or_6(api: Api, fresh: World) -> None:
    """Nested fields (unit, communities) are loaded per page, not per row."""
    tw = fresh.a
    doc = """query($n: Int!) { agreements(first: $n) { nodes { id title partnerUnit { name }
      communities { id name } areas { code } signatories { name } } } }"""
    units = [await make_unit(api, tw, f"单位{i}", 60 + i) for i in range(3)]
    for i in range(6):
        await make_agreement(api, tw, units[i % 3], [community(tw, "C1"), community(tw, "C2")][: 1 + i % 2])
    small, n_small = await api.counted(tw, "admin", doc, {"n": 2})
    large, n_large = await api.counted(tw, "admin", doc, {"n": 6})
    assert len(small["data"]["agreements"]["nodes"]) == 2 and len(large["data"]["agreements"]["nodes"]) == 6
    assert n_small == n_large, (n_small, n_large)
