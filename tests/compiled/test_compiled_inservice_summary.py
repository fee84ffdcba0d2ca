"""The compiled in-service summary (compiled/inservice.py, issue #21) answers exactly what the resolvers
answer: ``inserviceSummary(partnerUnitId:, from:, to:)`` for every world user, each unit and several
periods — the same bytes, the resolvers' errors either way (no unit named, a period reversed, a bad id),
in one statement. Members of two units in both communities have services of every kind, with hours
that add up to a whole and to fractions (0.1 + 0.2: a float sum would not be 0.3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import Area, InServiceMember, InServiceRecord, PartnerKind, PartnerUnit, ServiceKind, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")

SUMMARY = """query Summary($u: ID, $f: Date!, $t: Date!) { inserviceSummary(partnerUnitId: $u, from: $f, to: $t) {
  __typename members records hours wishes activities } }"""
SOME = """query { inserviceSummary(from: "2026-01-01", to: "2026-12-31") { members } }"""
EQUIVALENCE_DOCUMENTS = (SUMMARY,)

# (person, community, unit, [(kind, day, hours)])
MEMBERS = (
    ("h1a", "C1", "U1", [(ServiceKind.HOURS, date(2026, 3, 1), "0.10"), (ServiceKind.WISH, date(2026, 3, 2), "0.20"),
                         (ServiceKind.ACTIVITY, date(2026, 4, 1), "2.75")]),
    ("h2a", "C1", "U2", [(ServiceKind.HOURS, date(2026, 3, 5), "1.00")]),
    ("h3a", "C1", "U1", [(ServiceKind.ACTIVITY, date(2026, 3, 31), "3.50"),
                         (ServiceKind.WISH, date(2025, 12, 31), "1.25")]),
    ("h4a", "C2", "U1", [(ServiceKind.HOURS, date(2026, 3, 10), "0.05")]),
)
PERIODS = (("2026-01-01", "2026-12-31"), ("2026-03-01", "2026-03-02"), ("2026-03-01", "2026-03-31"),
           ("2027-01-01", "2027-01-01"), ("2025-12-31", "2026-04-01"))


@pytest.fixture
async def summary_tenant(fresh: World, db: DbEnv) -> tuple[TenantWorld, dict[str, str]]:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers")
    tw = fresh.a
    units = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for key, name in (("U1", "第一中学"), ("U2", "人民医院")):
                units[key] = PartnerUnit(id=uuid7(), name=name, kind=PartnerKind.SCHOOL, contact_name="王老师",
                                         address=f"{name}路1号", created_by=tw.users["admin"],
                                         updated_at=datetime.now(UTC))
                s.add(units[key])
            await s.flush()
            for person, community, unit, services in MEMBERS:
                c = tw.areas[community]
                path = (await s.get_one(Area, (tw.tenant_id, c))).path
                m = InServiceMember(id=uuid7(), person_id=tw.persons[person], community_id=c, community_path=path,
                                    partner_unit_id=units[unit].id, work_unit_name=units[unit].name,
                                    registered_by=tw.users["admin"], registered_on=date(2026, 2, 2))
                s.add(m)
                await s.flush()
                for kind, day, hours in services:
                    s.add(InServiceRecord(id=uuid7(), member_id=m.id, kind=kind, served_on=day, hours=Decimal(hours),
                                          description="服务", recorded_by=tw.users["admin"]))
    return tw, {k: encode_global_id("PartnerUnit", u.id) for k, u in units.items()}


async def test_inservice_summary_compiles_to_the_resolvers_answer_for_every_user(api: Api, summary_tenant: Any
                                                                                ) -> None:
    tw, units = summary_tenant
    readers: set[str] = set()
    hours: set[float] = set()
    for user in USERS:
        for unit in ("U1", "U2"):
            for start, end in PERIODS:
                compiled, resolved, taken = await both(api, tw, user, SUMMARY, {"u": units[unit], "f": start, "t": end})
                assert taken and compiled == resolved, (user, unit, start, around(compiled, resolved))
                figures = orjson.loads(compiled)["data"]["inserviceSummary"]
                if figures["members"]:
                    readers.add(user)
                    hours.add(figures["hours"])
    assert {"admin", "secretary"} <= readers and "nobody" not in readers, readers
    assert {0.3, 0.0} <= hours, hours  # U1 on 2026-03-01..02 (0.1 + 0.2 in C1), a day without any service


async def test_declined_summaries_are_the_resolvers_answer(api: Api, summary_tenant: Any) -> None:
    tw, units = summary_tenant
    for variables in ({"u": None, "f": "2026-01-01", "t": "2026-12-31"},  # no unit named: INVALID
                      {"u": units["U1"], "f": "2026-12-31", "t": "2026-01-01"},  # reversed: INVALID
                      {"u": "not-an-id", "f": "2026-01-01", "t": "2026-12-31"},
                      {"u": encode_global_id("Case", uuid7()), "f": "2026-01-01", "t": "2026-12-31"}):
        compiled, resolved, taken = await both(api, tw, "admin", SUMMARY, variables)
        assert not taken and compiled == resolved and "errors" in orjson.loads(compiled), (variables, compiled)
    compiled, resolved, taken = await both(api, tw, "admin", SOME, {})
    assert not taken and compiled == resolved, compiled


async def test_a_compiled_summary_is_one_statement(api: Api, summary_tenant: Any) -> None:
    tw, units = summary_tenant
    variables = {"u": units["U1"], "f": "2026-01-01", "t": "2026-12-31"}
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        _, resolved = await api.counted(tw, "secretary", SUMMARY, variables)
    finally:
        state.compiled_reads = True
    _, first = await api.counted(tw, "secretary", SUMMARY, variables)
    _, other = await api.counted(tw, "secretary", SUMMARY, {**variables, "u": units["U2"]})
    assert first == other == 2 < resolved, (first, other, resolved)  # start-up and the compiled read
