"""List filters portals need (issue #23): persons found exactly by ID number or phone — through the blind
indexes, only among persons the reader may read in full, audited without the value — and compounds by
how they are managed (无物业小区)."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEntry
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World

BY_ID = "query($c: String, $p: String) { persons(idCardNo: $c, phone: $p) { totalCount nodes { name } } }"
COMPOUNDS = "query($m: PropertyManagement) { areas(propertyManagement: $m, first: 50) { nodes { name } } }"


async def test_persons_by_id_number_or_phone_for_full_readers_only_and_audited(api: Api, db: DbEnv,
                                                                                fresh: World) -> None:
    a = fresh.a
    r = await api.gql(a, "admin", BY_ID, {"c": a.id_cards["h1a"]})
    assert r["data"]["persons"] == {"totalCount": 1, "nodes": [{"name": "张建国"}]}
    r = await api.gql(a, "admin", BY_ID, {"p": a.phones["h1b"]})
    assert r["data"]["persons"]["nodes"] == [{"name": "张小梅"}]
    # Both at once: the same person must match both.
    r = await api.gql(a, "admin", BY_ID, {"c": a.id_cards["h1a"], "p": a.phones["h1b"]})
    assert r["data"]["persons"]["totalCount"] == 0
    # A grid leader finds persons of their grid (G1: B1), not of another grid's building (H3 is in B3).
    assert (await api.gql(a, "grid1", BY_ID, {"c": a.id_cards["h1a"]}))["data"]["persons"]["totalCount"] == 1
    assert (await api.gql(a, "grid1", BY_ID, {"c": a.id_cards["h3a"]}))["data"]["persons"]["totalCount"] == 0
    # The chair reads P1's persons masked, so cannot find them by an identifier — only their own entry.
    names = "{ persons(first: 50) { nodes { name } } }"
    assert {"name": "张建国"} in (await api.gql(a, "chair", names))["data"]["persons"]["nodes"]
    assert (await api.gql(a, "chair", BY_ID, {"c": a.id_cards["h1a"]}))["data"]["persons"]["totalCount"] == 0
    assert (await api.gql(a, "chair", BY_ID, {"c": a.id_cards["h2a"]}))["data"]["persons"]["totalCount"] == 1
    # Another street office's admin never finds this tenant's person (the test worlds may share ID numbers:
    # what they find is their own register's entry, if any).
    ids = "query($c: String) { persons(idCardNo: $c) { nodes { id } } }"
    theirs = (await api.gql(fresh.b, "admin", ids, {"c": a.id_cards["h1a"]}))["data"]["persons"]["nodes"]
    assert {"id": encode_global_id("Person", a.persons["h1a"])} not in theirs
    assert all(n["id"] == encode_global_id("Person", fresh.b.persons["h1a"]) for n in theirs)
    # A malformed ID number is a typed error naming the argument.
    bad = await api.gql(a, "admin", BY_ID, {"c": "110101194803050000"}, allow_errors=True)
    assert bad["data"] is None or bad["data"]["persons"] is None
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID_ID_CARD", "idCardNo"), bad
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "person.lookup")
                                           .order_by(AuditEntry.created_at)))
    by_user = [(e.user_id, e.detail["by"]) for e in entries]
    assert (a.users["admin"], ["idCardNo"]) in by_user and (a.users["admin"], ["phone"]) in by_user
    assert (a.users["chair"], ["idCardNo"]) in by_user  # the attempt is audited even when nothing is found
    assert all(a.id_cards["h1a"] not in str(e.detail) and a.phones["h1b"] not in str(e.detail) for e in entries)


async def test_compounds_by_property_management(api: Api, fresh: World) -> None:
    a = fresh.a
    none = (await api.gql(a, "admin", COMPOUNDS, {"m": "NONE"}))["data"]["areas"]["nodes"]
    assert none == [{"name": "老街小区"}]
    firm = sorted(n["name"] for n in (await api.gql(a, "admin", COMPOUNDS, {"m": "FIRM"}))["data"]["areas"]["nodes"])
    assert firm == ["幸福小区", "湖畔小区"]
    # Within the reader's reach only: a grid leader of G3 reads P3's compound, not P2.
    assert (await api.gql(a, "grid3", COMPOUNDS, {"m": "NONE"}))["data"]["areas"]["nodes"] == []
