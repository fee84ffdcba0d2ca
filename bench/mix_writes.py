"""The portal mix's mutations (issue #21): the 15 writes portals send most, as the roles that send
them, each phase built from the earlier phases' answers, every answer checked (no GraphQL error, the
payload's ``errors`` empty, the object returned). Set-up writes (starting a case before it is
resolved, publishing activities to sign up for, awarding points to redeem) are not measured."""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.mix import Client, Stats, _fmt, body, check_payload, drive
from bench.mix_ops import MUTATIONS, TODAY, Fail

RESIDENTS = [f"yanquan.dongwan{i}" for i in range(1, 17)]  # owner households of 市政府东湾院
REPORTER = "yanquan.resident"  # 香樟雅苑, in the grid of yanquan.grid
ERR = "errors { code message field }"


def _key() -> str:
    return uuid.uuid4().hex


async def set_up(client: Client, found: dict[str, Any]) -> None:
    """Rows the demo lacks for some fields to answer with anything (before the queries are checked),
    written once: a closure rule (a photo for 公共设施损坏, not the category the mix reports in), a
    working-calendar override (元旦, a day before the windows the figures count) and a case review of
    the secretary's community (last month)."""
    admin, secretary = "yanquan.admin", "yanquan.secretary"
    if not (await client.gql(admin, "{ caseCategoryRules { category } }"))["caseCategoryRules"]:
        d = f"mutation R($input: SetCaseCategoryRuleInput!) {{ setCaseCategoryRule(input: $input) {{ {ERR} }} }}"
        check_payload("setCaseCategoryRule", await client.gql(
            admin, d, {"input": {"category": "facility", "requiresPhoto": True}}))
    year = TODAY.year  # as the calendarOverrides entries ask
    if not (await client.gql(admin, f"{{ calendarOverrides(year: {year}) {{ day }} }}"))["calendarOverrides"]:
        d = f"mutation C($input: SetCalendarOverrideInput!) {{ setCalendarOverride(input: $input) {{ {ERR} }} }}"
        check_payload("setCalendarOverride", await client.gql(
            admin, d, {"input": {"day": f"{year}-01-01", "workday": False, "note": "元旦"}}))
    reviews = await client.gql(secretary, "query R($a: ID!) { caseReviews(areaId: $a) { id } }",
                               {"a": found["community"]})
    if not reviews["caseReviews"]:
        end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
        d = f"mutation V($input: CreateCaseReviewInput!) {{ createCaseReview(input: $input) {{ {ERR} }} }}"
        check_payload("createCaseReview", await client.gql(secretary, d, {"input": {
            "areaId": found["community"], "periodStart": end.replace(day=1).isoformat(),
            "periodEnd": end.isoformat(), "summary": "上月事件按时办结率偏低，楼道照明类报修集中。",
            "decisions": "物业每周巡查楼道照明；网格员每月回访。"}}))


async def run_mutations(
    client: Client, pid: int, args: argparse.Namespace, found: dict[str, Any]
) -> list[dict[str, Any]]:
    # each phase's first `warm` requests unmeasured (bench.mix --mutation-warmup), then `args.mutations` measured
    # at each concurrency of --mutation-concurrency (a line each): every phase has n rows
    warm, each, concs = args.mutation_warmup, args.mutations, args.mutation_concurrency
    n = each * len(concs) + warm
    out: list[dict[str, Any]] = []
    compound, community = found["resident_compound"], found["resident_community"]
    now = datetime.now(UTC)
    cat = (await client.gql("yanquan.resident", "{ caseCategories { code } }"))["caseCategories"][0]["code"]
    residents = [r for r in RESIDENTS if r in client.tokens]
    persons = {r: (await client.gql(r, "{ me { person { id } } }"))["me"]["person"]["id"] for r in residents}

    async def phase(
        name: str, actor_of: Any, requests: list[tuple[str, bytes]], pick: str, kind: str = "mutation"
    ) -> list[Any]:
        if name not in MUTATIONS and kind == "mutation":
            raise Fail(f"{name} is not one of the mix's mutations")
        if len(requests) != n:
            raise Fail(f"{name}: {len(requests)} requests, not {n}")

        def check(d: Any) -> Any:
            return check_payload(name, d)[pick] if pick else check_payload(name, d)

        # the warm-up at the largest concurrency: the pool has grown to it before any line is measured (the first
        # phase's c8 line had paid 4 connections' start-up: reportCase's PostgreSQL 1.34–2.0 ms vs 0.9–1.5 at c4)
        answers = await drive(client, pid, Stats(name), requests[:warm], max(concs), None, check)
        for k, c in enumerate(concs):
            stats = Stats(name)
            part = requests[warm + k * each : warm + (k + 1) * each]
            answers += await drive(client, pid, stats, part, c, None, check)
            stats.rows = 1
            out.append(stats.line() | {"actor": actor_of, "kind": kind, "c": c})
            print(_fmt(out[-1]), flush=True)
        return answers

    # 1-5: a resident (of the grid leader's grid) reports, the grid leader accepts, dispatches (to the
    # community), starts (set-up) and resolves, the resident gives feedback.
    doc = (
        "mutation Report($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state dueAt "
        f"version }} {ERR} }} }}"
    )
    reqs = [
        (
            REPORTER,
            body(
                doc,
                {
                    "input": {
                        "areaId": found["reporter_building"],
                        "category": cat,
                        "title": f"楼道灯不亮 {i}",
                        "priority": "NORMAL",
                        "description": "三单元二楼楼道灯坏了，晚上很黑。",
                        "idempotencyKey": _key(),
                    }
                },
            ),
        )
        for i in range(n)
    ]
    cases = await phase("reportCase", REPORTER, reqs, "case")
    handler = "yanquan.grid"

    def transition(name: str, input_type: str, extra: dict[str, Any]) -> list[tuple[str, bytes]]:
        d = f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ case {{ id state version }} {ERR} }} }}"
        return [(handler, body(d, {"input": {"id": c["id"], **extra}})) for c in cases]

    await phase("acceptCase", handler, transition("acceptCase", "CaseTransitionInput", {"note": "已受理"}), "case")
    await phase(
        "dispatchCase",
        handler,
        transition(
            "dispatchCase",
            "DispatchCaseInput",
            {"handlerKind": "COMMUNITY", "communityId": found["community"], "note": "社区处理"},
        ),
        "case",
    )
    # set-up, not one of the 15, but measured as they are (on the driver since h-steps: resolvers.cases.steps_fast)
    await phase("startCase", handler, transition("startCase", "CaseTransitionInput", {}), "case", "set-up")
    await phase(
        "resolveCase", handler, transition("resolveCase", "ResolveCaseInput", {"resolution": "已更换灯泡。"}), "case"
    )
    d = (
        "mutation F($input: CaseFeedbackInput!) { giveCaseFeedback(input: $input) { case { id state satisfied } "
        f"{ERR} }} }}"
    )
    await phase(
        "giveCaseFeedback",
        REPORTER,
        [
            (
                REPORTER,
                body(d, {"input": {"id": c["id"], "satisfied": True, "comment": "很及时", "idempotencyKey": _key()}}),
            )
            for c in cases
        ],
        "case",
    )

    # 6: owner households cast (and recast) their ballot on an open vote of their compound.
    # set-up: a resident proposes a topic, the chair accepts it and puts it to a vote
    d = f"mutation T($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id }} {ERR} }} }}"
    topic = check_payload(
        "proposeTopic",
        await client.gql(
            "yanquan.dongwan1",
            d,
            {"input": {"areaId": compound, "title": "是否更换单元门禁", "description": "门禁老化。"}},
        ),
    )["topic"]["id"]
    d = f"mutation A($input: TopicTransitionInput!) {{ acceptTopic(input: $input) {{ {ERR} }} }}"
    check_payload("acceptTopic", await client.gql("yanquan.chair", d, {"input": {"id": topic}}))
    d = f"mutation O($input: OpenVoteInput!) {{ openVote(input: $input) {{ vote {{ id }} {ERR} }} }}"
    votes = [
        check_payload(
            "openVote",
            await client.gql(
                "yanquan.chair",
                d,
                {
                    "input": {
                        "topicId": topic,
                        "matter": "OTHER",
                        "question": "是否同意更换单元门禁？",
                        "closesAt": (now + timedelta(days=7)).isoformat(),
                    }
                },
            ),
        )["vote"]["id"]
    ]
    d = f"mutation B($input: CastBallotInput!) {{ castBallot(input: $input) {{ vote {{ id ballotsCast }} {ERR} }} }}"
    reqs = [
        (
            residents[i % len(residents)],
            body(d, {"input": {"voteId": votes[0], "choice": ("YES", "NO")[i % 2], "idempotencyKey": _key()}}),
        )
        for i in range(n)
    ]
    await phase("castBallot", "yanquan.dongwan*", reqs, "vote")

    # 7: the neighbour lead records a visit to a household of theirs.
    due = await client.gql(
        "yanquan.lead",
        f'{{ overdueVisits(asOf: "{now.date()}") {{ householdId }} visits(first: 20) {{ nodes {{ householdId }} }} }}',
    )
    households = sorted({v["householdId"] for v in due["overdueVisits"] + due["visits"]["nodes"]})
    if not households:
        raise Fail("recordVisit: the lead has no household")
    d = f"mutation V($input: RecordVisitInput!) {{ recordVisit(input: $input) {{ visit {{ id visitedAt }} {ERR} }} }}"
    reqs = [
        (
            "yanquan.lead",
            body(
                d,
                {
                    "input": {
                        "householdId": households[i % len(households)],
                        "kind": "ROUTINE",
                        "visitedAt": now.isoformat(),
                        "findings": "老人身体状况良好。",
                        "idempotencyKey": _key(),
                    }
                },
            ),
        )
        for i in range(n)
    ]
    await phase("recordVisit", "yanquan.lead", reqs, "visit")

    # 8-9: a resident posts a wish, the grid leader (of the resident's grid) claims it.
    d = f"mutation W($input: PostWishInput!) {{ postWish(input: $input) {{ wish {{ id state version }} {ERR} }} }}"
    me = (await client.gql(REPORTER, "{ me { person { id } } }"))["me"]["person"]["id"]
    reqs = [
        (
            REPORTER,
            body(d, {"input": {"personId": me, "title": f"希望有人帮忙修理自行车 {i}", "description": "车胎漏气。"}}),
        )
        for i in range(n)
    ]
    wishes = await phase("postWish", REPORTER, reqs, "wish")
    d = f"mutation C($input: WishTransitionInput!) {{ claimWish(input: $input) {{ wish {{ id state }} {ERR} }} }}"
    await phase(
        "claimWish", "yanquan.grid", [("yanquan.grid", body(d, {"input": {"id": w["id"]}})) for w in wishes], "wish"
    )

    # 10-11: residents sign up for activities of their compound (published in the set-up), then
    # check in.
    per = len(residents)
    acts = []
    d = "mutation P($input: PublishActivityInput!) { publishActivity(input: $input) { activity { id } " + ERR + " } }"
    for j in range((n + per - 1) // per):
        start = now + timedelta(days=7, hours=j)
        a = check_payload(
            "publishActivity",
            await client.gql(
                "yanquan.admin",
                d,
                {
                    "input": {
                        "title": f"楼道清洁 {j}",
                        "areaId": compound,
                        "place": "小区广场",
                        "startsAt": start.isoformat(),
                        "endsAt": (start + timedelta(hours=2)).isoformat(),
                        "capacity": per + 5,
                        "organiserKind": "COMMUNITY",
                        "description": "一起打扫楼道。",
                        "communityId": community,
                    }
                },
            ),
        )
        acts.append(a["activity"]["id"])
    d = (
        "mutation S($a: ID!, $k: String) { signUpForActivity(input: {activityId: $a, idempotencyKey: $k}) { "
        f"signup {{ id state }} {ERR} }} }}"
    )
    pairs = [(residents[i % per], acts[i // per]) for i in range(n)]
    signups = await phase(
        "signUpForActivity", "yanquan.dongwan*", [(r, body(d, {"a": a, "k": _key()})) for r, a in pairs], "signup"
    )
    d = f"mutation I($id: ID!) {{ checkInActivity(input: {{id: $id}}) {{ signup {{ id state checkedInAt }} {ERR} }} }}"
    await phase(
        "checkInActivity",
        "yanquan.dongwan*",
        [(r, body(d, {"id": s["id"]})) for s, (r, _a) in zip(signups, pairs, strict=True)],
        "signup",
    )

    # 12: residents request a reward (points awarded and the item stocked in the set-up).
    d = "mutation R($input: CreateRewardItemInput!) { createRewardItem(input: $input) { item { id } " + ERR + " } }"
    item = check_payload(
        "createRewardItem",
        await client.gql(
            "yanquan.admin",
            d,
            {"input": {"communityId": community, "name": f"环保购物袋 {_key()[:6]}", "points": 1, "stock": n + 10}},
        ),
    )["item"]["id"]
    d = "mutation A($input: AwardPointsInput!) { awardPoints(input: $input) { " + ERR + " } }"
    for r in residents:
        check_payload(
            "awardPoints",
            await client.gql(
                "yanquan.admin", d, {"input": {"personId": persons[r], "points": n, "reason": "志愿服务"}}
            ),
        )
    d = (
        "mutation Q($i: ID!, $k: String) { requestRedemption(input: {itemId: $i, idempotencyKey: $k}) { "
        "redemption { id state "
        f"points }} {ERR} }} }}"
    )
    await phase(
        "requestRedemption",
        "yanquan.dongwan*",
        [(residents[i % per], body(d, {"i": item, "k": _key()})) for i in range(n)],
        "redemption",
    )

    # 13-14: the owner committee chair publishes a notice; a resident proposes a topic.
    d = f"mutation N($input: PublishNoticeInput!) {{ publishNotice(input: $input) {{ notice {{ id }} {ERR} }} }}"
    await phase(
        "publishNotice",
        "yanquan.chair",
        [
            (
                "yanquan.chair",
                body(
                    d, {"input": {"areaId": compound, "title": f"停水通知 {i}", "body": "周六上午九点至十二点停水。"}}
                ),
            )
            for i in range(n)
        ],
        "notice",
    )
    d = f"mutation T($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id state }} {ERR} }} }}"
    await phase(
        "proposeTopic",
        "yanquan.dongwan1",
        [
            (
                "yanquan.dongwan1",
                body(
                    d,
                    {"input": {"areaId": compound, "title": f"增设充电桩 {i}", "description": "小区电动车越来越多。"}},
                ),
            )
            for i in range(n)
        ],
        "topic",
    )

    # 15: the party secretary marks the latest notifications (the dispatches above) read.
    inbox = await client.gql("yanquan.secretary", "{ notifications(unreadOnly: false, first: 20) { nodes { id } } }")
    ids = [x["id"] for x in inbox["notifications"]["nodes"]]
    if not ids:
        raise Fail("markNotificationsRead: the secretary has no notification")
    d = f"mutation K($ids: [ID!]!) {{ markNotificationsRead(input: {{ids: $ids}}) {{ marked {ERR} }} }}"
    await phase(
        "markNotificationsRead",
        "yanquan.secretary",
        [("yanquan.secretary", body(d, {"ids": ids[i % 4 :: 4]})) for i in range(n)],
        "",
    )
    return out
