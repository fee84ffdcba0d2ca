"""The audit trail of a scripted day of work is complete: every mutation (done or refused) and every
full read of personal data, with who, role, what changed (personal data masked), request id and
client address; readable by the party secretary for their scope and by the street admin only."""

from __future__ import annotations

import json
from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api, DbEnv, World

LOG = """query($a: String) { auditLog(first: 100, action: $a) { totalCount nodes {
  action outcome errors objectType user { username } roles requestId clientAddr
  changes { table op fields { name before after } } } } }"""


def _fields(entry: dict[str, Any], table: str) -> dict[str, tuple[Any, Any]]:
    for c in entry["changes"]:
        if c["table"] == table:
            return {f["name"]: (None if f["before"] is None else json.loads(f["before"]),
                                None if f["after"] is None else json.loads(f["after"])) for f in c["fields"]}
    raise AssertionError(f"no change of {table} in {entry}")


async def test_a_day_of_work_is_on_the_log(api: Api, fresh: World) -> None:
    a = fresh.a
    b1 = encode_global_id("Building", a.areas["B1"])
    h1b = encode_global_id("Person", a.persons["h1b"])
    r = await api.gql(a, "grid1", """mutation($i: CreateHouseholdInput!) { createHousehold(input: $i) {
        household { id } errors { code } } }""", {"i": {"buildingId": b1, "unit": "2", "room": "602"}})
    hh = r["data"]["createHousehold"]["household"]["id"]
    await api.gql(a, "grid1", """mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id }
        errors { code } } }""", {"i": {"householdId": hh, "name": "孙立", "idCardNo": "11010519491231002X",
                                       "phone": "13912345678"}})
    await api.gql(a, "resident", """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) {
        person { id } errors { code } } }""", {"i": {"id": h1b, "phone": "13700001111"}})
    refused = await api.gql(a, "resident", """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) {
        person { id } errors { code } } }""", {"i": {"id": h1b, "name": "改名"}})
    assert refused["data"]["updatePerson"]["errors"] == [{"code": "FORBIDDEN"}]
    case = await api.gql(a, "grid1", """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id }
        errors { code } } }""", {"i": {"areaId": b1, "category": "drainage", "title": "下水道堵塞"}})
    cid = case["data"]["reportCase"]["case"]["id"]
    await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    await api.gql(a, "grid1", "query($h: ID!) { persons(householdId: $h) { nodes { idCardNo } } }", {"h": hh})

    log = (await api.gql(a, "admin", LOG))["data"]["auditLog"]
    actions = [(n["action"], n["outcome"], n["user"]["username"]) for n in reversed(log["nodes"])]
    assert actions == [
        ("createHousehold", "ok", a.username("grid1")),
        ("createPerson", "ok", a.username("grid1")),
        ("updatePerson", "ok", a.username("resident")),
        ("updatePerson", "refused", a.username("resident")),
        ("reportCase", "ok", a.username("grid1")),
        ("acceptCase", "ok", a.username("grid1")),
        ("person.read_pii", None, a.username("grid1")),
    ]
    by_action = {n["action"] + (n["outcome"] or ""): n for n in log["nodes"]}
    household = _fields(by_action["createHouseholdok"], "households")
    assert household["unit"] == (None, "2") and household["room"] == (None, "****")  # short values fully masked
    person = _fields(by_action["createPersonok"], "persons")
    # The name is personal data the log does not need in clear: it is concealed, the row id names the
    # person (PIPL art. 6, issue #24 — correction and creation alike).
    assert person["name"] == (None, "***")
    assert "孙立" not in json.dumps(log, ensure_ascii=False)
    assert person["id_card_no"] == (None, "**************002X") and person["phone"] == (None, "*******5678")
    phone = _fields(by_action["updatePersonok"], "persons")
    # the blind index and the masked display form move with the value, both masked in the log too
    assert set(phone) == {"phone", "phone_index", "phone_masked"}
    assert phone["phone_masked"][1] == "*" * 7 + "1111"
    assert phone["phone"] == (f"*******{a.phones['h1b'][-4:]}", "*******1111")
    assert by_action["updatePersonrefused"]["errors"] == ["FORBIDDEN"]
    assert by_action["updatePersonrefused"]["changes"] == []
    accept = _fields(by_action["acceptCaseok"], "cases")
    assert accept["state"] == ("reported", "accepted")
    assert accept["version"] == (1, 2)
    for n in log["nodes"]:
        assert n["requestId"] and n["clientAddr"], n
        assert "13912345678" not in json.dumps(n) and "11010519491231002X" not in json.dumps(n)
    assert "grid_leader" in by_action["acceptCaseok"]["roles"]


async def test_a_corrected_name_is_concealed_on_the_log(api: Api, fresh: World) -> None:
    """updatePerson's audit says the name changed, on which row, by whom — never the old or the new
    name (issue #24: the audit stores no personal data in clear where it is not needed)."""
    a = fresh.a
    h1b = encode_global_id("Person", a.persons["h1b"])
    r = await api.gql(a, "grid1", """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) {
        person { name } errors { code } } }""", {"i": {"id": h1b, "name": "更正后的名字"}})
    assert r["data"]["updatePerson"] == {"person": {"name": "更正后的名字"}, "errors": []}
    log = (await api.gql(a, "admin", LOG, {"a": "updatePerson"}))["data"]["auditLog"]
    assert [n["user"]["username"] for n in log["nodes"]] == [a.username("grid1")]
    assert _fields(log["nodes"][0], "persons")["name"] == ("***", "***")
    text = json.dumps(log, ensure_ascii=False)
    assert "更正后的名字" not in text and "张小梅" not in text


async def test_who_reads_the_log(api: Api, fresh: World) -> None:
    a = fresh.a
    await api.gql(a, "grid1", """mutation($i: CreateHouseholdInput!) { createHousehold(input: $i) {
        errors { code } } }""", {"i": {"buildingId": encode_global_id("Building", a.areas["B1"]), "room": "701"}})
    await api.gql(a, "grid3", """mutation($i: CreateHouseholdInput!) { createHousehold(input: $i) {
        errors { code } } }""", {"i": {"buildingId": encode_global_id("Building", a.areas["B4"]), "room": "702"}})
    seen = {who: [n["user"]["username"] for n in (await api.gql(a, who, LOG))["data"]["auditLog"]["nodes"]]
            for who in ("admin", "secretary", "secretary2")}
    assert sorted(seen["admin"]) == sorted([a.username("grid1"), a.username("grid3")])
    assert seen["secretary"] == [a.username("grid1")]  # C1 only
    assert seen["secretary2"] == [a.username("grid3")]  # C2 only
    for who in ("grid1", "chair", "firm", "resident", "nobody"):
        body = await api.gql(a, who, LOG, allow_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
    assert (await api.gql(fresh.b, "admin", LOG))["data"]["auditLog"]["totalCount"] == 0


async def test_every_step_of_a_case_is_logged_under_the_cases_area(api: Api, fresh: World, db: DbEnv) -> None:
    """The area path a step's entry is filed under (what a party secretary's scope reads the log by) is
    the case's, for the report (from the inserted row) and for each transition (from the case the
    mutation loaded, without a statement since issue #21)."""
    from sqlalchemy import select

    from models import AuditEntry, Case
    from tenants.session import bind_tenant
    from tests.support.cases import accept, case_uuid, dispatch_firm, report, resolve, start

    tw = fresh.a
    case = await report(api, tw, "resident", "B1")
    case = await resolve(api, tw, await start(api, tw, await dispatch_firm(api, tw, await accept(api, tw, case))))
    case_id = case_uuid(case["id"])
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            path = await s.scalar(select(Case.area_path).where(Case.id == case_id))
            entries = [e for e in await s.scalars(select(AuditEntry)) if str(case_id) in (e.object_ids or [])]
    assert path and path.startswith("/")
    filed = {e.action: e.area_path for e in entries}
    assert set(filed) >= {"reportCase", "acceptCase", "dispatchCase", "startCase", "resolveCase"}, filed
    assert set(filed.values()) == {path}, filed
