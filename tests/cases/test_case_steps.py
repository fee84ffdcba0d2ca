"""The steps of issue #22, each: allowed at its roles (the policy lines of migration 0033), denied at
others, exactly one of two at once, bad input changing nothing — with the stage bookkeeping they do:
退单 returnCase, 延期 requestCaseExtension / decideCaseExtension, 转办 transferCase, 重办 reworkCase,
回访 recordCaseCallback, 解除督办 liftCaseSupervision. The app's clock is fixed (MONDAY_10)."""

from __future__ import annotations

from datetime import timedelta

from resolvers.ids import encode_global_id
from tests.support.case_steps import (
    MONDAY_10,
    ClockApi,
    case_now,
    dispatched,
    exactly_one_wins,
    refused,
    resolved,
    run,
    step,
    unchanged,
)
from tests.support.cases import area_gid, firm_gid
from tests.support.harness import DbEnv, World


async def _denied(c: ClockApi, fresh: World, case: dict[str, object], name: str, expected: dict[str, str],
                  **fields: object) -> None:
    got = {}
    for user in expected:
        payload = await run(c.api, fresh.a, user, name, id=case["id"], **fields)
        got[user] = payload["errors"][0]["code"] if payload["errors"] else "OK"
    assert got == expected, name
    # another street office's user does not even find it
    refused(await run(c.api, fresh.b, "admin", name, id=case["id"], **fields), "NOT_FOUND")


async def test_return_to_the_dispatcher(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)
    await _denied(c, fresh, case, "returnCase", {"resident": "FORBIDDEN", "chair": "FORBIDDEN"}, reason="不归我们管")
    refused(await run(c.api, a, "firm", "returnCase", id=case["id"], reason=" "), "INVALID", "reason")
    refused(await run(c.api, a, "firm", "returnCase", id=case["id"], reason="x", expectedVersion=99), "CONFLICT")
    await unchanged(c.api, a, case)
    back = await step(c.api, a, "firm", "returnCase", id=case["id"], reason="属市政管网，不归物业",
                      expectedVersion=case["version"])
    assert (back["state"], back["handlerName"], back["dueAt"], back["returnCount"]) == ("ACCEPTED", None, None, 1)
    assert back["timeline"][-1]["action"] == "return" and back["timeline"][-1]["note"] == "属市政管网，不归物业"
    assert [(s["stage"], s["outcome"]) for s in back["stages"]][-2:] == [("HANDLE", "return"), ("DISPATCH", None)]
    assert back["currentStage"]["stage"] == "DISPATCH" and back["currentStage"]["dueAt"] is not None
    # the dispatcher (grid1) is told
    notes = (await c.api.gql(a, "grid1", "{ notifications(first: 5) { nodes { kind } } }"))["data"]["notifications"]
    assert "returned" in [n["kind"] for n in notes["nodes"]]
    # no longer its case: the firm still sees it (a compound it serves) but may not return it again
    refused(await run(c.api, a, "firm", "returnCase", id=case["id"], reason="再退"), "FORBIDDEN")
    # two returns at once: one wins
    again = await dispatched(c.api, a)
    await exactly_one_wins(db, c.api, a, again, ("firm", "returnCase", {"id": again["id"], "reason": "甲"}),
                           ("grid1", "returnCase", {"id": again["id"], "reason": "乙"}), also=("FORBIDDEN",))


async def test_extension_requested_and_decided(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)
    due = case["currentStage"]["dueAt"]
    assert due == case["dueAt"]
    later = (MONDAY_10 + timedelta(days=2)).isoformat()
    await _denied(c, fresh, case, "requestCaseExtension", {"resident": "FORBIDDEN", "chair": "FORBIDDEN"},
                  dueAt=later, reason="需采购配件")
    refused(await run(c.api, a, "firm", "requestCaseExtension", id=case["id"], reason="x",
                      dueAt=(MONDAY_10 - timedelta(hours=1)).isoformat()), "INVALID", "dueAt")
    refused(await run(c.api, a, "firm", "requestCaseExtension", id=case["id"], reason="x",
                      dueAt=(MONDAY_10 + timedelta(days=200)).isoformat()), "INVALID", "dueAt")
    refused(await run(c.api, a, "grid1", "decideCaseExtension", id=case["id"], approve=True), "INVALID_TRANSITION")
    await unchanged(c.api, a, case)
    asked = await step(c.api, a, "firm", "requestCaseExtension", id=case["id"], dueAt=later, reason="需采购配件")
    assert asked["state"] == "DISPATCHED" and asked["dueAt"] == due
    assert asked["currentStage"]["requestedDueAt"] is not None
    assert asked["timeline"][-1]["action"] == "request_extension"
    refused(await run(c.api, a, "firm", "requestCaseExtension", id=case["id"], dueAt=later, reason="再申请"),
            "CONFLICT")
    await _denied(c, fresh, asked, "decideCaseExtension", {"firm": "FORBIDDEN", "resident": "FORBIDDEN"}, approve=True)
    refused(await run(c.api, a, "grid1", "decideCaseExtension", id=case["id"], approve=False), "INVALID", "note")
    # grant and refusal at once: exactly one of them
    after = await exactly_one_wins(db, c.api, a, asked,
                                   ("grid1", "decideCaseExtension", {"id": case["id"], "approve": True}),
                                   ("secretary", "decideCaseExtension", {"id": case["id"], "approve": False,
                                                                          "note": "不予延期"}))
    granted = after["timeline"][-1]["action"] == "decide_extension" and after["dueAt"] != due
    assert after["currentStage"]["requestedDueAt"] is None
    assert after["currentStage"]["extensions"] == (1 if granted else 0)
    assert (after["dueAt"] == after["currentStage"]["dueAt"]) and (after["dueAt"] != due) == granted


async def test_transfer_to_another_handler(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)
    community = area_gid(a, "C1")
    await _denied(c, fresh, case, "transferCase", {"firm": "FORBIDDEN", "chair": "FORBIDDEN"},
                  handlerKind="COMMUNITY", communityId=community, reason="转社区协调")
    refused(await run(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                      firmId=firm_gid(a), reason="同一家"), "INVALID", "handlerKind")
    refused(await run(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                      firmId=encode_global_id("PropertyFirm", fresh.b.firms["F1"]), reason="别家街道的"), "NOT_FOUND")
    refused(await run(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="COMMUNITY",
                      communityId=area_gid(a, "C2"), reason="不在该社区"), "INVALID", "communityId")
    await unchanged(c.api, a, case)
    moved = await step(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="COMMUNITY", communityId=community,
                       reason="涉及公共管网，转社区协调")
    assert (moved["state"], moved["handlerName"]) == ("DISPATCHED", "东风社区")
    assert [(s["stage"], s["outcome"]) for s in moved["stages"]][-2:] == [("HANDLE", "transfer"), ("HANDLE", None)]
    assert moved["timeline"][-1]["action"] == "transfer"
    other = await dispatched(c.api, a)
    await exactly_one_wins(db, c.api, a, other,
                           ("grid1", "transferCase", {"id": other["id"], "handlerKind": "COMMUNITY",
                                                      "communityId": community, "reason": "甲"}),
                           ("firm", "returnCase", {"id": other["id"], "reason": "乙"}), also=("FORBIDDEN",))


async def test_transfer_only_to_a_firm_serving_the_compound_that_day(capi: ClockApi, fresh: World) -> None:
    """转办 checks the service contracts as dispatch does (issue #23): a firm without a contract for the
    case's compound in force that day is refused with FIRM_NOT_SERVING and nothing changes; once the
    contract is signed the same transfer goes through."""
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)  # B1 in 幸福小区 (P1), at 安居物业 (F1)
    made = await c.api.gql(a, "admin", """mutation { createPropertyFirm(input: {name: "绿城物业"}) {
      propertyFirm { id } errors { code } } }""")
    firm = made["data"]["createPropertyFirm"]["propertyFirm"]["id"]
    refused(await run(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PROPERTY_FIRM", firmId=firm,
                      reason="改由绿城物业办理"), "FIRM_NOT_SERVING", "firmId")
    await unchanged(c.api, a, case)
    # a case in 老街小区 (P2, 无物业) at the community goes to no firm: F1 serves P1 and (until 2021) P3 only
    other = await step(c.api, a, "grid2", "reportCase", areaId=area_gid(a, "B3"), category="drainage",
                       title="老街小区3栋污水外溢")
    await step(c.api, a, "grid2", "acceptCase", id=other["id"])
    other = await step(c.api, a, "grid2", "dispatchCase", id=other["id"], handlerKind="COMMUNITY",
                       communityId=area_gid(a, "C1"))
    refused(await run(c.api, a, "grid2", "transferCase", id=other["id"], handlerKind="PROPERTY_FIRM",
                      firmId=firm_gid(a), reason="转物业"), "FIRM_NOT_SERVING", "firmId")
    await unchanged(c.api, a, other)
    signed = await c.api.gql(a, "admin", """mutation($i: CreateServiceContractInput!) { createServiceContract(
      input: $i) { errors { code } } }""", {"i": {"firmId": firm, "compoundId": encode_global_id("Compound",
                                                                                               a.areas["P1"]),
                                                 "validFrom": "2026-12-01"}})
    assert signed["data"]["createServiceContract"]["errors"] == []
    moved = await step(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PROPERTY_FIRM", firmId=firm,
                       reason="改由绿城物业办理")
    assert (moved["state"], moved["handlerName"]) == ("DISPATCHED", "绿城物业")


async def test_rework_after_a_failed_check(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await resolved(c.api, a)
    assert case["closureFlagged"] is True  # resolved within the tenant's 30 minutes
    await _denied(c, fresh, case, "reworkCase", {"firm": "FORBIDDEN", "resident": "FORBIDDEN"}, reason="仍在外溢")
    refused(await run(c.api, a, "grid1", "reworkCase", id=case["id"], reason=""), "INVALID", "reason")
    await unchanged(c.api, a, case)
    again = await step(c.api, a, "grid1", "reworkCase", id=case["id"], reason="复查仍在外溢")
    assert (again["state"], again["reopenCount"], again["closureFlagged"]) == ("DISPATCHED", 1, False)
    assert again["currentStage"]["stage"] == "HANDLE" and again["handlerName"] == "安居物业"
    assert again["timeline"][-1]["action"] == "rework"
    other = await resolved(c.api, a)
    await exactly_one_wins(db, c.api, a, other, ("grid1", "reworkCase", {"id": other["id"], "reason": "甲"}),
                           ("grid1", "closeCase", {"id": other["id"]}))


async def test_callback_after_closure(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await resolved(c.api, a)
    refused(await run(c.api, a, "grid1", "recordCaseCallback", id=case["id"], result="SATISFIED"), "INVALID_TRANSITION")
    closed = await step(c.api, a, "grid1", "closeCase", id=case["id"])
    assert closed["currentStage"]["stage"] == "CALLBACK" and closed["closureFlagged"] is False
    await _denied(c, fresh, closed, "recordCaseCallback", {"firm": "FORBIDDEN", "resident": "FORBIDDEN"},
                  result="SATISFIED")
    refused(await run(c.api, a, "grid1", "recordCaseCallback", id=case["id"], result="NOT_SOLVED"), "INVALID", "note")
    await unchanged(c.api, a, closed)
    done = await step(c.api, a, "grid1", "recordCaseCallback", id=case["id"], result="BASICALLY_SATISFIED")
    assert (done["state"], done["callbackResult"], done["currentStage"]) == ("CLOSED", "BASICALLY_SATISFIED", None)
    assert done["stages"][-1]["outcome"] == "callback"
    refused(await run(c.api, a, "grid1", "recordCaseCallback", id=case["id"], result="SATISFIED"), "INVALID_TRANSITION")
    # "not solved" at the call-back reopens the case, counted, and it goes back to 派遣
    other = await resolved(c.api, a)
    other = await step(c.api, a, "grid1", "closeCase", id=other["id"])
    after = await exactly_one_wins(db, c.api, a, other,
                                   ("grid1", "recordCaseCallback", {"id": other["id"], "result": "NOT_SOLVED",
                                                                    "note": "污水又冒出来了"}),
                                   ("secretary", "recordCaseCallback", {"id": other["id"], "result": "SATISFIED"}))
    if after["state"] == "REOPENED":
        assert after["reopenCount"] == 1 and after["currentStage"]["stage"] == "DISPATCH"
    else:
        assert after["callbackResult"] == "SATISFIED" and after["reopenCount"] == 0


async def test_lift_supervision(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)
    refused(await run(c.api, a, "secretary", "liftCaseSupervision", id=case["id"]), "INVALID_TRANSITION")
    watched = await step(c.api, a, "secretary", "superviseCase", id=case["id"])
    await _denied(c, fresh, watched, "liftCaseSupervision", {"grid1": "FORBIDDEN", "firm": "FORBIDDEN"})
    refused(await run(c.api, a, "secretary", "liftCaseSupervision", id=case["id"], note="理" * 1001), "TOO_LONG")
    await unchanged(c.api, a, watched)
    after = await exactly_one_wins(db, c.api, a, watched,
                                   ("secretary", "liftCaseSupervision", {"id": case["id"], "note": "已整改"}),
                                   ("admin", "liftCaseSupervision", {"id": case["id"]}))
    assert after["supervised"] is False and after["timeline"][-1]["action"] == "lift_supervision"
    assert (await case_now(c.api, a, case["id"]))["state"] == "DISPATCHED"
