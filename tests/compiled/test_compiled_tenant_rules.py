"""The compiled one-row rules and constants (compiled/tenant_rules.py, compiled/catalogue.py, the
``lianchuangAreas`` of compiled/cobuilding.py; issue #21) answer exactly what the resolvers answer:
``caseSettings``, ``caseWorkflowSettings``, ``careSettings``, ``pointsPerHour``, ``errorCodes`` and
``lianchuangAreas``, for every world user — as provisioned, after the street admin changed each rule,
and with no row at all (the resolvers' defaults). The case rules are staff only: compiled for those who
hold a role, declined for the others (the resolvers' FORBIDDEN); the rest compile for everyone. One
statement each, and one for all of them in one document."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import delete

from models import CareSettings, CaseSettings, CaseWorkflowSettings, VolunteerSettings
from resolvers.error_catalogue import CATALOGUE
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
NOT_STAFF = frozenset({"expired", "nobody"})  # no live role: the case rules are FORBIDDEN

CASE_SETTINGS = "query { caseSettings { __typename feedbackWaitDays } }"
WORKFLOW = "query { caseWorkflowSettings { __typename autoSuperviseOverdue minHandlingMinutes w: minHandlingMinutes } }"
CARE = "query { careSettings { __typename leadMinHouseholds leadMaxHouseholds keyVisitDays routineVisitDays } }"
POINTS = "query Rate { pointsPerHour again: pointsPerHour }"
CONSTANTS = ("query { errorCodes { __typename code httpStatus meaning } "
             "lianchuangAreas { __typename code name } l: lianchuangAreas { name } }")
ALL = (f"query All {{ caseSettings {{ feedbackWaitDays }} {WORKFLOW[8:-2]} {CARE[8:-2]} pointsPerHour "
       f"{CONSTANTS[8:-2]} }}")
STAFF_ONLY = {CASE_SETTINGS: True, WORKFLOW: True, CARE: False, POINTS: False, CONSTANTS: False, ALL: True}

EQUIVALENCE_DOCUMENTS = tuple(STAFF_ONLY)

CHANGES = (
    ("setFeedbackWaitDays", "SetFeedbackWaitDaysInput", {"days": 12}),
    ("setCaseWorkflowSettings", "SetCaseWorkflowSettingsInput", {"autoSuperviseOverdue": False,
                                                                  "minHandlingMinutes": 45}),
    ("updateCareSettings", "UpdateCareSettingsInput", {"leadMinHouseholds": 3, "leadMaxHouseholds": 20,
                                                       "keyVisitDays": 14, "routineVisitDays": 60}),
    ("setPointsRule", "SetPointsRuleInput", {"pointsPerHour": 25}),
)


@pytest.fixture(scope="module")
async def rules_tenant(db: DbEnv) -> TenantWorld:
    return await module_tenant(db)


async def _all_users_alike(api: Api, tw: TenantWorld) -> dict[str, Any]:
    """Every document for every user: the same bytes, compiled where the resolvers let the user read. The
    street admin's answer to ALL."""
    for document, staff_only in STAFF_ONLY.items():
        for user in USERS:
            compiled, resolved, taken = await both(api, tw, user, document, {})
            assert compiled == resolved, (document, user, around(compiled, resolved))
            assert taken == (not staff_only or user not in NOT_STAFF), (document, user, compiled)
    data: dict[str, Any] = orjson.loads((await both(api, tw, "admin", ALL, {}))[0])["data"]
    return data


async def test_rules_compile_to_the_resolvers_answer_provisioned_changed_and_missing(
        api: Api, db: DbEnv, rules_tenant: TenantWorld) -> None:
    tw = rules_tenant
    await _all_users_alike(api, tw)
    for mutation, input_type, data in CHANGES:
        doc = f"mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ errors {{ code message field }} }} }}"
        r = await api.gql(tw, "admin", doc, {"i": data})
        assert r["data"][mutation]["errors"] == [], (mutation, r)
    changed = await _all_users_alike(api, tw)
    assert changed["caseSettings"] == {"feedbackWaitDays": 12}
    assert changed["caseWorkflowSettings"]["autoSuperviseOverdue"] is False
    assert changed["careSettings"]["keyVisitDays"] == 14 and changed["pointsPerHour"] == 25
    assert [e["code"] for e in changed["errorCodes"]] == [c.name for c in CATALOGUE]
    assert changed["lianchuangAreas"][0] == {"__typename": "LianchuangArea", "code": "organization",
                                             "name": "组织联建"}
    async with db.sessionmaker() as s:  # a tenant without its rows: the resolvers' defaults
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for model in (CaseSettings, CaseWorkflowSettings, CareSettings, VolunteerSettings):
                await s.execute(delete(model))
    defaults = await _all_users_alike(api, tw)
    assert defaults["caseSettings"] == {"feedbackWaitDays": 7} and defaults["pointsPerHour"] == 0
    assert defaults["careSettings"]["leadMaxHouseholds"] == 15


async def test_each_rule_and_all_of_them_are_one_statement(api: Api, rules_tenant: TenantWorld) -> None:
    tw = rules_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy cached)
        await api.counted(tw, "admin", "query { __typename }")
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", ALL)
    finally:
        state.compiled_reads = True
    counts = {document[:20]: (await api.counted(tw, "admin", document))[1] for document in STAFF_ONLY}
    assert set(counts.values()) == {baseline + 1}, (counts, baseline)
    assert resolved > baseline + 1, resolved
