"""The compiled ``activitySignups`` (compiled/signups.py, issue #21) answers exactly what the resolvers
answer (resolvers.volunteering.list_signups): for every world user, with each activity of the world and
without one, every page, the compiled response and the resolvers' are the same bytes.

Who reads whose sign-ups depends on who organises the activity (the actor's publish grant reaches its
area: everyone's; otherwise one's own), so the world's users see different rows of the same activity;
an activity the actor may not read is the resolvers' NOT_FOUND. Hours are confirmed whole and halved
(Float as Python writes it: 3.0, 2.5); a compiled request is one statement after the start-up."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from resolvers.ids import encode_global_id
from tests.compiled.test_compiled_volunteering import SIGN_UP, activities_world
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.volunteering import ERR, USERS, run
from tests.support.world import TenantWorld

NODE = "__typename id state checkedInAt checkedOutAt hours confirmedAt person { __typename id name }"
SIGNUPS = f"""query S($a: ID, $first: Int, $after: String) {{
  activitySignups(activityId: $a, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {NODE} }} }} nodes {{ id state }} }} }}"""
# The selection bench/mix_ops.py sends, and fragments and aliases.
BENCH = """query Signups($a: ID!) { activitySignups(activityId: $a, first: 20) { totalCount
  pageInfo { hasNextPage endCursor } nodes { id state checkedInAt hours person { name } } } }"""
FRAGMENTS = """query F($a: ID) { x: activitySignups(activityId: $a) { nodes { ...G } }
  y: activitySignups(first: 1) { edges { node { ... on Node { id } ...G } } } z: activitySignups { totalCount } }
fragment G on ActivitySignup { id s: state hours }"""
WITH_ACTIVITY = "query W($a: ID) { activitySignups(activityId: $a) { nodes { id activity { title } } } }"

# What tests/compiled/test_compiled.py checks covers every field the compiler knows.
EQUIVALENCE_DOCUMENTS = (SIGNUPS, BENCH, FRAGMENTS)

CHECK_IN = f"mutation($i: CheckInActivityInput!) {{ checkInActivity(input: $i) {{ {ERR} }} }}"
CHECK_OUT = f"mutation($i: CheckOutActivityInput!) {{ checkOutActivity(input: $i) {{ {ERR} }} }}"
CONFIRM = f"mutation($i: ConfirmActivityHoursInput!) {{ confirmActivityHours(input: $i) {{ {ERR} }} }}"


@pytest.fixture(scope="module")
async def signup_tenant(api: Api, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    tw = await module_tenant(db)
    acts = await activities_world(api, db, tw)
    for key in ("resident", "chair", "secretary2"):
        assert (await run(api, tw, key, SIGN_UP, {"a": acts["c1"]}))["errors"] == []
    assert (await run(api, tw, "chair", SIGN_UP, {"a": acts["p1"]}))["errors"] == []
    body = await api.gql(tw, "admin", SIGNUPS, {"a": acts["c1"], "first": 100})
    ids = [n["id"] for n in body["data"]["activitySignups"]["nodes"]]
    assert len(ids) == 3, body
    for signup, hours in zip(ids, (3, 2.5, None), strict=True):
        for doc in (CHECK_IN, CHECK_OUT):
            assert (await run(api, tw, "admin", doc, {"i": {"id": signup}}))["errors"] == [], (doc, signup)
        if hours is not None:
            assert (await run(api, tw, "admin", CONFIRM, {"i": {"id": signup, "hours": hours}}))["errors"] == []
    return tw, acts


async def test_sign_ups_compile_to_the_resolvers_answer_for_every_user(api: Api, signup_tenant: Any) -> None:
    tw, acts = signup_tenant
    taken_by: set[str] = set()
    walked = 0
    for user in USERS:
        for activity in (None, *acts.values()):
            args = {} if activity is None else {"a": activity}
            for query, variables in ((SIGNUPS, {}), (SIGNUPS, {"first": 0}), (SIGNUPS, {"first": 100}),
                                     (FRAGMENTS, {}), *(((BENCH, {}),) if activity else ())):
                compiled, resolved, taken = await both(api, tw, user, query, {**args, **variables})
                assert compiled == resolved, (user, activity, variables, around(compiled, resolved))
                if taken:
                    taken_by.add(user)
        _, resolved, _ = await both(api, tw, user, SIGNUPS, {"a": acts["c1"]})
        if orjson.loads(resolved)["data"] is not None:  # else the activity is NOT_FOUND for them
            walked = max(walked, await walk_pages(api, tw, user, SIGNUPS, "activitySignups",
                                                  {"a": acts["c1"], "first": 1}))
    assert walked >= 3, walked
    assert {"admin", "resident", "nobody"} <= taken_by, taken_by


async def test_the_sign_ups_have_real_content(api: Api, signup_tenant: Any) -> None:
    """Guards the comparison above: the organiser sees everyone's, a volunteer their own, hours as Python writes."""
    tw, acts = signup_tenant

    async def nodes(user: str, activity: str | None) -> list[dict[str, Any]]:
        body = orjson.loads((await both(api, tw, user, SIGNUPS, {"a": activity, "first": 100}))[0])
        return list(body["data"]["activitySignups"]["nodes"])

    assert len(await nodes("admin", acts["c1"])) == 3
    assert len(await nodes("chair", acts["c1"])) in (1, 3)
    assert len(await nodes("resident", acts["c1"])) == 1
    assert len(await nodes("resident", acts["committee"])) == 1 and len(await nodes("resident", None)) == 3
    raw = (await both(api, tw, "admin", SIGNUPS, {"a": acts["c1"], "first": 100}))[0]
    assert b'"hours":3.0' in raw and b'"hours":2.5' in raw and b'"hours":null' in raw, raw


async def test_declined_sign_ups_are_the_resolvers_answer(api: Api, signup_tenant: Any) -> None:
    """A bad or foreign id, an unreadable activity, a bad page size or cursor, the activity field."""
    tw, acts = signup_tenant
    for user in ("admin", "resident", "nobody"):
        for variables in ({"a": "not-an-id"}, {"a": encode_global_id("Case", tw.areas["C1"])},
                          {"a": encode_global_id("Activity", tw.areas["C1"])}, {"first": 101}, {"first": -1},
                          {"after": "not-a-cursor"}, {"a": acts["p3"]}):
            for query in (SIGNUPS, WITH_ACTIVITY):
                compiled, resolved, _ = await both(api, tw, user, query, variables)
                assert compiled == resolved, (user, query, variables, around(compiled, resolved))
    _, _, taken = await both(api, tw, "admin", WITH_ACTIVITY, {"a": acts["p1"]})
    assert not taken


async def test_a_compiled_sign_up_list_is_one_statement(api: Api, signup_tenant: Any) -> None:
    tw, acts = signup_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", BENCH, {"a": acts["c1"]})
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "admin", BENCH, {"a": acts["c1"]})
    _, mine = await api.counted(tw, "admin", SIGNUPS, {})
    assert compiled == mine == baseline + 1, (compiled, mine, baseline)
    assert resolved > baseline + 1, resolved
