"""The compiled reads of one's own evaluation ratings (compiled/evaluations.py, issue #21) answer exactly
what the resolvers answer: ``myEvaluationRatings`` and ``myEvaluationRatingsConnection`` for every world
user, every page, the resolvers' errors either way, one statement after the request's start-up. Several
raters rated several compounds in two periods; item codes whose order differs between code points and
a language's collation; totals with and without decimals; a comment or none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import Area, EvaluationPeriod, EvaluationRating, EvaluationTarget, PeriodState, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

RATINGS = """
query Mine($p: ID!) { myEvaluationRatings(periodId: $p) {
  __typename target total comment compound { __typename id name } scores { __typename item score } } }
"""
PAGE = """
query MinePage($p: ID!, $first: Int, $after: String) { myEvaluationRatingsConnection(periodId: $p, first: $first,
  after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { target total comment compound { name } scores { item score } } }
  nodes { total } } }
"""
FRAGMENTS = """
query($p: ID!) { a: myEvaluationRatings(periodId: $p) { ...R } b: myEvaluationRatingsConnection(periodId: $p) {
  totalCount nodes { ...R } } }
fragment R on EvaluationRating { t: total scores { ... on ItemScore { item } } }
"""
EQUIVALENCE_DOCUMENTS = (RATINGS, PAGE, FRAGMENTS)


@pytest.fixture(scope="module")
async def rated_tenant(db: DbEnv) -> tuple[TenantWorld, list[str]]:
    tw = await module_tenant(db)
    periods = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            compounds = {k: await s.get_one(Area, (tw.tenant_id, tw.areas[k])) for k in ("P1", "P2", "P3")}
            for month in (date(2026, 1, 1), date(2026, 2, 1)):
                p = EvaluationPeriod(id=uuid7(), month=month, state=PeriodState.CLOSED,
                                     created_at=datetime(2026, 3, 1, tzinfo=UTC))
                s.add(p)
                periods.append(p.id)
            await s.flush()
            n = 0
            for who in ("admin", "secretary", "chair", "resident", "grid1"):
                for key, comp in compounds.items():
                    for target in EvaluationTarget:
                        n += 1
                        if n % 3 == 0:
                            continue  # not everyone rates everything
                        s.add(EvaluationRating(
                            period_id=periods[n % 2], target=target, compound_id=comp.id, compound_path=comp.path,
                            firm_id=tw.firms["F1"] if target is EvaluationTarget.PROPERTY_FIRM else None,
                            rater_user_id=tw.users[who], rater_role="street_admin",
                            scores={"repairs": 60 + n, "Zeta": n, "cleanliness": 90, "_x": 1, "ábc": 5},
                            total=Decimal(70 + n) + (Decimal("0.25") if n % 5 < 2 else 0),
                            comment=None if n % 4 else f"{key}评语{n}"))
    return tw, [encode_global_id("EvaluationPeriod", p) for p in periods]


async def test_my_ratings_compile_to_the_resolvers_answer_for_every_user(api: Api, rated_tenant: Any) -> None:
    tw, periods = rated_tenant
    walked = 0
    for user in USERS:
        for p in (*periods, encode_global_id("EvaluationPeriod", tw.tenant_id)):  # an unknown period: none
            for document, extra in ((RATINGS, {}), (PAGE, {}), (PAGE, {"first": 1}), (PAGE, {"first": 0}),
                                    (FRAGMENTS, {})):
                compiled, resolved, taken = await both(api, tw, user, document, {"p": p, **extra})
                assert taken, (user, document[:20], extra)
                assert compiled == resolved, (user, document[:20], extra, around(compiled, resolved))
            walked += await walk_pages(api, tw, user, PAGE, "myEvaluationRatingsConnection", {"p": p, "first": 1})
    assert walked > 3 * len(USERS), walked


async def test_my_ratings_have_real_content(api: Api, rated_tenant: Any) -> None:
    tw, periods = rated_tenant
    body = orjson.loads((await both(api, tw, "secretary", RATINGS, {"p": periods[0]}))[0])
    rows = body["data"]["myEvaluationRatings"]
    assert rows and all(r["compound"] is None or r["compound"]["name"] for r in rows)
    assert [s["item"] for s in rows[0]["scores"]] == ["Zeta", "_x", "cleanliness", "repairs", "ábc"]
    assert any(r["comment"] for r in rows) and any(r["total"] % 1 for r in rows)
    assert any(r["total"] % 1 == 0 for r in rows)


async def test_a_bad_ratings_argument_is_the_resolvers_error_either_way(api: Api, rated_tenant: Any) -> None:
    tw, periods = rated_tenant
    for document, variables in ((RATINGS, {"p": "nonsense"}), (PAGE, {"p": encode_global_id("Case", tw.tenant_id)}),
                                (PAGE, {"p": periods[0], "first": 101}), (PAGE, {"p": periods[0], "after": "x"})):
        compiled, resolved, _ = await both(api, tw, "admin", document, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled[:200])


async def test_compiled_ratings_are_one_statement(api: Api, rated_tenant: Any) -> None:
    tw, periods = rated_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "admin", RATINGS, {"p": periods[0]})
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PAGE, {"p": periods[0]})
    finally:
        state.compiled_reads = True
    for document in (RATINGS, PAGE):
        _, compiled = await api.counted(tw, "admin", document, {"p": periods[0]})
        assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)
