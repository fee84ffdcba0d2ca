"""reportCase on the driver (gongzhi/http/fast_writes.py, resolvers/cases/report_fast.py; issue #21) answers
and writes what the general path (strawberry, the ORM) does: for every (user, area) of the report matrix,
valid and invalid input, another tenant's area, an idempotent retry and photos, both paths give the same
response bytes (the new case's id and number aside) and the same rows — the case, its 受理 stage, its
timeline entry, its audit entry — and the audit chain verifies after a mix of both. A report the fast path
takes is two statements after BEGIN (the first; the rows with the audit entry and, inside them, the checks) once
the process has kept the area's path and the category's limit, and its event's NOTIFY goes with its COMMIT, after
it. A report whose checks in its write refuse it (a retry, a category or a reach gone, a path or limit no longer
the one kept) writes nothing, and the general path answers it as it answers it alone."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from asyncio import selector_events
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import Text, cast, func, select, text

import resolvers.cases as case_service
import resolvers.cases.report_fast as report_fast
import tenants.session as ts
from gongzhi.bus import CHANNEL
from gongzhi.http.graphql import GraphQLEndpoint
from models import AuditEntry, Case, CaseEvent, CaseStage, Notification
from resolvers.ids import decode_global_id, encode_global_id
from tenants import wire
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant, count_statements
from tests.cases.test_cases import REPORT_MATRIX
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by
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
    if citus.ENABLED:  # test_steps_fast.test_on_citus_the_report_and_the_steps_take_the_general_path
        pytest.skip("the driver path is off on Citus (gongzhi/http/graphql.py); every report takes the general path")
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
    """Per report the fast path saw, whether it answered it: prepared the rows, wrote and committed them. A report
    it prepared whose write was refused (a constraint met, the checks inside the write) is the general path's."""
    taken: list[bool] = []
    real = GraphQLEndpoint._write_on_driver

    async def spied(self: Any, *args: Any, **kw: Any) -> Any:
        out = await real(self, *args, **kw)
        taken.append(out is not None)
        return out

    GraphQLEndpoint._write_on_driver = spied  # type: ignore[method-assign]
    try:
        yield taken
    finally:
        GraphQLEndpoint._write_on_driver = real  # type: ignore[method-assign]


@contextmanager
def checked_in_the_write() -> Iterator[list[bool | None]]:
    """Per report the fast path prepared or left: None (left to the general path before any write), False (checked
    in a statement of its own), True (its checks inside its write: ``report_fast._guard``)."""
    shapes: list[bool | None] = []
    real = case_service.prepare_report

    async def spied(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        shapes.append(None if out is None else out.guarded)
        return out

    case_service.prepare_report = spied  # type: ignore[assignment]
    try:
        yield shapes
    finally:
        case_service.prepare_report = real  # type: ignore[assignment]


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


async def test_two_statements_and_the_chain_verifies(api: Api, db: DbEnv,
                                                     tenant: tuple[TenantWorld, TenantWorld]) -> None:
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "计数"}
    await post(api, tw, "resident", DOCS[0], data, fast=True)  # the actor's checks rendered, the path and limit kept
    with count_statements() as fast, checked_in_the_write() as shapes:
        await post(api, tw, "resident", DOCS[0], data, fast=True)
    with count_statements() as general:
        await post(api, tw, "resident", DOCS[0], data, fast=False)
    assert shapes == [True]
    assert len(fast) == 2, fast  # the first; the rows with the audit entry and the checks (three on the base)
    assert len(general) > len(fast), general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_two_round_trips(api: Api, db: DbEnv, tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """BEGIN with the first statement (tenants/begin.py), then the rows with the audit entry and the checks inside
    them (``report_fast._guard``), COMMIT and the NOTIFY (tenants/commit.py ``write_and_commit``; three on the base:
    the checks in a round trip of their own) — once every pooled connection has the statements prepared; four
    through pgbouncer (BEGIN alone, COMMIT alone; five on the base)."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "往返"}
    for _ in range(25):
        await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    with fast_taken() as taken, round_trips(db.engine) as trips:
        for _ in range(5):
            await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    assert taken == [True] * 5
    assert trips == [4 if db.through_pgbouncer else 2] * 5, trips


async def test_two_sends(api: Api, db: DbEnv, tenant: tuple[TenantWorld, TenantWorld],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Each round trip's messages leave in one send (``tenants.wire.ahead``): BEGIN ahead of the first statement,
    the rows and COMMIT ahead of the NOTIFY, queued with MSG_MORE and sent with asyncpg's write — two writes to the
    database per report, not four (one wake-up of its backend per round trip). Through pgbouncer the shortcuts
    are off: nothing is held, asyncpg writes as before."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "一次发送"}
    for _ in range(25):
        await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    writes: list[int] = []
    held: list[int] = []
    plain = selector_events._SelectorSocketTransport.write
    send = getattr(wire, "_SEND", None)  # libc's send (Linux); on the base none: each message its own write

    def write(self: Any, data: Any) -> None:
        writes.append(len(data))
        plain(self, data)

    def more(fd: int, data: bytes, n: int, flags: int) -> int:
        held.append(flags)
        return int(send(fd, data, n, flags))

    monkeypatch.setattr(selector_events._SelectorSocketTransport, "write", write)
    if send is not None:
        monkeypatch.setattr(wire, "_SEND", more)
    with fast_taken() as taken:
        for _ in range(5):
            await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    assert taken == [True] * 5
    if db.through_pgbouncer:  # no shortcut: asyncpg's own writes (a statement prepared and run: two each)
        assert held == [], held
    else:
        assert len(writes) == 2 * 5, writes
        assert held == [socket.MSG_MORE] * 10, held


async def test_concurrent_retries_with_one_key_make_one_case(api: Api, db: DbEnv,
                                                             tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """A client sending the same report several times at once: the writes that meet the key's unique constraint
    are rolled back and answered by the general path, with the winner's case; one case, one stage, one entry."""
    tw, _ = tenant
    key = uuid.uuid4().hex
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "并发重试", "idempotencyKey": key}
    barrier = asyncio.Barrier(4)
    with fast_taken() as taken, checked_in_the_write() as shapes:
        spy = case_service.prepare_report

        async def checked_together(*args: Any, **kw: Any) -> Any:  # every request's checks before any write
            out = await spy(*args, **kw)
            await asyncio.wait_for(barrier.wait(), 30)
            return out

        case_service.prepare_report = checked_together  # type: ignore[assignment]
        try:
            bodies = await asyncio.gather(*(post(api, tw, "resident", DOCS[1], data, fast=True) for _ in range(4)))
        finally:
            case_service.prepare_report = spy  # type: ignore[assignment]
    # all four checked and wrote; three met the key's constraint (or their checks in the write saw the first's
    # case) and were rolled back, and the general path answered them
    assert None not in shapes and len(shapes) == 4, shapes
    assert sorted(taken) == [False, False, False, True], taken
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
            with fast_taken() as taken, sent_in_transactions() as sent, checked_in_the_write() as shapes:
                body = await post(api, tw, "resident", DOCS[1], {**data, "idempotencyKey": uuid.uuid4().hex},
                                  fast=True)
            assert taken == [True]
            assert len(sent) == 3 - bool(shapes[-1])  # the first, (the checks,) the rows with the audit entry
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


# -- the checks inside the write (report_fast._guard): every refusal writes nothing and is the general path's

_WRITTEN = (Case, CaseStage, CaseEvent, AuditEntry, Notification)


async def written(db: DbEnv, tw: TenantWorld) -> dict[str, int]:
    """The tenant's rows of every table a report writes, counted."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        return {m.__tablename__: (await s.execute(select(func.count(m.id)))).scalar_one() for m in _WRITTEN}


async def changed(db: DbEnv, tw: TenantWorld, sql: str, **params: Any) -> None:
    """``sql`` run in the tenant's transaction (row-level security), as the tables' owner; it must change a row."""
    async with db.owner_engine.begin() as conn:
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        assert (await conn.execute(text(sql), {"t": tw.tenant_id, **params})).rowcount > 0, sql


async def kept(api: Api, tw: TenantWorld, area: str = "B1", category: str = "garbage") -> None:
    """A report of ``area`` and ``category`` answered fast (by the admin, who reaches every area): the area's path
    and the category's limit are kept, and the next such report is checked in its write."""
    with fast_taken() as taken:
        await post(api, tw, "admin", DOCS[0], {"areaId": area_gid(tw, area), "category": category, "title": "先报",
                                               "idempotencyKey": uuid.uuid4().hex}, fast=True)
    assert taken == [True]


async def refused_in_the_write(api: Api, db: DbEnv, tw: TenantWorld, user: str, data: dict[str, Any]
                               ) -> tuple[bytes, dict[str, int]]:
    """``data`` reported by ``user`` on the fast path, which checked it in its write and whose write was refused:
    the answer (the general path's), and the rows the request added."""
    before = await written(db, tw)
    with fast_taken() as taken, checked_in_the_write() as shapes:
        body = await post(api, tw, user, DOCS[3], data, fast=True)
    assert (shapes, taken) == ([True], [False])
    after = await written(db, tw)
    return body, {k: after[k] - n for k, n in before.items()}


async def by_the_general_path(api: Api, db: DbEnv, tw: TenantWorld, user: str, data: dict[str, Any]
                              ) -> tuple[bytes, dict[str, int]]:
    before = await written(db, tw)
    body = await post(api, tw, user, DOCS[3], data, fast=False)
    after = await written(db, tw)
    return body, {k: after[k] - n for k, n in before.items()}


async def test_a_retry_checked_in_its_write_answers_the_first_case(api: Api, db: DbEnv,
                                                                  tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """The checks in the write see the key's case: nothing written, the general path answers the first case, as
    it answers the same retry alone."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "重试", "idempotencyKey": uuid.uuid4().hex}
    await kept(api, tw)
    with fast_taken() as taken:
        first = await post(api, tw, "resident", DOCS[3], data, fast=True)
    assert taken == [True]
    await kept(api, tw)  # a refused write forgets what was kept: kept again (refused_in_the_write asserts it)
    again, added = await refused_in_the_write(api, db, tw, "resident", {**data, "title": "改了"})
    general, general_added = await by_the_general_path(api, db, tw, "resident", {**data, "title": "又改了"})
    assert first == again == general
    assert added == general_added and added["cases"] == 0, (added, general_added)


async def test_a_category_closed_since_it_was_kept(api: Api, db: DbEnv,
                                                   tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """The category closed after its limit was kept: the checks in the write refuse the report, nothing is
    written, and the answer is the general path's (an unknown category)."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "facility", "title": "井盖", "idempotencyKey": uuid.uuid4().hex}
    await kept(api, tw, category="facility")
    closing = "UPDATE case_categories SET active = :on WHERE tenant_id = :t AND code = 'facility'"
    await changed(db, tw, closing, on=False)
    try:
        body, added = await refused_in_the_write(api, db, tw, "resident", data)
        general, general_added = await by_the_general_path(api, db, tw, "resident", data)
    finally:
        await changed(db, tw, closing, on=True)
    assert body == general and orjson.loads(body)["data"]["r"]["c"] is None, body
    assert [e["field"] for e in orjson.loads(body)["data"]["r"]["errors"]] == ["category"], body
    assert added == general_added and added["cases"] == 0, (added, general_added)


async def test_an_area_out_of_the_reporters_reach(api: Api, db: DbEnv,
                                                  tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """The area's path kept from a report of someone who reaches it: a reporter who does not is refused by the
    checks in the write, nothing is written, and the answer is the general path's (FORBIDDEN)."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "越界", "idempotencyKey": uuid.uuid4().hex}
    await kept(api, tw)
    with sent_in_transactions() as sent:
        body, added = await refused_in_the_write(api, db, tw, "resident4", data)  # REPORT_MATRIX: B1 is not theirs
    general, general_added = await by_the_general_path(api, db, tw, "resident4", data)
    assert body == general and [e["code"] for e in orjson.loads(body)["data"]["r"]["errors"]] == ["FORBIDDEN"]
    assert added == general_added and added["cases"] == 0, (added, general_added)
    # The refused write again, in a transaction of the tenant's: refused by a NOT NULL before any row went in, not
    # even one rolled back (PostgreSQL runs the audit's INSERT first: its tenant is the guard's too).
    sql, args = next((q, a) for q, a in sent if "INSERT INTO cases" in q)
    tables = [m.__tablename__ for m in _WRITTEN]
    count = ("SELECT array_agg(pg_stat_get_xact_tuples_inserted(c::regclass) ORDER BY o) "
             "FROM unnest($1::text[]) WITH ORDINALITY AS t(c, o)")
    async with db.engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            await driver.execute(set_tenant_sql(tw.tenant_id))
            # (PostgreSQL 15 adds what this backend's earlier transactions inserted and has not reported yet)
            before = await driver.fetchval(count, tables)
            with pytest.raises(asyncpg.NotNullViolationError):
                async with driver.transaction():  # a savepoint: the outer transaction goes on
                    await driver.execute(sql, *args)
            after = await driver.fetchval(count, tables)
    assert dict(zip(tables, after, strict=True)) == dict(zip(tables, before, strict=True))


async def test_a_path_or_a_limit_no_longer_the_one_kept(api: Api, db: DbEnv,
                                                        tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """What a report's rows are made of changed since it was kept — the area's path (moved), the 受理 limit
    (set anew): the checks in the write refuse it, nothing of the stale rows is written, and the general path
    reports it with the path and due time it reports the same case with alone."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "陈旧", "idempotencyKey": "fresh"}
    await kept(api, tw)
    for (tenant_id, area_id), path in list(report_fast._PATHS.items()):
        if tenant_id == tw.tenant_id and area_id == tw.areas["B1"]:
            report_fast._PATHS[tenant_id, area_id] = path + "01a2/"  # as if the area moved after it was kept
    due = []
    for step in ("path", "limit"):
        if step == "limit":
            await kept(api, tw)
            await changed(db, tw, "UPDATE case_stage_limits SET amount = amount * 2 WHERE tenant_id = :t "
                          "AND stage = 'accept'")
        try:
            body, added = await refused_in_the_write(api, db, tw, "resident",
                                                     {**data, "idempotencyKey": uuid.uuid4().hex})
            general, general_added = await by_the_general_path(api, db, tw, "resident",
                                                               {**data, "idempotencyKey": uuid.uuid4().hex})
        finally:
            if step == "limit":
                await changed(db, tw, "UPDATE case_stage_limits SET amount = amount / 2 WHERE tenant_id = :t "
                              "AND stage = 'accept'")
        assert _ID.sub("", body.decode()) == _ID.sub("", general.decode())
        fast_case, general_case = case_of(body), case_of(general)
        assert fast_case is not None and general_case is not None
        made = await rows(db, tw, fast_case)
        assert made == await rows(db, tw, general_case)
        assert added == general_added and added["cases"] == 1, (added, general_added)  # the general path's case
        due.append(made["stages"][0]["due_at"])
    assert due[0] != due[1] and None not in due, due  # 受理's due time, of the limit set anew


async def test_a_refused_write_forgets_what_was_kept(api: Api, db: DbEnv,
                                                     tenant: tuple[TenantWorld, TenantWorld]) -> None:
    """After a write its checks refused, the next report of that area is checked in a statement of its own (which
    keeps the path and limit again), and the one after in its write; both answered by the fast path."""
    tw, _ = tenant
    data = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "再来"}
    await kept(api, tw)
    await refused_in_the_write(api, db, tw, "resident4", {**data, "idempotencyKey": uuid.uuid4().hex})
    with fast_taken() as taken, checked_in_the_write() as shapes:
        for _ in range(2):
            await post(api, tw, "resident", DOCS[0], {**data, "idempotencyKey": uuid.uuid4().hex}, fast=True)
    assert (shapes, taken) == ([False, True], [True, True])
