"""Every transition mutation in the schema leaves its changed fields, before → after, in the audit log.

The transition mutations are found in the schema, not listed by hand: a mutation that takes an
``expectedVersion``, or that takes the ``id`` of an existing object and returns one with a ``state`` or
``status``. The walk below drives each of them once (or more) through the real app and reads its
audit entry; a transition mutation the walk does not drive fails the test, so a new one must be
walked — and must audit its before → after — to pass."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from graphql import GraphQLInputObjectType, GraphQLObjectType, get_named_type

from gongzhi.modules import schema as _built
from resolvers.ids import decode_global_id, encode_global_id
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

schema = _built()

AREA_TYPE = {"S": "Street", "C": "Community", "Z": "Zone", "P": "Compound", "G": "Grid", "B": "Building"}
LOG = """query($a: String) { auditLog(first: 1, action: $a) { nodes { action outcome
  changes { table id op fields { name before after } } } } }"""


def transition_mutations() -> dict[str, Any]:
    """Mutation name → field, for every mutation that moves an existing object's version or state."""
    found: dict[str, Any] = {}
    for name, f in schema._schema.mutation_type.fields.items():  # type: ignore[union-attr]
        args = set(f.args)
        for a in f.args.values():
            t = get_named_type(a.type)
            if isinstance(t, GraphQLInputObjectType):
                args |= set(t.fields)
        payload = get_named_type(f.type)
        stateful = isinstance(payload, GraphQLObjectType) and any(
            isinstance(t := get_named_type(pf.type), GraphQLObjectType) and {"state", "status"} & set(t.fields)
            for pf in payload.fields.values())
        if "expectedVersion" in args or ("id" in args and stateful):
            found[name] = f
    return found


def document(name: str, field: Any) -> str:
    params = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in field.args)
    return f"mutation({params}) {{ {name}({passed}) {{ errors {{ code field message }} }} }}"


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


def area(tw: TenantWorld, key: str) -> str:
    return gid(AREA_TYPE[key[0]], tw.areas[key])


class Walk:
    """Runs mutations as world users and checks each one's audit entry."""

    def __init__(self, api: Api, tw: TenantWorld) -> None:
        self.api, self.tw = api, tw
        self.mutations = transition_mutations()
        self.walked: set[str] = set()

    async def run(self, who: str, doc: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A set-up step (not itself checked): its payload, which must carry no errors."""
        body = await self.api.gql(self.tw, who, doc, variables)
        (payload,) = body["data"].values()
        assert not payload.get("errors"), payload
        return payload  # type: ignore[no-any-return]

    async def step(self, name: str, who: str | None, variables: dict[str, Any], table: str,
                   expect: dict[str, tuple[Any, Any]], *, token: str | None = None) -> None:
        doc = document(name, self.mutations[name]) if name in self.mutations else None
        assert doc is not None, f"{name} is not a transition mutation of the schema"
        if token is not None:
            body = (await self.api.post(doc, variables, token=token)).json()
        else:
            body = await self.api.gql(self.tw, who or "admin", doc, variables)
        assert body["data"][name]["errors"] == [], (name, body)
        raw = variables.get("id") or variables["input"]["id"]
        row = str(decode_global_id(raw)[1])
        log = (await self.api.gql(self.tw, "admin", LOG, {"a": name}))["data"]["auditLog"]["nodes"]
        assert log and log[0]["outcome"] == "ok", (name, log)
        changes = [c for c in log[0]["changes"] if c["table"] == table and c["id"] == row and c["op"] == "update"]
        assert changes, f"{name}: no update of {table} {row} in its audit entry {log[0]}"
        fields = {f["name"]: (None if f["before"] is None else json.loads(f["before"]),
                              None if f["after"] is None else json.loads(f["after"]))
                  for c in changes for f in c["fields"]}
        for key, (before, after) in expect.items():
            assert fields.get(key) == (before, after), f"{name}: {key} {fields.get(key)} != {(before, after)}"
        self.walked.add(name)


def test_discovery_finds_the_transitions() -> None:
    """The discovery is not vacuous: it finds transitions of every kind (versioned, state-only, status)."""
    found = set(transition_mutations())
    assert {"acceptCase", "declineTopic", "closeVote", "closeMeeting", "claimWish", "checkInActivity",
            "approveRedemption", "closeEvaluationPeriod", "setAgreementStatus", "claimSharedWish",
            "updatePerson"} <= found
    assert not {"reportCase", "proposeTopic", "postWish", "createAgreement", "awardPoints"} & found


async def test_every_transition_mutation_audits_before_and_after(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    w = Walk(api, tw)

    # ---- register: versioned updates through the unit of work (no state; the changed field moves —
    # the ORM bumps their version at flush, after the audit listener has read the changes)
    await w.step("updateArea", "admin", {"input": {"id": area(tw, "B2"), "name": "2栋甲"}}, "areas",
                 {"name": ("2栋", "2栋甲")})
    await w.step("updateHousehold", "admin", {"input": {"id": gid("Household", tw.households["H1"]),
                                                        "note": "独居老人"}}, "households",
                 {"note": (None, "独居老人")})
    await w.step("updatePerson", "admin", {"input": {"id": gid("Person", tw.persons["h1b"]),
                                                        "gender": "FEMALE"}}, "persons", {"gender": (None, "female")})
    # moveArea and archiveArea (issue #23): the area's own row moves through the unit of work
    await w.step("moveArea", "admin", {"input": {"id": area(tw, "B3"), "newParentId": area(tw, "P1")}}, "areas",
                 {"parent_id": (str(tw.areas["P2"]), str(tw.areas["P1"]))})
    spare = await w.run("admin", "mutation($i: CreateAreaInput!) { createArea(input: $i) { area { id } "
                        "errors { code } } }", {"i": {"kind": "GRID", "parentId": area(tw, "C1"), "name": "待撤网格"}})
    await w.step("archiveArea", "admin", {"input": {"id": spare["area"]["id"]}}, "areas", {})

    # ---- cases
    report = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"
    new_case = {"i": {"areaId": area(tw, "B1"), "category": "drainage", "title": "下水道堵塞"}}
    case = (await w.run("resident", report, new_case))["case"]["id"]
    firm = gid("PropertyFirm", tw.firms["F1"])

    async def case_step(name: str, who: str, before: str, after: str, version: int, **fields: Any) -> None:
        await w.step(name, who, {"input": {"id": case, **fields}}, "cases",
                     {"state": (before, after), "version": (version, version + 1)})

    await case_step("acceptCase", "grid1", "reported", "accepted", 1)
    await w.step("superviseCase", "secretary", {"input": {"id": case}}, "cases",
                 {"supervised": (False, True), "version": (2, 3)})
    await w.step("urgeCase", "secretary", {"input": {"id": case, "reason": "尽快"}}, "cases", {"version": (3, 4)})
    await w.step("escalateCase", "secretary", {"input": {"id": case, "areaId": area(tw, "C1")}}, "cases",
                 {"escalated_to_area_id": (None, str(tw.areas["C1"])), "version": (4, 5)})
    await case_step("dispatchCase", "grid1", "accepted", "dispatched", 5, handlerKind="PROPERTY_FIRM", firmId=firm)
    await case_step("startCase", "firm", "dispatched", "in_progress", 6)
    await case_step("resolveCase", "firm", "in_progress", "resolved", 7, resolution="已疏通")
    await case_step("giveCaseFeedback", "resident", "resolved", "reopened", 8, satisfied=False, comment="还在漏")
    await case_step("dispatchCase", "grid1", "reopened", "dispatched", 9, handlerKind="PROPERTY_FIRM", firmId=firm)
    await case_step("startCase", "firm", "dispatched", "in_progress", 10)
    await case_step("resolveCase", "firm", "in_progress", "resolved", 11, resolution="再次疏通")
    await case_step("reopenCase", "grid1", "resolved", "reopened", 12, reason="复查仍堵")
    await case_step("dispatchCase", "grid1", "reopened", "dispatched", 13, handlerKind="PROPERTY_FIRM", firmId=firm)
    await case_step("startCase", "firm", "dispatched", "in_progress", 14)
    await case_step("resolveCase", "firm", "in_progress", "resolved", 15, resolution="已更换管道")
    await case_step("closeCase", "grid1", "resolved", "closed", 16)
    case = (await w.run("resident", report, new_case))["case"]["id"]
    await case_step("rejectCase", "grid1", "reported", "rejected", 1, reason="重复上报")
    case = (await w.run("resident", report, new_case))["case"]["id"]
    await case_step("withdrawCase", "resident", "reported", "withdrawn", 1, reason="已自行处理")
    await _case_steps(w, tw, (await w.run("resident", report, new_case))["case"]["id"])
    case = (await w.run("resident", report, new_case))["case"]["id"]
    await w.step("recategoriseCase", "grid1", {"input": {"id": case, "category": "garbage"}}, "cases",
                 {"category_code": ("drainage", "garbage"), "version": (1, 2)})

    # ---- deliberation: topics, the owners' vote, a meeting
    propose = "mutation($i: ProposeTopicInput!) { proposeTopic(input: $i) { topic { id } errors { code } } }"

    async def topic() -> str:
        p = await w.run("chair", propose, {"i": {"areaId": area(tw, "P1"), "title": "加装电梯"}})
        return str(p["topic"]["id"])

    async def topic_step(name: str, tid: str, before: str, after: str, version: int, **fields: Any) -> None:
        await w.step(name, "admin", {"input": {"id": tid, **fields}}, "topics",
                     {"state": (before, after), "version": (version, version + 1)})

    t1 = await topic()
    await topic_step("acceptTopic", t1, "proposed", "accepted", 1)
    await topic_step("decideTopic", t1, "accepted", "decided", 2, text="同意加装")
    await topic_step("startTopicImplementation", t1, "decided", "implementing", 3)
    await topic_step("completeTopic", t1, "implementing", "done", 4)
    await topic_step("reviewTopic", t1, "done", "reviewed", 5, text="效果良好")
    await topic_step("declineTopic", await topic(), "proposed", "declined", 1, text="不在职责范围")
    t3 = await topic()
    await w.run("admin", "mutation($i: TopicTransitionInput!) { acceptTopic(input: $i) { errors { code } } }",
                {"i": {"id": t3}})
    vote = await w.run("chair", "mutation($i: OpenVoteInput!) { openVote(input: $i) { vote { id } errors { code } } }",
                       {"i": {"topicId": t3, "matter": "CHANGE_COMMON_PARTS", "question": "是否同意？",
                              "closesAt": (datetime.now(UTC) + timedelta(days=7)).isoformat()}})
    await w.step("closeVote", "chair", {"input": {"id": vote["vote"]["id"]}}, "votes", {"state": ("open", "closed")})
    convene = """mutation($i: ConveneMeetingInput!) { conveneMeeting(input: $i) { meeting { id } errors { code } } }"""
    meeting = await w.run("admin", convene, {"i": {"areaId": area(tw, "P1"), "title": "议事会", "place": "活动室",
                                                   "startsAt": datetime.now(UTC).isoformat(), "topicIds": [t3]}})
    await w.step("closeMeeting", "admin", {"input": {"id": meeting["meeting"]["id"], "minutes": "议定",
                                                     "decisions": [{"topicId": t3, "decision": "同意"}]}},
                 "meetings", {"state": ("convened", "closed"), "version": (1, 2)})

    # ---- care: wishes
    post = "mutation($i: PostWishInput!) { postWish(input: $i) { wish { id } errors { code } } }"

    async def wish() -> str:
        p = await w.run("grid2", post, {"i": {"personId": gid("Person", tw.persons["h3a"]), "title": "轮椅维修"}})
        return str(p["wish"]["id"])

    w1 = await wish()
    # The poster (grid2) never claims its own wish (DESIGN.md §8): the street admin claims, gives the
    # claim back (releaseWish, issue #23), claims again and fulfils; the poster confirms.
    for who, name, before, after, version in (
            ("admin", "claimWish", "open", "claimed", 1), ("admin", "releaseWish", "claimed", "open", 2),
            ("admin", "claimWish", "open", "claimed", 3), ("admin", "fulfilWish", "claimed", "fulfilled", 4),
            ("grid2", "confirmWish", "fulfilled", "confirmed", 5)):
        await w.step(name, who, {"input": {"id": w1}}, "wishes",
                     {"state": (before, after), "version": (version, version + 1)})
    await w.step("cancelWish", "grid2", {"input": {"id": await wish()}}, "wishes",
                 {"state": ("open", "cancelled"), "version": (1, 2)})

    # ---- volunteering: sign-ups, redemptions
    start = datetime.now(UTC) + timedelta(days=1)
    act = await w.run("chair", """mutation($i: PublishActivityInput!) { publishActivity(input: $i) {
        activity { id } errors { code } } }""", {"i": {
        "title": "楼道清洁", "areaId": area(tw, "P1"), "place": "1栋", "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=3)).isoformat(), "capacity": 10, "organiserKind": "OWNER_COMMITTEE",
        "compoundId": area(tw, "P1")}})
    sign_up = "mutation($a: ID!) { signUpForActivity(activityId: $a) { signup { id } errors { code } } }"
    s1 = (await w.run("resident", sign_up, {"a": act["activity"]["id"]}))["signup"]["id"]
    await w.step("checkInActivity", "resident", {"id": s1}, "activity_signups",
                 {"state": ("signed_up", "checked_in"), "version": (1, 2)})
    await w.step("checkOutActivity", "resident", {"id": s1}, "activity_signups",
                 {"state": ("checked_in", "checked_out"), "version": (2, 3)})
    await w.step("confirmActivityHours", "chair", {"id": s1, "hours": 3}, "activity_signups",
                 {"state": ("checked_out", "confirmed"), "version": (3, 4)})
    s2 = (await w.run("chair", sign_up, {"a": act["activity"]["id"]}))["signup"]["id"]
    await w.step("cancelActivitySignup", "chair", {"id": s2}, "activity_signups",
                 {"state": ("signed_up", "cancelled"), "version": (1, 2)})
    item = await w.run("admin", """mutation($c: ID!) { createRewardItem(input: {communityId: $c, name: "大米",
        points: 5, stock: 5}) { item { id } errors { code } } }""", {"c": area(tw, "C1")})
    request = "mutation($i: ID!) { requestRedemption(itemId: $i) { redemption { id } errors { code } } }"
    for name, after, variables in (("approveRedemption", "approved", {}), ("rejectRedemption", "rejected",
                                                                           {"note": "库存留给老人"})):
        r = (await w.run("resident", request, {"i": item["item"]["id"]}))["redemption"]["id"]
        await w.step(name, "admin", {"input": {"id": r, **variables}}, "redemptions", {"state": ("requested", after)})
    r = (await w.run("resident", request, {"i": item["item"]["id"]}))["redemption"]["id"]
    await w.step("cancelRedemption", "resident", {"id": r}, "redemptions", {"state": ("requested", "cancelled")})

    # ---- evaluations
    month = date.today().replace(day=1).isoformat()
    period = await w.run("admin", """mutation($m: Date!) { openEvaluationPeriod(month: $m) {
        period { id } errors { code } } }""", {"m": month})
    await w.step("closeEvaluationPeriod", "admin", {"id": period["period"]["id"]}, "evaluation_periods",
                 {"state": ("open", "closed")})

    # ---- co-building: agreements and shared wishes
    await _cobuilding(w, db, tw)

    # ---- the whole life of a record (issue #23): edit, cancel, withdraw
    await _lifecycle(w, tw)

    missing = set(w.mutations) - w.walked
    assert not missing, f"transition mutations not walked (add them to this test): {sorted(missing)}"


async def _case_steps(w: Walk, tw: TenantWorld, case: str) -> None:
    """The steps of issue #22: 延期, 转办, 退单, 重办, 回访, 解除督办 (with the loop's steps between them)."""
    firm = {"handlerKind": "PROPERTY_FIRM", "firmId": gid("PropertyFirm", tw.firms["F1"])}

    async def go(name: str, who: str, expect: dict[str, tuple[Any, Any]], **fields: Any) -> None:
        await w.step(name, who, {"input": {"id": case, **fields}}, "cases", expect)

    await go("acceptCase", "grid1", {"state": ("reported", "accepted")})
    await go("dispatchCase", "grid1", {"state": ("accepted", "dispatched")}, **firm)
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    await go("requestCaseExtension", "firm", {"version": (3, 4)}, dueAt=later, reason="需采购配件")
    await go("decideCaseExtension", "grid1", {"version": (4, 5)}, approve=True)
    await go("transferCase", "grid1", {"handler_kind": ("property_firm", "community"), "version": (5, 6)},
             handlerKind="COMMUNITY", communityId=area(tw, "C1"), reason="转社区协调")
    await go("returnCase", "grid1", {"state": ("dispatched", "accepted"), "return_count": (0, 1)}, reason="退回重派")
    await go("dispatchCase", "grid1", {"state": ("accepted", "dispatched")}, **firm)
    await go("startCase", "firm", {"state": ("dispatched", "in_progress")})
    await go("resolveCase", "firm", {"state": ("in_progress", "resolved")}, resolution="已疏通")
    await go("reworkCase", "grid1", {"state": ("resolved", "dispatched"), "reopen_count": (0, 1)}, reason="复查未通过")
    await go("startCase", "firm", {"state": ("dispatched", "in_progress")})
    await go("resolveCase", "firm", {"state": ("in_progress", "resolved")}, resolution="已更换管道")
    await go("closeCase", "grid1", {"state": ("resolved", "closed")})
    await go("recordCaseCallback", "grid1", {"state": ("closed", "reopened"), "callback_result": (None, "not_solved")},
             result="NOT_SOLVED", note="回访仍有异味")
    await go("superviseCase", "secretary", {"supervised": (False, True)})
    await go("liftCaseSupervision", "secretary", {"supervised": (True, False)}, note="已整改")


async def _cobuilding(w: Walk, db: DbEnv, tw: TenantWorld) -> None:
    from tests.support.cobuilding import (
        CREATE_AGREEMENT,
        CREATE_CLIENT,
        add_wish,
        agreement_input,
        community,
        make_unit,
    )

    unit = await make_unit(w.api, tw, "市三医院", 11)
    agreement = (await w.run("admin", CREATE_AGREEMENT, agreement_input(unit, [community(tw, "C1")])))["agreement"]
    aid = agreement["id"]
    await w.step("setAgreementStatus", "admin", {"input": {"id": aid, "status": "ACTIVE", "expectedVersion": 1}},
                 "agreements", {"status": ("draft", "active"), "version": (1, 2)})
    changed = agreement_input(unit, [community(tw, "C1")], title="共驻共建协议（修订）")["in"]
    await w.step("updateAgreement", "admin", {"input": {**changed, "id": aid, "expectedVersion": 2}}, "agreements",
                 {"title": ("共驻共建协议", "共驻共建协议（修订）"), "version": (2, 3)})
    client = await w.run("admin", CREATE_CLIENT, {"u": unit, "l": "共建系统"})
    r = await w.api.client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                      "client_id": client["client"]["clientId"],
                                                      "client_secret": client["clientSecret"]})
    assert r.status_code == 200, r.text
    token = str(r.json()["access_token"])
    wish = gid("Wish", await add_wish(db, tw, "h1a", "H1", "B1", "想要一台收音机"))
    await w.step("claimSharedWish", None, {"input": {"id": wish}}, "wishes",
                 {"state": ("open", "claimed"), "version": (1, 2)}, token=token)
    await w.step("fulfilSharedWish", None, {"input": {"id": wish, "note": "已送到"}}, "wishes",
                 {"state": ("claimed", "fulfilled"), "version": (2, 3)}, token=token)

    # A partner unit's desk (issue #22): the steps its API client takes on the cases dispatched to it.
    from tests.support.case_steps import step as case_step
    from tests.support.cases import report

    for title, returned in (("楼道堵塞", False), ("路灯不亮", True)):
        case = await report(w.api, tw, "resident", "B1", title=title)
        case = await case_step(w.api, tw, "grid1", "acceptCase", id=case["id"])
        case = await case_step(w.api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT",
                               partnerUnitId=unit)
        if returned:
            await w.step("returnAssignedCase", None, {"input": {"id": case["id"], "reason": "不属于本单位职责"}},
                         "cases", {"state": ("dispatched", "accepted")}, token=token)
            continue
        await w.step("startAssignedCase", None, {"input": {"id": case["id"]}}, "cases",
                     {"state": ("dispatched", "in_progress")}, token=token)
        due = datetime.fromisoformat(case["dueAt"]) + timedelta(days=2)
        await w.step("requestAssignedCaseExtension", None,
                     {"input": {"id": case["id"], "dueAt": due.isoformat(), "reason": "需协调市政维修"}}, "cases", {},
                     token=token)
        await case_step(w.api, tw, "grid1", "decideCaseExtension", id=case["id"], approve=True)
        await w.step("resolveAssignedCase", None, {"input": {"id": case["id"], "resolution": "已疏通"}}, "cases",
                     {"state": ("in_progress", "resolved")}, token=token)


async def _lifecycle(w: Walk, tw: TenantWorld) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    act = (await w.run("chair", """mutation($i: PublishActivityInput!) { publishActivity(input: $i) {
        activity { id } errors { code } } }""", {"i": {
        "title": "义诊", "areaId": area(tw, "P1"), "place": "1栋", "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10, "organiserKind": "OWNER_COMMITTEE",
        "compoundId": area(tw, "P1")}}))["activity"]["id"]
    await w.step("updateActivity", "chair", {"input": {"id": act, "place": "活动室"}}, "activities",
                 {"place": ("1栋", "活动室")})
    await w.step("cancelActivity", "chair", {"input": {"id": act, "reason": "暴雨"}}, "activities",
                 {"state": ("published", "cancelled"), "cancel_reason": (None, "暴雨")})
    propose = "mutation($i: ProposeTopicInput!) { proposeTopic(input: $i) { topic { id } errors { code } } }"
    topic = (await w.run("resident", propose, {"i": {"areaId": area(tw, "P1"), "title": "楼道堆物"}}))["topic"]["id"]
    await w.step("updateTopic", "resident", {"input": {"id": topic, "title": "楼道堆物清理"}}, "topics",
                 {"title": ("楼道堆物", "楼道堆物清理"), "version": (1, 2)})
    await w.step("cancelTopic", "chair", {"input": {"id": topic, "reason": "已处理", "expectedVersion": 2}}, "topics",
                 {"state": ("proposed", "cancelled"), "cancel_reason": (None, "已处理"), "version": (2, 3)})
    convene = """mutation($i: ConveneMeetingInput!) { conveneMeeting(input: $i) { meeting { id } errors { code } } }"""
    meeting = (await w.run("chair", convene, {"i": {"areaId": area(tw, "P1"), "title": "议事会", "place": "活动室",
                                                    "startsAt": start.isoformat()}}))["meeting"]["id"]
    await w.step("updateMeeting", "chair", {"input": {"id": meeting, "place": "议事角"}}, "meetings",
                 {"place": ("活动室", "议事角"), "version": (1, 2)})
    await w.step("cancelMeeting", "admin", {"input": {"id": meeting, "reason": "改期"}}, "meetings",
                 {"state": ("convened", "cancelled"), "version": (2, 3)})
    person = gid("Person", tw.persons["h4a"])
    h2, h4 = gid("Household", tw.households["H2"]), gid("Household", tw.households["H4"])
    await w.step("movePerson", "admin", {"input": {"id": person, "householdId": h2}},
                 "persons", {"household_id": (str(tw.households["H4"]), str(tw.households["H2"]))})
    await w.step("movePersonOut", "admin", {"input": {"id": person}}, "persons", {"status": ("active", "moved_out")})
    await w.step("movePersonIn", "admin", {"input": {"id": person, "householdId": h4}},
                 "persons", {"status": ("moved_out", "active")})
    await w.step("recordPersonDeath", "admin", {"input": {"id": person}}, "persons", {"status": ("active", "deceased")})
