"""The compiled desk (compiled/cobuilding.py ``assignedCases``, issue #21) answers exactly what the resolvers
answer (resolvers.cases.list_assigned_cases): for every partner client of both tenants and the firm's staff,
every page by cursor, every state filter — same bytes, the compiled path taken.

The scene, in each tenant: cases dispatched to 蓝天救援队 (one started with an extension asked for, one
resolved, one still dispatched) and to 市三医院; 市三医院's agreement for C1 has ended — on the Beijing
date — while its case is still dispatched to it, so it no longer finds it (an agreement in force for C2
does not help); the other tenant's cases are nobody's here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tests.support.case_steps import MONDAY_10, ClockApi, reported, step
from tests.support.cobuilding import community, make_agreement, make_unit
from tests.support.compiled import around, both, compiled_statements
from tests.support.harness import JWT_SECRET, Api, DbEnv, World
from tests.support.partners import PartnerApi, partner_client
from tests.support.world import TenantWorld

ASSIGNED = """
query D($s: [CaseState!], $first: Int, $after: String) { assignedCases(states: $s, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { __typename id number title description category categoryName priority state
                        locationText reportedAt dispatchedAt dueAt overdue requestedDueAt resolution resolvedAt
                        version } } } }
"""
MIX = """
query { assignedCases(states: [DISPATCHED, IN_PROGRESS], first: 20) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id number title category categoryName priority state locationText reportedAt dispatchedAt dueAt
                  overdue requestedDueAt version } } }
"""
EQUIVALENCE_DOCUMENTS = (ASSIGNED, MIX)

DESK = "case { id state dueAt version } errors { code field }"
START = f"mutation($i: StartAssignedCaseInput!) {{ m: startAssignedCase(input: $i) {{ {DESK} }} }}"
RESOLVE = f"mutation($i: ResolveAssignedCaseInput!) {{ m: resolveAssignedCase(input: $i) {{ {DESK} }} }}"
EXTEND = (f"mutation($i: RequestAssignedCaseExtensionInput!) {{ m: requestAssignedCaseExtension(input: $i) "
          f"{{ {DESK} }} }}")
STATES: list[Any] = [None, ["DISPATCHED"], ["IN_PROGRESS", "RESOLVED"], ["CLOSED"]]


@pytest.fixture
async def capi(db: DbEnv) -> AsyncIterator[ClockApi]:
    """As tests/support/case_steps.py's (registered by tests/cases' conftest, which does not reach here)."""
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0)
    app = create_app(settings, engine=db.engine)
    app.state.gongzhi.clock = lambda: MONDAY_10
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield ClockApi(Api(client, settings), app.state.gongzhi)


async def _desk(c: ClockApi, token: str, doc: str, **fields: Any) -> dict[str, Any]:
    r = await c.api.post(doc, {"i": fields}, token=token)
    payload: dict[str, Any] = r.json()["data"]["m"]
    assert payload["errors"] == [], payload
    return payload


async def _tenant(c: ClockApi, tw: TenantWorld, seq: int) -> dict[str, tuple[str, str]]:
    p = PartnerApi(c.api, c.state)
    rescue = await make_unit(c.api, tw, "蓝天救援队", seq)
    await make_agreement(c.api, tw, rescue, [community(tw, "C1")], valid_from=date(2026, 11, 1),
                         valid_until=date(2027, 6, 30))
    hospital = await make_unit(c.api, tw, "市三医院", seq + 1)
    await make_agreement(c.api, tw, hospital, [community(tw, "C1")], valid_from=date(2026, 11, 1),
                         valid_until=date(2026, 12, 7))
    await make_agreement(c.api, tw, hospital, [community(tw, "C2")], title="西湖社区协议",
                         valid_from=date(2026, 11, 1), valid_until=date(2027, 6, 30))
    clients = {}
    for key, unit in (("rescue", rescue), ("hospital", hospital)):
        _, client_id, secret = await partner_client(p, tw, unit)
        clients[key] = (client_id, secret)
    tokens = {k: await p.access(*v) for k, v in clients.items()}
    cases = []
    for unit in (rescue, rescue, rescue, hospital, rescue):
        case = await reported(c.api, tw)
        await step(c.api, tw, "grid1", "acceptCase", id=case["id"])
        await step(c.api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit)
        cases.append(case["id"])
    started = await _desk(c, tokens["rescue"], START, id=cases[0])
    due = datetime.fromisoformat(started["case"]["dueAt"])
    await _desk(c, tokens["rescue"], EXTEND, id=cases[0], dueAt=(due + timedelta(days=2)).isoformat(), reason="需协调")
    await _desk(c, tokens["rescue"], START, id=cases[1])
    await _desk(c, tokens["rescue"], RESOLVE, id=cases[1], resolution="已疏通")
    return clients


async def _both(c: ClockApi, token: str, query: str, variables: dict[str, Any]) -> tuple[bytes, bytes, bool]:
    with compiled_statements() as made:
        r1 = await c.api.post(query, variables, token=token)
    c.state.compiled_reads = False
    try:
        r2 = await c.api.post(query, variables, token=token)
    finally:
        c.state.compiled_reads = True
    assert r1.status_code == r2.status_code == 200, (r1.text, r2.text)
    return orjson.dumps(r1.json()), orjson.dumps(r2.json()), bool(made and made[0] is not None)


async def test_every_desk_of_both_tenants_reads_the_same_compiled(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    c = capi
    scene = {tw.slug: (tw, await _tenant(c, tw, seq)) for tw, seq in ((fresh.a, 51), (fresh.b, 61))}
    p = PartnerApi(c.api, c.state)
    totals: dict[tuple[str, str, str], int] = {}
    for when, label in ((MONDAY_10, "in force"), (datetime(2026, 12, 7, 16, 1, tzinfo=UTC), "ended")):
        c.at(when)
        for slug, (tw, clients) in scene.items():
            for key, creds in clients.items():
                token = await p.access(*creds)
                for states in STATES:
                    for first in (None, 1, 0, 100):
                        v = {"s": states, "first": first}
                        compiled, resolved, taken = await _both(c, token, ASSIGNED, v)
                        assert taken and compiled == resolved, (slug, key, label, v, around(compiled, resolved))
                v2: dict[str, Any] = {"first": 1}
                for _ in range(10):  # page by page
                    compiled, resolved, taken = await _both(c, token, ASSIGNED, v2)
                    assert taken and compiled == resolved, (slug, key, label, v2, around(compiled, resolved))
                    info = orjson.loads(compiled)["data"]["assignedCases"]["pageInfo"]
                    if not info["hasNextPage"]:
                        break
                    v2 = {**v2, "after": info["endCursor"]}
                compiled, resolved, taken = await _both(c, token, MIX, {})
                assert taken and compiled == resolved, (slug, key, label, around(compiled, resolved))
                totals[(slug, key, label)] = orjson.loads(compiled)["data"]["assignedCases"]["totalCount"]
            # the staff's desk (the firm's, which handles none here) and the dispatcher's: theirs, compiled too
            for user in ("firm", "grid1", "nobody"):
                compiled, resolved, taken = await both(c.api, tw, user, ASSIGNED, {})
                assert taken and compiled == resolved, (slug, user, around(compiled, resolved))
    for tw in (fresh.a, fresh.b):
        assert totals[(tw.slug, "rescue", "in force")] == 3  # started, dispatched ×2 (the resolved one is not asked)
        assert totals[(tw.slug, "hospital", "in force")] == 1
        assert totals[(tw.slug, "hospital", "ended")] == 0  # its C1 agreement ended on the Beijing date
        assert totals[(tw.slug, "rescue", "ended")] == 3


async def test_a_bad_desk_argument_is_the_resolvers_error_either_way(capi: ClockApi, fresh: World, db: DbEnv
                                                                     ) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    c = capi
    clients = await _tenant(c, fresh.a, 71)
    token = await PartnerApi(c.api, c.state).access(*clients["rescue"])
    for v in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}):
        compiled, resolved, _ = await _both(c, token, ASSIGNED, v)
        assert compiled == resolved and b'"errors"' in compiled, (v, compiled)
