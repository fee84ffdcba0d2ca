"""The street admin configures cases (categories, SLA rules, calendar overrides, feedback period);
everyone else is refused; a dispatch after a change uses it; the migration brings the permission
to tenants that existed before it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gongzhi.migrate import upgrade
from resolvers.ids import encode_global_id
from tests.support.harness import Api, World

SET_SLA = """mutation($i: SetSlaRuleInput!) { setSlaRule(input: $i) { rule { category priority amount unit }
  errors { code field } } }"""
SET_DAY = """mutation($i: SetCalendarOverrideInput!) { setCalendarOverride(input: $i) { override { day workday }
  errors { code field } } }"""
SET_CAT = """mutation($i: SetCaseCategoryInput!) { setCaseCategory(input: $i) { category { code name active }
  errors { code field } } }"""
SET_WAIT = "mutation($d: Int!) { setFeedbackWaitDays(days: $d) { settings { feedbackWaitDays } errors { code } } }"
READ = """{ slaRules { category priority amount unit } caseSettings { feedbackWaitDays }
  calendarOverrides(year: 2027) { day workday note } caseCategorySettings { code active } }"""


async def test_only_the_street_admin_configures(api: Api, fresh: World) -> None:
    a = fresh.a
    sla = {"i": {"category": "noise", "priority": "NORMAL", "amount": 2, "unit": "WORKING_DAYS"}}
    day = {"i": {"day": "2027-02-06", "workday": True, "note": "2027 春节调休"}}
    for who in ("secretary", "grid1", "chair", "firm", "resident", "nobody"):
        assert (await api.gql(a, who, SET_SLA, sla))["data"]["setSlaRule"]["errors"][0]["code"] == "FORBIDDEN"
        assert (await api.gql(a, who, SET_DAY, day))["data"]["setCalendarOverride"]["errors"][0]["code"] \
            == "FORBIDDEN"
        assert (await api.gql(a, who, SET_WAIT, {"d": 3}))["data"]["setFeedbackWaitDays"]["errors"][0]["code"] \
            == "FORBIDDEN"
    before = (await api.gql(a, "admin", READ))["data"]
    assert {"category": "noise", "priority": "NORMAL", "amount": 2.0, "unit": "WORKING_DAYS"} not in before["slaRules"]
    assert (await api.gql(a, "admin", SET_SLA, sla))["data"]["setSlaRule"]["errors"] == []
    assert (await api.gql(a, "admin", SET_DAY, day))["data"]["setCalendarOverride"]["errors"] == []
    assert (await api.gql(a, "admin", SET_WAIT, {"d": 3}))["data"]["setFeedbackWaitDays"]["settings"] == {
        "feedbackWaitDays": 3}
    after = (await api.gql(a, "secretary", READ))["data"]  # staff read the configuration
    assert {"category": "noise", "priority": "NORMAL", "amount": 2.0, "unit": "WORKING_DAYS"} in after["slaRules"]
    assert after["calendarOverrides"] == [{"day": "2027-02-06", "workday": True, "note": "2027 春节调休"}]
    assert after["caseSettings"] == {"feedbackWaitDays": 3}
    # the other tenant is untouched
    other = (await api.gql(fresh.b, "admin", READ))["data"]
    assert other["calendarOverrides"] == [] and other["caseSettings"] == {"feedbackWaitDays": 7}
    # a resident (no staff role) cannot read the configuration
    denied = await api.gql(a, "nobody", READ, allow_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_configuration_is_refused_and_changes_nothing(api: Api, fresh: World) -> None:
    a = fresh.a
    cases = [
        ({"category": "noise", "priority": "HIGH", "amount": 0, "unit": "WORKING_HOURS"}, "amount"),
        ({"category": "noise", "priority": "HIGH", "amount": 1.5, "unit": "WORKING_DAYS"}, "amount"),
        ({"category": "no_such", "priority": "HIGH", "amount": 4, "unit": "WORKING_HOURS"}, "category"),
    ]
    before = (await api.gql(a, "admin", READ))["data"]["slaRules"]
    for rule, field in cases:
        errors = (await api.gql(a, "admin", SET_SLA, {"i": rule}))["data"]["setSlaRule"]["errors"]
        assert errors == [{"code": "INVALID", "field": field}]
    assert (await api.gql(a, "admin", READ))["data"]["slaRules"] == before
    bad_cat = await api.gql(a, "admin", SET_CAT, {"i": {"code": "Bad Code", "name": "x"}})
    assert bad_cat["data"]["setCaseCategory"]["errors"] == [{"code": "INVALID", "field": "code"}]
    bad_wait = await api.gql(a, "admin", SET_WAIT, {"d": 0})
    assert bad_wait["data"]["setFeedbackWaitDays"]["errors"] == [{"code": "INVALID"}]


async def test_new_category_and_rule_apply_to_the_next_dispatch(api: Api, fresh: World) -> None:
    a = fresh.a
    cat = await api.gql(a, "admin", SET_CAT, {"i": {"code": "elevator", "name": "电梯故障"}})
    assert cat["data"]["setCaseCategory"]["category"] == {"code": "elevator", "name": "电梯故障", "active": True}
    await api.gql(a, "admin", SET_SLA, {"i": {"category": "elevator", "priority": "NORMAL", "amount": 30,
                                              "unit": "CALENDAR_HOURS"}})
    report = await api.gql(a, "grid1", """mutation($i: ReportCaseInput!) { reportCase(input: $i) {
      case { id } errors { code } } }""", {"i": {"areaId": encode_global_id("Building", a.areas["B1"]),
                                                  "category": "elevator", "title": "电梯困人"}})
    cid = report["data"]["reportCase"]["case"]["id"]
    await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    before = datetime.now(UTC)
    done = await api.gql(a, "grid1", """mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) {
      case { dueAt } errors { code } } }""", {"i": {"id": cid, "handlerKind": "PARTNER_UNIT",
                                                    "partnerName": "蓝天救援队"}})
    due = datetime.fromisoformat(done["data"]["dispatchCase"]["case"]["dueAt"])
    hours = (due - before).total_seconds() / 3600
    assert 29.99 < hours < 30.01
    # deactivated: no longer offered for reports
    await api.gql(a, "admin", SET_CAT, {"i": {"code": "elevator", "name": "电梯故障", "active": False}})
    cats = (await api.gql(a, "grid1", "{ caseCategories { code } }"))["data"]["caseCategories"]
    assert "elevator" not in {c["code"] for c in cats}


def test_migration_grants_configuration_to_existing_tenants(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0002")
    tenant_id = uuid.uuid4()

    async def run() -> tuple[list[tuple[str, ...]], int]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                "VALUES (:id, 'old', '旧街道', 'active', 4, '2025-01-01 00:00:00')"), {"id": tenant_id.hex})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT v0, v1, v2, v3, v4 FROM casbin_rules WHERE v2 = 'case' AND v3 = 'configure'"))).all()
            version = (await conn.execute(sa.text("SELECT policy_version FROM tenants"))).scalar_one()
        await engine.dispose()
        return [tuple(r) for r in rows], int(version)

    rows, version = asyncio.run(run())
    assert rows == [("street_admin", str(tenant_id), "case", "configure", "all")]
    assert version > 4  # 4 when the tenant was written at 0002; the revisions since bump it
