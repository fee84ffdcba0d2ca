"""The cases list's order (issue #23): newest first (the default), due soonest, overdue first — keyset pages
whose cursors carry the row's place in that order, walked page by page on every backend; a cursor of
another order (or of the id order) is INVALID_CURSOR; filters compose with the order. On PostgreSQL the
compiled read answers the same bytes as the resolvers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from models import Area, Case, CasePriority, CaseState, uuid7
from tenants.session import bind_tenant
from tests.support.compiled import both
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

NOW = datetime.now(UTC).replace(microsecond=0)
# title: (state, due time from now in days or None); reported in this order (ids increase)
SPECS: dict[str, tuple[CaseState, int | None]] = {
    "a": (CaseState.DISPATCHED, -3),  # overdue
    "b": (CaseState.IN_PROGRESS, -1),  # overdue
    "c": (CaseState.DISPATCHED, 1),
    "d": (CaseState.DISPATCHED, 1),  # the same due time as c, reported later
    "e": (CaseState.CLOSED, -5),  # past its due time but closed: not overdue
    "f": (CaseState.REPORTED, None),
    "g": (CaseState.ACCEPTED, None),
}
EXPECTED = {
    "NEWEST": ["g", "f", "e", "d", "c", "b", "a"],
    # by due time (d before c: the same time, newer first), then those without one, newer first
    "DUE_SOONEST": ["e", "a", "b", "d", "c", "g", "f"],
    # the overdue ones, most overdue first, then the rest newest first
    "OVERDUE_FIRST": ["a", "b", "g", "f", "e", "d", "c"],
}
Q = """query($o: CaseOrder!, $first: Int, $after: String, $s: [CaseState!]) {
  cases(order: $o, first: $first, after: $after, states: $s) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { title state dueAt overdue } } } }"""


async def _insert(db: DbEnv, tw: TenantWorld) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            area = await s.get(Area, (tw.tenant_id, tw.areas["B1"]))
            assert area is not None
            for n, (title, (state, due)) in enumerate(SPECS.items()):
                at = NOW - timedelta(days=10) + timedelta(minutes=n)
                s.add(Case(id=uuid7(), number=f"O-{n}", area_id=area.id, area_path=area.path, category_code="garbage",
                           priority=CasePriority.NORMAL, title=title, description="", state=state,
                           reporter_user_id=tw.users["admin"], reporter_role="street_admin", on_wall=False,
                           supervised=False, reopen_count=0, version=1, created_at=at, updated_at=at,
                           due_at=None if due is None else NOW + timedelta(days=due)))
                await s.flush()  # one at a time: the ids (UUIDv7) increase in this order


@pytest.fixture
async def ordered(db: DbEnv, fresh: World) -> TenantWorld:
    await _insert(db, fresh.a)
    return fresh.a


async def _walk(api: Api, tw: TenantWorld, order: str, size: int, **v: Any) -> list[str]:
    """Every page of ``size`` from the first, following endCursor."""
    titles: list[str] = []
    after = None
    for _ in range(10):
        body = await api.gql(tw, "admin", Q, {"o": order, "first": size, "after": after, **v})
        conn = body["data"]["cases"]
        titles += [e["node"]["title"] for e in conn["edges"]]
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert conn["pageInfo"]["endCursor"] == (conn["edges"][-1]["cursor"] if conn["edges"] else None)
        if not conn["pageInfo"]["hasNextPage"]:
            return titles
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("the pages did not end")


async def test_each_order_page_by_page(api: Api, ordered: TenantWorld) -> None:
    for order, expected in EXPECTED.items():
        for size in (2, 3, 50):
            assert await _walk(api, ordered, order, size) == expected, (order, size)
    # the default is the newest first, with the id cursors as ever
    plain = await api.gql(ordered, "admin", "{ cases(first: 50) { edges { node { title } } } }")
    assert [e["node"]["title"] for e in plain["data"]["cases"]["edges"]] == EXPECTED["NEWEST"]
    # filters compose with the order (and totalCount counts the filtered list)
    assert await _walk(api, ordered, "OVERDUE_FIRST", 1, s=["DISPATCHED"]) == ["a", "d", "c"]
    body = await api.gql(ordered, "admin", Q, {"o": "DUE_SOONEST", "first": 1, "s": ["REPORTED", "ACCEPTED"]})
    assert body["data"]["cases"]["totalCount"] == 2
    # a cursor is valid with its own order only: an id cursor, or another order's, is INVALID_CURSOR
    cursors = {}
    for order in EXPECTED:
        body = await api.gql(ordered, "admin", Q, {"o": order, "first": 2})
        cursors[order] = body["data"]["cases"]["pageInfo"]["endCursor"]
    for order in EXPECTED:
        for given, cursor in cursors.items():
            if given == order:
                continue
            bad = await api.gql(ordered, "admin", Q, {"o": order, "first": 2, "after": cursor}, allow_errors=True)
            assert bad["errors"][0]["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}, (order, given)


async def test_another_street_office_sees_none_in_any_order(api: Api, ordered: TenantWorld, fresh: World) -> None:
    for order in EXPECTED:
        body = await api.gql(fresh.b, "admin", Q, {"o": order, "first": 50})
        assert body["data"]["cases"]["totalCount"] == 0 and body["data"]["cases"]["edges"] == [], order


async def test_the_compiled_read_answers_each_order_as_the_resolvers(api: Api, ordered: TenantWorld,
                                                                     db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    for user in ("admin", "grid1", "resident"):
        for order in EXPECTED:
            after = None
            for _ in range(5):
                compiled, resolved, taken = await both(api, ordered, user, Q, {"o": order, "first": 3,
                                                                                "after": after})
                assert taken and compiled == resolved, (user, order, after)
                conn = orjson.loads(compiled)["data"]["cases"]
                if not conn["pageInfo"]["hasNextPage"]:
                    break
                after = conn["pageInfo"]["endCursor"]
