"""The case steps on the driver (gongzhi/http/fast_writes.py, resolvers/cases/steps_fast.py; issue #21) answer and
write what the general path (strawberry, the ORM) does: for accept, dispatch (to a community), start, resolve and the
reporter's satisfied feedback, two cases brought to the same state get the step by each path, and both give the
same response bytes (the case's id and number aside) and the same rows — the case, its stages, its timeline, its
notifications, its audit entries with their field changes. Whatever the general path refuses (a wrong state, a
stale version, no reach or grant, invalid input, a retry) or the fast path leaves to it takes the general path
from the start, with its typed errors. Of concurrent steps on one case exactly one wins; a step the fast path
takes is three statements after BEGIN; the audit chain verifies after a mix of both."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import update

import resolvers.cases as case_service
from gongzhi.http.graphql import GraphQLEndpoint
from models import Case, CaseState
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant, count_statements, fetch_first
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.cases import area_gid
from tests.support.fast_paths import assert_generic_from_first, prepared_since
from tests.support.fast_steps import (
    INPUT,
    REPORT,
    case_id,
    clocked_tenant,
    doc,
    fast_taken,
    made,
    payload,
    post,
    rows,
)
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.world import TenantWorld, build_tenant

# What bench/mix_writes.py sends, and every case field the fast path answers itself.
ALL = ("__typename id number title description category priority state locationText latitude longitude "
       "onProblemWall reportedByMe handlerKind handlerName dueAt supervised resolution rejectReason satisfied "
       "feedbackComment reopenCount version reportedAt")


def doc_all(name: str) -> str:
    return (f"mutation($input: {INPUT[name]}!) {{ s: {name}(input: $input) {{ __typename errors {{ __typename field "
            f"code }} c: case {{ {ALL} }} }} }}")


@pytest.fixture(scope="module")
async def tenant(db: DbEnv, api: Api) -> AsyncIterator[TenantWorld]:
    async with clocked_tenant(db, api, "sf") as tw:
        yield tw


@contextmanager
def published(api: Api) -> Iterator[list[list[str]]]:
    """The events each request published once committed (as JSON), per request."""
    bus = api.client._transport.app.state.gongzhi.bus  # type: ignore[attr-defined]
    seen: list[list[str]] = []
    real = bus.after_commit

    def spy(events: list[dict[str, Any]]) -> None:
        seen.append([orjson.dumps(e, option=orjson.OPT_SORT_KEYS).decode() for e in events])
        real(events)

    bus.after_commit = spy
    try:
        yield seen
    finally:
        bus.after_commit = real


_ID = re.compile(r'"(?:id|number)":"[^"]*"')


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, name: str, document: str, data: dict[str, Any], *,
               supervised: bool = False) -> bool:
    """The step on two cases alike, one by each path: the same answer and the same rows; whether the fast path took
    it. ``data``'s "fresh" idempotency key is a new one per case."""
    a, b = await made(api, tw, name, supervised=supervised), await made(api, tw, name, supervised=supervised)

    def given(gid: str) -> dict[str, Any]:
        keyed = {"idempotencyKey": uuid.uuid4().hex} if data.get("idempotencyKey") == "fresh" else {}
        return {"id": gid, **data, **keyed}

    with fast_taken() as taken, published(api) as events:
        fast = await post(api, tw, user, document, given(a), fast=True)
        general = await post(api, tw, user, document, given(b), fast=False)
    assert _ID.sub("", fast.decode()) == _ID.sub("", general.decode()), (fast.decode(), general.decode())
    for body, gid in ((fast, a), (general, b)):  # the ids masked above: each the case's own
        answered = payload(body).get("case") or payload(body).get("c")
        assert answered is None or answered.get("id", gid) == gid
    # the events for subscribers (pg_notify's payloads): the same, of each case
    assert [e.replace(str(case_id(a)), "C") for e in events[0]] == [e.replace(str(case_id(b)), "C")
                                                                    for e in events[1]], events
    ra, rb = await rows(db, tw, a), await rows(db, tw, b)
    assert ra == rb
    return taken == [True]


async def test_accept(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    assert await both(api, db, tw, "grid1", "acceptCase", doc("acceptCase"), {"note": "已受理"})
    assert await both(api, db, tw, "admin", "acceptCase", doc_all("acceptCase"), {"expectedVersion": 1})
    assert await both(api, db, tw, "secretary", "acceptCase", doc("acceptCase", "id number state dueAt"), {})


async def test_dispatch(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    community = {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C1")}
    assert await both(api, db, tw, "grid1", "dispatchCase", doc("dispatchCase"), {**community, "note": "社区处理"})
    assert await both(api, db, tw, "admin", "dispatchCase", doc_all("dispatchCase"), {**community,
                                                                                      "expectedVersion": 2})


async def test_start(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    assert await both(api, db, tw, "grid1", "startCase", doc("startCase"), {})
    # supervised: the supervisor hears of it (the reporter does not)
    assert await both(api, db, tw, "grid1", "startCase", doc_all("startCase"), {"note": "开始办理"}, supervised=True)
    assert await both(api, db, tw, "admin", "startCase", doc("startCase"), {"expectedVersion": 3})


async def test_resolve(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    assert await both(api, db, tw, "grid1", "resolveCase", doc("resolveCase"), {"resolution": "已更换灯泡。"})
    # supervised: the supervisor hears of it too
    assert await both(api, db, tw, "grid1", "resolveCase", doc_all("resolveCase"), {"resolution": "已清运"},
                      supervised=True)


async def test_feedback(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    feedback = doc("giveCaseFeedback", "id state satisfied")
    assert await both(api, db, tw, "resident", "giveCaseFeedback", feedback,
                      {"satisfied": True, "comment": "很及时", "idempotencyKey": "fresh"})
    assert await both(api, db, tw, "resident", "giveCaseFeedback", doc_all("giveCaseFeedback"), {"satisfied": True})


async def test_refusals_and_others_take_the_general_path(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """Each with both paths on two cases alike: the same typed errors (or answer) and rows; the fast path took none."""
    tw = tenant
    community = {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C1")}
    for user, name, data in (
        ("grid1", "acceptCase", {"expectedVersion": 7}),  # stale: CONFLICT
        ("grid2", "acceptCase", {}),  # out of reach
        ("resident", "acceptCase", {}),  # no grant
        ("grid1", "acceptCase", {"note": "长" * 1001}),  # invalid note
        ("grid1", "dispatchCase", {**community, "note": "x"}),  # wrong state: INVALID_TRANSITION
        ("grid1", "resolveCase", {"resolution": "早了"}),  # wrong state
        ("grid1", "startCase", {}),  # wrong state
        ("grid1", "giveCaseFeedback", {"satisfied": True}),  # wrong state, not the reporter
    ):
        # on a case just reported
        assert not await both(api, db, tw, user, "acceptCase", doc(name), data), (user, name, data)
    for user, name, data in (
        ("grid1", "dispatchCase", {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C2")}),  # not its own
        ("grid1", "dispatchCase", {"handlerKind": "PROPERTY_FIRM",
                                   "firmId": encode_global_id("PropertyFirm", tw.firms["F1"])}),  # another kind
        ("grid1", "dispatchCase", {**community, "expectedVersion": 1}),  # stale
        ("grid1", "startCase", {"note": "长" * 1001}),  # invalid note
        ("grid1", "startCase", {"expectedVersion": 2}),  # stale
        ("grid1", "resolveCase", {"resolution": "  "}),  # empty
        ("grid1", "resolveCase", {"resolution": "x", "photoIds": [encode_global_id("Attachment", uuid.uuid4())]}),
        ("resident", "giveCaseFeedback", {"satisfied": False, "comment": "没修好"}),  # reopens: the general path
        ("resident", "giveCaseFeedback", {"satisfied": False}),  # INVALID: say what is wrong
        ("grid1", "giveCaseFeedback", {"satisfied": True}),  # not the reporter
        ("resident", "giveCaseFeedback", {"satisfied": True, "idempotencyKey": "k" * 65}),
    ):
        assert not await both(api, db, tw, user, name, doc(name), data), (user, name, data)
    # not a case id, another type's id
    for bad in ("not-an-id", encode_global_id("Case", uuid.uuid4())):
        with fast_taken() as taken:
            fast = await post(api, tw, "grid1", doc("acceptCase"), {"id": bad}, fast=True)
        assert fast == await post(api, tw, "grid1", doc("acceptCase"), {"id": bad}, fast=False)
        assert payload(fast)["errors"] and True not in taken


async def test_a_retry_answers_the_general_paths_way(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    gid = await made(api, tw, "giveCaseFeedback")
    data = {"id": gid, "satisfied": True, "comment": "好", "idempotencyKey": uuid.uuid4().hex}
    document = doc("giveCaseFeedback", "id state satisfied version")
    with fast_taken() as taken:
        first = await post(api, tw, "resident", document, data, fast=True)
        again = await post(api, tw, "resident", document, data, fast=True)
    assert taken == [True, False]
    assert first == again == await post(api, tw, "resident", document, data, fast=False)


async def test_documents_not_recognised_take_the_general_path(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    for document in (
        "fragment C on Case { id state } mutation($input: CaseTransitionInput!) { acceptCase(input: $input) "
        "{ case { ...C } errors { code } } }",
        "mutation($input: CaseTransitionInput!) { acceptCase(input: $input) { case { id categoryName stages "
        "{ stage } } errors { code } } }",
    ):
        gid = await made(api, tw, "acceptCase")
        with fast_taken() as taken:
            body = await post(api, tw, "grid1", document, {"id": gid}, fast=True)
        assert taken == [] and payload(body)["errors"] == []


async def test_concurrent_steps_on_one_case_one_wins(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """Four accepts of one case at once, every one checked before any writes: one is written, the three others meet
    the UPDATE that updated nothing, are rolled back and answered by the general path (the case is accepted)."""
    tw = tenant
    gid = await made(api, tw, "acceptCase")
    barrier = asyncio.Barrier(4)
    with fast_taken() as taken:
        spy = case_service.prepare_step

        async def checked_together(*args: Any, **kw: Any) -> Any:
            out = await spy(*args, **kw)
            await asyncio.wait_for(barrier.wait(), 30)
            return out

        case_service.prepare_step = checked_together  # type: ignore[assignment]
        bodies = await asyncio.gather(*(post(api, tw, user, doc("acceptCase"), {"id": gid}, fast=True)
                                        for user in ("grid1", "admin", "secretary", "grid1")))
    assert taken == [True] * 4
    answers = [payload(b) for b in bodies]
    won = [a for a in answers if not a["errors"]]
    assert len(won) == 1 and won[0]["case"]["version"] == 2, answers
    assert sorted(a["errors"][0]["code"] for a in answers if a["errors"]) == ["INVALID_TRANSITION"] * 3, answers
    got = await rows(db, tw, gid)
    assert [e["action"] for e in got["events"]] == ["report", "accept"]
    assert [(s["stage"], s["completed_at"] is None) for s in got["stages"]] == [("accept", False), ("dispatch", True)]
    assert [(a["action"], a["detail"]["outcome"]) for a in got["audit"]].count(("acceptCase", "ok")) == 1
    assert len(got["notifications"]) == 1


async def test_three_statements_and_the_chain_verifies(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    tw = tenant
    for name, user, data in (("acceptCase", "grid1", {}),
                             ("dispatchCase", "grid1", {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C1")}),
                             ("startCase", "grid1", {}),
                             ("resolveCase", "grid1", {"resolution": "好了"}),
                             ("giveCaseFeedback", "resident", {"satisfied": True})):
        a, b = await made(api, tw, name), await made(api, tw, name)
        with count_statements() as fast:
            await post(api, tw, user, doc(name), {"id": a, **data}, fast=True)
        with count_statements() as general:
            await post(api, tw, user, doc(name), {"id": b, **data}, fast=False)
        assert len(fast) == 3, (name, fast)
        assert len(general) > len(fast), (name, general)
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_a_case_moved_after_the_checks_is_not_written(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """Another writer moves the case between the step's checks and its write, leaving no timeline entry to collide
    with: the case's UPDATE updates nothing, so the timeline entry's seq is NULL and the whole write is refused;
    the general path answers (INVALID_TRANSITION) and nothing of the fast path's rows is there."""
    tw = tenant
    gid = await made(api, tw, "acceptCase")
    real = case_service.prepare_step

    async def moved_meanwhile(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            await s.execute(update(Case).where(Case.id == case_id(gid))
                            .values(state=CaseState.ACCEPTED, version=Case.version + 1))
            await s.commit()
        return out

    case_service.prepare_step = moved_meanwhile  # type: ignore[assignment]
    try:
        body = payload(await post(api, tw, "grid1", doc("acceptCase"), {"id": gid}, fast=True))
    finally:
        case_service.prepare_step = real  # type: ignore[assignment]
    assert [e["code"] for e in body["errors"]] == ["INVALID_TRANSITION"], body
    got = await rows(db, tw, gid)
    assert [e["action"] for e in got["events"]] == ["report"]
    assert [s["stage"] for s in got["stages"]] == ["accept"] and got["notifications"] == []
    assert [a["action"] for a in got["audit"]] == ["reportCase"]  # the refusal's entry names no row


_PLANS = ("SELECT current_setting('plan_cache_mode'), coalesce(sum(custom_plans), 0)::int, "
          "coalesce(sum(generic_plans), 0)::int FROM pg_prepared_statements "
          "WHERE statement LIKE '%open_seq%' AND statement NOT LIKE '%pg_prepared_statements%' AND prepare_time >= $1")


async def test_the_report_and_the_steps_run_generic_plans_from_the_first(api: Api, db: DbEnv,
                                                                         tenant: TenantWorld) -> None:
    """The report's and the steps' statements run on their generic plans from their first run on a connection
    (``AppState.open_context(generic_plans=True)``): PostgreSQL's first five runs of a prepared statement per
    connection are planned for their values, ≈ 1.5 ms for a step's check against its ≈ 0.3 ms run, and the pool
    hands its connections out in turn (bench/RESULTS.md, h-step). Asked inside the request's transaction, on
    connections the pool has just opened: the transaction's plan_cache_mode, and the custom and generic plans
    the step's check (its text labels ``open_seq``) has had on that connection."""
    tw = tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    seen: list[tuple[str, Any]] = []
    real_step, real_report = case_service.prepare_step, case_service.prepare_report

    async def step(ctx: Any, data: Any) -> Any:
        out = await real_step(ctx, data)
        seen.append((data.field, tuple(await fetch_first(ctx.db.session, _PLANS, since))))
        return out

    async def report(ctx: Any, data: Any) -> Any:
        out = await real_report(ctx, data)
        seen.append(("reportCase", (await fetch_first(ctx.db.session, _PLANS, since))[0]))
        return out

    steps = (("acceptCase", "grid1", {}),
             ("dispatchCase", "grid1", {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C1")}),
             ("resolveCase", "grid1", {"resolution": "好了"}),
             ("giveCaseFeedback", "resident", {"satisfied": True}))
    made_ = [await made(api, tw, name) for name, _u, _d in steps]
    await state.engine.dispose()  # new connections: no statement prepared on them yet
    since = prepared_since()  # (through pgbouncer: earlier tests' statements stay on its server connections)
    case_service.prepare_step, case_service.prepare_report = step, report  # type: ignore[assignment]
    try:
        with fast_taken() as taken:
            for gid, (name, user, data) in zip(made_, steps, strict=True):
                assert payload(await post(api, tw, user, doc(name), {"id": gid, **data}, fast=True))["errors"] == []
        await post(api, tw, "resident", REPORT, {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                 "title": "垃圾未清运", "idempotencyKey": uuid.uuid4().hex}, fast=True)
    finally:
        case_service.prepare_step, case_service.prepare_report = real_step, real_report  # type: ignore[assignment]
    assert taken == [True] * 4
    assert [name for name, _p in seen[:4]] == [name for name, _u, _d in steps], seen
    for _name, plans in seen[:4]:
        assert_generic_from_first(db, [plans])
    assert seen[4:] == [("reportCase", "auto" if db.through_pgbouncer or citus.ENABLED else "force_generic_plan")], seen


async def test_on_citus_the_report_and_the_steps_take_the_general_path(api: Api, db: DbEnv) -> None:
    """On a Citus coordinator the driver's one-statement report and steps are refused ("subqueries are not supported
    within INSERT queries"; their checks on a forced generic plan: "could not create distributed plan"), so every
    one would answer INTERNAL: there the driver path is not tried (gongzhi/http/graphql.py) and the general path
    writes them — the report and each step answered without an error, none prepared on the driver, the case where
    the steps took it."""
    if not citus.ENABLED:
        pytest.skip("a Citus coordinator only (scripts/citus-cluster.sh test); elsewhere the tests above compare")
    tw = await build_tenant(db.sessionmaker, new_slug("sc"))
    tried: list[str] = []
    real = GraphQLEndpoint._write_on_driver

    async def spied(self: Any, *args: Any, **kw: Any) -> Any:
        tried.append("driver")
        return await real(self, *args, **kw)

    GraphQLEndpoint._write_on_driver = spied  # type: ignore[method-assign]
    try:
        with fast_taken() as taken:
            for _ in range(2):  # the second after the tenant's calendar is kept: where the driver would take it
                gid = payload(await post(api, tw, "resident", REPORT, {
                    "areaId": area_gid(tw, "B1"), "category": "garbage", "title": "垃圾未清运",
                    "idempotencyKey": uuid.uuid4().hex}, fast=True))["case"]["id"]
            for user, name, data in (("grid1", "acceptCase", {}),
                                     ("grid1", "dispatchCase", {"handlerKind": "COMMUNITY",
                                                                "communityId": area_gid(tw, "C1")})):
                got = payload(await post(api, tw, user, doc(name), {"id": gid, **data}, fast=True))
                assert got["errors"] == [], (name, got)
    finally:
        GraphQLEndpoint._write_on_driver = real  # type: ignore[method-assign]
    assert tried == [] and taken == []
    assert got["case"]["state"] == "DISPATCHED", got
