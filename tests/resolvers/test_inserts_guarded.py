"""publishNotice, proposeTopic and postWish on the driver with their checks inside their write (issue #21; the
area's path kept by resolvers.deliberation.kept, the person's household and building by
resolvers.care.wish_post_fast): two statements after BEGIN once the process keeps what the row takes from the
checks — three for the first, which reads them in a statement of its own and keeps them. Every refusal of the
checks in the write (an actor out of reach, a path, household or building no longer the kept one) writes nothing,
and the general path answers it from the start exactly as it answers it alone (the same bytes, rows, audit entries
and events: ``both`` of tests/resolvers/test_inserts_fast.py); what was kept is kept at the tenant's actor_version
(migration 0055) and read afresh once it moved — where it does not move (Citus), trusted for ``TRUST`` seconds."""

from __future__ import annotations

import dataclasses
import time
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import text

import resolvers.care as care_service
import resolvers.deliberation as deliberation_service
from gongzhi.http import state as http_state
from models import Topic, Wish
from resolvers.care import wish_post_fast
from resolvers.deliberation import kept
from tenants.rls import set_tenant_sql
from tenants.session import count_statements
from tests.resolvers.test_inserts_fast import NOTICE, TOPIC, WISH, both, notice, observed, post
from tests.support import citus
from tests.support.fast_paths import prepared_taken
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import area, person
from tests.support.world import TenantWorld

GUARD = "WITH w0 AS (SELECT true AS ok FROM ("
TOPICS: dict[str, Any] = {"model": Topic, "action": "proposeTopic", "name": "prepare_topic", "event": False}
WISHES: dict[str, Any] = {"model": Wish, "action": "postWish", "name": "prepare_post_wish", "event": False}


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every insert takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every insert takes the general path")


def guarded(name: str) -> AbstractContextManager[list[bool | None]]:
    """Per insert ``name`` (its prepare function) prepared or left: None (left to the general path before any
    write), False (checked in a statement of its own), True (its checks inside its write)."""
    module = care_service if name == "prepare_post_wish" else deliberation_service
    return prepared_taken((module, name), note=lambda out: None if out is None else out.ctes[0].startswith(
        "SELECT true AS ok FROM ("))


def topic(tw: TenantWorld, **more: Any) -> dict[str, Any]:
    return {"areaId": area(tw, "P1", "Compound"), "description": "小区电动车越来越多。", **more}


def wish(tw: TenantWorld, **more: Any) -> dict[str, Any]:
    return {"personId": person(tw, "h1b"), "description": "车胎漏气。", **more}


async def counted(api: Api, tw: TenantWorld, user: str, document: str, given: dict[str, Any], name: str
                  ) -> tuple[list[bool], list[bool | None], list[str]]:
    """One insert on the fast path: whether it answered it, whether its checks went inside its write, and its
    statements after BEGIN."""
    with observed(api, name) as (taken, _events), guarded(name) as shapes, count_statements() as sent:
        await post(api, tw, user, document, {"input": given}, fast=True)
    return taken, shapes, sent


async def test_the_checks_go_inside_the_write_once_kept(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """A notice, topic and wish of an area or person the process keeps nothing of: three statements, the checks
    their own; then two, the checks the write's guard — and the same answer, rows, audit entries and events as the
    general path's."""
    tw = fresh.a
    for user, document, given, name in (("chair", NOTICE, notice(tw, title="首条"), "prepare_notice"),
                                        ("resident", TOPIC, topic(tw, title="首条"), "prepare_topic"),
                                        ("resident", WISH, wish(tw, title="首条"), "prepare_post_wish")):
        await post(api, tw, user, document, {"input": {**given, "title": "热身"}}, fast=True)  # the actor's texts
        if name == "prepare_post_wish":
            wish_post_fast._HOMES.pop((tw.tenant_id, tw.persons["h1b"]))
        else:
            kept._PATHS.pop((tw.tenant_id, tw.areas["P1"]))
        taken, shapes, sent = await counted(api, tw, user, document, given, name)
        assert (taken, shapes, len(sent)) == ([True], [False], 3), (name, sent)
        taken, shapes, sent = await counted(api, tw, user, document, {**given, "title": "次条"}, name)
        assert (taken, shapes, len(sent)) == ([True], [True], 2), (name, sent)
        assert sent[1].startswith(GUARD), sent[1]
    with guarded("prepare_notice") as shapes:
        assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert shapes == [True]
    with guarded("prepare_topic") as shapes:
        assert await both(api, db, tw, "resident", TOPIC, topic(tw), **TOPICS)
    assert shapes == [True]
    with guarded("prepare_post_wish") as shapes:
        assert await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
    assert shapes == [True]


async def test_refused_in_the_write_out_of_reach(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """The area's path kept from the chair's notice, the person's household from the resident's wish: an actor the
    grants do not reach there is refused by the checks in the write, nothing is written, and the general path
    answers (FORBIDDEN / NOT_FOUND) as it answers alone."""
    tw = fresh.a
    assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert await both(api, db, tw, "resident", TOPIC, topic(tw), **TOPICS)
    assert await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
    for user, document, given, name, kw in (("resident", NOTICE, notice(tw), "prepare_notice", {}),
                                            ("resident4", TOPIC, topic(tw), "prepare_topic", TOPICS),
                                            ("resident4", WISH, wish(tw), "prepare_post_wish", WISHES)):
        with guarded(name) as shapes:
            assert not await both(api, db, tw, user, document, given, **kw), (user, name)
        assert shapes == [True], (user, name)


async def test_refused_in_the_write_no_longer_the_kept(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """What a row takes from its checks changed since it was kept (an area moved, a person another household —
    here the kept values made stale): the checks in the write refuse it, nothing of the stale row is written, and
    the general path answers with the current ones, as alone."""
    tw = fresh.a
    assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
    key = (tw.tenant_id, tw.areas["P1"])
    kept._PATHS[key] = dataclasses.replace(kept._PATHS[key], value=kept._PATHS[key].value + "01a2/")
    with guarded("prepare_notice") as shapes:
        assert not await both(api, db, tw, "chair", NOTICE, notice(tw))
        assert not await both(api, db, tw, "resident", TOPIC, topic(tw), **TOPICS)
    assert shapes == [True], shapes  # the topic's prepare_topic: not spied here
    home = (tw.tenant_id, tw.persons["h1b"])
    was = wish_post_fast._HOMES[home]
    household, building = was.value
    for stale in ((tw.households["H2"], building), (household, tw.areas["B2"])):
        wish_post_fast._HOMES[home] = dataclasses.replace(was, value=stale)
        with guarded("prepare_post_wish") as shapes:
            assert not await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
        assert shapes == [True], stale


async def _counted_twice(api: Api, tw: TenantWorld, title: str, first: bool) -> None:
    """A notice and a wish: the first of each with its checks in a statement of their own (``first``: read afresh,
    three statements) or inside its write (two); the second inside its write either way (kept anew)."""
    for user, document, given, name in (("chair", NOTICE, notice(tw, title=title), "prepare_notice"),
                                        ("resident", WISH, wish(tw, title=title), "prepare_post_wish")):
        taken, shapes, sent = await counted(api, tw, user, document, given, name)
        assert (taken, shapes, len(sent)) == (([True], [False], 3) if first else ([True], [True], 2)), (name, sent)
        taken, shapes, sent = await counted(api, tw, user, document, {**given, "title": title + "再来"}, name)
        assert (taken, shapes, len(sent)) == ([True], [True], 2), (name, sent)


def _aged(tw: TenantWorld) -> None:
    """What the process keeps of P1 and h1b made ``TRUST`` seconds old."""
    key, home = (tw.tenant_id, tw.areas["P1"]), (tw.tenant_id, tw.persons["h1b"])
    kept._PATHS[key] = dataclasses.replace(kept._PATHS[key], at=time.monotonic() - kept.TRUST)
    wish_post_fast._HOMES[home] = dataclasses.replace(wish_post_fast._HOMES[home],
                                                      at=time.monotonic() - wish_post_fast.TRUST)


async def test_kept_values_read_afresh_once_the_actor_version_moved(api: Api, db: DbEnv, fresh: World,
                                                                    pg: None) -> None:
    """Kept at the tenant's actor_version: however old, used while it stands; any change that moves it (here an
    area renamed by plain SQL — no resolver told anything) has the next request read them afresh."""
    tw = fresh.a
    assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
    _aged(tw)
    await _counted_twice(api, tw, "旧而未变", first=False)
    async with db.engine.connect() as conn, conn.begin():
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        await conn.execute(text("UPDATE areas SET name = name || '·' WHERE id = :a"), {"a": tw.areas["G2"]})
    await _counted_twice(api, tw, "版本已变", first=True)


async def test_kept_values_trusted_for_a_while_where_the_version_does_not_move(
        api: Api, db: DbEnv, fresh: World, pg: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where actor_version does not move (Citus: its triggers do nothing), what was kept ``TRUST`` seconds ago or
    more is read afresh: the checks in a statement of their own again (three statements), kept anew, and the next
    request has them inside its write."""
    monkeypatch.setattr(http_state, "on_citus", lambda _engine: True)
    tw = fresh.a
    assert await both(api, db, tw, "chair", NOTICE, notice(tw))
    assert await both(api, db, tw, "resident", WISH, wish(tw), **WISHES)
    await _counted_twice(api, tw, "未过期", first=False)
    _aged(tw)
    await _counted_twice(api, tw, "过期", first=True)
