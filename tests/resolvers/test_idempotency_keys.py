"""Idempotency keys (issue #26) for the mutations portals retry most: giveCaseFeedback, castBallot,
signUpForActivity, requestRedemption, recordVisit. For each: a retry with the same key by the same
user answers with the first result and writes nothing (one row carries the key); retries sent at
once (asyncio.gather) make one row and all answer alike; the key with other input is
IDEMPOTENCY_KEY_REUSED and changes nothing. Without a key the same second request is refused as it
always was — that is what a lost response made portals show before.

Concurrent retries: on PostgreSQL every attempt answers with the one row. SQLite (one process, for
development) refuses a read transaction that turns into a write while another writes ("database
is locked", as tests/volunteering/test_points_concurrency.py notes): there the losers fail — masked,
INTERNAL — and still exactly one row is written; a retry after that answers as above."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from models import ActivitySignup, Case, CaseEvent, Redemption, Visit, VoteElector
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.cases import call, case_uuid, failed, ok, resolved_case
from tests.support.deliberation import CLOSE, open_vote, topic_in
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import AWARD, CREATE_ITEM, area, person, raw, run
from tests.support.world import TenantWorld

REUSED = "IDEMPOTENCY_KEY_REUSED"


async def _count(db: DbEnv, tw: TenantWorld, model: Any, *where: Any) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def _reused(payload: dict[str, Any]) -> None:
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(REUSED, "idempotencyKey")], payload


async def _at_once(api: Api, db: DbEnv, tw: TenantWorld, user: str, doc: str, variables: dict[str, Any],
                   n: int = 5) -> list[dict[str, Any]]:
    """The same mutation sent ``n`` times at once; the payloads of the attempts that answered."""
    bodies = await asyncio.gather(*(api.gql(tw, user, doc, variables, allow_errors=True) for _ in range(n)))
    if not db.is_pg:
        # SQLite's one writer: a concurrent attempt that could not write is SERVICE_UNAVAILABLE (503,
        # retry with the same key), never a masked INTERNAL (issue #26).
        assert all(b["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE" for b in bodies if "errors" in b), \
            bodies
        bodies = [b for b in bodies if "errors" not in b]
    assert len(bodies) == (n if db.is_pg else len(bodies)) and bodies, bodies
    payloads = [next(iter(b["data"].values())) for b in bodies]
    assert [p["errors"] for p in payloads] == [[]] * len(payloads), payloads
    return payloads


# ---------------------------------------------------------------- giveCaseFeedback

FEEDBACK = ("mutation($i: CaseFeedbackInput!) { giveCaseFeedback(input: $i) { case { id state } "
            "errors { code field } } }")


async def test_case_feedback(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    case = await resolved_case(api, tw)

    async def feedback(key: str | None, satisfied: bool = True, comment: str | None = None,
                       case_id: str = case["id"]) -> dict[str, Any]:
        return await call(api, tw, "resident", "giveCaseFeedback", id=case_id, satisfied=satisfied, comment=comment,
                          idempotencyKey=key)

    first = ok(await feedback("fb-1"))
    assert first["state"] == "CLOSED"
    again = ok(await feedback("fb-1"))
    assert (again["id"], again["state"], again["version"]) == (first["id"], "CLOSED", first["version"])
    failed(await feedback(None), "INVALID_TRANSITION")  # without the key, a retry is refused
    assert await _count(db, tw, CaseEvent, CaseEvent.idempotency_key == "fb-1") == 1
    assert await _count(db, tw, CaseEvent, CaseEvent.case_id == case_uuid(case["id"]),
                        CaseEvent.action == "feedback") == 1

    _reused(await feedback("fb-1", satisfied=False, comment="还是漏水"))  # the key with another verdict
    other = await resolved_case(api, tw)
    _reused(await feedback("fb-1", case_id=other["id"]))  # the key on another case
    assert ok(await feedback("fb-2", case_id=other["id"], satisfied=False, comment="还是漏水"))["state"] == "REOPENED"

    third = await resolved_case(api, tw)
    results = await _at_once(api, db, tw, "resident", FEEDBACK,
                             {"i": {"id": third["id"], "satisfied": True, "idempotencyKey": "fb-3"}})
    assert {(r["case"]["id"], r["case"]["state"]) for r in results} == {(third["id"], "CLOSED")}
    assert ok(await feedback("fb-3", case_id=third["id"]))["state"] == "CLOSED"
    assert await _count(db, tw, CaseEvent, CaseEvent.idempotency_key == "fb-3") == 1
    assert await _count(db, tw, CaseEvent, CaseEvent.case_id == case_uuid(third["id"]),
                        CaseEvent.action == "feedback") == 1


# ---------------------------------------------------------------- castBallot

CAST = ("mutation($i: CastBallotInput!) { castBallot(input: $i) { vote { id state ballotsCast myBallot { choice } } "
        "errors { code field } } }")


async def test_cast_ballot(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    vid = await open_vote(api, tw, await topic_in(api, tw), matter="OTHER")

    async def cast(key: str | None, choice: str = "YES", vote: str = vid) -> dict[str, Any]:
        return await run(api, tw, "resident", CAST, {"i": {"voteId": vote, "choice": choice, "idempotencyKey": key}})

    first = await cast("b-1")
    assert first["errors"] == [] and first["vote"]["myBallot"] == {"choice": "YES"}
    again = await cast("b-1")
    assert again == first
    assert await _count(db, tw, VoteElector, VoteElector.idempotency_key == "b-1") == 1

    _reused(await cast("b-1", choice="NO"))
    assert (await cast("b-1"))["vote"]["myBallot"] == {"choice": "YES"}  # unchanged by the refused one
    # The vote closes; a late retry of the cast still gets its answer, a new cast is refused.
    closed = await run(api, tw, "chair", CLOSE, {"i": {"id": vid}})
    assert closed["errors"] == []
    late = await cast("b-1")
    assert late["errors"] == [] and late["vote"]["state"] == "CLOSED" and late["vote"]["myBallot"] == {"choice": "YES"}
    assert _codes(await cast("b-new")) == ["INVALID_TRANSITION"]

    vid2 = await open_vote(api, tw, await topic_in(api, tw), matter="OTHER")
    _reused(await cast("b-1", vote=vid2))  # the key on another vote
    results = await _at_once(api, db, tw, "resident", CAST,
                             {"i": {"voteId": vid2, "choice": "NO", "idempotencyKey": "b-2"}})
    assert {r["vote"]["myBallot"]["choice"] for r in results} == {"NO"}
    assert (await cast("b-2", choice="NO", vote=vid2))["vote"]["ballotsCast"] == 1
    assert await _count(db, tw, VoteElector, VoteElector.idempotency_key == "b-2") == 1
    assert await _count(db, tw, VoteElector, VoteElector.vote_id == raw(vid2), VoteElector.choice.is_not(None)) == 1

    # A later cast without a key is the ballot's new state: the old key no longer names it.
    vid3 = await open_vote(api, tw, await topic_in(api, tw), matter="OTHER")
    assert (await cast("b-3", vote=vid3))["errors"] == []
    assert (await cast(None, choice="NO", vote=vid3))["vote"]["myBallot"] == {"choice": "NO"}
    assert await _count(db, tw, VoteElector, VoteElector.idempotency_key == "b-3") == 0


# ---------------------------------------------------------------- signUpForActivity

PUBLISH = """mutation($in: PublishActivityInput!) { publishActivity(input: $in) { activity { id } errors { code } } }"""
SIGN_UP = """mutation($a: ID!, $k: String) { signUpForActivity(activityId: $a, idempotencyKey: $k) {
  signup { id state activity { signedUp } } errors { code field } } }"""


async def _activity(api: Api, tw: TenantWorld, title: str) -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH, {"in": {
        "title": title, "areaId": area(tw, "P1", "Compound"), "place": "幸福小区1栋", "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10, "organiserKind": "COMMUNITY",
        "communityId": area(tw, "C1", "Community")}})
    assert p["errors"] == [], p
    return str(p["activity"]["id"])


async def test_sign_up_for_activity(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    act = await _activity(api, tw, "楼道清洁")

    async def sign_up(key: str | None, activity: str = act) -> dict[str, Any]:
        return await run(api, tw, "resident", SIGN_UP, {"a": activity, "k": key})

    first = await sign_up("s-1")
    assert first["errors"] == [] and first["signup"]["activity"]["signedUp"] == 1
    again = await sign_up("s-1")
    assert again == first
    assert _codes(await sign_up(None)) == ["CONFLICT"]  # without the key: "already signed up"
    assert await _count(db, tw, ActivitySignup, ActivitySignup.idempotency_key == "s-1") == 1

    other = await _activity(api, tw, "义诊")
    _reused(await sign_up("s-1", activity=other))
    assert await _count(db, tw, ActivitySignup, ActivitySignup.activity_id == raw(other)) == 0

    results = await _at_once(api, db, tw, "resident", SIGN_UP, {"a": other, "k": "s-2"})
    assert len({r["signup"]["id"] for r in results}) == 1
    assert await _count(db, tw, ActivitySignup, ActivitySignup.idempotency_key == "s-2") == 1
    assert (await sign_up("s-2", activity=other))["signup"]["activity"]["signedUp"] == 1  # one place taken


# ---------------------------------------------------------------- requestRedemption

REQUEST = """mutation($i: ID!, $k: String) { requestRedemption(itemId: $i, idempotencyKey: $k) {
  redemption { id state points } errors { code field } } }"""


async def test_request_redemption(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    items = [(await run(api, tw, "admin", CREATE_ITEM,
                        {"c": area(tw, "C1", "Community"), "n": name, "p": 30, "s": 10}))["item"]["id"]
             for name in ("毛巾", "雨伞")]
    await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 100, "r": "seed"})

    async def request(key: str | None, item: str = items[0]) -> dict[str, Any]:
        return await run(api, tw, "resident", REQUEST, {"i": item, "k": key})

    first = await request("r-1")
    assert first["errors"] == [] and first["redemption"]["state"] == "REQUESTED"
    assert await request("r-1") == first
    assert await _count(db, tw, Redemption, Redemption.idempotency_key == "r-1") == 1
    assert await _count(db, tw, Redemption) == 1

    _reused(await request("r-1", item=items[1]))
    assert await _count(db, tw, Redemption) == 1

    results = await _at_once(api, db, tw, "resident", REQUEST, {"i": items[1], "k": "r-2"})
    assert len({r["redemption"]["id"] for r in results}) == 1
    assert (await request("r-2", item=items[1]))["redemption"]["id"] == results[0]["redemption"]["id"]
    assert await _count(db, tw, Redemption, Redemption.idempotency_key == "r-2") == 1
    assert await _count(db, tw, Redemption) == 2


# ---------------------------------------------------------------- recordVisit

VISIT = """mutation($i: RecordVisitInput!) { recordVisit(input: $i) {
  visit { id visitedAt case { id title } } errors { code field } } }"""


async def test_record_visit(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    hh = encode_global_id("Household", tw.households["H1"])

    def visit_input(key: str | None, findings: str = "身体尚可", raise_case: bool = False) -> dict[str, Any]:
        i: dict[str, Any] = {"householdId": hh, "kind": "ROUTINE", "visitedAt": "2026-11-01T10:00:00+08:00",
                             "findings": findings, "idempotencyKey": key}
        if raise_case:
            i["raiseCase"] = {"category": "drainage", "title": f"走访发现漏水 {key}"}
        return {"i": i}

    async def visit(key: str | None, **kw: Any) -> dict[str, Any]:
        return await run(api, tw, "grid1", VISIT, visit_input(key, **kw))

    def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        at = [datetime.fromisoformat(x["visit"]["visitedAt"]) for x in (a, b)]
        return a["errors"] == b["errors"] == [] and a["visit"]["id"] == b["visit"]["id"] and at[0] == at[1]

    first = await visit("v-1")
    assert first["errors"] == []
    assert same(await visit("v-1"), first)
    assert same(await visit("v-1", findings="  身体尚可 "), first)  # the same text, as the checks store it
    assert await _count(db, tw, Visit, Visit.idempotency_key == "v-1") == 1
    _reused(await visit("v-1", findings="独居，需要关注"))
    _reused(await visit("v-1", raise_case=True))
    assert await _count(db, tw, Visit) == 1

    # A visit that raises a case, retried at once: one visit, one case.
    results = await _at_once(api, db, tw, "grid1", VISIT, visit_input("v-2", raise_case=True))
    assert len({(r["visit"]["id"], r["visit"]["case"]["id"]) for r in results}) == 1
    assert (await visit("v-2", raise_case=True))["visit"]["case"] == results[0]["visit"]["case"]
    assert await _count(db, tw, Visit, Visit.idempotency_key == "v-2") == 1
    assert await _count(db, tw, Case, Case.title == "走访发现漏水 v-2") == 1
