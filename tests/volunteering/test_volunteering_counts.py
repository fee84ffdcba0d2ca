"""SQL statements per request for every list of the volunteering and evaluation module do not grow
with the page: a page of 50 activities, sign-ups, ledger entries, catalogue items or redemptions —
with their nested activity, item, person and area — costs what a page of 5 does, and a period's
results for three compounds cost what one compound's do (firm names and period items are loaded
once per request, not per row)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from models import (
    Area,
    EvaluationPeriod,
    EvaluationPeriodItem,
    EvaluationRating,
    EvaluationTarget,
    PeriodState,
    uuid7,
)
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering_rows import AT, seed
from tests.support.world import TenantWorld

PERSON = "{ name phone }"

LISTS = {
    "activities": """query($n: Int!) { activities(first: $n) { nodes {
      title capacity signedUp organiserName area { name } } } }""",
    "activitySignups": f"""query($n: Int!) {{ activitySignups(first: $n) {{ nodes {{
      state hours activity {{ title area {{ name }} }} person {PERSON} }} }} }}""",
    "pointsLedger": f"""query($n: Int!) {{ pointsLedger(first: $n) {{ nodes {{
      delta kind balanceAfter person {PERSON} }} }} }}""",
    "rewardItems": """query($n: Int!) { rewardItems(first: $n) { nodes { name points stock community { name } } } }""",
    "redemptions": f"""query($n: Int!) {{ redemptions(first: $n) {{ nodes {{
      points state person {PERSON} item {{ name points community {{ name }} }} }} }} }}""",
}
RESULTS = """query($p: ID!) { evaluationResults(periodId: $p, target: PROPERTY_FIRM) {
  compound { name } firmName raters score rank items { code average } } }"""
PERIOD_LIST = """{ evaluationPeriods { month items(target: PROPERTY_FIRM) { code weight } } }"""


async def _period(db: DbEnv, tw: TenantWorld, month: date, compounds: tuple[str, ...]) -> uuid.UUID:
    """A closed period with one F1 rating per compound given."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths = dict((await s.execute(select(Area.id, Area.path))).all())
            period = EvaluationPeriod(id=uuid7(), month=month, state=PeriodState.CLOSED, created_at=AT)
            s.add(period)
            await s.flush()
            for code, weight in (("cleanliness", 50), ("repairs", 50)):
                s.add(EvaluationPeriodItem(id=uuid7(), period_id=period.id, target=EvaluationTarget.PROPERTY_FIRM,
                                           code=code, name=code, weight=weight, created_at=AT))
            for n, key in enumerate(compounds):
                s.add(EvaluationRating(
                    id=uuid7(), period_id=period.id, target=EvaluationTarget.PROPERTY_FIRM,
                    compound_id=tw.areas[key], compound_path=paths[tw.areas[key]], firm_id=tw.firms["F1"],
                    rater_user_id=tw.users["admin"], rater_role="street_admin",
                    scores={"cleanliness": 60 + n, "repairs": 80}, total=Decimal(70 + n) / 1, created_at=AT))
    return period.id


async def test_list_pages_of_50_cost_what_pages_of_5_cost(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await seed(db, a)
    for key in ("admin", "resident"):
        for field, doc in LISTS.items():
            if field == "activitySignups" and key == "admin":
                continue  # without an activity, the list is the reader's own sign-ups: the resident's
            await api.gql(a, key, doc, {"n": 1})  # warm the policy cache
            small, n_small = await api.counted(a, key, doc, {"n": 5})
            large, n_large = await api.counted(a, key, doc, {"n": 50})
            assert len(small["data"][field]["nodes"]) == 5, (key, field)
            assert len(large["data"][field]["nodes"]) == 50, (key, field)
            assert n_large == n_small, (key, field, n_small, n_large)
    # The nested objects were really loaded (not nulls that cost nothing).
    body = await api.gql(a, "resident", LISTS["activitySignups"], {"n": 50})
    assert all(n["activity"]["title"] and n["person"]["name"] for n in body["data"]["activitySignups"]["nodes"])
    body = await api.gql(a, "admin", LISTS["redemptions"], {"n": 50})
    assert all(n["item"]["name"] and n["person"]["name"] for n in body["data"]["redemptions"]["nodes"])


async def test_results_and_periods_cost_the_same_for_more_rows(api: Api, db: DbEnv, fresh: World) -> None:
    from resolvers.ids import encode_global_id

    a = fresh.a
    one = await _period(db, a, date(2026, 1, 1), ("P1",))
    await api.gql(a, "admin", PERIOD_LIST)  # warm the policy cache
    one_list, n_one_period = await api.counted(a, "admin", PERIOD_LIST)
    three = await _period(db, a, date(2026, 2, 1), ("P1", "P2", "P3"))
    await api.gql(a, "admin", RESULTS, {"p": encode_global_id("EvaluationPeriod", one)})
    small, n_small = await api.counted(a, "admin", RESULTS, {"p": encode_global_id("EvaluationPeriod", one)})
    large, n_large = await api.counted(a, "admin", RESULTS, {"p": encode_global_id("EvaluationPeriod", three)})
    assert [r["firmName"] for r in small["data"]["evaluationResults"]] == ["安居物业"]
    assert [r["firmName"] for r in large["data"]["evaluationResults"]] == ["安居物业"] * 3
    assert large["data"]["evaluationResults"][0]["items"] == [
        {"code": "cleanliness", "average": 62.0}, {"code": "repairs", "average": 80.0}]
    assert n_large == n_small
    periods, n_periods = await api.counted(a, "admin", PERIOD_LIST)
    assert len(periods["data"]["evaluationPeriods"]) == 2
    assert all(len(p["items"]) == 2 for p in periods["data"]["evaluationPeriods"])
    assert len(one_list["data"]["evaluationPeriods"]) == 1
    assert n_periods == n_one_period  # the periods' items come in one statement
