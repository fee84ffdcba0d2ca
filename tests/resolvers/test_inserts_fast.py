"""publishNotice, proposeTopic (without cases), postWish and recordVisit (without a case) on the driver
(gongzhi/http/fast_inserts.py; issue #21) answer and write what the general path (strawberry, the ORM) does: the
same insert sent by each path gives the same response bytes (ids and times aside), the same rows, the same audit
entries and the same events (a notice's ``notice`` event to subscribers after the COMMIT). Whatever the general
path refuses (empty or too long text, a past expiry, a future visit, an area, person or household out of sight or
out of reach, a bad id, an invalid key) or the fast path leaves to it (loader fields, fragments, a topic's cases,
a visit's case, a retry or reuse of a known key) is answered by the general path from the start, byte for byte,
with the fast path writing nothing. Taken, each is three statements after BEGIN (the first statement, the checks'
read, the row with its audit entry; a visit's key check a fourth), against five or more — a notice, a topic or a
wish two once the process keeps what its row takes from the checks (its checks then inside the write:
resolvers.deliberation.kept, resolvers.care.wish_post_fast; tests/resolvers/test_inserts_guarded.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

import resolvers.care as care_service
import resolvers.deliberation as deliberation_service
from gongzhi.http.graphql import GraphQLEndpoint
from models import AuditEntry, Notice, Topic, Visit, Wish
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.fast_paths import assert_generic_from_first, plans_seen, post_by
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import area, person
from tests.support.world import TenantWorld

ERR = "errors { code message field }"
# as bench/mix_writes.py sends it, and every field the fast path answers itself
NOTICE = f"mutation N($input: PublishNoticeInput!) {{ publishNotice(input: $input) {{ notice {{ id }} {ERR} }} }}"
NOTICE_ALL = ("mutation($input: PublishNoticeInput!) { n: publishNotice(input: $input) { __typename errors { "
              "__typename field code message } x: notice { __typename id title body publishedAt expiresAt "
              "withdrawnAt } } }")
NOTICE_AREA = (f"mutation($input: PublishNoticeInput!) {{ publishNotice(input: $input) {{ notice {{ id area {{ id }} }}"
               f" {ERR} }} }}")
NOTICE_FRAGMENT = ("mutation($input: PublishNoticeInput!) { publishNotice(input: $input) { notice { ...N } errors "
                   "{ code } } } fragment N on Notice { id title }")
_ID = re.compile(r'"(?:id|publishedAt|proposedAt|postedAt)":"[^"]*"')


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every insert takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every insert takes the general path")


@contextmanager
def observed(api: Api, name: str = "prepare_notice") -> Iterator[tuple[list[bool], list[dict[str, Any]]]]:
    """Per insert the fast path saw (``name``: its function), whether it answered it: prepared the write, wrote and
    committed it (a write its guard refused — the checks inside it, resolvers.deliberation.kept — is the general
    path's); and the events published after COMMIT."""
    taken: list[bool] = []
    events: list[dict[str, Any]] = []
    module = care_service if name in ("prepare_post_wish", "prepare_visit") else deliberation_service
    real = getattr(module, name)
    real_write = GraphQLEndpoint._write_on_driver
    bus = api.client._transport.app.state.gongzhi.bus  # type: ignore[attr-defined]
    real_after = bus.after_commit

    async def spied(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        taken.append(out is not None)
        return out

    async def answered(self: Any, *args: Any, **kw: Any) -> Any:
        seen = len(taken)
        out = await real_write(self, *args, **kw)
        if out is None and len(taken) > seen:  # prepared, its write refused: the general path answered
            taken[-1] = False
        return out

    def after(published: list[dict[str, Any]]) -> None:
        events.extend(dict(e) for e in published)
        real_after(published)

    setattr(module, name, spied)
    GraphQLEndpoint._write_on_driver = answered  # type: ignore[method-assign]
    bus.after_commit = after
    try:
        yield taken, events
    finally:
        setattr(module, name, real)
        GraphQLEndpoint._write_on_driver = real_write  # type: ignore[method-assign]
        bus.after_commit = real_after


post = post_by


async def written(db: DbEnv, tw: TenantWorld, title: str, model: Any = Notice, action: str = "publishNotice"
                  ) -> dict[str, Any]:
    """The rows of ``model`` titled ``title`` and their ``action`` audit entries (ids, times, request aside)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            found = list(await s.scalars(select(model).where(model.title == title)))
            ids = {str(n.id) for n in found}
            every = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                         .order_by(AuditEntry.id)))
    entries = [e for e in every if ids & set(e.object_ids or [])]
    refused = [e.detail for e in every if e.detail.get("outcome") != "ok"]  # a refusal's entry names no row

    def plain(obj: Any) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns
                  if c.key not in ("id", "created_at", "updated_at", "request_id")}
        text = orjson.dumps(values, default=str).decode()
        for i in (*ids, title):
            text = text.replace(i, "N" if i in ids else "T")
        out = dict(orjson.loads(text))
        for change in (out.get("detail") or {}).get("changes", []):
            for k in ("created_at", "updated_at"):
                change.get("fields", {}).pop(k, None)
        return out

    return {"rows": [plain(n) for n in found], "audit": [plain(e) for e in entries], "refused": len(refused)}


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, given: dict[str, Any], *,
               model: Any = Notice, action: str = "publishNotice", name: str = "prepare_notice",
               event: bool = True) -> bool:
    """The same insert (but its title) by each path: the same answer, rows, audit entries and events (``event``:
    one on success); whether the fast path took it."""
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    titles = (f"停水通知 a{stamp}", f"停水通知 b{stamp}") if "title" not in given else (given["title"],) * 2
    answers, outcomes, published = [], [], []
    for title, fast in zip(titles, (True, False), strict=True):
        before = await written(db, tw, title, model, action)
        with observed(api, name) as (taken, events):
            body = await post(api, tw, user, document, {"input": {"title": title, **given}}, fast=fast)
        after = await written(db, tw, title, model, action)
        answers.append(_ID.sub("", body.decode().replace(title, "T")))
        outcomes.append(({k: v for k, v in after.items() if k != "refused"}, after["refused"] - before["refused"]))
        published.append([{**e, "notice_id": "N"} if "notice_id" in e else e for e in events])
        if fast:
            fast_taken = taken
    assert answers[0] == answers[1], answers
    assert outcomes[0] == outcomes[1], outcomes
    assert published[0] == published[1], published
    assert len(published[0]) == (1 if event and '"errors":[]' in answers[0] else 0), published  # the notice's
    return fast_taken == [True]


def notice(tw: TenantWorld, **more: Any) -> dict[str, Any]:
    return {"areaId": area(tw, "P1", "Compound"), "body": "周六上午九点至十二点停水。", **more}


async def test_publish_notice(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert await both(api, db, tw, "chair", NOTICE_ALL, notice(tw))
    assert await both(api, db, tw, "chair", NOTICE_ALL, notice(tw, expiresAt=later, body="  正文 "))
    assert await both(api, db, tw, "admin", NOTICE, notice(tw))
    # refused: empty, too long, a past expiry, out of reach, not a reader's area, another type's id
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for user, given in (("chair", notice(tw, body=" ")), ("chair", notice(tw, title="x" * 101)),
                        ("chair", notice(tw, expiresAt=past)), ("resident", notice(tw)),
                        ("chair", notice(tw, areaId=encode_global_id("Compound", tw.tenant_id))),
                        ("chair", notice(tw, areaId=encode_global_id("Person", tw.tenant_id)))):
        assert not await both(api, db, tw, user, NOTICE_ALL, given), (user, given)
    # shapes the fast path leaves to the general path: a loader's field, a fragment
    with observed(api) as (taken, _events):
        for document in (NOTICE_AREA, NOTICE_FRAGMENT):
            body = await post(api, tw, "chair", document, {"input": notice(tw, title="形状")}, fast=True)
            assert b'"errors":[]' in body, body
    assert taken == []
    # statements after BEGIN: the first statement, the row with its audit entry and the area's checks inside it (its
    # path kept from the notices above) — against five
    with observed(api) as (taken, _events), count_statements() as fast:
        await post(api, tw, "chair", NOTICE, {"input": notice(tw, title="计数 1")}, fast=True)
    assert taken == [True] and len(fast) == 2, fast
    with observed(api) as (taken, _events), count_statements() as general:
        await post(api, tw, "chair", NOTICE, {"input": notice(tw, title="计数 2")}, fast=False)
    assert taken == [] and len(general) == 5, general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


TOPIC = f"mutation T($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id state }} {ERR} }} }}"
TOPIC_ALL = ("mutation($input: ProposeTopicInput!) { t: proposeTopic(input: $input) { errors { code field } "
             "__typename x: topic { __typename id state title description proposedAt decision decidedAt "
             "declineReason cancelReason review version } } }")
TOPIC_CASES = (f"mutation($input: ProposeTopicInput!) {{ proposeTopic(input: $input) {{ topic {{ id cases {{ id }} }}"
               f" {ERR} }} }}")


async def test_propose_topic(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    kw: dict[str, Any] = {"model": Topic, "action": "proposeTopic", "name": "prepare_topic", "event": False}

    def topic(**more: Any) -> dict[str, Any]:
        return {"areaId": area(tw, "P1", "Compound"), "description": "小区电动车越来越多。", **more}

    assert await both(api, db, tw, "resident", TOPIC, topic(), **kw)
    assert await both(api, db, tw, "resident", TOPIC_ALL, topic(description=" 说明 "), **kw)
    assert await both(api, db, tw, "resident", TOPIC_ALL, {"areaId": area(tw, "P1", "Compound")}, **kw)
    assert await both(api, db, tw, "chair", TOPIC, topic(caseIds=[]), **kw)
    # refused: empty title, too long a description, out of reach, another type's id; cases taken up (general)
    for user, given in (("resident", topic(title=" ")), ("resident", topic(description="x" * 5001)),
                        ("resident4", topic()), ("resident", topic(areaId=encode_global_id("Person", tw.tenant_id))),
                        ("resident", topic(caseIds=[encode_global_id("Case", tw.tenant_id)]))):
        assert not await both(api, db, tw, user, TOPIC_ALL, given, **kw), (user, given)
    with observed(api, "prepare_topic") as (taken, _events):
        body = await post(api, tw, "resident", TOPIC_CASES, {"input": topic(title="形状")}, fast=True)
        assert b'"errors":[]' in body, body
    assert taken == []
    with observed(api, "prepare_topic") as (taken, _events), count_statements() as fast:
        await post(api, tw, "resident", TOPIC, {"input": topic(title="计数 1")}, fast=True)
    assert taken == [True] and len(fast) == 2, fast
    with observed(api, "prepare_topic") as (taken, _events), count_statements() as general:
        await post(api, tw, "resident", TOPIC, {"input": topic(title="计数 2")}, fast=False)
    assert taken == [] and len(general) == 5, general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


WISH = f"mutation W($input: PostWishInput!) {{ postWish(input: $input) {{ wish {{ id state version }} {ERR} }} }}"
WISH_ALL = ("mutation($input: PostWishInput!) { w: postWish(input: $input) { __typename errors { code field message "
            "} x: wish { __typename id title description state claimedByMe postedByMe postedAt claimedAt fulfilledAt "
            "fulfilNote confirmedAt version } } }")
WISH_NAME = (f"mutation($input: PostWishInput!) {{ postWish(input: $input) {{ wish {{ id beneficiaryName }} {ERR} }}"
             f" }}")


async def test_post_wish(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    kw: dict[str, Any] = {"model": Wish, "action": "postWish", "name": "prepare_post_wish", "event": False}

    def wish(who: str = "h1b", **more: Any) -> dict[str, Any]:
        return {"personId": person(tw, who), "description": "车胎漏气。", **more}

    assert await both(api, db, tw, "resident", WISH, wish(), **kw)
    assert await both(api, db, tw, "resident", WISH_ALL, wish(description=" 说明 "), **kw)
    assert await both(api, db, tw, "resident", WISH_ALL, {"personId": person(tw, "h1b")}, **kw)
    assert await both(api, db, tw, "grid1", WISH, wish(), **kw)
    # refused: empty title, too long a description, a person out of sight or reach, another type's id
    for user, given in (("resident", wish(title=" ")), ("resident", wish(description="x" * 2001)),
                        ("resident", wish("h4a")), ("resident4", wish()),
                        ("resident", wish(personId=encode_global_id("Household", tw.tenant_id)))):
        assert not await both(api, db, tw, user, WISH_ALL, given, **kw), (user, given)
    with observed(api, "prepare_post_wish") as (taken, _events):
        body = await post(api, tw, "resident", WISH_NAME, {"input": wish(title="形状")}, fast=True)
        assert b'"errors":[]' in body, body
    assert taken == []
    with observed(api, "prepare_post_wish") as (taken, _events), count_statements() as fast:
        await post(api, tw, "resident", WISH, {"input": wish(title="计数 1")}, fast=True)
    assert taken == [True] and len(fast) == 2, fast
    with observed(api, "prepare_post_wish") as (taken, _events), count_statements() as general:
        await post(api, tw, "resident", WISH, {"input": wish(title="计数 2")}, fast=False)
    assert taken == [] and len(general) == 5, general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


VISIT = f"mutation V($input: RecordVisitInput!) {{ recordVisit(input: $input) {{ visit {{ id visitedAt }} {ERR} }} }}"
VISIT_ALL = ("mutation($input: RecordVisitInput!) { v: recordVisit(input: $input) { errors { code field message } "
             "__typename x: visit { __typename id kind visitedAt findings needs householdId } } }")
VISIT_VISITOR = (f"mutation($input: RecordVisitInput!) {{ recordVisit(input: $input) {{ visit {{ id visitorRole }} "
                 f"{ERR} }} }}")


async def visits(db: DbEnv, tw: TenantWorld, findings: str) -> dict[str, Any]:
    """The visits with these findings and their recordVisit audit entries (ids, times, keys aside)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            found = list(await s.scalars(select(Visit).where(Visit.findings == findings)))
            ids = {str(x.id) for x in found}
            every = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "recordVisit")
                                         .order_by(AuditEntry.id)))
    entries = [e for e in every if ids & set(e.object_ids or [])]
    keys = {x.idempotency_key for x in found if x.idempotency_key}

    def plain(obj: Any) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns
                  if c.key not in ("id", "created_at", "request_id")}
        text = orjson.dumps(values, default=str).decode()
        for k in (*ids, *keys, findings):
            text = text.replace(k, "X")
        out = dict(orjson.loads(text))
        for change in (out.get("detail") or {}).get("changes", []):
            change.get("fields", {}).pop("created_at", None)
        return out

    return {"rows": [plain(x) for x in found], "audit": [plain(e) for e in entries],
            "refused": sum(e.detail.get("outcome") != "ok" for e in every)}


async def visit_both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, given: dict[str, Any],
                     key: str | None = None) -> bool:
    """The same visit (but its findings and key) by each path: the same answer, rows and audit entries; whether the
    fast path took it."""
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    answers, outcomes, published = [], [], []
    for n, fast in enumerate((True, False)):
        findings = given.get("findings", f"身体尚可 {n}{stamp}")
        before = await visits(db, tw, findings)
        given_key = {} if key is None else {"idempotencyKey": key if len(key) > 64 else f"{key}-{n}{stamp}"}
        with observed(api, "prepare_visit") as (taken, events):
            body = await post(api, tw, user, document, {"input": {**given, "findings": findings, **given_key}},
                              fast=fast)
        after = await visits(db, tw, findings)
        answers.append(_ID.sub("", body.decode().replace(findings, "F")))
        outcomes.append(({k: v for k, v in after.items() if k != "refused"}, after["refused"] - before["refused"]))
        published.append(events)
        if fast:
            fast_taken = taken
    assert answers[0] == answers[1], answers
    assert outcomes[0] == outcomes[1], outcomes
    assert published == [[], []], published
    return fast_taken == [True]


async def test_record_visit(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    h1 = encode_global_id("Household", tw.households["H1"])
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    def visit(**more: Any) -> dict[str, Any]:
        return {"householdId": h1, "kind": "ROUTINE", "visitedAt": at, **more}

    assert await visit_both(api, db, tw, "grid1", VISIT, visit(), "k")
    assert await visit_both(api, db, tw, "grid1", VISIT, visit())
    assert await visit_both(api, db, tw, "grid1", VISIT_ALL, visit(kind="CARE", needs=" 送药 "), "k")
    assert await visit_both(api, db, tw, "grid1", VISIT_ALL, visit(needs="  "))
    # refused: empty findings, a future or a zoneless time, out of reach, another type's id, an invalid key;
    # a case to raise (the general path's report)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for user, given, key in (("grid1", visit(findings=" "), None), ("grid1", visit(visitedAt=future), None),
                             ("grid1", visit(visitedAt="2026-12-01T10:00:00"), None), ("grid2", visit(), None),
                             ("resident", visit(), None), ("grid1", visit(householdId=tw_person(tw)), None),
                             ("grid1", visit(), "k" * 70)):
        assert not await visit_both(api, db, tw, user, VISIT_ALL, given, key), (user, given, key)
    # left to the general path: a loader's field; a case to raise (the report and its events are its own)
    with observed(api, "prepare_visit") as (taken, events):
        body = await post(api, tw, "grid1", VISIT_VISITOR, {"input": visit(findings="形状")}, fast=True)
        assert b'"errors":[]' in body, body
        body = await post(api, tw, "grid1", VISIT, {"input": visit(findings="报事", raiseCase={
            "category": "other", "title": "漏水"})}, fast=True)
        assert b'"errors":[]' in body, body
    assert taken == [] and events, events
    assert (await visits(db, tw, "报事"))["rows"][0]["case_id"] is not None
    # a retry with a known key: the general path answers it, as it answers its own; the key reused: its refusal
    key = uuid.uuid4().hex
    with observed(api, "prepare_visit") as (taken, _events), count_statements() as fast:
        first = await post(api, tw, "grid1", VISIT, {"input": visit(findings="重试", idempotencyKey=key)}, fast=True)
    assert taken == [True] and len(fast) == 4, fast
    with observed(api, "prepare_visit") as (taken, _events):
        again = await post(api, tw, "grid1", VISIT, {"input": visit(findings="重试", idempotencyKey=key)}, fast=True)
        reused = await post(api, tw, "grid1", VISIT, {"input": visit(findings="别的", idempotencyKey=key)}, fast=True)
    assert taken == [False, False]
    assert first == again == await post(api, tw, "grid1", VISIT, {"input": visit(findings="重试", idempotencyKey=key)},
                                        fast=False)
    assert reused == await post(api, tw, "grid1", VISIT, {"input": visit(findings="别的", idempotencyKey=key)},
                                fast=False)
    assert b"IDEMPOTENCY_KEY_REUSED" in reused, reused
    assert len((await visits(db, tw, "重试"))["rows"]) == 1 and (await visits(db, tw, "别的"))["rows"] == []
    with observed(api, "prepare_visit") as (taken, _events), count_statements() as general:
        await post(api, tw, "grid1", VISIT, {"input": visit(findings="计数", idempotencyKey=uuid.uuid4().hex)},
                   fast=False)
    assert taken == [] and len(general) > 4, general
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


def tw_person(tw: TenantWorld) -> str:
    return person(tw, "h1b")  # a Person's id where a Household's is asked


async def test_the_inserts_run_generic_plans_from_the_first(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """An insert's transaction asks for generic plans from a statement's first run on a connection
    (``fast_moves.Move.generic_plans``; bench/RESULTS.md, h-moves): on connections the pool has just opened, the
    transaction is force_generic_plan and the insert's check (the notice's area, the wish's person) has had no
    custom plan."""
    tw = fresh.a
    await api.client._transport.app.state.gongzhi.engine.dispose()  # type: ignore[attr-defined]
    with plans_seen(deliberation_service, "prepare_notice", "%FROM areas%") as noticed, \
            plans_seen(care_service, "prepare_post_wish", "%FROM persons%") as wished:
        for user, document, field, given in (
                ("chair", NOTICE, "publishNotice", notice(tw, title="停水通知")),
                ("resident", WISH, "postWish", {"personId": person(tw, "h1b"), "title": "修自行车"})):
            body = orjson.loads(await post(api, tw, user, document, {"input": given}, fast=True))
            assert body["data"][field]["errors"] == [], body
    for seen in (noticed, wished):
        assert_generic_from_first(db, seen)

