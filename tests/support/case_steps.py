"""Helpers of the stage and step tests (issue #22): the app with a clock the test sets, case mutations by
name (the new steps' inputs are named after them), the case with its stages, the overdue job in one
tenant, and two conflicting mutations at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from resolvers.cases import report_overdue_stages
from resolvers.context import Db
from tenants.session import bind_tenant
from tests.support.cases import INPUT_TYPES, area_gid
from tests.support.harness import JWT_SECRET, STATEMENT_TIMEOUT_MS, Api, DbEnv
from tests.support.world import TenantWorld

# Monday 2026-12-07, 10:00 in Beijing: a working day (working hours 09:00–12:00, 13:30–17:30).
MONDAY_10 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)

FIELDS = """
fragment S on Case {
  id state version supervised dueAt handlerName reopenCount returnCount closureFlagged callbackResult urgencyTier
  currentStage { stage startedAt dueAt overdue requestedDueAt extensions }
  stages { stage startedAt dueAt completedAt outcome overdue }
  timeline { seq action fromState toState note }
}
"""


@dataclass
class ClockApi:
    """The real app whose request time is ``now`` (set it between requests)."""

    api: Api
    state: Any

    def at(self, when: datetime) -> None:
        self.state.clock = lambda: when


@pytest.fixture
async def capi(db: DbEnv) -> AsyncIterator[ClockApi]:
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, rate_limit_per_minute=0,
                        db_statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    app = create_app(settings, engine=db.engine)
    state = app.state.gongzhi
    state.clock = lambda: MONDAY_10
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield ClockApi(Api(client, settings), state)


def input_type(name: str) -> str:
    return INPUT_TYPES.get(name) or name[0].upper() + name[1:] + "Input"


async def run(api: Api, tw: TenantWorld, user: str, name: str, **fields: Any) -> dict[str, Any]:
    """One case mutation as a world user: its payload {case, errors}."""
    doc = FIELDS + (f"mutation($i: {input_type(name)}!) {{ m: {name}(input: $i) "
                    "{ case { ...S } errors { code field message } } }")
    body = await api.gql(tw, user, doc, {"i": fields})
    payload: dict[str, Any] = body["data"]["m"]
    return payload


async def step(api: Api, tw: TenantWorld, user: str, name: str, **fields: Any) -> dict[str, Any]:
    payload = await run(api, tw, user, name, **fields)
    assert payload["errors"] == [], (name, payload["errors"])
    case: dict[str, Any] = payload["case"]
    return case


def refused(payload: dict[str, Any], code: str, field: str | None = None) -> None:
    assert payload["case"] is None and payload["errors"], payload
    assert payload["errors"][0]["code"] == code, payload["errors"]
    if field is not None:
        assert payload["errors"][0]["field"] == field, payload["errors"]


async def case_now(api: Api, tw: TenantWorld, case_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await api.gql(tw, "admin", FIELDS + "query($id: ID!) { node(id: $id) { ...S } }",
                                          {"id": case_id}))["data"]["node"]
    return node


async def unchanged(api: Api, tw: TenantWorld, before: dict[str, Any]) -> None:
    after = await case_now(api, tw, before["id"])
    assert (after["state"], after["version"], len(after["timeline"]), after["stages"]) == (
        before["state"], before["version"], len(before["timeline"]), before["stages"])


async def reported(api: Api, tw: TenantWorld, *, priority: str = "URGENT", category: str = "drainage",
                   user: str = "resident") -> dict[str, Any]:
    return await step(api, tw, user, "reportCase", areaId=area_gid(tw, "B1"), category=category, priority=priority,
                      title="扬天小区11栋污水外溢")


async def dispatched(api: Api, tw: TenantWorld, **kw: Any) -> dict[str, Any]:
    from tests.support.cases import firm_gid

    case = await reported(api, tw, **kw)
    await step(api, tw, "grid1", "acceptCase", id=case["id"])
    return await step(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM", firmId=firm_gid(tw))


async def resolved(api: Api, tw: TenantWorld, **kw: Any) -> dict[str, Any]:
    case = await dispatched(api, tw, **kw)
    await step(api, tw, "firm", "startCase", id=case["id"])
    return await step(api, tw, "firm", "resolveCase", id=case["id"], resolution="已疏通")


async def overdue_job(db: DbEnv, tw: TenantWorld, now: datetime) -> int:
    """The periodic job in this tenant only (run_everywhere's steps): stages reported."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        events = await report_overdue_stages(Db(s), now=now)
        await s.commit()
    return sum(1 for e in events if e["topic"] == "case")


async def at_once(db: DbEnv, api: Api, tw: TenantWorld, a: tuple[str, str, dict[str, Any]],
                  b: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Two mutations at the same moment; returns their payloads (SQLite's one writer may answer 503)."""
    async def attempt(user: str, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        doc = f"mutation($i: {input_type(name)}!) {{ m: {name}(input: $i) {{ case {{ state version }} " \
              "errors { code } } }"
        body = await api.gql(tw, user, doc, {"i": fields}, allow_errors=True)
        if "errors" in body:
            assert not db.is_pg and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
            return {"case": None, "errors": [{"code": "SERVICE_UNAVAILABLE"}]}
        payload: dict[str, Any] = body["data"]["m"]
        return payload

    return list(await asyncio.gather(attempt(*a), attempt(*b)))


async def exactly_one_wins(db: DbEnv, api: Api, tw: TenantWorld, before: dict[str, Any],
                           a: tuple[str, str, dict[str, Any]], b: tuple[str, str, dict[str, Any]],
                           also: tuple[str, ...] = ()) -> dict[str, Any]:
    """Exactly one of ``a`` and ``b`` wins; the loser is told CONFLICT or INVALID_TRANSITION (or ``also``:
    a firm that lost the case to the other step may no longer act on it, FORBIDDEN)."""
    results = await at_once(db, api, tw, a, b)
    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 1, results
    loser = next(r for r in results if r["errors"])
    assert loser["errors"][0]["code"] in ("CONFLICT", "INVALID_TRANSITION", "SERVICE_UNAVAILABLE", *also), loser
    after = await case_now(api, tw, before["id"])
    assert after["version"] == before["version"] + 1 and after["state"] == winners[0]["case"]["state"]
    return after
