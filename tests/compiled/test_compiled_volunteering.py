"""The compiled ``activities`` list (issue #21, compiled/activities.py) answers exactly what the
resolvers answer (resolvers.volunteering.list_activities): for every world user, every page, cursor
and filter, the compiled response and the resolvers' are the same bytes.

The world: activities in P1 (two, one organised by its 业委会 with sign-ups), P3, community C1,
the street, a partner unit's in B4, one cancelled and one that has started — so the roles' reads
differ (area·read reach), states and times differ, and several pages run by cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from resolvers.ids import decode_global_id, encode_global_id
from tenants.rls import set_tenant_sql
from tests.support.compiled import agree, both, compiled_statements, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import ERR, USERS, area, run
from tests.support.world import TenantWorld

ACTIVITY_SELECTION = """
  __typename id title description place startsAt endsAt capacity signedUp organiserKind organiserName state
  cancelReason cancelledAt
  area { __typename id name kind ... on Compound { propertyManagement } ... on Building { floors } }
"""

ACTIVITIES = """
query A($first: Int, $after: String, $states: [ActivityState!], $areaId: ID, $upcoming: Boolean,
        $startsFrom: DateTime, $startsBefore: DateTime) {
  activities(first: $first, after: $after, states: $states, areaId: $areaId, upcoming: $upcoming,
             startsFrom: $startsFrom, startsBefore: $startsBefore) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { @ACTIVITY } }
    nodes { id title }
  }
}
""".replace("@ACTIVITY", ACTIVITY_SELECTION)

ACTIVITIES_FRAGMENTS = """
query { a: activities(first: 1) { nodes { ...F } } b: activities { edges { node { ... on Node { id } ...F } } }
        c: activities { totalCount } d: activities(first: 3) { __typename pageInfo { hasNextPage } } }
fragment F on Activity { id t: title state ...G }
fragment G on Activity { area { name } signedUp }
"""

# The portal's selection, as bench/mix_ops.py "activities" sends it.
PORTAL = """query Activities { activities(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id title
  place startsAt endsAt capacity signedUp organiserName state area { name } } } }"""

# The documents sent both ways here (tests/compiled/test_compiled.py checks every compiled field is among them).
EQUIVALENCE_DOCUMENTS = (ACTIVITIES, ACTIVITIES_FRAGMENTS, PORTAL)

PUBLISH = f"""mutation($in: PublishActivityInput!) {{ publishActivity(input: $in) {{ activity {{ id }} {ERR} }} }}"""
SIGN_UP = f"""mutation($a: ID!) {{ signUpForActivity(activityId: $a) {{ signup {{ id }} {ERR} }} }}"""
CANCEL = f"""mutation($i: CancelActivityInput!) {{ cancelActivity(input: $i) {{ activity {{ id }} {ERR} }} }}"""


async def publish(api: Api, tw: TenantWorld, key: str, title: str, where: tuple[str, str], days: float,
                  **kw: Any) -> str:
    start = datetime.now(UTC) + timedelta(days=days)
    data = {"title": title, "areaId": area(tw, *where), "place": f"{title}地点", "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 5, "organiserKind": "COMMUNITY",
            "communityId": area(tw, "C1", "Community"), "description": f"{title}内容"} | kw
    p = await run(api, tw, key, PUBLISH, {"in": data})
    assert p["errors"] == [], p
    return str(p["activity"]["id"])


async def activities_world(api: Api, db: DbEnv, tw: TenantWorld) -> dict[str, str]:
    out = {
        "p1": await publish(api, tw, "admin", "楼道清洁", ("P1", "Compound"), 1),
        "committee": await publish(api, tw, "chair", "业委会活动", ("P1", "Compound"), 3,
                                   organiserKind="OWNER_COMMITTEE", communityId=None,
                                   compoundId=area(tw, "P1", "Compound")),
        "p3": await publish(api, tw, "admin", "湖畔义诊", ("P3", "Compound"), 2),
        "c1": await publish(api, tw, "secretary", "社区读书会", ("C1", "Community"), 5),
        "street": await publish(api, tw, "admin", "街道长跑", ("S", "Street"), 7, capacity=50),
        "b4": await publish(api, tw, "admin", "共建讲座", ("B4", "Building"), 4, organiserKind="PARTNER_UNIT",
                            communityId=None, partnerName="共建单位甲"),
        "cancelled": await publish(api, tw, "admin", "取消的活动", ("P1", "Compound"), 6),
        "started": await publish(api, tw, "admin", "已开始", ("C1", "Community"), 0.5),
    }
    for key in ("resident", "chair"):
        assert (await run(api, tw, key, SIGN_UP, {"a": out["committee"]}))["errors"] == []
    assert (await run(api, tw, "resident", SIGN_UP, {"a": out["p1"]}))["errors"] == []
    p = await run(api, tw, "admin", CANCEL, {"i": {"id": out["cancelled"], "reason": "天气原因"}})
    assert p["errors"] == [], p
    # One that has started: publishing only takes future times, so the row is moved back here.
    async with db.owner_engine.connect() as c, c.begin():
        await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        await c.execute(sa.text("UPDATE activities SET starts_at = now() - interval '1 hour', "
                                "ends_at = now() + interval '1 hour' WHERE tenant_id = :t AND id = :i"),
                        {"t": tw.tenant_id, "i": decode_global_id(out["started"])[1]})
    return out


@pytest.fixture(scope="module")
async def activity_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    """The module's world, for the tests that only read it."""
    tw = await module_tenant(db)
    return tw, await activities_world(api, db, tw)



# One test per user (CI time, issue #21: the users' loop was one test of 45–123 s that one worker ran
# alone at the end of a run); the page walks, whose count is asserted over all users, in a test of their own.
@pytest.mark.parametrize("user", USERS)
async def test_activity_lists_compile_to_the_resolvers_answer_for_every_user(api: Api, activity_tenant: Any,
                                                                             user: str) -> None:
    tw, _ = activity_tenant
    soon, later = datetime.now(UTC) + timedelta(days=1.5), datetime.now(UTC) + timedelta(days=6.5)
    variable_sets: list[dict[str, Any]] = [
        {}, {"first": 0}, {"first": 100}, {"states": ["CANCELLED"]}, {"states": ["PUBLISHED"], "upcoming": True},
        {"upcoming": False}, {"areaId": area(tw, "C1", "Community")}, {"areaId": area(tw, "P3", "Compound")},
        {"areaId": area(tw, "B4", "Building")}, {"startsFrom": soon.isoformat()},
        {"startsFrom": soon.isoformat(), "startsBefore": later.isoformat(), "states": ["PUBLISHED", "CANCELLED"]},
    ]
    for variables in variable_sets:
        await agree(api, tw, user, ACTIVITIES, variables)
    for doc in (ACTIVITIES_FRAGMENTS, PORTAL):
        await agree(api, tw, user, doc, {})


async def test_activity_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, activity_tenant: Any) -> None:
    tw, _ = activity_tenant
    pages = 0
    for user in USERS:
        # page by page, two at a time, from each page's end cursor
        variables = {"first": 2}
        pages += await walk_pages(api, tw, user, ACTIVITIES, "activities", variables, 10)
    assert pages > 2 * len(USERS), pages  # some users' lists ran to several pages


async def test_arguments_the_resolvers_refuse_get_their_errors(api: Api, activity_tenant: Any) -> None:
    """An unknown area, a case ID as area, a reversed period, a zone-less time, a page too large, a bad
    cursor: the general path answers each with its typed error, byte for byte the same either way."""
    tw, _ = activity_tenant
    now = datetime.now(UTC)
    bad: list[dict[str, Any]] = [
        {"areaId": encode_global_id("Compound", tw.tenant_id)}, {"areaId": encode_global_id("Case", tw.tenant_id)},
        {"startsFrom": now.isoformat(), "startsBefore": (now - timedelta(days=1)).isoformat()},
        {"startsFrom": now.replace(tzinfo=None).isoformat()}, {"first": 101}, {"first": -1}, {"after": "nonsense"},
    ]
    for user in ("admin", "resident", "nobody"):
        for variables in bad:
            compiled, resolved, _ = await both(api, tw, user, ACTIVITIES, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled[:300])


async def test_an_activity_page_has_real_content(api: Api, activity_tenant: Any) -> None:
    """Guards the comparisons above from comparing two empty answers: each role sees its own rows."""
    tw, ids = activity_tenant

    async def titles(user: str, variables: dict[str, Any] | None = None) -> list[str]:
        body = orjson.loads((await both(api, tw, user, ACTIVITIES, variables or {}))[0])
        return [e["node"]["title"] for e in body["data"]["activities"]["edges"]]

    everything = ["已开始", "取消的活动", "共建讲座", "街道长跑", "社区读书会", "湖畔义诊", "业委会活动", "楼道清洁"]
    assert await titles("admin") == everything  # newest first
    assert await titles("resident4") == ["共建讲座", "街道长跑", "湖畔义诊"]  # P3 and what lies above it
    assert await titles("nobody") == []
    assert await titles("admin", {"states": ["CANCELLED"]}) == ["取消的活动"]
    assert await titles("admin", {"upcoming": False}) == ["已开始"]
    body = orjson.loads((await both(api, tw, "chair", ACTIVITIES, {}))[0])["data"]["activities"]
    committee = next(e["node"] for e in body["edges"] if e["node"]["id"] == ids["committee"])
    assert committee["signedUp"] == 2 and committee["organiserName"] == "幸福小区业委会"
    assert committee["area"] == {"__typename": "Compound", "id": area(tw, "P1", "Compound"), "name": "幸福小区",
                                 "kind": "COMPOUND", "propertyManagement": "FIRM"}
    cancelled = next(e["node"] for e in body["edges"] if e["node"]["id"] == ids["cancelled"])
    assert cancelled["state"] == "CANCELLED" and cancelled["cancelReason"] == "天气原因" and cancelled["cancelledAt"]


async def test_a_compiled_activity_list_is_one_statement_whatever_the_page_size(
        api: Api, activity_tenant: Any) -> None:
    tw, _ = activity_tenant
    counts = {}
    for first in (1, 50):
        with compiled_statements() as made:
            _, counts[first] = await api.counted(tw, "admin", ACTIVITIES, {"first": first})
        assert len(made) == 1 and made[0] is not None, made
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
    finally:
        state.compiled_reads = True
    assert counts[1] == counts[50] == baseline + 1, (counts, baseline)


async def test_the_portal_list_reads_the_same_rows_on_either_database(api: Api, fresh: World, db: DbEnv) -> None:
    """On SQLite the compiler declines (None) and the resolvers answer; on PostgreSQL it compiles.
    Either way the roles see the rows their grants reach."""
    tw = fresh.a
    await publish(api, tw, "admin", "楼道清洁", ("P1", "Compound"), 1)
    await publish(api, tw, "admin", "湖畔义诊", ("P3", "Compound"), 2)
    seen = {}
    for user in ("admin", "resident", "resident4", "nobody"):
        with compiled_statements() as made:
            body = await api.gql(tw, user, PORTAL)
        assert [m is not None for m in made] == [db.is_pg], (user, made)
        seen[user] = [n["title"] for n in body["data"]["activities"]["nodes"]]
    assert seen == {"admin": ["湖畔义诊", "楼道清洁"], "resident": ["楼道清洁"], "resident4": ["湖畔义诊"],
                    "nobody": []}
