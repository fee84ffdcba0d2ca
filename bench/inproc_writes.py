"""The portal mix's non-case mutations for ``bench.inproc`` (issue #21), each as bench/mix_writes.py
sends it, as the same role. ``requests`` is how many measured requests will follow (plus the warm-up and
the ``--sql`` request): rows that one request consumes (a wish to claim, a sign-up to check in, an
activity to sign up for) are made first, unmeasured, one per request.

    python -m bench.inproc castBallot 300          # an owner re-casts a ballot (a new key each time)
    python -m bench.inproc recordVisit 300         # the neighbour lead records a visit (a new key each)
    python -m bench.inproc postWish 300            # a resident posts a wish
    python -m bench.inproc claimWish 300           # the grid leader claims a wish posted for it
    python -m bench.inproc signUpForActivity 300   # an owner signs up for an activity made for it
    python -m bench.inproc checkInActivity 300     # then checks in
    python -m bench.inproc requestRedemption 300   # an owner asks for a reward item (points awarded first)
    python -m bench.inproc proposeTopic 300        # an owner proposes a topic
    python -m bench.inproc castBallot 300 --actors 16   # 16 owners in turn (castBallot, signUpForActivity,
                                                        # checkInActivity, requestRedemption), as bench.mix
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

ERR = "errors { code message field }"
OWNER = "yanquan.dongwan1"
OWNERS = [f"yanquan.dongwan{i}" for i in range(1, 17)]  # bench/mix_writes.py RESIDENTS
NAMES = ("castBallot", "recordVisit", "postWish", "claimWish", "signUpForActivity", "checkInActivity",
         "requestRedemption", "proposeTopic")
Call = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
Request = tuple[str, str, dict[str, Any]]


def _key() -> str:
    return uuid.uuid4().hex


def _ok(name: str, d: dict[str, Any]) -> dict[str, Any]:
    if d.get(name) is None or d[name].get("errors"):
        raise SystemExit(f"{name}: {d}")
    return d[name]  # type: ignore[no-any-return]


class Pool:
    """Requests made in advance, one per measured request (``make`` takes the next)."""

    def __init__(self, requests: list[Request]) -> None:
        self.requests = requests
        self.i = 0

    def make(self) -> Request:
        r = self.requests[self.i]
        self.i += 1
        return r


async def operation(name: str, requests: int, call: Call, value: Callable[[Any], Awaitable[Any]],
                    ref: Callable[[str], Any], actors: int = 1) -> Callable[[], Request]:
    total = requests + max(20, requests // 10) + 1  # measured, warm-up, --sql
    owners = OWNERS[:max(1, actors)]

    def owner(i: int) -> str:
        return owners[i % len(owners)]
    now = datetime.now(UTC)
    compound = await value(ref("resident_compound"))
    community = await value(ref("resident_community"))
    if name == "castBallot":
        d = f"mutation T($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id }} {ERR} }} }}"
        topic = _ok("proposeTopic", await call(OWNER, d, {"input": {
            "areaId": compound, "title": "是否更换单元门禁", "description": "门禁老化。"}}))["topic"]["id"]
        d = f"mutation A($input: TopicTransitionInput!) {{ acceptTopic(input: $input) {{ {ERR} }} }}"
        _ok("acceptTopic", await call("yanquan.chair", d, {"input": {"id": topic}}))
        d = f"mutation O($input: OpenVoteInput!) {{ openVote(input: $input) {{ vote {{ id }} {ERR} }} }}"
        vote = _ok("openVote", await call("yanquan.chair", d, {"input": {
            "topicId": topic, "matter": "OTHER", "question": "是否同意更换单元门禁？",
            "closesAt": (now + timedelta(days=7)).isoformat()}}))["vote"]["id"]
        d = ("mutation B($input: CastBallotInput!) { castBallot(input: $input) { vote { id ballotsCast } "
             f"{ERR} }} }}")
        return Pool([(owner(i), d, {"input": {"voteId": vote, "choice": ("YES", "NO")[i % 2],
                                            "idempotencyKey": _key()}}) for i in range(total)]).make
    if name == "recordVisit":
        due = await call("yanquan.lead", f'{{ overdueVisits(asOf: "{now.date()}") {{ householdId }} '
                         "visits(first: 20) { nodes { householdId } } }", {})
        households = sorted({v["householdId"] for v in due["overdueVisits"] + due["visits"]["nodes"]})
        d = ("mutation V($input: RecordVisitInput!) { recordVisit(input: $input) { visit { id visitedAt } "
             f"{ERR} }} }}")
        return Pool([("yanquan.lead", d, {"input": {
            "householdId": households[i % len(households)], "kind": "ROUTINE", "visitedAt": now.isoformat(),
            "findings": "老人身体状况良好。", "idempotencyKey": _key()}}) for i in range(total)]).make
    if name in ("postWish", "claimWish"):
        reporter = "yanquan.resident"
        me = (await call(reporter, "{ me { person { id } } }", {}))["me"]["person"]["id"]
        d = f"mutation W($input: PostWishInput!) {{ postWish(input: $input) {{ wish {{ id state version }} {ERR} }} }}"
        posts = [(reporter, d, {"input": {"personId": me, "title": f"希望有人帮忙修理自行车 {i}",
                                          "description": "车胎漏气。"}}) for i in range(total)]
        if name == "postWish":
            return Pool(posts).make
        wishes = [_ok("postWish", await call(*p))["wish"]["id"] for p in posts]
        d = f"mutation C($input: WishTransitionInput!) {{ claimWish(input: $input) {{ wish {{ id state }} {ERR} }} }}"
        return Pool([("yanquan.grid", d, {"input": {"id": w}}) for w in wishes]).make
    if name in ("signUpForActivity", "checkInActivity"):
        d = ("mutation P($input: PublishActivityInput!) { publishActivity(input: $input) { activity { id } "
             + ERR + " } }")
        acts = []
        for j in range(total):
            start = now + timedelta(days=7, minutes=j)
            acts.append(_ok("publishActivity", await call("yanquan.admin", d, {"input": {
                "title": f"楼道清洁 {j}", "areaId": compound, "place": "小区广场", "startsAt": start.isoformat(),
                "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 5, "organiserKind": "COMMUNITY",
                "description": "一起打扫楼道。", "communityId": community}}))["activity"]["id"])
        d = ("mutation S($a: ID!, $k: String) { signUpForActivity(input: {activityId: $a, idempotencyKey: $k}) { "
             f"signup {{ id state }} {ERR} }} }}")
        signups = [(owner(i), d, {"a": a, "k": _key()}) for i, a in enumerate(acts)]
        if name == "signUpForActivity":
            return Pool(signups).make
        ids = [_ok("signUpForActivity", await call(*s))["signup"]["id"] for s in signups]
        d = ("mutation I($id: ID!) { checkInActivity(input: {id: $id}) { signup { id state checkedInAt } "
             f"{ERR} }} }}")
        return Pool([(owner(i), d, {"id": s}) for i, s in enumerate(ids)]).make
    if name == "requestRedemption":
        d = "mutation R($input: CreateRewardItemInput!) { createRewardItem(input: $input) { item { id } " + ERR + " } }"
        item = _ok("createRewardItem", await call("yanquan.admin", d, {"input": {
            "communityId": community, "name": f"环保购物袋 {_key()[:6]}", "points": 1,
            "stock": total + 10}}))["item"]["id"]
        d = "mutation A($input: AwardPointsInput!) { awardPoints(input: $input) { " + ERR + " } }"
        for who in owners:
            person = (await call(who, "{ me { person { id } } }", {}))["me"]["person"]["id"]
            _ok("awardPoints", await call("yanquan.admin", d, {"input": {
                "personId": person, "points": total, "reason": "志愿服务"}}))
        d = ("mutation Q($i: ID!, $k: String) { requestRedemption(input: {itemId: $i, idempotencyKey: $k}) { "
             f"redemption {{ id state points }} {ERR} }} }}")
        return Pool([(owner(i), d, {"i": item, "k": _key()}) for i in range(total)]).make
    if name == "proposeTopic":
        d = f"mutation T($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id state }} {ERR} }} }}"
        return Pool([(OWNER, d, {"input": {"areaId": compound, "title": f"增设充电桩 {i}",
                                           "description": "小区电动车越来越多。"}}) for i in range(total)]).make
    raise SystemExit(f"unknown operation {name}")
