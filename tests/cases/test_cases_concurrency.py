"""Conflicting case transitions at the same moment, through the real app on PostgreSQL (DESIGN.md §5:
"two conflicting transitions at once: exactly one wins, the other gets a clear conflict error").

Each round fires two requests with asyncio.gather: the loser either ran its conditional UPDATE while the
winner held the row (CONFLICT) or started after the winner committed (INVALID_TRANSITION). Either way the
case has exactly one new timeline entry and the state of the winner. SQLite serialises writers, so these
tests run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Case, CaseEvent, Notification
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support.cases import accept, area_gid, call, firm_gid, read, report
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

ROUNDS = 10
LOSER_CODES = {"CONFLICT", "INVALID_TRANSITION"}


@pytest.fixture(autouse=True)
def _postgres_only(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")


async def db_counts(db: DbEnv, tw: TenantWorld, case_gid: str) -> tuple[int, int]:
    """(timeline entries, notifications) of a case, straight from the database."""
    case_id = decode_global_id(case_gid, "Case")[1]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            events = await s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
            notes = await s.scalar(select(func.count()).select_from(Notification)
                                   .where(Notification.case_id == case_id))
    return int(events or 0), int(notes or 0)


def outcome(payloads: list[dict[str, Any]]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(index of the single winner, its case, the loser's error); fails unless exactly one won."""
    winners = [i for i, p in enumerate(payloads) if not p["errors"]]
    assert len(winners) == 1, payloads
    w = winners[0]
    loser = payloads[1 - w]
    assert loser["case"] is None
    assert loser["errors"][0]["code"] in LOSER_CODES, loser
    return w, payloads[w]["case"], loser["errors"][0]


async def test_accept_and_reject_at_once_exactly_one_wins(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    cases = [await report(api, tw, "resident", "B1", title=f"并发 {i}") for i in range(ROUNDS)]
    codes: Counter[str] = Counter()
    for case in cases:
        payloads = list(await asyncio.gather(
            call(api, tw, "grid1", "acceptCase", id=case["id"]),
            call(api, tw, "secretary", "rejectCase", id=case["id"], reason="重复上报"),
        ))
        w, won, err = outcome(payloads)
        codes[err["code"]] += 1
        expected_state = ("ACCEPTED", "REJECTED")[w]
        after = await read(api, tw, case["id"])
        assert after is not None
        assert (after["state"], after["version"], won["state"]) == (expected_state, 2, expected_state)
        assert [(e["seq"], e["action"]) for e in after["timeline"]] == [(1, "report"), (2, ("accept", "reject")[w])]
        assert (await db_counts(db, tw, case["id"]))[0] == 2
    assert sum(codes.values()) == ROUNDS
    assert codes["CONFLICT"] >= 1, f"the requests never overlapped: {codes}"


async def test_two_dispatches_at_once_exactly_one_wins(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    cases = [await accept(api, tw, await report(api, tw, "resident", "B1", title=f"派单 {i}")) for i in range(ROUNDS)]
    codes: Counter[str] = Counter()
    for case in cases:
        payloads = list(await asyncio.gather(
            call(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM", firmId=firm_gid(tw)),
            call(api, tw, "secretary", "dispatchCase", id=case["id"], handlerKind="COMMUNITY",
                 communityId=area_gid(tw, "C1")),
        ))
        w, _, err = outcome(payloads)
        codes[err["code"]] += 1
        after = await read(api, tw, case["id"])
        assert after is not None
        assert (after["state"], after["version"]) == ("DISPATCHED", 3)
        handlers = (("PROPERTY_FIRM", "安居物业"), ("COMMUNITY", "东风社区"))
        assert (after["handlerKind"], after["handlerName"]) == handlers[w]
        assert [(e["seq"], e["action"], e["actor"]["username"]) for e in after["timeline"]][1:] == [
            (2, "accept", tw.username("grid1")), (3, "dispatch", tw.username(("grid1", "secretary")[w]))]
        # The loser's dispatch notifications went with its rolled-back transaction: the winner's to the handler,
        # and the reporter's of the acceptance and the dispatch (issue #22), remain.
        assert await db_counts(db, tw, case["id"]) == (3, 3)
    assert codes["CONFLICT"] >= 1, f"the requests never overlapped: {codes}"


async def test_concurrent_retries_of_a_report_create_one_case(api: Api, db: DbEnv, fresh: World) -> None:
    """A client retrying a report (flaky network) sends the same idempotencyKey several times at once: every
    attempt answers with the same case and exactly one row exists."""
    tw = fresh.a
    doc = ("mutation($i: ReportCaseInput!) { m: reportCase(input: $i) { case { id timeline { seq } } "
           "errors { code } } }")
    for attempt in range(3):
        key = f"retry-{attempt}"
        variables = {"i": {"areaId": area_gid(tw, "B1"), "category": "drainage", "title": "下水道堵塞",
                           "idempotencyKey": key}}
        bodies = await asyncio.gather(*(api.gql(tw, "resident", doc, variables, allow_errors=True)
                                        for _ in range(5)))
        codes = [b["errors"][0]["extensions"]["code"] if "errors" in b else None for b in bodies]
        assert codes == [None] * 5, bodies
        payloads = [b["data"]["m"] for b in bodies]
        assert [p["errors"] for p in payloads] == [[]] * 5
        assert len({p["case"]["id"] for p in payloads}) == 1
        assert payloads[0]["case"]["timeline"] == [{"seq": 1}]
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                rows = await s.scalar(select(func.count()).select_from(Case).where(Case.idempotency_key == key))
        assert rows == 1
