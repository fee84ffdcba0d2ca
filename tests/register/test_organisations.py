"""Onboarding's organisations (issue #23): property firms, service contracts and dispatch to a firm
that serves the case's compound that day, party organisations and members, owner committees; area
names unique under their parent, moveArea, archiveArea. Allowed and denied for each mutation."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

FIRM = ("mutation($i: CreatePropertyFirmInput!) { createPropertyFirm(input: $i) { propertyFirm { id name creditCode }"
        " errors { code field } } }")
UPDATE_FIRM = ("mutation($i: UpdatePropertyFirmInput!) { updatePropertyFirm(input: $i) { propertyFirm { id name } "
               "errors { code field } } }")
CONTRACT = ("mutation($i: CreateServiceContractInput!) { createServiceContract(input: $i) { serviceContract { id "
            "validFrom validUntil compound { name } firm { name } } errors { code field } } }")
END = ("mutation($i: EndServiceContractInput!) { endServiceContract(input: $i) { serviceContract { validUntil } "
       "errors { code field } } }")
ORG = ("mutation($i: CreatePartyOrgInput!) { createPartyOrg(input: $i) { partyOrg { id name kind area { name } } "
       "errors { code field } } }")
MEMBER = ("mutation($i: AddPartyOrgMemberInput!) { addPartyOrgMember(input: $i) { member { id role } "
          "errors { code field } } }")
COMMITTEE = ("mutation($i: CreateOwnerCommitteeInput!) { createOwnerCommittee(input: $i) { ownerCommittee { id name "
             "chairName termStart termEnd compound { name } } errors { code field } } }")
CREATE_AREA = ("mutation($i: CreateAreaInput!) { createArea(input: $i) { area { id name } errors { code field } } }")
MOVE = ("mutation($i: MoveAreaInput!) { moveArea(input: $i) { area { id ancestors { name } } "
        "errors { code field } } }")
ARCHIVE = ("mutation($i: ArchiveAreaInput!) { archiveArea(input: $i) { area { id archivedAt } "
           "errors { code field } } }")


def gid(t: str, i: Any) -> str:
    return encode_global_id(t, i)


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def test_firms_and_contracts(api: Api, fresh: World) -> None:
    a = fresh.a
    made = payload(await api.gql(a, "admin", FIRM, {"i": {"name": "绿城物业", "creditCode": "91341100MA2N0XXX0K"}}))
    assert made["errors"] == [] and made["propertyFirm"]["name"] == "绿城物业"
    firm = made["propertyFirm"]["id"]
    # every error of the input at once: a bad credit code and a duplicate name
    bad = payload(await api.gql(a, "admin", FIRM, {"i": {"name": "x" * 101, "creditCode": "123"}}))
    assert {e["field"] for e in bad["errors"]} == {"name", "creditCode"}
    dup = payload(await api.gql(a, "admin", FIRM, {"i": {"name": "绿城物业"}}))
    assert dup["errors"] == [{"code": "CONFLICT", "field": "name"}]
    renamed = payload(await api.gql(a, "admin", UPDATE_FIRM, {"i": {"id": firm, "name": "绿城物业服务集团"}}))
    assert renamed["errors"] == [] and renamed["propertyFirm"]["name"] == "绿城物业服务集团"
    c = payload(await api.gql(a, "admin", CONTRACT, {"i": {"firmId": firm, "compoundId": gid("Compound", a.areas["P2"]),
                                                           "validFrom": "2025-01-01"}}))
    assert c["errors"] == [] and c["serviceContract"]["compound"] == {"name": "老街小区"}
    overlap = payload(await api.gql(a, "admin", CONTRACT, {"i": {
        "firmId": firm, "compoundId": gid("Compound", a.areas["P2"]), "validFrom": "2026-01-01"}}))
    assert overlap["errors"] == [{"code": "CONFLICT", "field": "validFrom"}]
    not_compound = payload(await api.gql(a, "admin", CONTRACT, {"i": {
        "firmId": firm, "compoundId": gid("Compound", a.areas["B1"]), "validFrom": "2026-01-01"}}))
    assert not_compound["errors"][0]["code"] in {"INVALID", "INVALID_ID"}
    ended = payload(await api.gql(a, "admin", END, {"i": {"id": c["serviceContract"]["id"],
                                                          "validUntil": "2026-06-30"}}))
    assert ended == {"serviceContract": {"validUntil": "2026-06-30"}, "errors": []}
    listed = await api.gql(a, "admin", "query($f: ID) { serviceContracts(firmId: $f) { totalCount } }", {"f": firm})
    assert listed["data"]["serviceContracts"]["totalCount"] == 1
    # denied: below the street admin, every one of them
    for key in ("secretary", "grid1", "firm", "resident"):
        assert payload(await api.gql(a, key, FIRM, {"i": {"name": f"新{key}"}}))["errors"][0]["code"] == "FORBIDDEN"
        up = payload(await api.gql(a, key, UPDATE_FIRM, {"i": {"id": firm, "name": "y"}}))
        assert up["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
        con = payload(await api.gql(a, key, CONTRACT, {"i": {"firmId": gid("PropertyFirm", a.firms["F1"]),
                                                           "compoundId": gid("Compound", a.areas["P1"]),
                                                           "validFrom": "2030-01-01"}}))
        assert con["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
        end = payload(await api.gql(a, key, END, {"i": {"id": c["serviceContract"]["id"], "validUntil": "2025-06-30"}}))
        assert end["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
    # another tenant's firm: NOT_FOUND
    other = payload(await api.gql(fresh.b, "admin", CONTRACT, {"i": {
        "firmId": firm, "compoundId": gid("Compound", fresh.b.areas["P1"]), "validFrom": "2026-01-01"}}))
    assert other["errors"] == [{"code": "NOT_FOUND", "field": "firmId"}]


REPORT = ("mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code field } } }")
ACCEPT = "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { case { state } errors { code field } } }"
DISPATCH = ("mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) { case { state handlerName } "
            "errors { code field message } } }")


async def test_dispatch_only_to_a_firm_serving_the_compound_that_day(api: Api, fresh: World) -> None:
    """The 扬天小区 case of issue #23: a firm that serves another compound is refused, typed."""
    a = fresh.a
    cases = {}
    for key, building in (("served", "B1"), ("ended", "B4"), ("none", "B3")):
        r = payload(await api.gql(a, "admin", REPORT, {"i": {
            "areaId": gid("Building", a.areas[building]), "category": "drainage", "title": f"下水道堵塞 {key}",
            "description": "污水外溢"}}))
        assert r["errors"] == [], r
        cases[key] = r["case"]["id"]
        assert payload(await api.gql(a, "admin", ACCEPT, {"i": {"id": cases[key]}}))["errors"] == []
    firm = gid("PropertyFirm", a.firms["F1"])
    for key in ("ended", "none"):  # P3's contract ended in 2021; P2 has none
        refused = payload(await api.gql(a, "admin", DISPATCH, {"i": {"id": cases[key], "handlerKind": "PROPERTY_FIRM",
                                                                     "firmId": firm}}))
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("FIRM_NOT_SERVING", "firmId")], key
        assert refused["case"] is None
    ok = payload(await api.gql(a, "admin", DISPATCH, {"i": {"id": cases["served"], "handlerKind": "PROPERTY_FIRM",
                                                            "firmId": firm}}))
    assert ok["errors"] == [] and ok["case"] == {"state": "DISPATCHED", "handlerName": "安居物业"}


async def test_party_orgs_members_and_owner_committees(api: Api, fresh: World) -> None:
    a = fresh.a
    committee = payload(await api.gql(a, "secretary", ORG, {"i": {
        "name": "东风社区党委", "kind": "COMMITTEE", "areaId": gid("Community", a.areas["C1"])}}))
    assert committee["errors"] == [], committee
    branch = payload(await api.gql(a, "secretary", ORG, {"i": {
        "name": "幸福小区党支部", "kind": "BRANCH", "areaId": gid("Compound", a.areas["P1"]),
        "parentId": committee["partyOrg"]["id"]}}))
    assert branch["errors"] == [] and branch["partyOrg"]["area"] == {"name": "幸福小区"}
    grid_branch = payload(await api.gql(a, "admin", ORG, {"i": {
        "name": "一网格党支部", "kind": "BRANCH", "areaId": gid("Grid", a.areas["G1"]),
        "parentId": committee["partyOrg"]["id"]}}))
    assert grid_branch["errors"] == []
    group = payload(await api.gql(a, "admin", ORG, {"i": {
        "name": "1栋党小组", "kind": "GROUP", "areaId": gid("Building", a.areas["B1"]),
        "parentId": branch["partyOrg"]["id"]}}))
    assert group["errors"] == []
    wrong = payload(await api.gql(a, "admin", ORG, {"i": {"name": "x", "kind": "COMMITTEE",
                                                          "areaId": gid("Building", a.areas["B1"])}}))
    assert wrong["errors"] == [{"code": "INVALID_PARENT", "field": "areaId"}]
    # the parent must sit above: C2's branch under C1's committee is refused
    astray = payload(await api.gql(a, "admin", ORG, {"i": {"name": "y", "kind": "BRANCH",
                                                           "areaId": gid("Compound", a.areas["P3"]),
                                                           "parentId": committee["partyOrg"]["id"]}}))
    assert astray["errors"] == [{"code": "INVALID_PARENT", "field": "parentId"}]
    m = payload(await api.gql(a, "secretary", MEMBER, {"i": {"partyOrgId": branch["partyOrg"]["id"],
                                                             "personId": gid("Person", a.persons["h1a"]),
                                                             "role": "SECRETARY"}}))
    assert m["errors"] == [] and m["member"]["role"] == "SECRETARY"
    again = payload(await api.gql(a, "secretary", MEMBER, {"i": {"partyOrgId": branch["partyOrg"]["id"],
                                                                 "personId": gid("Person", a.persons["h1a"])}}))
    assert again["errors"] == [{"code": "CONFLICT", "field": "personId"}]
    oc = payload(await api.gql(a, "secretary", COMMITTEE, {"i": {
        "compoundId": gid("Compound", a.areas["P1"]), "name": "幸福小区第一届业主委员会", "chairName": "李秀英",
        "chairPersonId": gid("Person", a.persons["h2a"]), "termStart": "2026-01-01", "termEnd": "2030-12-31"}}))
    assert oc["errors"] == [] and oc["ownerCommittee"]["chairName"] == "李秀英"
    both = payload(await api.gql(a, "admin", COMMITTEE, {"i": {
        "compoundId": gid("Compound", a.areas["P1"]), "name": "", "chairName": "", "termStart": "2027-01-01",
        "termEnd": "2026-01-01"}}))
    assert {e["field"] for e in both["errors"]} == {"name", "chairName", "termEnd"}  # every error at once
    listed = await api.gql(a, "admin", "{ partyOrgs { totalCount } ownerCommittees { totalCount } }")
    assert listed["data"] == {"partyOrgs": {"totalCount": 4}, "ownerCommittees": {"totalCount": 1}}
    # denied: the secretary of C2 outside their scope, grid leaders, chairs, residents
    out = payload(await api.gql(a, "secretary2", ORG, {"i": {"name": "z", "kind": "BRANCH",
                                                             "areaId": gid("Compound", a.areas["P1"])}}))
    assert out["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}
    for key in ("grid1", "chair", "resident"):
        o = payload(await api.gql(a, key, ORG, {"i": {"name": "z", "kind": "BRANCH",
                                                      "areaId": gid("Compound", a.areas["P1"])}}))
        assert o["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
        mm = payload(await api.gql(a, key, MEMBER, {"i": {"partyOrgId": branch["partyOrg"]["id"],
                                                          "personId": gid("Person", a.persons["h1b"])}}))
        assert mm["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
        cc = payload(await api.gql(a, key, COMMITTEE, {"i": {
            "compoundId": gid("Compound", a.areas["P1"]), "name": "n", "chairName": "c", "termStart": "2031-01-01",
            "termEnd": "2035-01-01"}}))
        assert cc["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key


async def test_area_names_move_and_archive(api: Api, fresh: World) -> None:
    a = fresh.a
    street = gid("Street", a.areas["S"])
    dup = payload(await api.gql(a, "admin", CREATE_AREA, {"i": {"kind": "COMMUNITY", "parentId": street,
                                                                "name": "东风社区"}}))
    assert dup["errors"] == [{"code": "DUPLICATE_NAME", "field": "name"}]
    # move compound P2 (老街小区) from C1 to Z1 of C2: its building and cases' scope follow
    moved = payload(await api.gql(a, "admin", MOVE, {"i": {"id": gid("Compound", a.areas["P2"]),
                                                           "newParentId": gid("Zone", a.areas["Z1"])}}))
    assert moved["errors"] == [], moved
    assert [x["name"] for x in moved["area"]["ancestors"]] == [f"{a.slug} 街道", "西湖社区", "一片区"]
    b3 = await api.gql(a, "admin", "query($id: ID!) { node(id: $id) { ... on Building { ancestors { name } } } }",
                       {"id": gid("Building", a.areas["B3"])})
    assert [x["name"] for x in b3["data"]["node"]["ancestors"]][-2:] == ["一片区", "老街小区"]
    # C1's secretary no longer manages it, C2's does
    denied = payload(await api.gql(a, "secretary", MOVE, {"i": {"id": gid("Compound", a.areas["P2"]),
                                                                "newParentId": gid("Community", a.areas["C1"])}}))
    assert denied["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}
    under_self = payload(await api.gql(a, "admin", MOVE, {"i": {"id": gid("Zone", a.areas["Z1"]),
                                                                "newParentId": gid("Compound", a.areas["P2"])}}))
    assert under_self["errors"][0]["code"] == "INVALID_PARENT"
    for key in ("grid1", "resident"):
        m = payload(await api.gql(a, key, MOVE, {"i": {"id": gid("Building", a.areas["B1"]),
                                                       "newParentId": gid("Compound", a.areas["P1"])}}))
        assert m["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND", "INVALID"}, key
        ar = payload(await api.gql(a, key, ARCHIVE, {"i": {"id": gid("Building", a.areas["B2"])}}))
        assert ar["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}, key
    # archive G2: out of lists by default, in them on request; a new 二网格 may take its name
    gone = payload(await api.gql(a, "admin", ARCHIVE, {"i": {"id": gid("Grid", a.areas["G2"])}}))
    assert gone["errors"] == [] and gone["area"]["archivedAt"]
    names = "query($x: Boolean!) { areas(kind: GRID, includeArchived: $x, first: 50) { nodes { name archivedAt } } }"
    live = (await api.gql(a, "admin", names, {"x": False}))["data"]["areas"]["nodes"]
    every = (await api.gql(a, "admin", names, {"x": True}))["data"]["areas"]["nodes"]
    assert "二网格" not in {n["name"] for n in live} and "二网格" in {n["name"] for n in every}
    again = payload(await api.gql(a, "admin", ARCHIVE, {"i": {"id": gid("Grid", a.areas["G2"])}}))
    assert again["errors"] == [{"code": "INVALID_TRANSITION", "field": "id"}]
    c1 = gid("Community", a.areas["C1"])
    reused = payload(await api.gql(a, "admin", CREATE_AREA, {"i": {"kind": "GRID", "parentId": c1, "name": "二网格"}}))
    assert reused["errors"] == []
