"""The compiled ranking of a period (compiled/evaluations.py, issue #21) answers exactly what the resolvers
answer: ``evaluationResults`` and ``evaluationResultsConnection`` for every world user and both targets,
every page walked by cursor, the resolvers' errors either way, one statement after the request's
start-up. The world: three compounds rated in two periods, one compound rated under two firms in a
period (two results, one compound), equal means (a shared rank), means that round half up at the third
decimal, whole means (8.0, not 8), item codes whose order differs between code points and collation,
and each period with its own snapshot of items (different codes and weights)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import (
    Area,
    EvaluationPeriod,
    EvaluationPeriodItem,
    EvaluationRating,
    EvaluationTarget,
    PeriodState,
    PropertyFirm,
    uuid7,
)
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
RATERS = ("admin", "secretary", "chair", "resident", "grid1", "firm", "resident4", "nobody")

RESULTS = """
query Results($p: ID!, $t: EvaluationTarget!) { evaluationResults(periodId: $p, target: $t) {
  __typename compound { __typename id name } firmName raters score rank
  items { __typename code name weight average } } }
"""
PAGE = """
query ResultsPage($p: ID!, $t: EvaluationTarget!, $first: Int, $after: String) {
  evaluationResultsConnection(periodId: $p, target: $t, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { rank score firmName compound { name } } }
  nodes { raters score rank items { code average weight } } } }
"""
FRAGMENTS = """
query($p: ID!) { a: evaluationResults(periodId: $p, target: OWNER_COMMITTEE) { ...R }
  b: evaluationResultsConnection(periodId: $p, target: PROPERTY_FIRM) { totalCount nodes { ...R } } }
fragment R on EvaluationResult { r: rank s: score items { ... on ItemAverage { average code } } }
"""
EQUIVALENCE_DOCUMENTS = (RESULTS, PAGE, FRAGMENTS)

# Per period: its snapshot of items per target (code, name, weight).
SNAPSHOTS = (
    [("repairs", "维修", 30), ("Zeta", "Z项", 30), ("cleanliness", "环境卫生", 40)],
    [("ábc", "甲", 50), ("_x", "乙", 25), ("security", "安全", 25)],
)


@pytest.fixture(scope="module")
async def ranked_tenant(db: DbEnv) -> tuple[TenantWorld, list[str]]:
    """Built once per module (its tests only read it; CI time, issue #21)."""
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = await module_tenant(db)
    periods = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            compounds = [await s.get_one(Area, (tw.tenant_id, tw.areas[k])) for k in ("P1", "P2", "P3")]
            f2 = PropertyFirm(id=uuid7(), name="乐居物业")
            s.add(f2)
            for month, snapshot in zip((date(2026, 1, 1), date(2026, 2, 1)), SNAPSHOTS, strict=True):
                p = EvaluationPeriod(id=uuid7(), month=month, state=PeriodState.CLOSED,
                                     created_at=datetime(2026, 3, 1, tzinfo=UTC))
                s.add(p)
                periods.append(p.id)
                for target in EvaluationTarget:
                    for code, name, weight in snapshot:
                        s.add(EvaluationPeriodItem(period_id=p.id, target=target, code=code, name=name,
                                                   weight=weight))
            await s.flush()
            n = 0
            for k, period in enumerate(periods):
                codes = [c for c, _, _ in SNAPSHOTS[k]]
                for w, who in enumerate(RATERS):
                    for c, comp in enumerate(compounds):
                        for target in EvaluationTarget:
                            n += 1
                            if n % 7 == 0:
                                continue  # not everyone rates everything
                            firm = None
                            if target is EvaluationTarget.PROPERTY_FIRM:
                                # P3's firm changed in the first period: two results for one compound
                                firm = f2.id if (c == 2 and k == 0 and w % 2) else tw.firms["F1"]
                            # P1 and P2 rated alike in the second period: equal means, a shared rank
                            base = 80 if (k == 1 and c < 2) else 60 + (n * 7) % 37
                            s.add(EvaluationRating(
                                period_id=period, target=target, compound_id=comp.id, compound_path=comp.path,
                                firm_id=firm, rater_user_id=tw.users[who], rater_role="street_admin",
                                scores={code: (base + i * (n % 3)) % 101 for i, code in enumerate(codes)},
                                total=(Decimal(base) + Decimal(n % 8) / 8 if not (k == 1 and c < 2)
                                       else Decimal(base)),
                                comment=None))
    return tw, [encode_global_id("EvaluationPeriod", p) for p in periods]


# One test per user, the page walks of every user in one test of their own (CI time, issue #21): pytest-xdist's
# worksteal can share a file's users between the workers; as one test the users' loop held one worker
# for one to three minutes at the end of a run under CI's load.
@pytest.mark.parametrize("user", USERS)
async def test_results_compile_to_the_resolvers_answer_for_every_user(api: Api, ranked_tenant: Any, user: str) -> None:
    tw, periods = ranked_tenant
    unknown = encode_global_id("EvaluationPeriod", tw.tenant_id)
    for p in periods:
        for target in ("PROPERTY_FIRM", "OWNER_COMMITTEE"):
            v = {"p": p, "t": target}
            for document, extra in ((RESULTS, {}), (PAGE, {}), (PAGE, {"first": 0})):
                compiled, resolved, taken = await both(api, tw, user, document, {**v, **extra})
                assert taken, (user, document[:20], extra)
                assert compiled == resolved, (user, document[:20], extra, around(compiled, resolved))
        compiled, resolved, taken = await both(api, tw, user, FRAGMENTS, {"p": p})
        assert taken and compiled == resolved, (user, around(compiled, resolved))
    # An unknown period: the resolvers' NOT_FOUND either way.
    compiled, resolved, _ = await both(api, tw, user, RESULTS, {"p": unknown, "t": "PROPERTY_FIRM"})
    assert compiled == resolved and b"NOT_FOUND" in compiled, (user, compiled[:300])


async def test_result_pages_compile_to_the_resolvers_answer_for_every_user(api: Api, ranked_tenant: Any) -> None:
    tw, periods = ranked_tenant
    walked = 0
    for user in USERS:
        for p in periods:
            for target in ("PROPERTY_FIRM", "OWNER_COMMITTEE"):
                v = {"p": p, "t": target}
                walked += await walk_pages(api, tw, user, PAGE, "evaluationResultsConnection", {**v, "first": 1})
    assert walked > 4 * len(USERS), walked


async def test_results_have_real_content(api: Api, ranked_tenant: Any) -> None:
    tw, periods = ranked_tenant
    first = orjson.loads((await both(api, tw, "admin", RESULTS, {"p": periods[0], "t": "PROPERTY_FIRM"}))[0])
    rows = first["data"]["evaluationResults"]
    assert len(rows) == 4 and {r["firmName"] for r in rows} == {"安居物业", "乐居物业"}  # P3 under two firms
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert [i["code"] for i in rows[0]["items"]] == ["cleanliness", "Zeta", "repairs"]  # weight, then code
    second = orjson.loads((await both(api, tw, "admin", RESULTS, {"p": periods[1], "t": "OWNER_COMMITTEE"}))[0])
    rows = second["data"]["evaluationResults"]
    assert rows[0]["rank"] == rows[1]["rank"] == 1 and rows[0]["score"] == 80.0  # a shared rank, a whole mean
    assert [i["code"] for i in rows[0]["items"]] == ["ábc", "_x", "security"]
    averages = [i["average"] for r in first["data"]["evaluationResults"] for i in r["items"]]
    assert any(a % 1 for a in averages)
    # Fewer results where the actor reads less: the resident reads its own compound's only.
    mine = orjson.loads((await both(api, tw, "resident", RESULTS, {"p": periods[0], "t": "PROPERTY_FIRM"}))[0])
    assert 0 < len(mine["data"]["evaluationResults"]) < 4


async def test_a_bad_results_argument_is_the_resolvers_error_either_way(api: Api, ranked_tenant: Any) -> None:
    tw, periods = ranked_tenant
    for document, variables in ((RESULTS, {"p": "nonsense", "t": "PROPERTY_FIRM"}),
                                (PAGE, {"p": encode_global_id("Case", tw.tenant_id), "t": "PROPERTY_FIRM"}),
                                (PAGE, {"p": periods[0], "t": "PROPERTY_FIRM", "first": 101}),
                                (PAGE, {"p": periods[0], "t": "PROPERTY_FIRM", "after": "x"})):
        compiled, resolved, _ = await both(api, tw, "admin", document, variables)
        assert compiled == resolved and b'"errors"' in compiled, (variables, compiled[:200])


async def test_compiled_results_are_one_statement(api: Api, ranked_tenant: Any) -> None:
    tw, periods = ranked_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    v = {"p": periods[0], "t": "PROPERTY_FIRM"}
    await api.counted(tw, "admin", RESULTS, v)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", PAGE, v)
    finally:
        state.compiled_reads = True
    for document in (RESULTS, PAGE):
        _, compiled = await api.counted(tw, "admin", document, v)
        assert compiled == baseline + 1 < resolved, (compiled, baseline, resolved)
