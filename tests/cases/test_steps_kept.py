"""The case steps' checks inside their write (resolvers/cases/kept_cases.py, ``steps_fast._guard``; issue #21): a case
this process reported or stepped last on the driver is kept as written, and its next step on the driver sends its
checks as the first WITH of its write — two statements after BEGIN, not three — with the same answer and rows as the
general path. A kept case or fact that changed since (another writer, a renamed community, an actor whose grant does
not reach the case) is refused in the write, and the step is made once more with its checks in their own statement:
the database's values answer, and nothing of the refused write is there. A step of the general path forgets the
case, so the next fast step reads it afresh without a refused write first."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from models import Area, Case
from tenants.session import bind_tenant, count_statements
from tests.support.cases import area_gid
from tests.support.fast_steps import REPORT, case_id, clocked_tenant, doc, fast_taken, payload, post, rows
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

_ID = re.compile(r'"(?:id|number)":"[^"]*"')


@pytest.fixture(scope="module")
async def tenant(db: DbEnv, api: Api) -> AsyncIterator[TenantWorld]:
    async with clocked_tenant(db, api, "sk") as tw:
        await loop(api, tw, await reported(api, tw, fast=True), fast=True)  # the steps' facts kept
        yield tw


async def reported(api: Api, tw: TenantWorld, *, fast: bool) -> str:
    body = await post(api, tw, "resident", REPORT, {"areaId": area_gid(tw, "B1"), "category": "garbage",
                                                    "title": "垃圾未清运", "idempotencyKey": uuid.uuid4().hex},
                      fast=fast)
    gid: str = payload(body)["case"]["id"]
    return gid


def steps(tw: TenantWorld) -> list[tuple[str, str, dict[str, Any], str]]:
    """The loop of bench.mix (user, step, input, the case fields asked), every field the fast path answers."""
    every = ("id number title description category priority state locationText onProblemWall reportedByMe "
             "handlerKind handlerName dueAt supervised resolution satisfied feedbackComment reopenCount version "
             "reportedAt")
    return [("grid1", "acceptCase", {"note": "已受理"}, every),
            ("grid1", "dispatchCase", {"handlerKind": "COMMUNITY", "communityId": area_gid(tw, "C1"),
                                       "note": "社区处理"}, every),
            ("grid1", "startCase", {}, every),
            ("grid1", "resolveCase", {"resolution": "已清运"}, every),
            ("resident", "giveCaseFeedback", {"satisfied": True, "comment": "很及时",
                                              "idempotencyKey": "fresh"}, every)]


async def loop(api: Api, tw: TenantWorld, gid: str, *, fast: bool) -> list[tuple[bytes, int]]:
    """The loop on one case by either path: each step's answer and its statements after BEGIN."""
    out = []
    for user, name, data, fields in steps(tw):
        given = {"id": gid, **data}
        if data.get("idempotencyKey") == "fresh":
            given["idempotencyKey"] = uuid.uuid4().hex
        with count_statements() as sent:
            body = await post(api, tw, user, doc(name, fields), given, fast=fast)
        assert payload(body)["errors"] == [], (name, body)
        out.append((body, len(sent)))
    return out


async def test_the_loop_kept_is_the_general_paths_with_a_statement_fewer(api: Api, db: DbEnv,
                                                                          tenant: TenantWorld) -> None:
    """A case reported on the driver and stepped through bench.mix's loop: each step after the report takes two
    statements, its checks in the write. The answers and every row (case, stages, timeline, notifications, audit)
    are the general path's, on a case of its own."""
    tw = tenant
    a, b = await reported(api, tw, fast=True), await reported(api, tw, fast=False)
    with fast_taken() as taken:
        fast = await loop(api, tw, a, fast=True)
    general = await loop(api, tw, b, fast=False)
    assert taken == [True] * 5
    assert [n for _b, n in fast] == [2] * 5, fast
    for (x, _n), (y, _m) in zip(fast, general, strict=True):
        assert _ID.sub("", x.decode()) == _ID.sub("", y.decode())
    assert await rows(db, tw, a) == await rows(db, tw, b)


async def _accepted(api: Api, tw: TenantWorld) -> str:
    gid = await reported(api, tw, fast=True)
    with count_statements() as sent:
        body = await post(api, tw, "grid1", doc("acceptCase"), {"id": gid}, fast=True)
    assert payload(body)["errors"] == [] and len(sent) == 2, (body, sent)
    return gid


DISPATCH = {"handlerKind": "COMMUNITY", "note": "社区处理"}
ASKED = "id title handlerName version state"


async def test_a_case_changed_since_it_was_kept_is_read_again(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """Another writer changes a column of a kept case without a new version: the dispatch's guard refuses its write,
    the step is made again with its checks in their own statement (first statement, refused write, first statement,
    checks, write), and answers with the case as the database holds it."""
    tw = tenant
    gid = await _accepted(api, tw)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        await s.execute(update(Case).where(Case.id == case_id(gid)).values(title="改过的标题"))
        await s.commit()
    with fast_taken() as taken, count_statements() as sent:
        body = payload(await post(api, tw, "grid1", doc("dispatchCase", ASKED),
                                  {"id": gid, **DISPATCH, "communityId": area_gid(tw, "C1")}, fast=True))
    assert body["errors"] == [] and body["case"]["title"] == "改过的标题", body
    assert taken == [True, True] and len(sent) == 5, (taken, sent)
    got = await rows(db, tw, gid)
    assert [e["action"] for e in got["events"]] == ["report", "accept", "dispatch"]
    assert [(a["action"], a["detail"]["outcome"]) for a in got["audit"]].count(("dispatchCase", "ok")) == 1
    assert [n["kind"] for n in got["notifications"]].count("dispatched") == 1


async def test_a_fact_changed_since_it_was_kept_is_read_again(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """The community a dispatch names is renamed after its name was kept: the guard refuses the write, and the case
    is dispatched with the community's name as it is now."""
    tw = tenant
    gid = await _accepted(api, tw)
    community = tw.areas["C1"]

    async def rename(name: str) -> None:
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            await s.execute(update(Area).where(Area.id == community).values(name=name))
            await s.commit()

    await rename("东风社区（新）")
    try:
        with count_statements() as sent:
            body = payload(await post(api, tw, "grid1", doc("dispatchCase", ASKED),
                                      {"id": gid, **DISPATCH, "communityId": area_gid(tw, "C1")}, fast=True))
    finally:
        await rename("东风社区")
    assert body["errors"] == [] and body["case"]["handlerName"] == "东风社区（新）", body
    assert len(sent) == 5, sent


async def test_an_actor_out_of_reach_is_refused_in_the_write(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """A kept case accepted by a grid leader whose grant does not reach it: the guard refuses the write, the step
    read again is refused too, and the general path answers as it does for a case never kept; nothing is written,
    and the case, forgotten, is read again by the next step (three statements)."""
    tw = tenant
    a, b = await reported(api, tw, fast=True), await reported(api, tw, fast=False)
    with fast_taken() as taken:
        refused = await post(api, tw, "grid2", doc("acceptCase"), {"id": a}, fast=True)
    general = await post(api, tw, "grid2", doc("acceptCase"), {"id": b}, fast=False)
    assert payload(refused)["errors"], refused
    assert _ID.sub("", refused.decode()) == _ID.sub("", general.decode())
    assert taken == [True, False], taken
    assert [e["action"] for e in (await rows(db, tw, a))["events"]] == ["report"]
    with count_statements() as sent:
        body = await post(api, tw, "grid1", doc("acceptCase"), {"id": a}, fast=True)
    assert payload(body)["errors"] == [] and len(sent) == 3, (body, sent)


async def test_a_step_of_the_general_path_forgets_the_case(api: Api, db: DbEnv, tenant: TenantWorld) -> None:
    """A kept case supervised (督办, the general path's): the next dispatch reads it in a statement of its own (three
    statements), never a write refused first, and the supervisor hears of it as the general path says."""
    tw = tenant
    gid = await _accepted(api, tw)
    body = payload(await post(api, tw, "admin", doc("superviseCase"), {"id": gid, "note": "督办"}, fast=True))
    assert body["errors"] == [], body
    with fast_taken() as taken, count_statements() as sent:
        body = payload(await post(api, tw, "grid1", doc("dispatchCase", ASKED),
                                  {"id": gid, **DISPATCH, "communityId": area_gid(tw, "C1")}, fast=True))
    assert body["errors"] == [] and body["case"]["version"] == 4, body
    assert taken == [True] and len(sent) == 3, (taken, sent)
