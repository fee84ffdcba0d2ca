"""The compiled unit feed (compiled/notifications.py, issue #21): ``unitNotifications(unreadOnly:, first:,
after:)`` answers exactly what the resolvers answer for every partner client (two units, two clients of one:
each with its own read state) and every world user (the firm's staff read their firm's) — the same bytes,
every page by its cursor, in one statement. The notifications carry cases and none, a kind the enum does not
know (null), quotes and Chinese; the other unit's, the firm's and a user's own are out of a unit's feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from models import Notification, uuid7
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant, count_statements
from tests.cases.test_case_stats import insert_cases
from tests.support.cobuilding import community, make_agreement, make_unit
from tests.support.compiled import around, both, compiled_statements, partner_both
from tests.support.harness import Api, DbEnv, World
from tests.support.partners import NOON, VALID_FROM, VALID_UNTIL, PartnerApi, partner_client
from tests.support.world import ROLE_USERS

USERS = (*ROLE_USERS, "nobody")

FEED = """query Feed($u: Boolean, $first: Int, $after: String) {
  unitNotifications(unreadOnly: $u, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename id kind message caseId at readAt } } nodes { id } } }"""
INBOX = """query UnitInbox { unitNotifications(unreadOnly: false, first: 20) {
  pageInfo { hasNextPage endCursor } nodes { id kind message caseId at readAt } } }"""
EQUIVALENCE_DOCUMENTS = (FEED, INBOX)
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code field } } }"
KINDS = ("dispatched", "urged", "supervised", "legacy_kind", "extension_requested")


@pytest.fixture
async def feeds(papi: PartnerApi, db: DbEnv, fresh: World) -> tuple[Any, dict[str, str]]:
    """Two units with agreements in force, three clients (U1's two, U2's one) and their access tokens."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    units = {"U1": await make_unit(papi.api, tw, "市三医院", 71), "U2": await make_unit(papi.api, tw, "蓝天救援队", 72)}
    tokens = {}
    for unit, clients in (("U1", ("c1", "c2")), ("U2", ("c3",))):
        await make_agreement(papi.api, tw, units[unit], [community(tw, "C1")], valid_from=VALID_FROM,
                             valid_until=VALID_UNTIL)
        for key in clients:
            _, client_id, secret = await partner_client(papi, tw, units[unit])
            tokens[key] = await papi.access(client_id, secret)
    cases = list((await insert_cases(db, tw)).values())
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for i in range(27):
                to = {"partner_unit_id": decode_global_id(units["U1" if i % 3 else "U2"]).id} if i < 24 else \
                     {"firm_id": tw.firms["F1"]} if i < 26 else {"user_id": tw.users["grid1"]}
                s.add(Notification(id=uuid7(), kind=KINDS[i % len(KINDS)], message=f'第{i}条"通知"\\',
                                   case_id=cases[i % len(cases)] if i % 4 else None, read_at=None,
                                   created_at=NOON - timedelta(hours=30 - i), **to))
    return tw, tokens


async def test_unit_feeds_compile_to_the_resolvers_answer_for_every_client(papi: PartnerApi, feeds: Any) -> None:
    _tw, tokens = feeds
    first = orjson.loads((await partner_both(papi, tokens["c1"], INBOX, {}))[0])["data"]["unitNotifications"]["nodes"]
    r = await papi.gql(tokens["c1"], MARK, {"ids": [n["id"] for n in first[:3]]})  # c1's own marks
    assert r.json()["data"]["markNotificationsRead"] == {"marked": 3, "errors": []}, r.text
    totals = {}
    for key, token in tokens.items():
        compiled, resolved, taken = await partner_both(papi, token, INBOX, {})
        assert taken and compiled == resolved, (key, around(compiled, resolved))
        for variables in ({}, {"u": True}, {"first": 0}, {"first": 100}):
            compiled, resolved, taken = await partner_both(papi, token, FEED, variables)
            assert taken and compiled == resolved, (key, variables, around(compiled, resolved))
        page, pages = {"first": 7}, 0
        while True:
            compiled, resolved, taken = await partner_both(papi, token, FEED, page)
            assert taken and compiled == resolved, (key, page, around(compiled, resolved))
            pages += 1
            info = orjson.loads(compiled)["data"]["unitNotifications"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            page = {"first": 7, "after": info["endCursor"]}
        body = orjson.loads((await partner_both(papi, token, FEED, {"u": True, "first": 100}))[0])
        totals[key] = (orjson.loads((await partner_both(papi, token, FEED, {"first": 100}))[0])
                       ["data"]["unitNotifications"]["totalCount"], body["data"]["unitNotifications"]["totalCount"],
                       pages)
    assert totals == {"c1": (16, 13, 3), "c2": (16, 16, 3), "c3": (8, 8, 2)}, totals
    nodes = orjson.loads((await partner_both(papi, tokens["c1"], INBOX, {}))[0])["data"]["unitNotifications"]["nodes"]
    assert None in [n["kind"] for n in nodes] and None in [n["caseId"] for n in nodes], nodes
    assert [n["readAt"] is not None for n in nodes[:4]] == [True, True, True, False], nodes


async def test_unit_feeds_of_every_world_user_and_one_statement(api: Api, papi: PartnerApi, feeds: Any) -> None:
    tw, tokens = feeds
    seen = {}
    for user in USERS:
        compiled, resolved, taken = await both(api, tw, user, FEED, {"first": 100})
        assert taken and compiled == resolved, (user, around(compiled, resolved))
        seen[user] = orjson.loads(compiled)["data"]["unitNotifications"]["totalCount"]
    assert seen["firm"] == 2 and seen["grid1"] == 0, seen
    await partner_both(papi, tokens["c3"], FEED, {"first": 5})  # the client's plan, made
    with compiled_statements() as made, count_statements() as stmts:
        r = await papi.gql(tokens["c3"], FEED, {"first": 5})
    assert r.status_code == 200 and made and made[0] is not None, r.text
    assert len(stmts) == 3, stmts  # start-up, the partner actor (one driver statement, #21), the compiled read
