"""Care (issue #5): neighbourhood leads act only on their households, visit cadence and coverage
equal hand counts on fixed dates, care data masked and audited, wishes anonymised until claimed,
one claimant at a time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import AuditEntry, Household, PartyOrg, PartyOrgKind, Person, RoleAssignment, Visit, Wish, uuid7
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

APPOINT = """mutation($i: AppointLeadInput!) { appointNeighborLead(input: $i) {
  lead { id title householdCount user { username } } errors { code field message } } }"""
END_LEAD = "mutation($id: ID!) { endNeighborLead(id: $id) { lead { endedAt } errors { code } } }"
VISIT = """mutation($i: RecordVisitInput!) { recordVisit(input: $i) {
  visit { id kind visitedAt visitor { username } case { id title } } errors { code field message } } }"""
OVERDUE = """query($d: Date!, $a: ID, $l: ID) { overdueVisits(asOf: $d, areaId: $a, leadId: $l) {
  householdId keyHousehold lastVisitOn dueOn daysOverdue overdue } }"""
COVERAGE = """query($f: Date!, $t: Date!, $g: CoverageGrouping!) { visitCoverage(from: $f, to: $t, groupBy: $g) {
  groupId groupName households visited rate keyHouseholds keyVisited keyRate overdue } }"""
SETTINGS = """mutation($i: UpdateCareSettingsInput!) { updateCareSettings(input: $i) {
  settings { leadMinHouseholds leadMaxHouseholds keyVisitDays routineVisitDays } errors { code field } } }"""
VISITS = "{ visits(first: 100) { totalCount nodes { householdId } } }"
TZ8 = "+08:00"


def gid(kind: str, id_: uuid.UUID) -> str:
    return encode_global_id(kind, id_)


def hh(tw: TenantWorld, key: str) -> str:
    return gid("Household", tw.households[key])


async def add_households(db: DbEnv, tw: TenantWorld, building: str, rooms: list[str]) -> list[uuid.UUID]:
    """More households in a building (the world has one per building; leads keep 5–15)."""
    ids = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for room in rooms:
                h = Household(id=uuid7(), building_id=tw.areas[building], unit="2", room=room,
                              floor_area=Decimal("60.00"))
                s.add(h)
                ids.append(h.id)
    for room, i in zip(rooms, ids, strict=True):
        tw.households[f"{building}-{room}"] = i
    return ids


async def set_party_member(db: DbEnv, tw: TenantWorld, *persons: str, org_area: str | None = None) -> None:
    """Make persons party members; with ``org_area``, members of a party branch of that area (else no
    organisation on the register: they serve in the community they live in, DESIGN.md §8)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            org_id = None
            if org_area is not None:
                org = PartyOrg(id=uuid7(), name=f"{org_area} 党支部", kind=PartyOrgKind.BRANCH,
                               area_id=tw.areas[org_area])
                s.add(org)
                await s.flush()
                org_id = org.id
            await s.execute(update(Person).where(Person.id.in_([tw.persons[p] for p in persons]))
                            .values(party_member=True, party_org_id=org_id))


async def count(db: DbEnv, tw: TenantWorld, model: Any) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def visit_input(tw: TenantWorld, key: str, at: str, kind: str = "ROUTINE", **kw: Any) -> dict[str, Any]:
    return {"i": {"householdId": hh(tw, key), "kind": kind, "visitedAt": at, "findings": "身体尚可，生活正常", **kw}}


# ---------------------------------------------------------------- leads


async def test_lead_acts_on_own_households_only(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    extra = await add_households(db, a, "B1", ["201", "202", "203", "204", "205"])
    person = gid("Person", a.persons["h1b"])  # the world's `resident` user
    five = [gid("Household", h) for h in extra]
    base = {"personId": person, "title": "BUILDING", "areaId": gid("Building", a.areas["B1"])}

    # The range (5–15 by default) is enforced; households must lie in the area and the appointer's scope.
    r = await api.gql(a, "grid1", APPOINT, {"i": {**base, "householdIds": five[:4]}})
    assert [e["code"] for e in r["data"]["appointNeighborLead"]["errors"]] == ["INVALID"]
    r = await api.gql(a, "grid1", APPOINT, {"i": {**base, "householdIds": [*five[:4], hh(a, "H4")]}})
    assert r["data"]["appointNeighborLead"]["errors"][0]["field"] == "householdIds"
    # A grid leader of another grid may not appoint in B1; a resident may not appoint at all.
    for who in ("grid2", "grid3", "chair", "resident", "firm", "nobody"):
        r = await api.gql(a, who, APPOINT, {"i": {**base, "householdIds": five}})
        assert r["data"]["appointNeighborLead"]["errors"][0]["code"] in ("NOT_FOUND", "FORBIDDEN"), (who, r)
    r = await api.gql(a, "grid1", APPOINT, {"i": {**base, "householdIds": five}})
    lead = r["data"]["appointNeighborLead"]["lead"]
    assert lead["householdCount"] == 5 and lead["user"]["username"] == a.username("resident")
    # The lead now holds neighbor_lead.
    me = await api.gql(a, "resident", "{ me { roles { role } } }")
    assert {x["role"] for x in me["data"]["me"]["roles"]} == {"RESIDENT", "NEIGHBOR_LEAD"}
    # Appointing twice, or a household already kept, is a conflict.
    r = await api.gql(a, "grid1", APPOINT, {"i": {**base, "householdIds": five}})
    assert r["data"]["appointNeighborLead"]["errors"][0]["code"] == "CONFLICT"

    # The lead reads their households (address masked: no full-read right), not others.
    q = "query($id: ID!) { node(id: $id) { ... on Household { room addressMasked } } }"
    found = (await api.gql(a, "resident", q, {"id": five[0]}))["data"]["node"]
    assert found == {"room": "***", "addressMasked": True}
    assert (await api.gql(a, "resident", q, {"id": hh(a, "H2")}))["data"]["node"] is None
    assert (await api.gql(a, "resident", "{ households { totalCount } }"))["data"]["households"]["totalCount"] == 6
    # The lead records visits to their households …
    r = await api.gql(a, "resident", VISIT, visit_input(a, "B1-201", "2026-11-01T10:00:00" + TZ8))
    assert r["data"]["recordVisit"]["errors"] == []
    assert r["data"]["recordVisit"]["visit"]["visitor"]["username"] == a.username("resident")
    # … and is refused on others: their own household (readable, not assigned), one in their compound.
    r = await api.gql(a, "resident", VISIT, visit_input(a, "H1", "2026-11-01T10:00:00" + TZ8))
    assert r["data"]["recordVisit"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "resident", VISIT, visit_input(a, "H2", "2026-11-01T10:00:00" + TZ8))
    assert r["data"]["recordVisit"]["errors"][0]["code"] == "NOT_FOUND"
    # The lead reads the visits of their households only.
    await api.gql(a, "grid1", VISIT, visit_input(a, "H1", "2026-11-02T10:00:00" + TZ8))
    seen = (await api.gql(a, "resident", VISITS))["data"]["visits"]
    assert [n["householdId"] for n in seen["nodes"]] == [hh(a, "B1-201")]
    assert (await api.gql(a, "grid1", VISITS))["data"]["visits"]["totalCount"] == 2
    assert (await api.gql(a, "grid2", VISITS))["data"]["visits"]["totalCount"] == 0
    # Ending the appointment revokes the role and the households.
    r = await api.gql(a, "grid1", END_LEAD, {"id": lead["id"]})
    assert r["data"]["endNeighborLead"]["lead"]["endedAt"]
    r = await api.gql(a, "resident", VISIT, visit_input(a, "B1-202", "2026-11-01T10:00:00" + TZ8))
    assert r["data"]["recordVisit"]["errors"][0]["code"] == "NOT_FOUND"
    assert await count(db, a, Visit) == 2


async def test_visit_record_per_role(api: Api, db: DbEnv, fresh: World) -> None:
    """visit·record: grid_leader scope, party_secretary scope, street_admin all, the rest no."""
    a = fresh.a
    at = "2026-11-01T09:00:00" + TZ8
    expect = {
        ("admin", "H4"): True, ("secretary", "H2"): True, ("secretary", "H4"): False,
        ("grid1", "H1"): True, ("grid1", "H2"): False, ("grid2", "H3"): True, ("grid3", "H1"): False,
        ("chair", "H1"): False, ("firm", "H1"): False, ("resident", "H1"): False, ("resident4", "H4"): False,
        ("expired", "H1"): False, ("nobody", "H1"): False,
    }
    for (who, key), allowed in expect.items():
        r = await api.gql(a, who, VISIT, visit_input(a, key, at))
        errors = r["data"]["recordVisit"]["errors"]
        assert (errors == []) is allowed, (who, key, errors)
        if not allowed:
            assert errors[0]["code"] in ("FORBIDDEN", "NOT_FOUND")
    assert await count(db, a, Visit) == sum(expect.values())
    # Tenant B's household is nothing to A.
    r = await api.gql(a, "admin", VISIT, visit_input(fresh.b, "H1", at))
    assert r["data"]["recordVisit"]["errors"][0]["code"] == "NOT_FOUND"


async def test_visit_bad_input_changes_nothing_and_case_raised(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = await api.gql(a, "grid1", VISIT, {"i": {"householdId": hh(a, "H1"), "kind": "CARE", "visitedAt": future,
                                                "findings": "  "}})
    assert {e["field"] for e in r["data"]["recordVisit"]["errors"]} == {"findings", "visitedAt"}
    # A case raised from the visit goes through the case loop; a bad category undoes the visit too.
    bad = visit_input(a, "H1", "2026-11-01T09:00:00" + TZ8, raiseCase={"category": "nope", "title": "x"})
    r = await api.gql(a, "grid1", VISIT, bad)
    assert r["data"]["recordVisit"]["errors"][0]["field"] == "category"
    assert await count(db, a, Visit) == 0
    good = visit_input(a, "H1", "2026-11-01T09:00:00" + TZ8, kind="FOLLOW_UP",
                       raiseCase={"category": "drainage", "title": "楼道下水道堵塞"})
    r = await api.gql(a, "grid1", VISIT, good)
    assert r["data"]["recordVisit"]["visit"]["case"]["title"] == "楼道下水道堵塞"


# ---------------------------------------------------------------- cadence and coverage, by hand


async def _cadence_world(api: Api, a: TenantWorld) -> None:
    """Key households (a member with a care tag): H1 (living_alone), H3 (disabled), H4 (veteran).
    Visits: H1 2026-03-02, H2 2026-01-05 and 2026-04-20, H4 2026-03-06; H3 never."""
    for key, at in (("H1", "2026-03-02T10:00:00"), ("H2", "2026-01-05T15:00:00"), ("H2", "2026-04-20T09:00:00"),
                    ("H4", "2026-03-06T23:30:00")):
        r = await api.gql(a, "admin", VISIT, visit_input(a, key, at + TZ8))
        assert r["data"]["recordVisit"]["errors"] == [], r


def _overdue(body: dict[str, Any], a: TenantWorld) -> list[tuple[str, int | None]]:
    names = {hh(a, k): k for k in a.households}
    return [(names[r["householdId"]], r["daysOverdue"]) for r in body["data"]["overdueVisits"]]


async def test_overdue_visits_equal_hand_count(api: Api, fresh: World) -> None:
    a = fresh.a
    await _cadence_world(api, a)
    # 2026-03-12: H1 due 03-09 → 3 days; H2 due 04-05; H3 never visited; H4 due 03-13.
    body = await api.gql(a, "admin", OVERDUE, {"d": "2026-03-12"})
    assert _overdue(body, a) == [("H3", None), ("H1", 3)]
    h1 = body["data"]["overdueVisits"][1]
    assert (h1["keyHousehold"], h1["lastVisitOn"], h1["dueOn"]) == (True, "2026-03-02", "2026-03-09")
    # 2026-04-10: H1 32, H4 28 (visited 23:30 local on 03-06), H2 5 (the 04-20 visit is after the day).
    body = await api.gql(a, "admin", OVERDUE, {"d": "2026-04-10"})
    assert _overdue(body, a) == [("H3", None), ("H1", 32), ("H4", 28), ("H2", 5)]
    # Per grid and per community; a grid leader sees only their grid.
    body = await api.gql(a, "admin", OVERDUE, {"d": "2026-03-12", "a": gid("Grid", a.areas["G2"])})
    assert _overdue(body, a) == [("H3", None)]
    body = await api.gql(a, "admin", OVERDUE, {"d": "2026-03-12", "a": gid("Community", a.areas["C2"])})
    assert _overdue(body, a) == []
    body = await api.gql(a, "grid1", OVERDUE, {"d": "2026-04-10"})
    assert _overdue(body, a) == [("H1", 32)]
    for who in ("resident", "firm", "chair", "nobody"):
        assert (await api.gql(a, who, OVERDUE, {"d": "2026-04-10"}))["data"]["overdueVisits"] == []


async def test_coverage_per_community_grid_and_lead_equal_hand_count(api: Api, fresh: World) -> None:
    a = fresh.a
    await _cadence_world(api, a)
    march = {"f": "2026-03-01", "t": "2026-03-31"}

    def rows(body: dict[str, Any], kind: str, keys: dict[str, str]) -> dict[str | None, tuple[int, ...]]:
        names = {gid(kind, a.areas[k]) if kind != "NeighborLead" else k: k for k in keys}
        names.update(keys)
        return {names.get(r["groupId"], r["groupId"]): (r["households"], r["visited"], r["keyHouseholds"],
                                                        r["keyVisited"], r["overdue"])
                for r in body["data"]["visitCoverage"]}

    total = await api.gql(a, "admin", COVERAGE, {**march, "g": "TOTAL"})
    (t,) = total["data"]["visitCoverage"]
    assert (t["households"], t["visited"], t["keyHouseholds"], t["keyVisited"], t["overdue"]) == (4, 2, 3, 2, 3)
    assert t["rate"] == 0.5 and abs(t["keyRate"] - 2 / 3) < 1e-9
    body = await api.gql(a, "admin", COVERAGE, {**march, "g": "COMMUNITY"})
    assert rows(body, "Community", {"C1": "C1", "C2": "C2"}) == {"C1": (3, 1, 2, 1, 2), "C2": (1, 1, 1, 1, 1)}
    assert {r["groupName"] for r in body["data"]["visitCoverage"]} == {"东风社区", "西湖社区"}
    body = await api.gql(a, "admin", COVERAGE, {**march, "g": "GRID"})
    assert rows(body, "Grid", {"G1": "G1", "G2": "G2", "G3": "G3"}) == {
        "G1": (1, 1, 1, 1, 1), "G2": (2, 0, 1, 0, 1), "G3": (1, 1, 1, 1, 1)}
    # The grid leader's figures cover their grid only.
    (g1,) = (await api.gql(a, "grid1", COVERAGE, {**march, "g": "TOTAL"}))["data"]["visitCoverage"]
    assert (g1["households"], g1["visited"], g1["overdue"]) == (1, 1, 1)

    # Per lead: the tenant narrows the range to 1–15, the admin appoints `resident` for H1 and H2.
    r = await api.gql(a, "admin", SETTINGS, {"i": {"leadMinHouseholds": 1}})
    assert r["data"]["updateCareSettings"]["settings"]["leadMinHouseholds"] == 1
    r = await api.gql(a, "grid1", SETTINGS, {"i": {"leadMinHouseholds": 2}})
    assert r["data"]["updateCareSettings"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "admin", SETTINGS, {"i": {"leadMinHouseholds": 20}})
    assert r["data"]["updateCareSettings"]["errors"][0]["code"] == "INVALID"
    r = await api.gql(a, "admin", APPOINT, {"i": {
        "personId": gid("Person", a.persons["h1b"]), "title": "NEIGHBOR", "areaId": gid("Compound", a.areas["P1"]),
        "householdIds": [hh(a, "H1"), hh(a, "H2")]}})
    lead_id = r["data"]["appointNeighborLead"]["lead"]["id"]
    body = await api.gql(a, "admin", COVERAGE, {**march, "g": "LEAD"})
    by = {r["groupId"]: (r["households"], r["visited"], r["keyHouseholds"], r["keyVisited"], r["overdue"])
          for r in body["data"]["visitCoverage"]}
    assert by == {lead_id: (2, 1, 1, 1, 1), None: (2, 1, 2, 1, 2)}
    # The lead's own view: their households, overdue per lead.
    body = await api.gql(a, "resident", OVERDUE, {"d": "2026-03-12"})
    assert _overdue(body, a) == [("H1", 3)]
    body = await api.gql(a, "admin", OVERDUE, {"d": "2026-04-10", "l": lead_id})
    assert _overdue(body, a) == [("H1", 32), ("H2", 5)]


# ---------------------------------------------------------------- care groups and service lists

ADD_TAG = "mutation($i: AddCareTagKindInput!) { addCareTagKind(input: $i) { kind { code name } errors { code } } }"
ADD_SVC = """mutation($i: CreateCareServiceInput!) { createCareService(input: $i) {
  service { id tagCode name frequency provider } errors { code field } } }"""
REC_SVC = """mutation($i: RecordCareServiceInput!) { recordCareService(input: $i) {
  record { id providedBy person { name } } errors { code field } } }"""
SVCS = "{ careServices { name tagCode } }"
RECS = "{ careServiceRecords { totalCount nodes { providedBy person { name } } } }"


async def test_care_tag_kinds_and_service_lists(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    r = await api.gql(a, "admin", ADD_TAG, {"i": {"code": "dialysis", "name": "透析患者"}})
    assert r["data"]["addCareTagKind"]["kind"] == {"code": "dialysis", "name": "透析患者"}
    for who in ("secretary", "grid1", "resident"):
        r = await api.gql(a, who, ADD_TAG, {"i": {"code": "other_group", "name": "其他"}})
        assert r["data"]["addCareTagKind"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "admin", ADD_TAG, {"i": {"code": "dialysis", "name": "again"}})
    assert r["data"]["addCareTagKind"]["errors"][0]["code"] == "CONFLICT"
    r = await api.gql(a, "admin", ADD_TAG, {"i": {"code": "Bad Code", "name": ""}})
    assert len(r["data"]["addCareTagKind"]["errors"]) == 2
    kinds = (await api.gql(fresh.b, "admin", "{ careTagKinds { code } }"))["data"]["careTagKinds"]
    assert "dialysis" not in {k["code"] for k in kinds}

    svc = {"tagCode": "living_alone", "areaId": gid("Community", a.areas["C1"]), "name": "上门探视",
           "frequency": "每周一次", "provider": "社区网格员"}
    r = await api.gql(a, "secretary2", ADD_SVC, {"i": svc})
    assert r["data"]["createCareService"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "grid1", ADD_SVC, {"i": svc})
    assert r["data"]["createCareService"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "secretary", ADD_SVC, {"i": {**svc, "tagCode": "nope"}})
    assert r["data"]["createCareService"]["errors"][0]["field"] == "tagCode"
    r = await api.gql(a, "secretary", ADD_SVC, {"i": svc})
    sid = r["data"]["createCareService"]["service"]["id"]
    # Read by staff whose scope lies in or under the community; not by C2, residents or firms.
    for who, n in (("admin", 1), ("secretary", 1), ("grid1", 1), ("grid2", 1), ("grid3", 0), ("secretary2", 0),
                   ("resident", 0), ("firm", 0)):
        assert len((await api.gql(a, who, SVCS))["data"]["careServices"]) == n, who
    assert (await api.gql(fresh.b, "admin", SVCS))["data"]["careServices"] == []

    rec = {"serviceId": sid, "personId": gid("Person", a.persons["h1a"]),
           "providedAt": "2026-11-03T10:00:00" + TZ8, "providedBy": "网格员小王"}
    r = await api.gql(a, "grid1", REC_SVC, {"i": rec})
    assert r["data"]["recordCareService"]["record"]["person"]["name"] == "张建国"
    r = await api.gql(a, "grid1", REC_SVC, {"i": {**rec, "personId": gid("Person", a.persons["h1b"])}})
    assert r["data"]["recordCareService"]["errors"][0]["code"] == "INVALID"  # not living alone
    r = await api.gql(a, "grid2", REC_SVC, {"i": rec})
    assert r["data"]["recordCareService"]["errors"][0]["code"] in ("NOT_FOUND", "FORBIDDEN")
    r = await api.gql(a, "firm", REC_SVC, {"i": rec})
    assert r["data"]["recordCareService"]["errors"][0]["code"] in ("NOT_FOUND", "FORBIDDEN")

    # Service records are personal data: visible with the full-read right only, and audited.
    rid = uuid.uuid4().hex
    resp = await api.post(RECS, token=api.token(a, "grid1"), headers={"x-request-id": rid})
    assert resp.json()["data"]["careServiceRecords"]["totalCount"] == 1
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            rows = list(await s.scalars(select(AuditEntry).where(AuditEntry.request_id == rid)))
    assert [r.action for r in rows] == ["person.read_pii"] and rows[0].object_ids == [str(a.persons["h1a"])]
    for who in ("firm", "chair", "resident4", "grid3"):
        assert (await api.gql(a, who, RECS))["data"]["careServiceRecords"]["totalCount"] == 0, who
    # The person's care tags stay masked for roles without the right.
    q = "query($id: ID!) { node(id: $id) { ... on Person { careTags piiMasked } } }"
    pid = gid("Person", a.persons["h1a"])
    assert (await api.gql(a, "chair", q, {"id": pid}))["data"]["node"] == {"careTags": None, "piiMasked": True}
    assert (await api.gql(a, "grid1", q, {"id": pid}))["data"]["node"]["careTags"] == ["living_alone"]


# ---------------------------------------------------------------- wishes

POST = "mutation($i: PostWishInput!) { postWish(input: $i) { wish { id state version } errors { code field } } }"
STEP = """mutation($i: WishTransitionInput!) { %s(input: $i) { wish { state claimedByMe beneficiaryName }
  errors { code message } } }"""
WISHES = """{ wishes(first: 50) { totalCount nodes { id title state identityHidden beneficiaryName
  beneficiary { name } building { name } } } }"""


async def _post(api: Api, tw: TenantWorld, who: str, person: str, title: str) -> str:
    r = await api.gql(tw, who, POST, {"i": {"personId": gid("Person", tw.persons[person]), "title": title}})
    assert r["data"]["postWish"]["errors"] == [], r
    return str(r["data"]["postWish"]["wish"]["id"])


async def test_wish_loop_and_anonymity(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    # The `resident` user (lives in C1) is a party member of a branch in C2 (西湖社区): DESIGN.md §8 — a
    # party member sees and claims the open wishes of their party organisation's community.
    await set_party_member(db, a, "h1b", org_area="Z1")
    own = await _post(api, a, "resident4", "h4a", "想要一台收音机")
    staff = await _post(api, a, "grid2", "h3a", "需要轮椅维修")
    # Posting: own for a resident, scope for a grid worker.
    for who, person, code in (("resident4", "h3a", "NOT_FOUND"), ("grid1", "h3a", "NOT_FOUND"),
                              ("firm", "h1a", "FORBIDDEN"), ("chair", "h1a", "FORBIDDEN")):
        r = await api.gql(a, who, POST, {"i": {"personId": gid("Person", a.persons[person]), "title": "x"}})
        assert r["data"]["postWish"]["errors"][0]["code"] == code, (who, r)
    r = await api.gql(a, "grid2", POST, {"i": {"personId": gid("Person", a.persons["h3a"]), "title": " "}})
    assert r["data"]["postWish"]["errors"][0]["field"] == "title"
    assert await count(db, a, Wish) == 2

    # The party member sees the open wishes of their organisation's community (C2: the one for h4a), not
    # C1's (issue #23: they used to see every open wish of the street office), without the beneficiary; a
    # non-member sees their own only.
    seen = (await api.gql(a, "resident", WISHES))["data"]["wishes"]
    assert seen["totalCount"] == 1 and [n["id"] for n in seen["nodes"]] == [own]
    r = await api.gql(a, "resident", STEP % "claimWish", {"i": {"id": staff}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "NOT_FOUND", r  # C1's wish: not theirs to claim
    assert all(n["identityHidden"] and n["beneficiaryName"] is None and n["beneficiary"] is None
               and n["building"] is None for n in seen["nodes"])
    mine = (await api.gql(a, "resident4", WISHES))["data"]["wishes"]
    assert [(n["id"], n["beneficiaryName"]) for n in mine["nodes"]] == [(own, "赵卫东")]
    assert (await api.gql(a, "grid2", WISHES))["data"]["wishes"]["totalCount"] == 1
    assert (await api.gql(a, "admin", WISHES))["data"]["wishes"]["totalCount"] == 2
    for who in ("firm", "nobody", "grid1"):
        assert (await api.gql(a, who, WISHES))["data"]["wishes"]["totalCount"] == 0, who
    assert (await api.gql(fresh.b, "admin", WISHES))["data"]["wishes"]["totalCount"] == 0
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await api.gql(fresh.b, "admin", node, {"id": own}))["data"]["node"] is None

    # Claim: a non-member is refused; the member claims and then knows whom it is for.
    r = await api.gql(a, "resident4", STEP % "claimWish", {"i": {"id": own}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "resident", STEP % "claimWish", {"i": {"id": own}})
    assert r["data"]["claimWish"]["wish"] == {"state": "CLAIMED", "claimedByMe": True, "beneficiaryName": "赵卫东"}
    r = await api.gql(a, "resident", STEP % "claimWish", {"i": {"id": own}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "INVALID_TRANSITION"
    # Confirm comes after fulfil; fulfil by the claimant; confirm by the beneficiary or poster only.
    r = await api.gql(a, "resident4", STEP % "confirmWish", {"i": {"id": own}})
    assert r["data"]["confirmWish"]["errors"][0]["code"] == "INVALID_TRANSITION"
    r = await api.gql(a, "resident", STEP % "fulfilWish", {"i": {"id": own, "note": "已送到"}})
    assert r["data"]["fulfilWish"]["wish"]["state"] == "FULFILLED"
    r = await api.gql(a, "resident", STEP % "confirmWish", {"i": {"id": own}})
    assert r["data"]["confirmWish"]["errors"][0]["code"] == "FORBIDDEN"
    r = await api.gql(a, "resident4", STEP % "confirmWish", {"i": {"id": own}})
    assert r["data"]["confirmWish"]["wish"]["state"] == "CONFIRMED"
    # The staff-posted wish (DESIGN.md §8, issue #23): its poster never claims it — another in scope
    # claims and fulfils it, and the poster confirms.
    r = await api.gql(a, "grid2", STEP % "claimWish", {"i": {"id": staff}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "FORBIDDEN", r
    for who, step, state in (("admin", "claimWish", "CLAIMED"), ("admin", "fulfilWish", "FULFILLED"),
                             ("grid2", "confirmWish", "CONFIRMED")):
        r = await api.gql(a, who, STEP % step, {"i": {"id": staff}})
        assert r["data"][step]["wish"]["state"] == state, r


RELEASE = """mutation($i: ReleaseWishInput!) { releaseWish(input: $i) { wish { state claimedByMe }
  errors { code field } } }"""


async def test_nobody_claims_their_own_wish_and_claims_are_given_back(api: Api, db: DbEnv, fresh: World) -> None:
    """DESIGN.md §8 and issue #23: a party member who posted a wish, or is its beneficiary, may not
    claim it; a claim is given back by its claimant (or staff in scope), and the wish is open again."""
    a = fresh.a
    await set_party_member(db, a, "h1b", "h2a")  # resident (lives in H1), chair (H2): both party members
    mine = await _post(api, a, "resident", "h1b", "修理自行车")  # the resident's own, for themselves
    r = await api.gql(a, "resident", STEP % "claimWish", {"i": {"id": mine}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "FORBIDDEN", r
    for_me = await _post(api, a, "grid1", "h1b", "陪同就医")  # posted by staff, the resident benefits
    r = await api.gql(a, "resident", STEP % "claimWish", {"i": {"id": for_me}})
    assert r["data"]["claimWish"]["errors"][0]["code"] == "FORBIDDEN", r
    # the chair claims it, then gives it back; the wish is open again and claimable by another
    r = await api.gql(a, "chair", STEP % "claimWish", {"i": {"id": for_me}})
    assert r["data"]["claimWish"]["wish"]["state"] == "CLAIMED", r
    r = await api.gql(a, "resident4", RELEASE, {"i": {"id": for_me}})  # not the claimant, no staff right
    assert r["data"]["releaseWish"]["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND"), r
    r = await api.gql(a, "chair", RELEASE, {"i": {"id": for_me, "expectedVersion": 99}})
    assert r["data"]["releaseWish"]["errors"][0]["code"] == "CONFLICT", r  # bad input changes nothing
    r = await api.gql(a, "chair", RELEASE, {"i": {"id": for_me}})
    assert r["data"]["releaseWish"]["wish"] == {"state": "OPEN", "claimedByMe": False}, r
    r = await api.gql(a, "chair", RELEASE, {"i": {"id": for_me}})
    assert r["data"]["releaseWish"]["errors"][0]["code"] in ("INVALID_TRANSITION", "FORBIDDEN"), r
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            w = await s.scalar(select(Wish).where(Wish.id == decode_global_id(for_me, "Wish")[1]))
            assert w is not None and w.claimant_user_id is None and w.claimed_at is None and w.state == "open"
    # staff in scope free a claim left unattended
    r = await api.gql(a, "chair", STEP % "claimWish", {"i": {"id": for_me}})
    assert r["data"]["claimWish"]["wish"]["state"] == "CLAIMED", r
    r = await api.gql(a, "grid1", RELEASE, {"i": {"id": for_me}})
    assert r["data"]["releaseWish"]["wish"]["state"] == "OPEN", r


async def test_concurrent_claims_exactly_one_wins(api: Api, db: DbEnv, fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL only: SQLite serialises writers (database is locked), so there is no race to test")
    a = fresh.a
    await set_party_member(db, a, "h1b", "h1a", "h2a")  # resident, secretary2, chair: all living in C1
    wid = await _post(api, a, "grid2", "h3a", "陪同就医")  # a wish in their community (C1)
    claimers = ["resident", "secretary2", "chair"]
    bodies = await asyncio.gather(*(
        api.gql(a, who, STEP % "claimWish", {"i": {"id": wid}}) for who in claimers))
    won = [who for who, b in zip(claimers, bodies, strict=True) if b["data"]["claimWish"]["errors"] == []]
    lost = [b["data"]["claimWish"]["errors"][0]["code"] for b in bodies if b["data"]["claimWish"]["errors"]]
    assert len(won) == 1, bodies
    # Losers read it after the winner's commit (already claimed) or race the UPDATE (version moved on).
    assert len(lost) == 2 and set(lost) <= {"CONFLICT", "INVALID_TRANSITION"}
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            w = (await s.scalars(select(Wish))).one()
    assert w.claimant_user_id == a.users[won[0]] and w.version == 2


async def test_care_nodes_are_nothing_outside_reach(api: Api, db: DbEnv, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    r = await api.gql(a, "grid1", VISIT, visit_input(a, "H1", "2026-11-01T09:00:00" + TZ8))
    vid = r["data"]["recordVisit"]["visit"]["id"]
    wid = await _post(api, a, "grid2", "h3a", "助浴服务")
    svc = {"tagCode": "disabled", "areaId": gid("Community", a.areas["C1"]), "name": "助残", "frequency": "每月",
           "provider": "社区"}
    sid = (await api.gql(a, "secretary", ADD_SVC, {"i": svc}))["data"]["createCareService"]["service"]["id"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    for tw, who, oid, seen in ((a, "grid1", vid, True), (a, "admin", vid, True), (a, "grid2", vid, False),
                               (a, "resident", vid, False), (b, "admin", vid, False),
                               (a, "grid2", wid, True), (a, "grid1", wid, False), (b, "admin", wid, False),
                               (a, "grid2", sid, True), (a, "grid3", sid, False), (b, "admin", sid, False)):
        found = (await api.gql(tw, who, node, {"id": oid}))["data"]["node"]
        assert (found is not None) is seen, (who, oid)
    # A grid leader outside the wish's grid may not claim it; nor may B's admin.
    for tw, who in ((a, "grid1"), (b, "admin")):
        r = await api.gql(tw, who, STEP % "claimWish", {"i": {"id": wid}})
        assert r["data"]["claimWish"]["errors"][0]["code"] == "NOT_FOUND"


async def test_appointing_takes_over_a_bare_lead_role(api: Api, db: DbEnv, fresh: World) -> None:
    """A neighbor_lead role granted by hand over the same area is linked, not doubled."""
    a = fresh.a
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            s.add(RoleAssignment(user_id=a.users["resident"], role="neighbor_lead", scope_area_id=a.areas["P1"],
                                 valid_from=datetime(2024, 1, 1, tzinfo=UTC)))
    await api.gql(a, "admin", SETTINGS, {"i": {"leadMinHouseholds": 2}})
    r = await api.gql(a, "admin", APPOINT, {"i": {
        "personId": gid("Person", a.persons["h1b"]), "title": "UNIT", "areaId": gid("Compound", a.areas["P1"]),
        "householdIds": [hh(a, "H1"), hh(a, "H2")]}})
    assert r["data"]["appointNeighborLead"]["errors"] == []
    me = await api.gql(a, "resident", "{ me { roles { role } } }")
    assert sorted(x["role"] for x in me["data"]["me"]["roles"]) == ["NEIGHBOR_LEAD", "RESIDENT"]
