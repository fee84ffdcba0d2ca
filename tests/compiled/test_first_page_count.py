"""What the compiled reads no longer do on every request (issue #21, bench.mix's open-case page: 2 rows cost
PostgreSQL more than a node lookup four times over):

- totalCount of a first page that is not full is the page's own count (compiled.sql.page_total): the whole
  list's count — for the cases, the scope tested on every case of the tenant — is an InitPlan the statement only
  runs when the page is full or follows a cursor. The answers are the resolvers', byte for byte, on either side.
- arguments written without a variable are coerced once per plan (compiled.compiler.ArgRef), not on each reuse."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.cases import report
from tests.support.compiled import both, compiled_statements
from tests.support.harness import Api, DbEnv, World
from tests.support.round_trips import plan_as_app, statements_sent

STATES = "[REPORTED, ACCEPTED, DISPATCHED, IN_PROGRESS, REOPENED]"
PAGE = f"""query Q($first: Int, $after: String) {{ cases(states: {STATES}, first: $first, after: $after) {{
  totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id title area {{ name }} }} }} }}"""
# The count's InitPlan when it did not run (EXPLAIN ANALYZE, COSTS OFF, TIMING OFF).
COUNT_NOT_RUN = "->  Aggregate (never executed)"


@pytest.fixture
async def three(api: Api, fresh: World, db: DbEnv) -> Any:
    """Three open cases in grid1's building B1."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    for i in range(3):
        await report(api, fresh.a, "grid1", "B1", title=f"楼道堆物{i}")
    return fresh.a


async def _page(api: Api, db: DbEnv, tw: Any, variables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
                ) -> tuple[dict[str, Any], list[str]]:
    """grid1's page on the compiled path, the resolvers' answer; its data and the plan of its statement."""
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, "grid1", PAGE, variables)
    assert taken and compiled == resolved, (compiled, resolved)
    sql, args = next((s, a) for s, a in reversed(sent) if "'{\"cases\" : '" in s)
    return orjson.loads(compiled)["data"]["cases"], await plan_as_app(db, tw.tenant_id, sql, tuple(args))


async def test_a_first_page_not_full_is_counted_by_its_rows(api: Api, db: DbEnv, three: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    page, plan = await _page(api, db, three, {"first": 10}, monkeypatch)
    assert page["totalCount"] == 3 and len(page["nodes"]) == 3 and not page["pageInfo"]["hasNextPage"]
    assert any(line.strip() == COUNT_NOT_RUN for line in plan), "\n".join(plan)


async def test_a_full_page_and_a_page_after_a_cursor_count_the_list(api: Api, db: DbEnv, three: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first, plan = await _page(api, db, three, {"first": 2}, monkeypatch)
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    assert not any(line.strip() == COUNT_NOT_RUN for line in plan), "\n".join(plan)
    # the last page holds one row, not the list's three: after a cursor the list is counted whatever the page
    last, plan = await _page(api, db, three, {"first": 2, "after": first["pageInfo"]["endCursor"]}, monkeypatch)
    assert last["totalCount"] == 3 and len(last["nodes"]) == 1 and not last["pageInfo"]["hasNextPage"]
    assert not any(line.strip() == COUNT_NOT_RUN for line in plan), "\n".join(plan)


async def test_arguments_without_a_variable_are_coerced_once_per_plan(api: Api, three: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import compiled.compiler as cc

    calls: list[str] = []
    coerce = cc.get_argument_values

    def counted(field_def: Any, node: Any, variables: Any = None) -> Any:
        calls.append(node.name.value)
        return coerce(field_def, node, variables)

    monkeypatch.setattr(cc, "get_argument_values", counted)
    literal = f"query {{ cases(states: {STATES}, first: 20) {{ totalCount nodes {{ id }} }} }}"
    with_variable = PAGE
    # The variables sent again the same: what the plan read from them kept too (compiled.plans.Plan.memo).
    # Variables of other values each time (first: 20 or null, the same shape): read again on each reuse.
    for document, variables, reused in ((literal, [{}] * 4, 0), (with_variable, [{"first": 20}] * 4, 0),
                                        (with_variable, [{"first": 20}, {"first": None}, {}, {"first": 20.0}], 3)):
        with compiled_statements() as made:
            body = await api.gql(three, "grid1", document, variables[0])
            assert body["data"]["cases"]["totalCount"] == 3, body
            compiling = len(calls)
            for v in variables[1:]:
                assert (await api.gql(three, "grid1", document, v))["data"]["cases"]["totalCount"] == 3
        assert len(made) == 4 and all(m is not None for m in made), made  # the compiled path each time
        reuses = len(calls) - compiling
        assert reuses == reused, (document[:30], variables, calls)
        calls.clear()
