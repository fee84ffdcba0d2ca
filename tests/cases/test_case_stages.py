"""Stages and their time limits (issue #22) on a fixed clock: the due time of each stage on the working
calendar, the limits a street admin edits, the overdue job telling the next level up once (and 督办 where
the tenant says so), and honest closure — a photo where the category asks for one, a fast resolution
flagged for review and listed by cases(closureFlagged:)."""

from __future__ import annotations

from datetime import timedelta

from tests.support.case_steps import (
    MONDAY_10,
    ClockApi,
    case_now,
    dispatched,
    overdue_job,
    refused,
    reported,
    run,
    step,
)
from tests.support.cases import area_gid
from tests.support.harness import DbEnv, World

# Monday 2026-12-07 in Beijing, as UTC ISO strings the API answers with.
AT_11 = "2026-12-07T03:00:00+00:00"  # 11:00
AT_14 = "2026-12-07T06:00:00+00:00"  # 14:00 (10:30 + 2 working hours: 12:00–13:30 is lunch)

CONFIG = """mutation($l: SetCaseStageLimitInput!, $w: SetCaseWorkflowSettingsInput!, $r: SetCaseCategoryRuleInput!) {
  l: setCaseStageLimit(input: $l) { limit { stage tier category amount unit } errors { code field } }
  w: setCaseWorkflowSettings(input: $w) { settings { autoSuperviseOverdue minHandlingMinutes } errors { code field } }
  r: setCaseCategoryRule(input: $r) { rule { category requiresPhoto } errors { code field } }
}"""
READ_CONFIG = """{ caseStageLimits { stage tier category amount unit }
  caseWorkflowSettings { autoSuperviseOverdue minHandlingMinutes } caseCategoryRules { category requiresPhoto } }"""


async def test_each_stage_is_due_on_the_working_calendar(capi: ClockApi, fresh: World) -> None:
    c, a = capi, fresh.a
    case = await reported(c.api, a)  # urgent drainage at 10:00: 受理 within 1 working hour
    assert case["urgencyTier"] == "URGENT"
    assert case["currentStage"] == {"stage": "ACCEPT", "startedAt": MONDAY_10.isoformat(), "dueAt": AT_11,
                                    "overdue": False, "requestedDueAt": None, "extensions": 0}
    c.at(MONDAY_10 + timedelta(minutes=90))  # 11:30: 受理 ran over
    late = await case_now(c.api, a, case["id"])
    assert late["currentStage"]["overdue"] is True
    c.at(MONDAY_10 + timedelta(minutes=30))
    accepted = await step(c.api, a, "grid1", "acceptCase", id=case["id"])
    assert [(s["stage"], s["completedAt"] is not None, s["outcome"], s["overdue"]) for s in accepted["stages"]] == [
        ("ACCEPT", True, "accept", False), ("DISPATCH", False, None, False)]
    from tests.support.cases import firm_gid

    handled = await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                         firmId=firm_gid(a))
    # 处置 is the SLA rule (drainage · urgent: 2 working hours), the case's own due time
    assert handled["currentStage"]["stage"] == "HANDLE"
    assert handled["currentStage"]["dueAt"] == AT_14 == handled["dueAt"]
    # an ordinary case's 受理 is 4 working hours: 10:30 → 16:00, across the lunch break
    ordinary = await reported(c.api, a, priority="NORMAL", category="garbage")
    assert ordinary["urgencyTier"] == "ORDINARY" and ordinary["currentStage"]["dueAt"] == "2026-12-07T08:00:00+00:00"


async def test_the_street_admin_edits_limits_and_settings(capi: ClockApi, fresh: World) -> None:
    c, a = capi, fresh.a
    defaults = (await c.api.gql(a, "grid1", READ_CONFIG))["data"]
    assert {"stage": "ACCEPT", "tier": "URGENT", "category": None, "amount": 1.0, "unit": "WORKING_HOURS"} in defaults[
        "caseStageLimits"] and len(defaults["caseStageLimits"]) == 9
    assert defaults["caseWorkflowSettings"] == {"autoSuperviseOverdue": True, "minHandlingMinutes": 30}
    good = {"l": {"stage": "ACCEPT", "tier": "URGENT", "category": "drainage", "amount": 30, "unit": "CALENDAR_HOURS"},
            "w": {"minHandlingMinutes": 60}, "r": {"category": "drainage", "requiresPhoto": True}}
    denied = (await c.api.gql(a, "secretary", CONFIG, good))["data"]
    assert [denied[k]["errors"][0]["code"] for k in "lwr"] == ["FORBIDDEN"] * 3
    bad = {"l": {**good["l"], "stage": "HANDLE"}, "w": {"minHandlingMinutes": -1},
           "r": {"category": "nope", "requiresPhoto": True}}
    wrong = (await c.api.gql(a, "admin", CONFIG, bad))["data"]
    assert [(wrong[k]["errors"][0]["code"], wrong[k]["errors"][0]["field"]) for k in "lwr"] == [
        ("INVALID", "stage"), ("INVALID", "minHandlingMinutes"), ("INVALID", "category")]
    assert (await c.api.gql(a, "admin", READ_CONFIG))["data"] == defaults  # nothing written
    done = (await c.api.gql(a, "admin", CONFIG, good))["data"]
    assert [done[k]["errors"] for k in "lwr"] == [[], [], []]
    case = await reported(c.api, a)  # drainage · urgent: 受理 now within 30 calendar hours
    assert case["currentStage"]["dueAt"] == (MONDAY_10 + timedelta(hours=30)).isoformat()
    assert (await c.api.gql(fresh.b, "admin", READ_CONFIG))["data"]["caseWorkflowSettings"]["minHandlingMinutes"] == 30


async def test_an_overdue_stage_tells_the_next_level_once(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    c, a = capi, fresh.a
    case = await dispatched(c.api, a)  # 处置 due at 12:00 (10:00 + 2 working hours)
    waiting = await reported(c.api, a)  # 受理 due at 11:00
    assert await overdue_job(db, a, MONDAY_10 + timedelta(minutes=59)) == 0
    assert await overdue_job(db, a, MONDAY_10 + timedelta(hours=3)) == 2
    assert await overdue_job(db, a, MONDAY_10 + timedelta(hours=4)) == 0  # once
    kinds = "{ notifications(first: 20) { nodes { kind case { id } } } }"

    def told(body: dict[str, object]) -> list[str]:
        nodes = body["data"]["notifications"]["nodes"]  # type: ignore[index]
        return sorted(n["case"]["id"] for n in nodes if n["kind"] == "stage_overdue")  # type: ignore[index]

    # 处置 held by the firm: its grid leader is told; 受理 held by the grid leader: the party secretary
    assert told(await c.api.gql(a, "grid1", kinds)) == [case["id"]]
    assert told(await c.api.gql(a, "secretary", kinds)) == [waiting["id"]]
    assert told(await c.api.gql(a, "grid2", kinds)) == [] and told(await c.api.gql(a, "firm", kinds)) == []
    assert told(await c.api.gql(a, "secretary2", kinds)) == []  # another community's secretary
    # a case of the whole street: no party secretary's scope holds it, so the street admin is told
    street = await step(c.api, a, "admin", "reportCase", areaId=area_gid(a, "S"), category="other", priority="URGENT",
                        title="主干道路灯成片不亮")
    assert await overdue_job(db, a, MONDAY_10 + timedelta(hours=3)) == 1
    assert told(await c.api.gql(a, "admin", kinds)) == [street["id"]]
    for cid in (case["id"], waiting["id"]):
        now = await case_now(c.api, a, cid)
        assert now["supervised"] is True and now["timeline"][-1]["action"] == "stage_overdue"
    # a tenant that says no: told, but not supervised
    assert not (await c.api.gql(a, "admin", """mutation { setCaseWorkflowSettings(input: {autoSuperviseOverdue: false})
        { errors { code } } }"""))["data"]["setCaseWorkflowSettings"]["errors"]
    third = await reported(c.api, a)
    assert await overdue_job(db, a, MONDAY_10 + timedelta(hours=5)) == 1
    assert (await case_now(c.api, a, third["id"]))["supervised"] is False
    # a granted extension moves the due time: a new overrun is reported again
    c.at(MONDAY_10 + timedelta(hours=5))
    later = (MONDAY_10 + timedelta(days=1)).isoformat()
    await step(c.api, a, "firm", "requestCaseExtension", id=case["id"], dueAt=later, reason="待配件")
    await step(c.api, a, "grid1", "decideCaseExtension", id=case["id"], approve=True)
    assert await overdue_job(db, a, MONDAY_10 + timedelta(hours=6)) == 0
    assert await overdue_job(db, a, MONDAY_10 + timedelta(days=2)) == 1


async def test_honest_closure(capi: ClockApi, fresh: World) -> None:
    c, a = capi, fresh.a
    rule = """mutation { setCaseCategoryRule(input: {category: "drainage", requiresPhoto: true}) {
      errors { code } } }"""
    assert not (await c.api.gql(a, "admin", rule))["data"]["setCaseCategoryRule"]["errors"]
    case = await dispatched(c.api, a)
    await step(c.api, a, "firm", "startCase", id=case["id"])
    before = await case_now(c.api, a, case["id"])
    refused(await run(c.api, a, "firm", "resolveCase", id=case["id"], resolution="已疏通"), "PHOTO_REQUIRED",
            "photoIds")
    assert (await case_now(c.api, a, case["id"]))["version"] == before["version"]
    # another category without the rule: resolved within minutes, flagged and listed for reviewers
    quick = await dispatched(c.api, a, category="garbage")
    await step(c.api, a, "firm", "startCase", id=quick["id"])
    c.at(MONDAY_10 + timedelta(minutes=5))
    done = await step(c.api, a, "firm", "resolveCase", id=quick["id"], resolution="已清运")
    assert done["closureFlagged"] is True and done["timeline"][-1]["action"] == "resolve"
    flagged = "{ cases(closureFlagged: true) { totalCount nodes { id closureFlagged } } }"
    listed = (await c.api.gql(a, "grid1", flagged))["data"]["cases"]
    assert [n["id"] for n in listed["nodes"]] == [quick["id"]]
    assert (await c.api.gql(fresh.b, "admin", flagged))["data"]["cases"]["totalCount"] == 0
    # after the tenant's minimum (30 minutes) it is not flagged
    slow = await dispatched(c.api, a, category="garbage")
    await step(c.api, a, "firm", "startCase", id=slow["id"])
    c.at(MONDAY_10 + timedelta(minutes=45))
    assert (await step(c.api, a, "firm", "resolveCase", id=slow["id"], resolution="已清运"))["closureFlagged"] is False
    # the reporter's "not solved" reopens it, counted, back to 派遣
    reopened = await step(c.api, a, "resident", "giveCaseFeedback", id=slow["id"], satisfied=False, comment="还有垃圾")
    assert (reopened["state"], reopened["reopenCount"]) == ("REOPENED", 1)
    assert reopened["currentStage"]["stage"] == "DISPATCH"
    # closing after the check settles the flag: the list is empty again
    await step(c.api, a, "grid1", "closeCase", id=quick["id"])
    assert (await c.api.gql(a, "grid1", flagged))["data"]["cases"]["totalCount"] == 0
