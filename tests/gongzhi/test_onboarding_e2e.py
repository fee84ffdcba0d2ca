"""A new street office from nothing, through public interfaces only (issue #23; docs/onboarding.md):
the CLI (the operator's platform-administrator token, the street admin's token), the platform API
(the tenant and its first street admin), the onboarding and register imports, and GraphQL (grid
coverage, party organisations, owner committee, accounts and roles) — then a case loop.

In-process (no server process), both backends. Nothing here writes rows directly: if a step needs
SQL, onboarding is not done. After the case loop come a building vote with a proxy ballot and an
activity cancelled with its sign-ups notified (``LATER_STEPS``, each given the ``Office``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tests.access.test_first_admin import cli, cli_env
from tests.ledgers.test_ledgers import FINAL, JOB, XLSX, person_row
from tests.ledgers.test_ledgers import xlsx as register_xlsx
from tests.register.test_onboarding_import import outcome as onboarding_outcome
from tests.support.harness import JWT_SECRET, DbEnv, new_slug


@dataclass
class Office:
    """What the onboarding made, for the steps that follow (by name: ids are global IDs)."""

    slug: str
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)  # who → bearer token
    areas: dict[str, str] = field(default_factory=dict)  # name → global id
    firms: dict[str, str] = field(default_factory=dict)
    persons: dict[str, str] = field(default_factory=dict)  # name → global id
    party_orgs: dict[str, str] = field(default_factory=dict)

    async def gql(self, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                   headers={"authorization": f"Bearer {self.tokens[who]}"})
        body: dict[str, Any] = r.json()
        assert r.status_code == 200 and "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    async def mutate(self, who: str, name: str, input_type: str, data: dict[str, Any], select: str) -> Any:
        doc = f"mutation($i: {input_type}!) {{ r: {name}(input: $i) {{ {select} errors {{ code field message }} }} }}"
        out = (await self.gql(who, doc, {"i": data}))["r"]
        assert out["errors"] == [], (name, out["errors"])
        return out


async def building_vote_with_a_proxy_ballot(office: Office) -> None:
    """1栋's elevator, decided by 1栋's registered owners (DESIGN.md §8): the owners are put on the
    titles through GraphQL, the resident votes online, the street admin records another owner's written
    proxy, and the vote's result counts each dwelling once."""
    flats = (await office.gql("admin", """query($a: ID) { households(areaId: $a, first: 20) {
        nodes { id floorArea persons { id name } } } }""", {"a": office.areas["1栋"]}))["households"]["nodes"]
    assert len(flats) == 1 and flats[0]["floorArea"]  # 居民0–2: one household of 75.20 m² (person_row)
    # a second flat in 1栋 with its owner, added through the register's own mutations
    flat2 = (await office.mutate("admin", "createHousehold", "CreateHouseholdInput", {
        "buildingId": office.areas["1栋"], "unit": "1", "room": "201", "floorArea": "88.00"},
        "household { id }"))["household"]["id"]
    owner2 = (await office.mutate("admin", "createPerson", "CreatePersonInput", {
        "householdId": flat2, "name": "业主甲"}, "person { id }"))["person"]["id"]
    for household, person in ((flats[0]["id"], office.persons["居民2"]), (flat2, owner2)):
        await office.mutate("admin", "registerPropertyOwner", "RegisterPropertyOwnerInput", {
            "householdId": household, "personId": person, "certificateRef": "不动产权第2026001号"},
            "ownership { id }")
    topic = (await office.mutate("admin", "proposeTopic", "ProposeTopicInput", {
        "areaId": office.areas["1栋"], "title": "1栋加装电梯"}, "topic { id }"))["topic"]["id"]
    await office.mutate("admin", "acceptTopic", "TopicTransitionInput", {"id": topic}, "topic { state }")
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    vote = (await office.mutate("admin", "openVote", "OpenVoteInput", {
        "topicId": topic, "matter": "CHANGE_COMMON_PARTS", "question": "是否同意1栋加装电梯？", "closesAt": closes},
        "vote { id building { id } }"))["vote"]
    assert vote["building"] == {"id": office.areas["1栋"]}
    await office.mutate("xg.res2", "castBallot", "CastBallotInput", {"voteId": vote["id"], "choice": "YES"},
                        "vote { id }")
    await office.mutate("admin", "recordProxyBallot", "RecordProxyBallotInput", {
        "voteId": vote["id"], "householdId": flat2, "choice": "YES", "documentRef": "委托书第001号",
        "proxyName": "业主甲之子"}, "vote { id }")
    closed = await office.mutate("admin", "closeVote", "TopicTransitionInput", {"id": vote["id"]},
                                 "vote { result { electorateOwners participatingOwners yesOwners passed } }")
    assert closed["vote"]["result"] == {"electorateOwners": 2, "participatingOwners": 2, "yesOwners": 2,
                                        "passed": True}


async def activity_cancelled_with_its_volunteers_told(office: Office) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    act = (await office.mutate("admin", "publishActivity", "PublishActivityInput", {
        "title": "滨江小区环境整治", "areaId": office.areas["滨江小区"], "place": "小区广场",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 20,
        "organiserKind": "COMMUNITY", "communityId": office.areas["新港社区"]}, "activity { id }"))["activity"]
    signed = (await office.gql("xg.res2", """mutation($a: ID!) { signUpForActivity(activityId: $a) {
        signup { id } errors { code } } }""", {"a": act["id"]}))["signUpForActivity"]
    assert signed["errors"] == [], signed
    out = await office.mutate("admin", "cancelActivity", "CancelActivityInput", {"id": act["id"], "reason": "台风预警"},
                              "activity { state }")
    assert out["activity"]["state"] == "CANCELLED"
    notes = (await office.gql("xg.res2", "{ notifications(first: 20) { nodes { kind message } } }"))
    told = [n for n in notes["notifications"]["nodes"] if n["kind"] == "activity_cancelled"]
    assert len(told) == 1 and "台风预警" in told[0]["message"], notes


# Steps other features add to the walk, each given the onboarded office after the case loop.
LATER_STEPS: list[Callable[[Office], Awaitable[None]]] = [building_vote_with_a_proxy_ballot,
                                                          activity_cancelled_with_its_volunteers_told]


def workbook(sheets: dict[str, list[list[str]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


AREAS = [["上级", "类型", "名称", "物业管理", "层数", "单元数"],
         ["", "社区", "新港社区", "", "", ""],
         ["新港社区", "小区", "滨江小区", "物业公司", "", ""],
         ["新港社区/滨江小区", "楼栋", "1栋", "", "18", "2"],
         ["新港社区/滨江小区", "楼栋", "2栋", "", "18", "2"],
         ["新港社区", "小区", "江畔小区", "无物业", "", ""],
         ["新港社区/江畔小区", "楼栋", "3栋", "", "6", "1"],
         ["新港社区", "网格", "一网格", "", "", ""]]
FIRMS = [["名称", "统一社会信用代码"], ["滨江物业", "91341100MA2N0ABC1X"]]
CONTRACTS = [["物业公司", "小区", "开始日期", "截止日期"], ["滨江物业", "新港社区/滨江小区", "2025-01-01", ""]]


async def test_a_street_office_from_nothing(db: DbEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, db)
    settings = Settings(database_url=db.app_url, migration_database_url=db.owner_url, jwt_secret=JWT_SECRET,
                        rate_limit_per_minute=0, platform_api=True)
    app = create_app(settings, engine=db.engine)
    slug = new_slug("xg")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        office = Office(slug, client)
        # 1. The operator: a platform administrator's token (the demo's CLI; in production the identity
        #    provider's), the tenant and its first street admin through the platform API.
        code, operator, err = await asyncio.to_thread(cli, ["token", "--platform-admin", "--user", "ops"])
        assert code == 0, err
        made = (await client.post("/platform/graphql", headers={"authorization": f"Bearer {operator}"}, json={
            "query": 'mutation($s: String!) { createTenant(slug: $s, name: "新港街道", adminUsername: "xg.admin", '
                     'adminDisplayName: "王主任") { tenant { slug } errors { code message } } }',
            "variables": {"s": slug}})).json()
        assert made["data"]["createTenant"] == {"tenant": {"slug": slug}, "errors": []}, made
        code, office.tokens["admin"], err = await asyncio.to_thread(cli, ["token", "--tenant", slug, "--user",
                                                                          "xg.admin"])
        assert code == 0, err
        auth = {"authorization": f"Bearer {office.tokens['admin']}"}

        # 2. The area tree, the firm and its contract from the onboarding workbook (a dry run first).
        book = workbook({"区域": AREAS, "物业公司": FIRMS, "服务合同": CONTRACTS})
        #    An import job like the register's: 202 and its job ID, followed in GraphQL, its report downloaded.
        for dry in ("true", "false"):
            r = await client.post("/onboarding/imports", files={"file": ("onboarding.xlsx", book, XLSX)},
                                  data={"dryRun": dry}, headers=auth)
            assert r.status_code == 202, r.text
            out = await onboarding_outcome(client, office.tokens["admin"], r)
            assert out["status"] == "SUCCEEDED" and out["errors"] == [], out
            assert out["checked"] == {"areas": 7, "firms": 1, "contracts": 1}
        areas = await office.gql("admin", "{ areas(first: 50) { nodes { id name } } propertyFirms { id name } }")
        office.areas = {a["name"]: a["id"] for a in areas["areas"]["nodes"]}
        office.firms = {f["name"]: f["id"] for f in areas["propertyFirms"]}
        assert {"新港社区", "滨江小区", "1栋", "2栋", "江畔小区", "3栋", "一网格"} <= office.areas.keys()
        await office.mutate("admin", "setGridBuildings", "SetGridBuildingsInput", {
            "gridId": office.areas["一网格"], "buildingIds": [office.areas["1栋"], office.areas["2栋"]]},
            "grid { id }")

        # 3. The register, through the register import (its job, polled over GraphQL).
        rows = [person_row(i, community="新港社区", compound="滨江小区", building="1栋") for i in range(3)]
        rows += [person_row(3, community="新港社区", compound="江畔小区", building="3栋")]
        r = await client.post("/ledgers/register-imports", files={"file": ("register.xlsx", register_xlsx(rows),
                                                                           XLSX)}, headers=auth)
        assert r.status_code == 202, r.text
        for _ in range(400):
            job = (await office.gql("admin", JOB, {"id": r.json()["jobId"]}))["importJob"]
            if job["status"] in FINAL:
                break
            await asyncio.sleep(0.05)
        assert (job["status"], job["createdPersons"]) == ("SUCCEEDED", 4), job
        persons = await office.gql("admin", "{ persons(first: 20) { nodes { id name } } }")
        office.persons = {p["name"]: p["id"] for p in persons["persons"]["nodes"]}

        # 4. Party organisations, members, the owner committee.
        for name, kind, area, parent in (("新港社区党委", "COMMITTEE", "新港社区", None),
                                         ("滨江小区党支部", "BRANCH", "滨江小区", "新港社区党委"),
                                         ("一网格党支部", "BRANCH", "一网格", "新港社区党委"),
                                         ("1栋党小组", "GROUP", "1栋", "滨江小区党支部")):
            org = await office.mutate("admin", "createPartyOrg", "CreatePartyOrgInput", {
                "name": name, "kind": kind, "areaId": office.areas[area],
                "parentId": office.party_orgs.get(parent or "")}, "partyOrg { id }")
            office.party_orgs[name] = org["partyOrg"]["id"]
        await office.mutate("admin", "addPartyOrgMember", "AddPartyOrgMemberInput", {
            "partyOrgId": office.party_orgs["滨江小区党支部"], "personId": office.persons["居民0"],
            "role": "SECRETARY"}, "member { id }")
        await office.mutate("admin", "createOwnerCommittee", "CreateOwnerCommitteeInput", {
            "compoundId": office.areas["滨江小区"], "name": "滨江小区第一届业主委员会", "chairName": "居民1",
            "chairPersonId": office.persons["居民1"], "termStart": "2026-01-01", "termEnd": "2030-12-31"},
            "ownerCommittee { id }")

        # 5. Accounts and roles: a grid worker, the firm's staff, a resident linked to the register.
        for username, display, role, scope, extra in (
                ("xg.grid1", "网格员", "GRID_LEADER", "一网格", {}),
                ("xg.firm", "物业客服", "PROPERTY_FIRM", "滨江小区", {"firmId": office.firms["滨江物业"]}),
                ("xg.res2", "居民2", "RESIDENT", "滨江小区", {"personId": office.persons["居民2"]})):
            await office.mutate("admin", "createUser", "CreateUserInput", {"username": username,
                                                                           "displayName": display}, "user { id }")
            await office.mutate("admin", "grantRole", "GrantRoleInput", {
                "username": username, "role": role, "scopeAreaId": office.areas[scope], **extra},
                "roleAssignment { id }")
            code, office.tokens[username], err = await asyncio.to_thread(cli, ["token", "--tenant", slug,
                                                                               "--user", username])
            assert code == 0, err
        users = await office.gql("admin", "{ users { totalCount } }")
        assert users["users"]["totalCount"] == 4

        # 6. A case loop: reported by the resident, accepted by the grid worker, dispatched to the firm
        #    serving the compound (not to one that does not), resolved, and the resident's verdict.
        case = (await office.mutate("xg.res2", "reportCase", "ReportCaseInput", {
            "areaId": office.areas["1栋"], "category": "drainage", "title": "1栋下水道堵塞",
            "description": "一楼污水外溢"}, "case { id state }"))["case"]
        cid = case["id"]
        await office.mutate("xg.grid1", "acceptCase", "CaseTransitionInput", {"id": cid}, "case { state }")
        await office.mutate("xg.grid1", "dispatchCase", "DispatchCaseInput", {
            "id": cid, "handlerKind": "PROPERTY_FIRM", "firmId": office.firms["滨江物业"]}, "case { state }")
        await office.mutate("xg.firm", "startCase", "CaseTransitionInput", {"id": cid}, "case { state }")
        await office.mutate("xg.firm", "resolveCase", "ResolveCaseInput", {"id": cid, "resolution": "已疏通"},
                            "case { state }")
        done = await office.mutate("xg.res2", "giveCaseFeedback", "CaseFeedbackInput", {
            "id": cid, "satisfied": True, "comment": "及时"}, "case { state }")
        assert done["case"]["state"] == "CLOSED"
        # 江畔小区 has no firm: a case there is not dispatched to 滨江物业
        other = (await office.mutate("admin", "reportCase", "ReportCaseInput", {
            "areaId": office.areas["3栋"], "category": "garbage", "title": "垃圾未清运"}, "case { id }"))["case"]
        await office.mutate("admin", "acceptCase", "CaseTransitionInput", {"id": other["id"]}, "case { state }")
        refused = (await office.gql("admin", """mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) {
            case { id } errors { code field } } }""", {"i": {"id": other["id"], "handlerKind": "PROPERTY_FIRM",
                                                            "firmId": office.firms["滨江物业"]}}))["dispatchCase"]
        assert refused == {"case": None, "errors": [{"code": "FIRM_NOT_SERVING", "field": "firmId"}]}

        for step in LATER_STEPS:
            await step(office)
