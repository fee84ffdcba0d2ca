"""reportCase on the driver (gongzhi/http/fast_writes.py, resolvers/cases/report_fast.py; issue #21) answers
and writes what the general path (strawberry, the ORM) does: for every (user, area) of the report matrix,
valid and invalid input, another tenant's area, an idempotent retry and photos, both paths give the same
response bytes (the new case's id and number aside) and the same rows — the case, its 受理 stage, its
timeline entry, its audit entry — and the audit chain verifies after a mix of both. A report the fast path
takes is three statements after BEGIN (the first, the checks, the rows with the audit entry), and its event's
NOTIFY goes with its COMMIT, after it."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import Text, cast, select

import resolvers.cases as case_service
import tenants.session as ts
from gongzhi.bus import CHANNEL
from models import AuditEntry, Case, CaseEvent, CaseStage, Notification
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.cases.test_cases import REPORT_MATRIX
from tests.support.audit import seal_as_app, verify
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by, prepared_taken
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.round_trips import round_trips
from tests.support.world import TenantWorld, build_tenant

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # a Monday, 10:30 in Shanghai: working time
# What portals and the benchmarks send (docs/portals.md, bench/ops, bench/inproc.py), and every case field
# the fast path answers itself.
DOCS = (
    "mutation ReportCase($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state } "
    "errors { code message field } } }",
    "mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state dueAt version } "
    "errors { code message field } } }",
    "mutation ReportProblem($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state "
    "onProblemWall reportedAt } errors { code message field } } }",
    "mutation($input: ReportCaseInput!) { r: reportCase(input: $input) { __typename errors { __typename field code } "
    "c: case { __typename id number title description category priority state locationText latitude longitude "
    "onProblemWall reportedByMe dueAt supervised reopenCount version reportedAt } } }",
)
# Not recognised: a fragment, a field of the case that needs a loader.
OTHER_DOCS = (
    "fragment C on Case { id number state } mutation($input: ReportCaseInput!) { reportCase(input: $input) "
    "{ case { ...C } errors { code } } }",
    "mutation($input: ReportCaseInput!) { reportCase(input: $input) { case { id categoryName stages { stage } } "
    "errors { code } } }",
)


@pytest.fixture(scope="module")
async def tenant(db: DbEnv, api: Api) -> AsyncIterator[tuple[TenantWorld, TenantWorld]]:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every report takes the general path")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.clock = lambda: NOW
    try:
        tw = await build_tenant(db.sessionmaker, new_slug("rf"))
        # The tenant's first report in this process: the working calendar is not kept yet, so the general path
        # answers it (and keeps the calendar for the next).
        with fast_taken() as taken:
            await post(api, tw, "resident", DOCS[0], {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                      "title": "第一件"}, fast=True)
        assert taken == [False]
        yield tw, await build_tenant(db.sessionmaker, new_slug("rg"))
    finally:
        state.clock = lambda: datetime.now(UTC)


@contextmanager
def fast_taken() -> Iterator[list[bool]]:
    """Per report, whether the fast path answered it (prepared the rows)."""
    with prepared_taken((case_service, "prepare_report")) as taken:
        yield taken


async def post(api: Api, tw: TenantWorld, user: str, document: str, data: dict[str, Any], *, fast: bool) -> bytes:
    return await post_by(api, tw, user, document, {"input": data}, fast=fast)


_ID = re.compile(r'"(?:id|number)":"[^"]*"')


def case_of(body: bytes) -> uuid.UUID | None:
    data = orjson.loads(body)["data"]
    payload = next(iter(data.values()))
    case = payload.get("case") or payload.get("c")
    return None if case is None else decode_global_id(case["id"])[1]


async def rows(db: DbEnv, tw: TenantWorld, case_id: uuid.UUID) -> dict[str, Any]:
    """The rows a report wrote, without what differs per report by nature (ids, number, key, request id)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        case = (await s.execute(select(Case).where(Case.id == case_id))).scalar_one()
        stages = (await s.scalars(select(CaseStage).where(CaseStage.case_id == case_id))).all()
        events = (await s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))).all()
        named = cast(AuditEntry.object_ids, Text).contains(str(case_id))
        audit = (await s.scalars(select(AuditEntry).where(named))).all()
        notes = (await s.scalars(select(Notification).where(Notification.case_id == case_id))).all()

    def plain(obj: Any, *skip: str) -> dict[str, Any]:
        return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in ("id", *skip)}

    assert len(audit) == 1
    entry = plain(audit[0], "request_id")
    ids = {str(case_id): "C", str(stages[0].id): "S", str(events[0].id): "E"}
    text = orjson.dumps(entry["detail"]).decode()
    for k, v in ids.items():
        text = text.replace(k, v)
    entry["detail"] = orjson.loads(re.sub(r'"number","[^"]*"', '"number","N"', text)
                                   .replace(case.number, "N").replace(str(case.idempotency_key), "K"))
    entry["object_ids"] = [ids[i] for i in entry["object_ids"]]
    return {"case": plain(case, "number", "idempotency_key"),
            "stages": [plain(x, "case_id") for x in stages], "events": [plain(x, "case_id") for x in events],
            "audit": entry, "notifications": len(notes)}


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, doc: str, data: dict[str, Any]) -> bool:
    """The report by both paths (each with a key of its own when ``data``'s is "fresh"): the same answer and the
    same rows; whether the fast path took it."""
    keyed = data.get("idempotencyKey") == "fresh"
    with fast_taken() as taken:
        a = await post(api, tw, user, doc, {**data, **({"idempotencyKey": uuid.uuid4().hex} if keyed else {})},
                       fast=True)
    b = await post(api, tw, user, doc, {**data, **({"idempotencyKey": uuid.uuid4().hex} if keyed else {})},
                   fast=False)
    assert _ID.sub("", a.decode()) == _ID.sub("", b.decode()), (a.decode(), b.decode())
    ca, cb = case_of(a), case_of(b)
    assert (ca is None) == (cb is None)
    if ca is not None and cb is not None:
        assert await rows(db, tw, ca) == await rows(db, tw, cb)
    return bool(taken and taken[0])


async def test_every_user_and_area_of_the_matrix(api: Api, db: DbEnv, tenant: tuple[TenantWorld, TenantWorld]
                                                 ) -> None:
    tw, _ = tenant
    for i, (user, area, code) in enumerate(REPORT_MATRIX):
        doc = DOCS[i % len(DOCS)]
        fast = await both(api, db, tw, user, doc, {"areaId": area_gid(tw, area), "category": "garbage",
                                                   "title": f"{user} 在 {area} 上报", "idempotencyKey": "fresh"})
        assert fast == (code is None), (user, area)


async def test_inputs_valid_and_invalid(api: Api, db: DbEnv, tenant: tuple[TenantWorld, TenantWorld]) -> None:
    tw, other = tenant
    base = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "垃圾"}
    full = {**base, "category": "facility", "priority": "HIGH", "description": "1栋门口井盖丢失",
            "locationText": "1栋门口", "latitude": 32.9, "longitude": 117.4, "source": "WALK_IN"}
    taken = []
    for user, data in (
        ("resident", base), ("grid1", full), ("resident", {**full, "priority": "URGENT", "latitude": -90.0,
                                                             "longitude": 180.0}),
        ("resident", {**base, "description": "  ", "locationText": "  "}), ("admin", {**full, "priority": "LOW"}),
        ("resident", {**base, "category": "ufo"}), ("resident", {**base, "title": "长" * 101}),
        ("resident", {**base, "title": "  "}), ("resident", {**base, "latitude": 32.9}),
        ("resident", {**base, "latitude": 95.0, "longitude": 117.0}),
        ("resident", {**base, "category": "ufo", "title": "长" * 101, "latitude": 1.0}),
        ("resident", {**base, "idempotencyKey": "k" * 65}), ("resident", {**base, "description": "长" * 5001}),
        ("resident", {**base, "areaId": area_gid(other, "B1")}),  # another tenant's area: not found
        ("resident", {**base, "areaId": encode_global_id("Building", uuid.uuid4())}),
        ("resident", {**base, "areaId": "not-an-id"}),
        ("resident", {**base, "photoIds": [encode_global_id("Attachment", uuid.uuid4())]}),
        ("resident", {**base, "externalTicketNo": "bad ticket!"}),
    ):
        taken.append(await both(api, db, tw, user, DOCS[3], data))
    assert taken == [True] * 5 + [False] * 13


async def test_documents_not_recognised_take_the_general_path(api: Api, db: DbEnv,
                                                              tenant: tuple[TenantWorld, TenantWorld]) -> None:
    tw, _ = tenant
    for doc in OTHER_DOCS:
        with fast_taken() as taken:
            body = await post(api, tw, "resident", doc, {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                         "title": "井盖"}, fast=True)
        assert taken == [] and case_of(body) is not None


async def test_an_idempotent_retry_answers_the_same_case(api: Api, db: DbEnv,
                                                         tenant: tuple[TenantWorld, TenantWorld]) -> None:
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "重试", "idempotencyKey": uuid.uuid4().hex}
    with fast_taken() as taken:
        first = await post(api, tw, "resident", DOCS[1], data, fast=True)
        again = await post(api, tw, "resident", DOCS[1], {**data, "title": "改了"}, fast=True)
    general = await post(api, tw, "resident", DOCS[1], data, fast=False)
    assert taken == [True, False]  # the retry: the general path's answer, the first case
    assert first == again == general
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        assert len((await s.scalars(select(Case.id).where(Case.idempotency_key == data["idempotencyKey"]))).all()) == 1


async def test_three_statements_and_the_chain_verifies(api: Api, db: DbEnv,
                                                       tenant: tuple[TenantWorld, TenantWorld]) -> None:
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "计数"}
    await post(api, tw, "resident", DOCS[0], data, fast=True)  # the actor's checks rendered
    with count_statements() as fast:
        await post(api, tw, "resident", DOCS[0], data, fast=True)
    with count_statements() as general:
        await post(api, tw, "resident", DOCS[0], data, fast=False)
    assert len(fast) == 3, fast
    assert len(general) > len(fast), general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_three_round_trips(api: Api, db: DbEnv, tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """BEGIN with the first statement (tenants/begin.py), the checks, the rows with the audit entry and COMMIT
    (tenants/commit.py ``write_and_commit``; four on the base: the rows, then COMMIT) — once every pooled
    connection has the statements prepared; five through pgbouncer (BEGIN alone, COMMIT alone)."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "往返"}
    for _ in range(25):
        await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    with fast_taken() as taken, round_trips(db.engine) as trips:
        for _ in range(5):
            await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    assert taken == [True] * 5
    assert trips == [5 if db.through_pgbouncer else 3] * 5, trips


async def test_concurrent_retries_with_one_key_make_one_case(api: Api, db: DbEnv,
                                                             tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """A client sending the same report several times at once: the writes that meet the key's unique constraint
    are rolled back and answered by the general path, with the winner's case; one case, one stage, one entry."""
    tw, _ = tenant
    key = uuid.uuid4().hex
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "并发重试", "idempotencyKey": key}
    barrier = asyncio.Barrier(4)
    with fast_taken() as taken:
        spy = case_service.prepare_report

        async def checked_together(*args: Any, **kw: Any) -> Any:  # every request's checks before any write
            out = await spy(*args, **kw)
            await asyncio.wait_for(barrier.wait(), 30)
            return out

        case_service.prepare_report = checked_together  # type: ignore[assignment]
        bodies = await asyncio.gather(*(post(api, tw, "resident", DOCS[1], data, fast=True) for _ in range(4)))
    assert taken == [True] * 4  # all four checked and wrote: three met the key's constraint and were rolled back
    assert len(set(bodies)) == 1, bodies
    case_id = case_of(bodies[0])
    assert case_id is not None
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        assert (await s.scalars(select(Case.id).where(Case.idempotency_key == key))).all() == [case_id]
        assert len((await s.scalars(select(CaseStage.id).where(CaseStage.case_id == case_id))).all()) == 1
        assert len((await s.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id))).all()) == 1
        named = cast(AuditEntry.object_ids, Text).contains(str(case_id))
        assert len((await s.scalars(select(AuditEntry.id).where(named))).all()) == 1


@contextmanager
def sent_in_transactions() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Each statement a DriverTransaction sends, with its parameters (BEGIN, COMMIT and what rides with them aside)."""
    sent: list[tuple[str, tuple[Any, ...]]] = []
    real = ts._fetchrow

    async def spied(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
        sent.append((sql, args))
        return await real(connection, sql, args)

    ts._fetchrow = spied
    try:
        yield sent
    finally:
        ts._fetchrow = real


async def test_the_reports_event_goes_out_with_its_commit_not_in_it(api: Api, db: DbEnv,
                                                                    tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """The report's NOTIFY rides with its COMMIT, in a transaction of its own that runs only once the report
    committed (tenants.begin.commit_then; issue #21): no statement of the report's transaction notifies — a
    notifying transaction holds PostgreSQL's commit lock across its WAL flush, one report's fsync after another —
    and a listener on another connection hears the report's event once. Through pgbouncer (no statement cache)
    the NOTIFY stays in the transaction, as before."""
    tw, _ = tenant
    heard: list[str] = []
    listener = await asyncpg.connect("postgresql://" + db.app_url.split("://", 1)[1])
    try:
        await listener.add_listener(CHANNEL, lambda *a: heard.append(a[3]))
        data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "通知在提交之后"}
        for _ in range(3):  # the first on a pooled connection prepares the NOTIFY there; the others as at load
            with fast_taken() as taken, sent_in_transactions() as sent:
                body = await post(api, tw, "resident", DOCS[1], {**data, "idempotencyKey": uuid.uuid4().hex},
                                  fast=True)
            assert taken == [True]
            assert len(sent) == 3  # the first, the checks, the rows with the audit entry
            # the audit statement's NOTIFY (of each payload in its array parameter): none in the transaction
            payloads = [a for sql, args in sent if "pg_notify" in sql for a in args if isinstance(a, list)]
            assert payloads == [[]] or db.through_pgbouncer, payloads
            case_id = case_of(body)
            for _ in range(100):
                if any(str(case_id) in p for p in heard):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)  # time for a second one, were there one
            events = [orjson.loads(p) for p in heard if str(case_id) in p]
            assert [(e["action"], e["state"], e["seq"]) for e in events] == [("report", "reported", 1)], heard
    finally:
        await listener.close()
