"""The write path's shared steps (issue #21): a succeeded mutation's SAVEPOINT released by the request's
COMMIT instead of its own RELEASE (at most ``KEPT_SAVEPOINTS`` per request), and a later refusal in the same
document still undoing only itself; the audit entry of a mutation without events in the fixed-text statement;
markNotificationsRead's check as one text per actor (resolvers/prepared.py), with its answers unchanged."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import KEPT_SAVEPOINTS, count_statements
from tests.support.deliberation import area
from tests.support.fast_paths import general_path
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

FEED = "query($a: ID) { notices(areaId: $a) { nodes { title } } }"
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked errors { code field } } }"


def _publish_many(titles: list[str]) -> str:
    parts = [f'n{i}: publishNotice(input: {{areaId: $a, title: "{t}", body: "通知内容"}}) {{ notice {{ id }} '
             "errors { code } }" for i, t in enumerate(titles)]
    return "mutation($a: ID!) { " + " ".join(parts) + " }"


def _pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the kept savepoint and the driver's texts are PostgreSQL's")


async def _titles(api: Api, tw: TenantWorld, where: str) -> set[str]:
    r = await api.gql(tw, "admin", FEED, {"a": area(tw, where)})
    return {n["title"] for n in r["data"]["notices"]["nodes"]}


async def test_a_succeeded_mutation_sends_no_release_and_its_write_is_committed(
        api: Api, fresh: World, db: DbEnv) -> None:
    _pg(db)
    a = fresh.a
    # One notice alone would take its fast path (no SAVEPOINT at all, gongzhi/http/fast_inserts.py): this is
    # the general path's savepoint.
    with general_path(api), count_statements() as sql:
        r = await api.gql(a, "chair", _publish_many(["停水通知"]), {"a": area(a, "P1")})
    assert r["data"]["n0"]["errors"] == []
    assert any(s.startswith("SAVEPOINT") for s in sql)
    assert not any(s.startswith("RELEASE SAVEPOINT") for s in sql), sql
    assert "停水通知" in await _titles(api, a, "P1")


async def test_a_refusal_after_a_kept_savepoint_undoes_only_itself(api: Api, fresh: World, db: DbEnv) -> None:
    _pg(db)
    a = fresh.a
    # the second is refused (an empty title): the first's notice stays, the third's too
    r = await api.gql(a, "chair", _publish_many(["第一条", "", "第三条"]), {"a": area(a, "P1")})
    assert [r["data"][f"n{i}"]["errors"] for i in range(3)] == [[], [{"code": "INVALID"}], []]
    titles = await _titles(api, a, "P1")
    assert {"第一条", "第三条"} <= titles and "" not in titles


async def test_beyond_the_kept_savepoints_each_is_released(api: Api, fresh: World, db: DbEnv) -> None:
    _pg(db)
    a = fresh.a
    titles = [f"通知{i}" for i in range(KEPT_SAVEPOINTS + 3)]
    with count_statements() as sql:
        r = await api.gql(a, "chair", _publish_many(titles), {"a": area(a, "P1")})
    assert all(r["data"][f"n{i}"]["errors"] == [] for i in range(len(titles)))
    assert sum(s.startswith("RELEASE SAVEPOINT") for s in sql) == 3
    assert set(titles) <= await _titles(api, a, "P1")


async def test_an_audit_entry_without_events_goes_in_the_fixed_statement(api: Api, fresh: World, db: DbEnv) -> None:
    _pg(db)
    a = fresh.a
    with count_statements() as sql:
        r = await api.gql(a, "admin", MARK, {"ids": []})  # marks nothing: no event, one audit entry
    assert r["data"]["markNotificationsRead"] == {"marked": 0, "errors": []}
    audit = [s for s in sql if "audit_log" in s]
    assert len(audit) == 1 and audit[0].startswith("WITH audit AS (INSERT INTO audit_log"), audit


async def _notification_ids(api: Api, tw: TenantWorld, user: str) -> list[str]:
    r = await api.gql(tw, user, "{ notifications(unreadOnly: false, first: 50) { nodes { id } } }")
    return [n["id"] for n in r["data"]["notifications"]["nodes"]]


async def test_marking_read_through_the_prepared_text_answers_as_before(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    from tests.support.cases import accept, dispatch_firm, report

    case = await dispatch_firm(api, a, await accept(api, a, await report(api, a, "resident", "B1")))
    assert case["state"] == "DISPATCHED"
    users = [u for u in ("admin", "secretary", "grid1", "firm") if await _notification_ids(api, a, u)]
    assert users, "the dispatch notified someone"
    user = users[0]
    mine = await _notification_ids(api, a, user)
    others = [i for u in ("admin", "secretary", "grid1", "firm", "resident") if u != user
              for i in await _notification_ids(api, a, u) if i not in mine]
    none = encode_global_id("Notification", uuid.UUID(int=12345))
    for ids in ([none], [*mine[:1], none], *([[*mine[:1], others[0]]] if others else [])):
        out: dict[str, Any] = (await api.gql(a, user, MARK, {"ids": ids}))["data"]["markNotificationsRead"]
        assert out == {"marked": 0, "errors": [{"code": "NOT_FOUND", "field": "ids"}]}, ids
    with count_statements() as sql:
        first = (await api.gql(a, user, MARK, {"ids": mine}))["data"]["markNotificationsRead"]
    assert first == {"marked": len(mine), "errors": []}
    if db.is_pg:  # the check on the driver: one text with the ids as one text[] parameter, none inlined
        checks = [s for s in sql if s.startswith("SELECT notifications.id")]
        # (its number is the text's own: a text shared per actor shape, h-votes, numbers the actor's values too)
        assert len(checks) == 1 and len(re.findall(r"\$\d+::text\[\]", checks[0])) == 1, checks
        assert not any(str(decode_global_id(i).id) in checks[0] for i in mine), checks
    again = (await api.gql(a, user, MARK, {"ids": mine}))["data"]["markNotificationsRead"]
    assert again == {"marked": 0, "errors": []}
