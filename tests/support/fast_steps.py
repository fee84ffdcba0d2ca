"""The case steps on the driver (gongzhi/http/fast_writes.py, resolvers/cases/steps_fast.py; issue #21), as
tests/cases/test_steps_fast.py and test_steps_kept.py drive them: a tenant whose clock is a working Monday morning,
the mutations by either path, a case brought by the general path to where a step is its next, and every row of a
case as both paths must leave it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import Text, cast, select

import resolvers.cases as case_service
from models import AuditEntry, Case, CaseEvent, CaseStage, Notification
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support import citus
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by, prepared_taken
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.world import TenantWorld, build_tenant

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # a Monday, 10:30 in Shanghai: working time
ERR = "errors { code message field }"
INPUT = {"acceptCase": "CaseTransitionInput", "dispatchCase": "DispatchCaseInput", "startCase": "CaseTransitionInput",
         "resolveCase": "ResolveCaseInput", "giveCaseFeedback": "CaseFeedbackInput",
         "superviseCase": "CaseTransitionInput"}
REPORT = f"mutation($input: ReportCaseInput!) {{ reportCase(input: $input) {{ case {{ id }} {ERR} }} }}"


def doc(name: str, fields: str = "id state version") -> str:
    return f"mutation M($input: {INPUT[name]}!) {{ {name}(input: $input) {{ case {{ {fields} }} {ERR} }} }}"


@asynccontextmanager
async def clocked_tenant(db: DbEnv, api: Api, prefix: str) -> AsyncIterator[TenantWorld]:
    """A new tenant (slug ``prefix``…) with the app's clock at ``NOW`` while it is used, and the tenant's working
    calendar kept by this process (a step made by the general path); PostgreSQL only."""
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every step takes the general path")
    if citus.ENABLED:  # test_report_fast.test_on_citus_the_report_and_the_steps_take_the_general_path
        pytest.skip("the driver path is off on Citus (gongzhi/http/graphql.py); every step takes the general path")
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.clock = lambda: NOW
    try:
        tw = await build_tenant(db.sessionmaker, new_slug(prefix))
        await made(api, tw, "resolveCase")  # the tenant's working calendar kept by this process
        yield tw
    finally:
        state.clock = lambda: datetime.now(UTC)


@contextmanager
def fast_taken() -> Iterator[list[bool]]:
    """Per step the fast path saw, whether it prepared the writes."""
    with prepared_taken((case_service, "prepare_step")) as taken:
        yield taken


async def post(api: Api, tw: TenantWorld, user: str, document: str, data: dict[str, Any], *, fast: bool) -> bytes:
    return await post_by(api, tw, user, document, {"input": data}, fast=fast)


def payload(body: bytes) -> dict[str, Any]:
    return dict(next(iter(orjson.loads(body)["data"].values())))


# The general path's steps before each one (the case's reporter is "resident", of B1 in G1 and C1).
BEFORE = {
    "acceptCase": [],
    "dispatchCase": [("grid1", "acceptCase", {})],
    "startCase": [("grid1", "acceptCase", {}), ("grid1", "dispatchCase", {"handlerKind": "COMMUNITY"})],
    "resolveCase": [("grid1", "acceptCase", {}), ("grid1", "dispatchCase", {"handlerKind": "COMMUNITY"}),
                    ("grid1", "startCase", {})],
}
BEFORE["giveCaseFeedback"] = [*BEFORE["resolveCase"], ("grid1", "resolveCase", {"resolution": "已处理"})]


async def made(api: Api, tw: TenantWorld, name: str, *, supervised: bool = False) -> str:
    """A case brought by the general path to where ``name`` is its next step; its global id."""
    body = await post(api, tw, "resident", REPORT, {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                    "title": "垃圾未清运", "idempotencyKey": uuid.uuid4().hex},
                      fast=False)
    gid: str = payload(body)["case"]["id"]
    steps = list(BEFORE[name])
    if supervised:
        steps.insert(1, ("admin", "superviseCase", {"note": "督办"}))
    for user, step, extra in steps:
        if step == "dispatchCase":
            extra = {**extra, "communityId": area_gid(tw, "C1")}
        got = payload(await post(api, tw, user, doc(step), {"id": gid, **extra}, fast=False))
        assert got["errors"] == [], (step, got)
    return gid


def case_id(gid: str) -> uuid.UUID:
    return decode_global_id(gid, "Case")[1]


async def rows(db: DbEnv, tw: TenantWorld, gid: str) -> dict[str, Any]:
    """Every row of the case, without what differs per case by nature (ids, number, keys, request ids)."""
    cid = case_id(gid)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        case = (await s.execute(select(Case).where(Case.id == cid))).scalar_one()
        stages = (await s.scalars(select(CaseStage).where(CaseStage.case_id == cid).order_by(CaseStage.seq))).all()
        events = (await s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq))).all()
        notes = (await s.scalars(select(Notification).where(Notification.case_id == cid)
                                 .order_by(Notification.id))).all()
        named = cast(AuditEntry.object_ids, Text).contains(str(cid))
        audit = (await s.scalars(select(AuditEntry).where(named).order_by(AuditEntry.id))).all()
    ids = {str(cid): "C"} | {str(x.id): f"S{x.seq}" for x in stages} | {str(x.id): f"E{x.seq}" for x in events}
    ids |= {str(x.id): f"N{i}" for i, x in enumerate(notes)}

    def plain(obj: Any, *skip: str) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in ("id", *skip)}
        text = orjson.dumps(values, default=str).decode()
        for k, v in ids.items():
            text = text.replace(k, v)
        for k in filter(None, (case.number, case.idempotency_key, *(e.idempotency_key for e in events))):
            text = text.replace(k, "N")
        return dict(orjson.loads(text))

    return {"case": plain(case, "number", "idempotency_key"), "stages": [plain(x, "case_id") for x in stages],
            "events": [plain(x, "case_id") for x in events],
            "notifications": [plain(x, "case_id") for x in notes],
            "audit": [plain(x, "request_id") for x in audit]}
