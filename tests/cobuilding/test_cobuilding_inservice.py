"""In-service party members (双报到, issue #7): a party member from a work unit registers with a
community (party_secretary in scope, street_admin), grid workers in that community record their
service, and the work unit's own system reads a summary of its members' service — figures equal to
a hand count.

From tests/support/world.py: h3a (H3, B3 in P2 of C1) is the one party member; h1a is not.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tenants.session import bind_tenant
from tests.support.cobuilding import (
    USERS,
    add_activity,
    add_wish,
    codes,
    community,
    gid,
    make_agreement,
    make_unit,
    run,
)
from tests.support.harness import DbEnv, World
from tests.support.partners import NOON, VALID_FROM, VALID_UNTIL, PartnerApi, partner_client

REGISTER = """mutation($in: RegisterInServiceInput!) { registerInserviceMember(input: $in) {
  member { id workUnitName registeredOn community { name } partnerUnit { name } person { name } }
  errors { code field message } } }"""
RECORD = """mutation($in: RecordInServiceInput!) { recordInserviceService(input: $in) {
  record { kind hours servedOn } errors { code field message } } }"""
SUMMARY = """query($u: ID) { inserviceSummary(from: "2026-06-01", to: "2026-06-30", partnerUnitId: $u) {
  members records hours wishes activities } }"""


def _reg(tw: Any, person: str, unit: str | None, name: str | None = None, c: str = "C1") -> dict[str, Any]:
    return {"in": {"personId": gid("Person", tw.persons[person]), "communityId": community(tw, c),
                   "partnerUnitId": unit, "workUnitName": name, "registeredOn": "2026-06-02"}}


def _rec(member: str, kind: str, day: str, hours: float, **kw: str) -> dict[str, Any]:
    return {"in": {"memberId": member, "kind": kind, "servedOn": day, "hours": hours, "description": "服务", **kw}}


async def test_register_record_and_summary(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    api = papi.api
    unit = await make_unit(api, tw, "市三医院", 51)
    await make_agreement(api, tw, unit, [community(tw, "C1")], valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    # Registering: the party secretary of C1 and the street admin; nobody else.
    member = None
    for key in USERS:
        out = await run(api, tw, key, REGISTER, _reg(tw, "h3a", unit))
        if key in ("secretary", "admin") and member is None:
            assert out["errors"] == [], (key, out)
            member = out["member"]["id"]
            assert out["member"]["partnerUnit"]["name"] == "市三医院"
            assert out["member"]["community"]["name"] == "东风社区"
        elif key in ("secretary", "admin"):
            assert codes(out) == ["CONFLICT"], (key, out)
        else:
            assert codes(out) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, out)
    assert member is not None
    # Only party members; a work unit must be named; not another tenant's community.
    out = await run(api, tw, "admin", REGISTER, _reg(tw, "h1a", unit))
    assert codes(out) == ["INVALID"] and out["errors"][0]["field"] == "personId", out
    out = await run(api, tw, "admin", REGISTER, _reg(tw, "h3a", None, None, c="C2"))
    assert codes(out) == ["INVALID"] and out["errors"][0]["field"] == "workUnitName", out
    bad = _reg(tw, "h3a", None, "市财政局")
    bad["in"]["communityId"] = community(fresh.b, "C1")
    out = await run(api, tw, "admin", REGISTER, bad)
    assert codes(out) == ["NOT_FOUND"], out
    by_name = await run(api, tw, "admin", REGISTER, _reg(tw, "h3a", None, "市财政局", c="C2"))
    assert by_name["errors"] == [] and by_name["member"]["partnerUnit"] is None, by_name

    # Recording: grid workers of C1 and the roles above them there (secretary, admin); not C2's grid
    # worker or secretary, nor the roles below grid leader.
    wish = gid("Wish", await add_wish(db, tw, "h1a", "H1", "B1", "收音机"))
    act = gid("Activity", await add_activity(db, tw, "P1", "义诊", starts=NOON))
    c2_act = gid("Activity", await add_activity(db, tw, "P3", "西湖", starts=NOON))
    for key in USERS:
        out = await run(api, tw, key, RECORD, _rec(member, "HOURS", "2026-06-03", 1.5))
        # "expired" held grid_leader@G1 until yesterday (real time): at the fixed clock's NOON it still did.
        allowed = key in ("admin", "secretary", "grid1", "grid2", "expired")
        assert (out["errors"] == []) == allowed, (key, out)
        if not allowed:
            assert codes(out) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, out)
    # 5 × 1.5 h so far; then a wish (2 h) and an activity (3 h).
    assert (await run(api, tw, "grid1", RECORD, _rec(member, "WISH", "2026-06-05", 2, wishId=wish)))["errors"] == []
    assert (await run(api, tw, "grid2", RECORD,
                      _rec(member, "ACTIVITY", "2026-06-10", 3, activityId=act)))["errors"] == []
    # Bad input changes nothing: hours out of range, in the future, a wish without its id, an activity elsewhere.
    for args, field in ((("HOURS", "2026-06-03", 25), "hours"), (("HOURS", "2026-06-16", 1), "servedOn"),
                        (("WISH", "2026-06-03", 1), "wishId")):
        out = await run(api, tw, "admin", RECORD, _rec(member, *args))  # type: ignore[arg-type]
        assert out["errors"][0]["field"] == field, out
    out = await run(api, tw, "admin", RECORD, _rec(member, "ACTIVITY", "2026-06-03", 1, activityId=c2_act))
    assert codes(out) == ["NOT_FOUND"], out

    # The summary, by hand: 1 member (of 市三医院), 7 records, 7.5 + 2 + 3 = 12.5 hours, 1 wish, 1 activity.
    expected = {"members": 1, "records": 7, "hours": 12.5, "wishes": 1, "activities": 1}
    body = await api.gql(tw, "admin", SUMMARY, {"u": unit})
    assert body["data"]["inserviceSummary"] == expected
    body = await api.gql(tw, "grid3", SUMMARY, {"u": unit})
    assert body["data"]["inserviceSummary"]["members"] == 0
    # The unit's own system reads its own summary, never another unit's, nor the members themselves.
    _, cid, secret = await partner_client(papi, tw, unit)
    token = await papi.access(cid, secret)
    r = (await papi.gql(token, SUMMARY, {"u": None})).json()
    assert r["data"]["inserviceSummary"] == expected, r
    r = await papi.gql(token, "query { inserviceMembers { totalCount } }")  # the staff list: refused (#24)
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", r.text
    other = await make_unit(api, tw, "蓝天救援队", 52)
    _, cid2, secret2 = await partner_client(papi, tw, other)
    r = (await papi.gql(await papi.access(cid2, secret2), SUMMARY, {"u": unit})).json()
    assert r["data"]["inserviceSummary"]["members"] == 0 and r["data"]["inserviceSummary"]["records"] == 0


@pytest.mark.parametrize("stmt", ["UPDATE inservice_records SET hours = hours", "DELETE FROM inservice_records"])
async def test_service_records_are_append_only_for_the_app(db: DbEnv, world: World, stmt: str) -> None:
    if not db.is_pg:
        pytest.skip("table privileges are PostgreSQL's")
    async with db.sessionmaker() as s:
        bind_tenant(s, world.a.tenant_id, orm_filter=False)
        async with s.begin():
            conn = await s.connection()
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text(stmt))
            await s.rollback()
